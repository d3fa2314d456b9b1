"""Working with a remote: clone (lazy or not), fetch of chosen audio, push, pull, status.

Public surface:
    clone(url, dest, *, lazy) -> Path
    fetch_audio(vault, ref, stems, *, all_versions) -> list[FetchedObject]
    push(vault, remote) -> PushReport; pull(vault, remote) -> PullReport; status(vault, remote) -> dict
    sync_notes(vault, remote) -> int; merge_note_lines(local, remote) -> bytes

Review notes (refs/notes/stemvault) are fetched into refs/notes/remotes/<remote>/stemvault and
merged into the local ref line by line: the union of both sides' JSON lines for each commit,
identical lines once, ordered by timecode then date. The merged notes commit has both sides as
parents, so the push of the notes ref is a fast-forward. Approval tags are fetched into
refs/stemvault/remote-tags/<remote>/ and copied in when missing; a tag that differs on the two
sides is reported, never moved.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcs import git, lfs_ssh
from vcs.errors import GitFailed, RemoteError, UsageError, VaultError, cannot_write, git_advice
from vcs.lfs import POINTER_MAX, object_path, parse_pointer
from vcs.models import Version
from vcs.vault import CUES_DIR, NOTES_REF, Vault

__all__ = ["FetchProgress", "FetchedObject", "PullReport", "PushReport", "clone", "fetch_audio", "merge_note_lines",
           "pull", "push", "status", "sync_notes"]

REMOTE = "origin"
_TAGS = "refs/tags/"


def _remote_notes(remote: str) -> str:
    return f"refs/notes/remotes/{remote}/stemvault"


def _remote_tags(remote: str) -> str:
    return f"refs/stemvault/remote-tags/{remote}/"


def _unreachable(remote: str, url: str, e: GitFailed) -> RemoteError:
    last = e.stderr.strip().splitlines()[-1] if e.stderr.strip() else "no message"
    advice = git_advice(e.stderr) or "check the URL (`git remote -v`) and that the vault is there"
    return RemoteError(f"cannot reach the remote {remote} ({url}): {last} — {advice}")


def _require_remote(vault: Vault, remote: str) -> str:
    url = git.remote_url(remote, cwd=vault.root)
    if url is None:
        raise RemoteError(f"this vault has no remote named {remote!r}: clone the vault with "
                          f"`stemvault clone URL`, or add one with `git remote add {remote} URL`")
    return url


def _branch(vault: Vault) -> str:
    b = git.current_branch(vault.root)
    if b is None:
        raise UsageError("the vault is not on a branch (a detached HEAD): `git switch main`, then run this again")
    return b


def _require_clean(vault: Vault, what: str) -> None:
    changed = [p for code, p in git.status_readonly(cwd=vault.root) if code != "??"]
    if changed:
        raise UsageError(f"the working folder has changes that are not committed ({changed[0]}"
                         f"{f' and {len(changed) - 1} more' if len(changed) > 1 else ''}): commit them "
                         f"with `stemvault commit` or undo them (`git restore .`) before {what}")


# ----- clone ----------------------------------------------------------------------------------

def clone(url: str, dest: Path | None, *, lazy: bool = False) -> Path:
    """Clone the vault at ``url`` into ``dest`` (default: the URL's last part without .git).

    A lazy clone keeps ``lfs.fetchexclude=*``: no audio arrives now or with later pulls and
    checkouts; ``fetch`` brings chosen stems. Every clone sets ``lfs.ssh.automultiplex=false``.

    Raises:
        UsageError: ``dest`` exists and is not empty.
        RemoteError: the URL cannot be cloned.
    """
    git.require_tools()
    if dest is None:
        name = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        dest = Path(name[:-4] if name.endswith(".git") else name)
    dest = dest.resolve()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise UsageError(f"{dest} exists and is not an empty folder: give a new folder to clone into")
    parent = dest.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise cannot_write(e, parent) from None
    # The clone is made beside DIR and renamed into place when complete: an interrupted clone
    # (even SIGKILL) leaves no half-made vault at DIR, and running the same clone again removes
    # the leftover (it carries a marker naming it ours) and starts over.
    staging = parent / f".{dest.name}.stemvault-clone"
    marker = staging / _CLONE_MARKER
    if staging.exists():
        if not marker.is_file():
            raise UsageError(f"{staging} is in the way of the clone: move it away and clone again")
        shutil.rmtree(staging)
    try:
        staging.mkdir()
        marker.write_text(f"an unfinished `stemvault clone {url}`: safe to delete\n")
    except OSError as e:
        raise cannot_write(e, parent) from None
    work = staging / "vault"
    try:
        try:
            git.clone(url, work, cwd=Path.cwd(), lazy=lazy)  # a relative URL is relative to here
        except GitFailed as e:
            raise _unreachable(REMOTE, url, e) from None
        git.config_set("lfs.ssh.automultiplex", "false", cwd=work)
        if lazy:
            git.config_set("lfs.fetchexclude", "*", cwd=work)
        git.lfs_install_local(work)
        vault = Vault(work)
        try:
            _fetch_all(vault, REMOTE, url)
            _merge_notes(vault, REMOTE)
            _sync_tags_in(vault, REMOTE)
        finally:
            vault.close()
        if dest.exists():
            dest.rmdir()  # the empty folder the user named
        work.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


_CLONE_MARKER = "STEMVAULT-CLONE-IN-PROGRESS"


def _has_remote_ref(cwd: Path, remote: str, ref: str) -> bool:
    proc = git.run("ls-remote", "--exit-code", remote, ref, cwd=cwd, check=False, transfer=True)
    return proc.returncode == 0


# ----- notes ----------------------------------------------------------------------------------

def _line_key(line: bytes) -> tuple[Any, ...]:
    try:
        d = json.loads(line)
    except ValueError:
        return (1, "", "")
    if not isinstance(d, dict):
        return (1, "", "")
    return (0, str(d.get("tc") or ""), str(d.get("date") or ""))


def merge_note_lines(local: bytes, remote: bytes) -> bytes:
    """The union of two notes' lines: identical lines once, ordered by timecode then date
    (lines that are not JSON objects last, in their order)."""
    seen: set[bytes] = set()
    lines: list[bytes] = []
    for line in [*local.splitlines(), *remote.splitlines()]:
        s = line.strip()
        if s and s not in seen:
            seen.add(s)
            lines.append(s)
    lines.sort(key=_line_key)  # stable: equal keys keep their order
    return b"".join(line + b"\n" for line in lines)


def _fetch_all(vault: Vault, remote: str, url: str) -> None:
    try:
        git.fetch(remote, f"+refs/heads/*:refs/remotes/{remote}/*", f"+{_TAGS}*:{_remote_tags(remote)}*",
                  cwd=vault.root)
        if _has_remote_ref(vault.root, remote, NOTES_REF):
            git.fetch(remote, f"+{NOTES_REF}:{_remote_notes(remote)}", cwd=vault.root)
    except GitFailed as e:
        raise _unreachable(remote, url, e) from None


def _merge_notes(vault: Vault, remote: str) -> int:
    """Merge the fetched remote notes into the local notes ref; the number of commits whose
    notes changed here."""
    theirs = git.rev_parse(_remote_notes(remote), cwd=vault.root)
    if theirs is None:
        return 0
    ours = git.rev_parse(NOTES_REF, cwd=vault.root)
    if ours is not None and git.is_ancestor(theirs, ours, cwd=vault.root):
        return 0
    changed = len(git.notes_list(_remote_notes(remote), cwd=vault.root))
    if ours is None or git.is_ancestor(ours, theirs, cwd=vault.root):
        with vault.writing():
            git.update_ref(NOTES_REF, theirs, cwd=vault.root)
        return changed
    changed = 0
    with vault.writing():
        for blob, commit in git.notes_list(_remote_notes(remote), cwd=vault.root):
            mine = git.notes_show(NOTES_REF, commit, cwd=vault.root)
            merged = merge_note_lines(mine, vault.objects.read(blob))
            if merged != mine:
                git.notes_add_blob(NOTES_REF, commit, git.hash_object(merged, cwd=vault.root), cwd=vault.root)
                changed += 1
        head = git.rev_parse(NOTES_REF, cwd=vault.root)
        assert head is not None
        tree = git.rev_parse(f"{head}^{{tree}}", cwd=vault.root)
        assert tree is not None
        merge = git.commit_tree(tree, head, theirs, message=f"Merge review notes from {remote}", cwd=vault.root)
        git.update_ref(NOTES_REF, merge, cwd=vault.root)
    return changed


def sync_notes(vault: Vault, remote: str = REMOTE) -> int:
    """Fetch and merge the remote's review notes (see the module's docstring)."""
    url = _require_remote(vault, remote)
    _fetch_all(vault, remote, url)
    return _merge_notes(vault, remote)


# ----- tags -----------------------------------------------------------------------------------

def _tag_conflicts(vault: Vault, remote: str) -> tuple[list[str], list[str], list[str]]:
    """(tags only here, tags only there, tags that differ)."""
    mine = {r.name: r.oid for r in git.for_each_ref(_TAGS, cwd=vault.root)}
    # for_each_ref strips two components: "remote-tags/origin/1M03/v1/approved" → drop two more
    theirs = {r.name.split("/", 2)[2]: r.oid for r in git.for_each_ref(_remote_tags(remote), cwd=vault.root)}
    only_here = sorted(set(mine) - set(theirs))
    only_there = sorted(set(theirs) - set(mine))
    differ = sorted(k for k in set(mine) & set(theirs) if mine[k] != theirs[k])
    return only_here, only_there, differ


def _sync_tags_in(vault: Vault, remote: str) -> list[str]:
    """Copy the remote's tags this vault lacks; the names of tags that differ (left alone)."""
    _, only_there, differ = _tag_conflicts(vault, remote)
    if only_there:
        with vault.writing():
            for name in only_there:
                oid = git.rev_parse(f"{_remote_tags(remote)}{name}", cwd=vault.root)
                assert oid is not None
                git.update_ref(f"{_TAGS}{name}", oid, cwd=vault.root)
    return differ


# ----- fetch of audio -------------------------------------------------------------------------

@dataclass(frozen=True)
class FetchProgress:
    """How far a fetch is: whole objects arrived, and bytes (of whole and partial objects)."""
    objects_done: int
    objects_total: int
    bytes_done: int
    bytes_total: int


def _progress_of(vault: Vault, want: dict[str, int]) -> FetchProgress:
    """Progress of downloading ``want`` ({oid: size}), read from the LFS store itself: whole
    objects in lfs/objects, partial ones in lfs/incomplete (whatever the transfer adapter)."""
    done = [oid for oid in want if object_path(vault.git_dir, oid).is_file()]
    partial = 0
    incomplete = vault.git_dir / "lfs" / "incomplete"
    if incomplete.is_dir():
        for p in incomplete.iterdir():
            oid = p.name[:64]
            if oid in want and oid not in done:
                with contextlib.suppress(OSError):  # renamed into place meanwhile
                    partial += min(p.stat().st_size, want[oid])
    return FetchProgress(len(done), len(want), sum(want[o] for o in done) + partial, sum(want.values()))


@dataclass(frozen=True)
class FetchedObject:
    version: str
    file: str
    oid: str
    size: int


def _pick_stems(v: Version, files: list[str], wanted: list[str]) -> list[str]:
    out = []
    for stem in wanted:
        if stem in files:
            out.append(stem)
            continue
        w = stem.lower()
        match = [f for f in files if f.rsplit(".", 1)[0].lower() in (w, f"{v.cue.lower()}_{w}")]
        if len(match) != 1:
            raise UsageError(f"{v.ref} has no stem {stem!r} (stems: {', '.join(files)})")
        out.append(match[0])
    return out


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _pointers(vault: Vault, v: Version) -> dict[str, tuple[str, int]]:
    """{file name: (oid, size)} of the LFS files of version ``v``."""
    out: dict[str, tuple[str, int]] = {}
    prefix = f"{CUES_DIR}/{v.cue}/"
    for e in vault.tree(v):
        if e.type == "blob" and (e.size or 0) <= POINTER_MAX:
            p = parse_pointer(vault.objects.read(e.oid))
            if p is not None:
                out[e.path[len(prefix):]] = (p.oid, p.size)
    return out


def fetch_audio(vault: Vault, ref: str, stems: list[str], *, all_stems: bool = False,
                remote: str = REMOTE,
                progress: Callable[[FetchProgress], None] | None = None) -> list[FetchedObject]:
    """Download exactly the LFS objects of the chosen stems of version ``ref`` (all of its files
    with ``all_stems``, or no ``stems``), check each against its oid, and put them in the working
    folder when the working folder holds that version of the file. ``progress`` is called a few
    times a second while objects arrive (not at all when every object is here already).

    Raises:
        UsageError: a stem the version does not have.
        RemoteError: no remote, or it cannot be reached, or an object is missing there.
        VaultError: a downloaded object whose content does not match its oid (it is removed).
    """
    url = _require_remote(vault, remote)
    v = vault.resolve(ref)
    ptrs = _pointers(vault, v)
    files = sorted(ptrs) if all_stems or not stems else _pick_stems(v, sorted(ptrs), stems)
    files = [f for f in files if f in ptrs]
    want = [f for f in files if not object_path(vault.git_dir, ptrs[f][0]).is_file()]
    prefix = f"{CUES_DIR}/{v.cue}/"
    failure, problems, checked = "", dict[str, str](), set[str]()
    if want:
        sizes = {ptrs[f][0]: ptrs[f][1] for f in want}
        tick = (lambda: progress(_progress_of(vault, sizes))) if progress is not None else None
        try:  # an ssh remote: stemvault's own client (vcs/lfs_ssh.py), which checks what it stores
            problems, checked = lfs_ssh.fetch_objects(vault, url, remote, v.commit, [prefix + f for f in want], sizes, tick)
        except GitFailed as e:  # some objects may have arrived: those are checked and kept
            failure = e.stderr.strip().splitlines()[-1] if e.stderr.strip() else str(e)
            # git-lfs checks a download's sha256 itself and refuses it: the remote's copy is damaged
            if any(w in e.stderr for w in ("invalid hash", "expected OID", "does not match")):
                failure = "the remote's copy is damaged: its content does not match the oid"
    out: list[FetchedObject] = []
    missing: list[str] = []
    for f in files:
        oid, size = ptrs[f]
        obj = object_path(vault.git_dir, oid)
        if not obj.is_file():
            missing.append(f)
            continue
        # what arrived now is checked (git-lfs checked it too); an object that was here before
        # was checked when it came, and `verify` checks the store
        if f in want and oid not in checked and _sha256_file(obj) != oid:
            obj.unlink()
            raise VaultError(f"{f} of {v.ref}: the object fetched from {remote} does not match its oid "
                             f"{oid} (removed): the server's copy is damaged; fetch it from another copy")
        out.append(FetchedObject(v.ref, f, oid, size))
    _drop_partials(vault)
    # smudge the working files that are this version's
    head = git.head(vault.root)
    here = [prefix + g.file for g in out if head and _head_pointer(vault, head, prefix + g.file) == g.oid]
    if here:
        with vault.writing():
            git.lfs_checkout(here, cwd=vault.root)
    if missing:
        f = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise RemoteError(f"{f} of {v.ref} (oid {ptrs[f][0]}){more} could not be fetched from {remote} ({url}): "
                          f"{problems.get(ptrs[f][0]) or failure or 'the remote does not have it'}; the other files "
                          "arrived — ask whoever committed it to `stemvault push` again from their clone")
    return out


def _drop_partials(vault: Vault) -> int:
    """Remove git-lfs's partial downloads (``lfs/incomplete/<oid>…``) of objects this vault now
    holds whole: what an interrupted transfer left, which git-lfs's SSH transfer never resumes
    or removes. The number removed."""
    incomplete = vault.git_dir / "lfs" / "incomplete"
    removed = 0
    if not incomplete.is_dir():
        return 0
    for p in incomplete.iterdir():
        oid = p.name[:64]
        if p.is_file() and object_path(vault.git_dir, oid).is_file():
            p.unlink(missing_ok=True)
            removed += 1
    return removed


def _head_pointer(vault: Vault, head: str, path: str) -> str | None:
    got = vault.objects.read_rev_oid(f"{head}:{path}")
    if got is None:
        return None
    p = parse_pointer(got[1])
    return p.oid if p else None


# ----- push / pull ----------------------------------------------------------------------------

@dataclass
class PushReport:
    commits: int = 0
    objects_checked: int = 0
    notes_merged: int = 0
    tags_pushed: list[str] = field(default_factory=list)
    tags_differ: list[str] = field(default_factory=list)


def _objects_to_push(vault: Vault, base: str | None, tip: str) -> dict[str, str]:
    """{oid: path} of the LFS objects in ``tip``'s tree that ``base``'s tree does not hold."""
    def pointers(commit: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for e in git.ls_tree(commit, CUES_DIR + "/", cwd=vault.root):
            if e.type == "blob" and (e.size or 0) <= POINTER_MAX:
                p = parse_pointer(vault.objects.read(e.oid))
                if p is not None:
                    out.setdefault(p.oid, e.path)
        return out
    have = pointers(base) if base else {}
    return {oid: path for oid, path in pointers(tip).items() if oid not in have}


def push(vault: Vault, remote: str = REMOTE) -> PushReport:
    """Send this vault's new versions (with their audio), review notes and approval tags.

    Raises:
        RemoteError: no remote; unreachable; the remote has versions this vault lacks (pull
            first); an LFS object whose content does not match its oid (named).
    """
    url = _require_remote(vault, remote)
    branch = _branch(vault)
    rep = PushReport()
    _fetch_all(vault, remote, url)
    rep.notes_merged = _merge_notes(vault, remote)
    rep.tags_differ = _sync_tags_in(vault, remote)
    head = git.head(vault.root)
    assert head is not None
    theirs = git.rev_parse(f"refs/remotes/{remote}/{branch}", cwd=vault.root)
    if theirs is not None:
        ahead, behind = git.count_between(head, theirs, cwd=vault.root)
        if behind:
            raise RemoteError(
                f"{remote} has {behind} commit{'s' if behind != 1 else ''} this vault does not (someone pushed "
                f"since you last pulled): run `stemvault pull`, then `stemvault push` again — your "
                "versions get renumbered only if you commit again after pulling")
        rep.commits = ahead
    else:
        rep.commits = len(git.commits(head, cwd=vault.root))
    for oid, path in _objects_to_push(vault, theirs, head).items():
        obj = object_path(vault.git_dir, oid)
        if not obj.is_file():
            continue  # not here: git-lfs says whether the remote has it
        rep.objects_checked += 1
        if _sha256_file(obj) != oid:
            raise RemoteError(
                f"{path}: its LFS object here ({obj.relative_to(vault.root)}) does not match its oid {oid} "
                "(the local copy is damaged): nothing was pushed; restore it from the export folder or a "
                "backup (`stemvault verify` lists every damaged file)")
    refspecs = [f"{head}:refs/heads/{branch}"]
    if git.rev_parse(NOTES_REF, cwd=vault.root):
        refspecs.append(f"{NOTES_REF}:{NOTES_REF}")
    only_here, _, _ = _tag_conflicts(vault, remote)
    refspecs += [f"{_TAGS}{t}:{_TAGS}{t}" for t in only_here]
    proc = git.push(remote, *refspecs, cwd=vault.root)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace") + proc.stdout.decode("utf-8", "replace")
        from vcs.hook import refusals_in  # the server's guard said why (vcs.hook)

        if refusals := refusals_in(err):
            raise RemoteError(f"{remote} refused the push: {'; '.join(refusals)}")
        if "[rejected]" in err or "non-fast-forward" in err or "fetch first" in err:
            raise RemoteError(f"{remote} was changed while pushing (someone pushed at the same time): "
                              "run `stemvault pull`, then `stemvault push` again")
        raise _unreachable(remote, url, GitFailed(["push", remote], proc.returncode, err))
    rep.tags_pushed = only_here
    _fetch_all(vault, remote, url)  # the tracking refs now show what the remote holds
    return rep


@dataclass
class PullReport:
    commits: int = 0
    notes_merged: int = 0
    tags_new: list[str] = field(default_factory=list)
    tags_differ: list[str] = field(default_factory=list)


def pull(vault: Vault, remote: str = REMOTE) -> PullReport:
    """Bring the remote's new versions (fast-forward only), merge its review notes, copy its
    approval tags. A lazy clone fetches no audio.

    Raises:
        UsageError: uncommitted changes in the working folder.
        RemoteError: no remote; unreachable; both sides have new versions (cannot fast-forward).
    """
    url = _require_remote(vault, remote)
    branch = _branch(vault)
    _require_clean(vault, "pulling")
    rep = PullReport()
    _fetch_all(vault, remote, url)
    rep.notes_merged = _merge_notes(vault, remote)
    _, only_there, _ = _tag_conflicts(vault, remote)
    rep.tags_differ = _sync_tags_in(vault, remote)
    rep.tags_new = only_there
    theirs = git.rev_parse(f"refs/remotes/{remote}/{branch}", cwd=vault.root)
    head = git.head(vault.root)
    if theirs is None or head is None:
        return rep
    ahead, behind = git.count_between(head, theirs, cwd=vault.root)
    if behind and ahead:
        raise RemoteError(
            f"this vault and {remote} both have new commits ({ahead} here, {behind} there): stemvault does "
            "not merge audio versions; keep your export folder, `git reset --hard "
            f"{remote}/{branch}`, pull, and commit your export again (it gets the next number)")
    if behind:
        with vault.writing():
            git.merge_ff_only(f"refs/remotes/{remote}/{branch}", cwd=vault.root)
        _drop_partials(vault)
    rep.commits = behind
    return rep


# ----- status ---------------------------------------------------------------------------------

def _unpushed_note_lines(vault: Vault, remote: str) -> dict[str, int]:
    """{annotated commit: number of note lines here that the remote's notes lack}."""
    theirs = {commit: blob for blob, commit in git.notes_list(_remote_notes(remote), cwd=vault.root)}
    out: dict[str, int] = {}
    for blob, commit in git.notes_list(NOTES_REF, cwd=vault.root):
        if theirs.get(commit) == blob:
            continue
        mine = {line.strip() for line in vault.objects.read(blob).splitlines() if line.strip()}
        there = ({line.strip() for line in vault.objects.read(theirs[commit]).splitlines()}
                 if commit in theirs else set())
        if mine - there:
            out[commit] = len(mine - there)
    return out


def status(vault: Vault, remote: str = REMOTE, *, ask: bool = True) -> dict[str, Any]:
    """Where this vault stands against ``remote`` and which audio is here.

    With ``ask`` the remote is asked first (a fetch of its branches, tags and notes into
    tracking refs: the working folder and the local refs are not touched); when it cannot be
    reached, the answer is as of the last contact and ``checked`` is False with ``error`` saying
    why. Keys: remote, url, branch, checked, error, ahead, behind (commits), versions_not_pushed
    (["1M03@4.0", ...]), notes_not_pushed ([{"version", "lines"}]), approvals_not_pushed (tag
    names), lazy, cues ([{"version", "local", "missing", "objects_local", "objects_needed"}]: the
    latest version of each cue, its LFS files here and not here).

    Raises:
        RemoteError: ``remote`` is not a remote of this vault (the default, origin, may be absent).
    """
    url = git.remote_url(remote, cwd=vault.root)
    if url is None and remote != REMOTE:
        _require_remote(vault, remote)
    branch = git.current_branch(vault.root)
    head = git.head(vault.root)
    out: dict[str, Any] = {"remote": remote if url else None, "url": url, "branch": branch,
                           "checked": False, "error": None, "ahead": None, "behind": None,
                           "versions_not_pushed": [], "notes_not_pushed": [], "approvals_not_pushed": [],
                           "lazy": git.config_get("lfs.fetchexclude", cwd=vault.root) == "*",
                           "cues": []}
    if url and ask:
        try:
            _fetch_all(vault, remote, url)
            out["checked"] = True
        except RemoteError as e:
            out["error"] = str(e)
    theirs = git.rev_parse(f"refs/remotes/{remote}/{branch}", cwd=vault.root) if url and branch else None
    versions = vault.versions(details=False)
    by_commit = {v.commit: v.ref for v in versions}
    if url and head:
        if theirs:
            out["ahead"], out["behind"] = git.count_between(head, theirs, cwd=vault.root)
            unpushed = {c.oid for c in git.commits(f"{theirs}..{head}", cwd=vault.root)}
        else:  # the remote has no such branch yet: everything is to push
            out["ahead"], out["behind"] = len(git.commits(head, cwd=vault.root)), 0
            unpushed = set(by_commit)
        out["versions_not_pushed"] = [v.ref for v in versions if v.commit in unpushed]
        out["notes_not_pushed"] = [{"version": by_commit.get(c, c[:12]), "lines": n}
                                   for c, n in sorted(_unpushed_note_lines(vault, remote).items(),
                                                      key=lambda kv: by_commit.get(kv[0], kv[0]))]
        out["approvals_not_pushed"] = _tag_conflicts(vault, remote)[0]
    latest: dict[str, Version] = {}
    for v in versions:
        latest.setdefault(v.cue, v)
    for cue in sorted(latest):
        v = latest[cue]
        ptrs = _pointers(vault, v)
        local = sorted(f for f, (oid, _) in ptrs.items() if object_path(vault.git_dir, oid).is_file())
        needed = {oid for oid, _ in ptrs.values()}
        out["cues"].append({"version": v.ref, "local": local, "missing": sorted(set(ptrs) - set(local)),
                            "objects_local": sum(1 for oid in needed if object_path(vault.git_dir, oid).is_file()),
                            "objects_needed": len(needed)})
    return out
