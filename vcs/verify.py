"""Is what the vault holds exactly what its manifests and approvals say?

Public surface:
    Problem, VerifyReport (dataclasses); verify(vault, ref=None) -> VerifyReport

For each checked version, every file of its manifest is compared with what git stores (an LFS
pointer with the same sha256 and size; audio committed raw into git is a problem), with the
local LFS object (its bytes hashed again), and, for an approved version, with the checksums the
approval recorded. Audio that is simply not downloaded (a lazy clone) is listed as not local,
not as a problem — when a remote-tracking branch contains its version (the remote received it),
or, less surely, when an LFS server is configured (lfs.url: "if the server has it"); otherwise an
absent object is lost. Each LFS object is hashed once per run, however many versions share it.

What would be delivered and what is checked out are checked too: the branch tip's folder of
each cue against the cue's latest version (a plain-git commit after it is a problem, named with
its commit, author and subject: vcs.outside), approval tags on commits that are not the version
they name, and the working folder. Nothing here writes to the vault (a read-only vault
verifies): git runs without optional locks, and a failing LFS clean filter (a damaged object)
does not stop the report.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from audio.probe import hash_file, is_audio_name
from vcs import git
from vcs.errors import CannotWrite, UsageError
from vcs.lfs import POINTER_MAX, object_path, parse_pointer
from vcs.manifest import MANIFEST_NAME
from vcs.models import Version
from vcs.outside import approval_tags, changed_outside_all, commit_line, working_file_differs
from vcs.vault import CUES_DIR, Vault

__all__ = ["Problem", "VerifyReport", "verify"]


@dataclass
class Problem:
    file: str
    version: str
    # raw | missing | unlisted | mismatch | corrupt | lost | approval | modified | manifest | outside
    # | interrupted | pointer | signature
    kind: str
    message: str
    commit: str | None = None  # the commit at fault (outside changes, misplaced approval tags)

    def to_dict(self) -> dict[str, str]:
        d = {"file": self.file, "version": self.version, "kind": self.kind, "message": self.message}
        if self.commit:
            d["commit"] = self.commit
        return d


@dataclass
class VerifyReport:
    problems: list[Problem] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)
    files_checked: int = 0
    objects_hashed: int = 0
    not_local: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "problems": [p.to_dict() for p in self.problems],
                "versions": self.versions, "files_checked": self.files_checked,
                "objects_hashed": self.objects_hashed, "not_local": self.not_local}


def verify(vault: Vault, ref: str | None = None) -> VerifyReport:
    """Check the versions ``ref`` names (all versions of all cues when None)."""
    try:
        vault.recover()  # a killed commit's half-copied files are not "modified" stems
        unrecovered = None
    except CannotWrite as e:  # a read-only vault: report what is there, say what could not be done
        unrecovered = e.reason
    versions = vault.select(ref)
    report = VerifyReport(versions=[v.ref for v in versions])
    if unrecovered:
        report.problems.append(Problem(
            ".git/stemvault/txn.json", "", "interrupted",
            f"a commit was interrupted and its repair could not be written here ({unrecovered}): files "
            "reported as modified may be its half-copied files; run any stemvault command where the "
            "vault is writable to repair it, then verify again"))
    to_hash: dict[str, list[tuple[str, str, int]]] = {}  # oid -> [(version, file, size)]

    for v in versions:
        try:
            manifest = vault.manifest_at(v)
        except UsageError as e:
            report.problems.append(Problem(MANIFEST_NAME, v.ref, "manifest", str(e)))
            continue
        tree = {e.path.rsplit("/", 1)[-1]: e for e in vault.tree(v) if e.type == "blob"}
        listed = {s.file for s in manifest.stems}
        for s in manifest.stems:
            report.files_checked += 1
            entry = tree.get(s.file)
            if entry is None:
                report.problems.append(Problem(s.file, v.ref, "missing",
                                               f"{s.file} is in the manifest of {v.ref} but not in its commit"))
                continue
            data = vault.objects.read(entry.oid) if (entry.size or 0) <= 1024 else None
            ptr = parse_pointer(data) if data is not None else None
            if s.kind == "tempo" or not is_audio_name(s.file):
                content = data if data is not None else vault.objects.read(entry.oid)
                if hashlib.sha256(content).hexdigest() != s.sha256:
                    report.problems.append(Problem(s.file, v.ref, "mismatch",
                                                   f"{s.file} in {v.ref} differs from its manifest checksum"))
                continue
            if ptr is None:
                report.problems.append(Problem(
                    s.file, v.ref, "raw",
                    f"{s.file} in {v.ref} was committed into git itself, not through git-lfs"))
                continue
            if ptr.oid != s.sha256 or ptr.size != s.size:
                report.problems.append(Problem(
                    s.file, v.ref, "mismatch",
                    f"{s.file} in {v.ref}: the LFS pointer (sha256 {ptr.oid[:12]}…) does not match the "
                    f"manifest (sha256 {s.sha256[:12]}…)"))
                continue
            to_hash.setdefault(ptr.oid, []).append((v.ref, s.file, ptr.size))
        for name in sorted(set(tree) - listed - {MANIFEST_NAME}):
            report.problems.append(Problem(name, v.ref, "unlisted",
                                           f"{name} is in the commit of {v.ref} but not in its manifest"))
        trust = _trust_problem(v)
        if trust is not None:
            report.problems.append(trust)
        if v.approval and (v.approval.cue, v.approval.version) != (v.cue, str(v.version)):
            report.problems.append(_approval_elsewhere(v, manifest))
        elif v.approval:
            current = {s.file: s.sha256 for s in manifest.stems}
            if v.approval.files != current:
                diff = sorted(set(v.approval.files.items()) ^ set(current.items()))
                names = sorted({f for f, _ in diff})
                report.problems.append(Problem(
                    ", ".join(names), v.ref, "approval",
                    f"the approval {v.approval.tag} recorded other content for {', '.join(names)} than "
                    f"{v.ref} holds: what was approved is not what would be delivered"))

    def check(oid: str) -> tuple[str, str | None]:
        path = object_path(vault.git_dir, oid)
        if not path.exists():
            return oid, "absent"
        try:
            sha, size = hash_file(path)
        except OSError as e:  # a folder in its place, unreadable: not the audio either way
            return oid, e.strerror or "unreadable"
        return oid, None if sha == oid else f"{size}"

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(check, sorted(to_hash)))
    commit_of = {v.ref: v.commit for v in versions}
    held_by = _remote_holder(vault, commit_of)
    for oid, outcome in results:
        uses = to_hash[oid]
        holder = held_by(uses) if outcome == "absent" else None
        if holder is not None:
            for ref, f, _ in uses:
                report.not_local.append({"file": f, "version": ref, "oid": oid, "held_by": holder})
            continue
        if outcome == "absent":
            for ref, f, _ in uses:
                report.problems.append(Problem(
                    f, ref, "lost",
                    f"{f} in {ref}: its audio (LFS object {oid[:12]}…) is not in this vault and no "
                    "remote is known to have received it (no remote branch contains the version): it "
                    "is lost here; restore it from a backup (or fetch from the remote that has it: "
                    "`git fetch REMOTE` then `git lfs fetch --all REMOTE`)"))
            continue
        report.objects_hashed += 1
        if outcome is not None:
            for ref, f, _ in uses:
                report.problems.append(Problem(
                    f, ref, "corrupt",
                    f"{f} in {ref}: the stored audio (LFS object {oid[:12]}…) no longer matches its "
                    "checksum; restore it from a remote (git lfs fetch) or a backup"))

    _outside(vault, versions, report)
    _working_copy(vault, versions, report)
    _working_pointers(vault, versions, report)
    return report


def _remote_holder(vault: Vault, commit_of: dict[str, str]) -> Callable[[list[tuple[str, str, int]]], str | None]:
    """A function of an absent object's uses [(version, file, size)] → who may hold the object:
    "remote" when a remote-tracking branch contains one of those versions' commits (the remote
    received it, with its LFS objects: a lazy clone's origin), "lfs.url" when only an LFS server
    is configured (it has the object if someone pushed it there), None when nothing may (lost)."""
    reached: dict[str, bool] = {}
    lfs_url: list[str | None] = []

    def holder(uses: list[tuple[str, str, int]]) -> str | None:
        for ref, _, _ in uses:
            c = commit_of[ref]
            if c not in reached:
                reached[c] = bool(git.remote_refs_containing(c, cwd=vault.root))
            if reached[c]:
                return "remote"
        if not lfs_url:
            lfs_url.append(git.config_get("lfs.url", cwd=vault.root))
        return "lfs.url" if lfs_url[0] else None
    return holder


def _trust_problem(v: Version) -> Problem | None:
    """An approval tag on ``v`` that does not count under the vault's rules, or whose signature
    git does not verify against the vault's trusted keys (a signature that fails is never
    passed over: it was forged, damaged, or made with a key the vault does not know)."""
    void = v.void_approval
    if void is not None:
        return Problem(void.tag, v.ref, "approval",
                       f"the approval {void.tag} does not count, so {v.ref} is not approved: {void.why}",
                       commit=v.commit)
    a = v.approval
    if a is not None and a.signed and not a.verified:
        return Problem(a.tag, v.ref, "signature",
                       f"the approval {a.tag} is signed, not verified: {a.why}", commit=v.commit)
    return None


def _approval_elsewhere(v: Version, manifest: Any) -> Problem:
    """An approval tag on the commit of ``v`` that names another version."""
    a = v.approval
    assert a is not None
    named = f"{a.cue}@{a.version}"
    current = {s.file: s.sha256 for s in manifest.stems}
    differ = sorted({f for f, _ in set(a.files.items()) ^ set(current.items())})
    content = (f"; it recorded other content for {', '.join(differ)}" if differ else
               "; the files are the same")
    return Problem(", ".join(differ) or a.tag, v.ref, "approval",
                   f"the approval {a.tag} approves {named} but is on the commit of {v.ref}{content}: "
                   f"what it approves is not what it points at; delete it (`git tag -d {a.tag}`) and "
                   f"approve again with `stemvault approve {named}`", commit=v.commit)


def _outside(vault: Vault, versions: list[Version], report: VerifyReport) -> None:
    """Plain-git commits after each checked cue's latest version, and approval tags of those
    cues on commits that are not the version they name."""
    cues = {v.cue for v in versions}
    if not cues:
        return
    everything = vault.versions()
    latest: dict[str, Version] = {}
    for v in everything:
        if v.cue in cues:
            latest.setdefault(v.cue, v)
    for cue, change in sorted(changed_outside_all(vault, latest).items()):
        approved = (f"; {change.after} is approved, and the branch tip no longer holds what was approved"
                    if change.approved else "")
        several = len(change.commits) > 1 or change.more_commits > 0
        if len(change.commits) == 1 and not several:
            undo = f"`git revert {change.commits[0].short}` to return to {change.after}"
        else:  # a revert of several commits conflicts when they touch the same stem: restore the folder
            folder = shlex.quote(f"{CUES_DIR}/{cue}/")
            message = shlex.quote(f"Return {cue} to {change.after}")
            undo = (f"`git restore --source={change.after_commit[:10]} --staged --worktree -- {folder}` "
                    f"then `git commit -m {message}` to return to {change.after}")
        what = ("those commits are not versions" if several else
                "that commit is not a version" if change.commits else "that is not a version")
        report.problems.append(Problem(
            ", ".join(change.files), change.after, "outside",
            f"{change.describe()}: {what}{approved}. Repair: {undo}, or commit "
            f"the export properly as a new version with `stemvault commit {cue} EXPORT_FOLDER`",
            commit=change.commits[-1].commit if change.commits else None))
    by_commit = {v.commit: v for v in everything}
    for t in approval_tags(vault):
        if t.cue not in cues:
            continue
        named = f"{t.cue}@{t.version}"
        on = by_commit.get(t.target)
        mine = on.approval or on.void_approval if on is not None else None
        if mine is not None and mine.tag == t.name:
            continue  # a version's approval: checked with that version
        redo = f"delete it (`git tag -d {t.name}`) and approve with `stemvault approve {named}`"
        where = (f"on the commit of {on.ref}" if on is not None else
                 f"on commit {commit_line(vault, t.target)}, which is not a version")
        if t.approval is None:
            what = "a lightweight tag" if not t.annotated else "its message is not one stemvault wrote"
            msg = f"{t.name} is named like an approval but is not one ({what}); it is {where}: {redo}"
        elif on is None:
            msg = f"the approval {t.name} of {named} is {where}: it approves nothing stemvault can check; {redo}"
        else:
            msg = f"the approval {t.name} of {named} is {where}, which carries another approval: {redo}"
        report.problems.append(Problem(t.name, named, "approval", msg, commit=t.target))


def _working_copy(vault: Vault, versions: list[Version], report: VerifyReport) -> None:
    """Files of a cue's latest version that were changed in the working folder."""
    latest: dict[str, Version] = {}
    for v in vault.versions():
        latest.setdefault(v.cue, v)
    cues = sorted({v.cue for v in versions if latest.get(v.cue) is v or
                   (latest.get(v.cue) and latest[v.cue].commit == v.commit)})
    if not cues:
        return
    # Read-only: no optional index refresh; and an LFS clean filter that fails (a damaged object
    # of the same content, a vault it cannot write to) leaves the file's bytes to compare: git
    # then calls it modified, and _really_modified decides from the file's own hash.
    for code, path in git.status_readonly(*[f"{CUES_DIR}/{c}/" for c in cues], cwd=vault.root):
        parts = path.split("/")
        if len(parts) < 3:
            continue
        cue, name = parts[1], parts[-1]
        if name == MANIFEST_NAME and code.strip() == "M":
            continue  # hand edits of descriptive fields are expected between versions
        if code.strip() == "M" and not working_file_differs(vault, path):
            continue
        what = {"M": "was modified", "D": "was deleted", "?": "is not part of any version"}.get(
            code.strip()[:1], "differs")
        report.problems.append(Problem(
            name, f"{cue}@{latest[cue].version}", "modified",
            f"{path} {what} in the working folder: " + (
                f"it is not backed up (git has no copy of it); move it out of {CUES_DIR}/{cue}, or include it "
                "in the next export" if code.strip()[:1] == "?" else
                f"commit a new version, or restore it with `git checkout -- {path}`")))



def _working_pointers(vault: Vault, versions: list[Version], report: VerifyReport) -> None:
    """Working files of a cue's latest version that are LFS pointer files where the audio should
    be — a checkout made without git-lfs's smudge filter — while the audio is in this clone (in a
    clone without the audio, pointers are what the working folder holds: not a problem)."""
    latest: dict[str, Version] = {}
    for v in vault.versions(details=False):
        latest.setdefault(v.cue, v)
    for cue in sorted({v.cue for v in versions if v.cue in latest and latest[v.cue].commit == v.commit}):
        v = latest[cue]
        try:
            manifest = vault.manifest_at(v)
        except UsageError:
            continue
        for s in manifest.stems:
            if s.kind == "tempo" or not s.sha256 or not is_audio_name(s.file):
                continue
            path = vault.cue_dir(cue) / s.file
            try:
                size = path.stat().st_size
                if size > POINTER_MAX or size == s.size:
                    continue
                ptr = parse_pointer(path.read_bytes())
            except OSError:
                continue
            if ptr is None or not object_path(vault.git_dir, ptr.oid).is_file():
                continue
            rel = f"{CUES_DIR}/{cue}/{s.file}"
            report.problems.append(Problem(
                s.file, v.ref, "pointer",
                f"{rel} in the working folder is an LFS pointer file ({size} bytes), not the audio (checked "
                f"out without git-lfs's filter?): put the audio back with `git lfs install --local` and "
                f"`git lfs checkout -- {rel}`"))
