"""Is what the vault holds exactly what its manifests and approvals say?

Public surface:
    Problem, VerifyReport (dataclasses); verify(vault, ref=None) -> VerifyReport

For each checked version, every file of its manifest is compared with what git stores (an LFS
pointer with the same sha256 and size; audio committed raw into git is a problem), with the
local LFS object (its bytes hashed again), and, for an approved version, with the checksums the
approval recorded. Audio that is simply not downloaded (a lazy clone) is listed as not local,
not as a problem. Each LFS object is hashed once per run, however many versions share it.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from audio.probe import hash_file, is_audio_name
from vcs import git
from vcs.errors import UsageError
from vcs.lfs import POINTER_MAX, object_path, parse_pointer
from vcs.manifest import MANIFEST_NAME
from vcs.models import Version
from vcs.naming import parse_ref
from vcs.vault import CUES_DIR, Vault

__all__ = ["Problem", "VerifyReport", "verify"]


@dataclass
class Problem:
    file: str
    version: str
    kind: str  # raw | missing | unlisted | mismatch | corrupt | approval | modified | manifest | pointer
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"file": self.file, "version": self.version, "kind": self.kind, "message": self.message}


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


def _select(vault: Vault, ref: str | None) -> list[Version]:
    if ref is None:
        return vault.versions()
    r = parse_ref(ref)
    if r.version is None and not r.approved and "@" not in ref:
        vs = vault.versions(r.cue)
        if not vs:
            raise UsageError(f"cue {r.cue} has no versions in this vault")
        return vs
    return [vault.resolve(r)]


def verify(vault: Vault, ref: str | None = None) -> VerifyReport:
    """Check the versions ``ref`` names (all versions of all cues when None)."""
    vault.recover()  # a killed commit's half-copied files are not "modified" stems
    versions = _select(vault, ref)
    report = VerifyReport(versions=[v.ref for v in versions])
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
        if v.approval:
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
        sha, size = hash_file(path)
        return oid, None if sha == oid else f"{size}"

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(check, sorted(to_hash)))
    for oid, outcome in results:
        uses = to_hash[oid]
        if outcome == "absent":
            for ref, f, _ in uses:
                report.not_local.append({"file": f, "version": ref, "oid": oid})
            continue
        report.objects_hashed += 1
        if outcome is not None:
            for ref, f, _ in uses:
                report.problems.append(Problem(
                    f, ref, "corrupt",
                    f"{f} in {ref}: the stored audio (LFS object {oid[:12]}…) no longer matches its "
                    "checksum; restore it from a remote (git lfs fetch) or a backup"))

    _working_copy(vault, versions, report)
    _working_pointers(vault, versions, report)
    return report


def _working_copy(vault: Vault, versions: list[Version], report: VerifyReport) -> None:
    """Files of a cue's latest version that were changed in the working folder."""
    latest: dict[str, Version] = {}
    for v in vault.versions():
        latest.setdefault(v.cue, v)
    cues = sorted({v.cue for v in versions if latest.get(v.cue) is v or
                   (latest.get(v.cue) and latest[v.cue].commit == v.commit)})
    if not cues:
        return
    out = git.run("status", "--porcelain", "-z", "--", *[f"{CUES_DIR}/{c}/" for c in cues],
                  cwd=vault.root).stdout
    for rec in git.iter_z(out):
        code, path = rec[:2], rec[3:]
        parts = path.split("/")
        if len(parts) < 3:
            continue
        cue, name = parts[1], parts[-1]
        if name == MANIFEST_NAME and code.strip() == "M":
            continue  # hand edits of descriptive fields are expected between versions
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
