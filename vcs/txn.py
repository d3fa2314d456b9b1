"""A journal that makes a commit all-or-nothing, even when the process is killed.

git moves HEAD atomically, so the committed history is always either the old version or the new
one. What a killed commit can leave half-done is the working folder and the index: stems copied,
a manifest rewritten, files staged. Before touching anything a commit writes
``.git/stemvault/txn.json`` (the old HEAD, the paths it will touch, the manifest as the user
left it, the files it will write or remove, the LFS objects it may add). The next writer, under
the vault lock, finds the journal and puts things back — or, when HEAD has already moved to the
new version, simply drops the journal.

Putting back never asks git for the audio: a file the commit replaces or removes is first set
aside (``set_aside``: a rename into ``.git/stemvault/txn-backup/``) and a rollback renames it
back; a file the commit created is removed. Nothing else is touched — a file someone dropped into
the cue folder meanwhile stays — and a checkout cannot turn working audio into LFS pointer files
when git-lfs's smudge filter is not set up. LFS objects the attempt stored that no commit
references are removed with it (``.git/lfs/objects`` holds what some version needs, not the
leftovers of refused attempts), and so are the temporary files git-lfs left while it ran.

Each process stages its copies in a folder of its own, ``.git/stemvault/incoming/<pid>-<start>``
(``staging_dir``): the analysis writes the copy of every file it reads there before the lock is
taken, so a commit that is still reading must not lose them to another process's recovery.
``recover`` removes only the folders whose owner (pid, and the process's start time, so a reused
pid does not count) is gone.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vcs import git
from vcs.lfs import object_path

if TYPE_CHECKING:
    from vcs.paths import VaultPaths

__all__ = ["begin", "drop_new_objects", "end", "finish", "pending", "recover", "rollback", "set_aside",
           "staging_dir", "sweep_staging"]

_OWNER = re.compile(r"(?:read-)?(\d+)(?:-(?P<start>\d+))?")  # a folder: <pid>-<start> (read-<pid>: older)
_OLD_FILE = re.compile(r"(\d+)-")  # a temp copy an older version left: <pid>-<file name>


def _path(vault: VaultPaths) -> Path:
    return vault.git_dir / "stemvault" / "txn.json"


def _backup_dir(vault: VaultPaths) -> Path:
    return vault.git_dir / "stemvault" / "txn-backup"


def begin(vault: VaultPaths, *, old_head: str | None, paths: list[str], manifest_path: str,
          manifest_text: str | None, touched: list[str] | None = None, created: list[str] | None = None,
          objects: list[str] | None = None) -> None:
    """Record what is about to change (written atomically).

    ``touched``: the paths (relative to the vault) the commit will write or remove, each set aside
    first with ``set_aside``; ``created``: those of them that do not exist now (a rollback
    removes them); ``objects``: LFS object ids absent now that the commit may store (a rollback
    removes those no commit references). Without ``touched`` (older journals, ``analyze``), a
    rollback resets ``paths`` to HEAD with git instead.
    """
    p = _path(vault)
    p.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(_backup_dir(vault), ignore_errors=True)  # a finished transaction's leftovers
    data: dict[str, Any] = {"old_head": old_head, "paths": paths, "manifest_path": manifest_path,
                            "manifest_text": manifest_text, "pid": os.getpid(), "started": time.time()}
    if touched is not None:
        data.update(touched=touched, created=created or [], objects=objects or [])
    _write(p, data)


def _write(p: Path, data: dict[str, Any]) -> None:
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, p)


def set_aside(vault: VaultPaths, rel: str, *, planned_absent: bool = False) -> None:
    """Move the file at ``rel`` (relative to the vault) into the journal's backup, where a
    rollback takes it back from; nothing happens when there is no file there.
    ``planned_absent``: the journal lists ``rel`` as created (no file was there when it was
    written); a file found there after all is then restored, not removed, by a rollback."""
    src = vault.root / rel
    if not os.path.lexists(src):
        return
    dst = _backup_dir(vault) / rel
    if os.path.lexists(dst):  # set aside already in this transaction: the first one is the original
        os.unlink(src)
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(src, dst)
    except OSError as e:
        if e.errno != errno.EXDEV:
            raise
        shutil.copy2(src, dst, follow_symlinks=False)  # .git on another file system
        os.unlink(src)
    if not planned_absent:
        return
    p = _path(vault)
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(p.read_text())
        if rel in data.get("created", []):
            data["created"] = [c for c in data["created"] if c != rel]
            _write(p, data)


def pending(vault: VaultPaths) -> bool:
    """A commit was interrupted and its journal awaits recovery."""
    return _path(vault).exists()


def end(vault: VaultPaths) -> None:
    _path(vault).unlink(missing_ok=True)


def finish(vault: VaultPaths) -> None:
    """The transaction is over (committed, or rolled back): drop the journal and the backup."""
    end(vault)
    shutil.rmtree(_backup_dir(vault), ignore_errors=True)


def rollback(vault: VaultPaths, data: dict[str, Any]) -> None:
    """Put back what the journal ``data`` says was about to change (see the module docstring)."""
    paths = [p for p in data.get("paths", []) if p]
    if not paths:
        return
    if "touched" not in data:
        _rollback_with_git(vault, data, paths)
        return
    root = vault.root
    backup = _backup_dir(vault)
    created = set(data.get("created", []))
    restored: set[str] = set()
    for rel in data["touched"]:
        target, saved = root / rel, backup / rel
        if os.path.lexists(saved):
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(saved, target)
            restored.add(rel)
        elif rel in created:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target)
    for rel in created - set(data["touched"]):  # analysis records written for the attempt
        with contextlib.suppress(FileNotFoundError):
            os.unlink(root / rel)
    # The index back to HEAD for these paths, after the files are back (its refresh hashes what
    # is there: the new files would be stored by git-lfs's clean filter again); then the objects.
    if git.head(root):
        git.unstage(*paths, cwd=root)
    else:
        git.unstage_all(*paths, cwd=root)
    drop_new_objects(vault, data.get("objects", []), since=data.get("started"))
    text, mpath = data.get("manifest_text"), data.get("manifest_path")
    if text is not None and mpath and mpath not in restored:
        target = root / mpath
        with contextlib.suppress(OSError, UnicodeDecodeError):
            if target.read_text(encoding="utf-8") == text:
                return
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _rollback_with_git(vault: VaultPaths, data: dict[str, Any], paths: list[str]) -> None:
    """A journal without a list of touched files (``analyze``'s, or an older stemvault's): reset
    ``paths`` to HEAD. Untracked files are removed only outside ``cues/`` (analysis records):
    in a cue folder they may be someone's, and git has no copy."""
    root = vault.root
    if git.head(root):
        git.unstage(*paths, cwd=root)
        present = [p for p in paths if git.rev_parse(f"HEAD:{p}", cwd=root)]
        if present:
            git.restore_from_head(*present, cwd=root)
    ours = [p for p in paths if not (p == "cues" or p.startswith("cues/"))]
    if ours:
        git.clean(*ours, cwd=root)
    text = data.get("manifest_text")
    mpath = data.get("manifest_path")
    if text is not None and mpath:
        target = root / mpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def drop_new_objects(vault: VaultPaths, oids: list[str], *, since: float | None) -> list[str]:
    """Remove the LFS objects of ``oids`` (absent before the attempt) that no commit of any ref
    references, and git-lfs's temporary files written since ``since``; return the removed ids.

    An object is kept when any commit reachable from a ref (branches, tags, stash, notes...) adds
    a line naming it — a pointer, or an analysis record of that content: removing it would lose
    audio some version holds.
    """
    present = [o for o in oids if object_path(vault.git_dir, o).is_file()]
    removed: list[str] = []
    if present:
        seen = git.history_mentions("|".join(present), cwd=vault.root)
        if seen is not None:  # when git cannot tell, keep everything
            for oid in present:
                if oid not in seen:
                    with contextlib.suppress(OSError):
                        object_path(vault.git_dir, oid).unlink()
                        removed.append(oid)
    tmp = vault.git_dir / "lfs" / "tmp"
    if since is not None and tmp.is_dir():
        for e in os.scandir(tmp):
            with contextlib.suppress(OSError):
                if e.is_file(follow_symlinks=False) and e.stat(follow_symlinks=False).st_mtime >= since - 1:
                    os.unlink(e.path)
    return removed


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None  # field 22 of stat(5)


def _alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    return start is None or _start_time(pid) in (None, start)


def _incoming(vault: VaultPaths) -> Path:
    return vault.git_dir / "stemvault" / "incoming"


def staging_dir(vault: VaultPaths) -> Path:
    """This process's own staging folder (not created here)."""
    pid = os.getpid()
    return _incoming(vault) / f"{pid}-{_start_time(pid) or 0}"


def sweep_staging(vault: VaultPaths) -> None:
    """Remove the staging folders (and stray files) of processes that are gone."""
    try:
        entries = list(os.scandir(_incoming(vault)))
    except OSError:
        return
    for e in entries:
        is_dir = e.is_dir(follow_symlinks=False)
        m = _OWNER.fullmatch(e.name) if is_dir else _OLD_FILE.match(e.name)
        if m:
            start = m.groupdict().get("start")
            if _alive(int(m.group(1)), None if start in (None, "0") else start):
                continue
        if is_dir:
            shutil.rmtree(e.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(e.path)


def recover(vault: VaultPaths) -> bool:
    """Finish what a killed commit left (call under the vault lock). True when it did something."""
    sweep_staging(vault)
    p = _path(vault)
    if not p.exists():
        return False
    try:
        data = json.loads(p.read_text())
    except (OSError, ValueError):
        data = {}
    if data and git.head(vault.root) == data.get("old_head"):
        rollback(vault, data)
    finish(vault)
    return True
