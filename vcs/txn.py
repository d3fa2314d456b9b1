"""A journal that makes a commit all-or-nothing, even when the process is killed.

git moves HEAD atomically, so the committed history is always either the old version or the new
one. What a killed commit can leave half-done is the working folder and the index: stems copied,
a manifest rewritten, files staged. Before touching anything a commit writes
``.git/stemvault/txn.json`` (the old HEAD, the paths it will touch, the manifest as the user
left it). The next writer, under the vault lock, finds the journal and puts those paths back as
they are at HEAD — or, when HEAD has already moved to the new version, simply drops the journal.

Each process stages its copies in a folder of its own, ``.git/stemvault/incoming/<pid>-<start>``
(``staging_dir``): the analysis writes the copy of every file it reads there before the lock is
taken, so a commit that is still reading must not lose them to another process's recovery.
``recover`` removes only the folders whose owner (pid, and the process's start time, so a reused
pid does not count) is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vcs import git

if TYPE_CHECKING:
    from vcs.paths import VaultPaths

__all__ = ["begin", "end", "pending", "recover", "rollback", "staging_dir", "sweep_staging"]

_OWNER = re.compile(r"(?:read-)?(\d+)(?:-(?P<start>\d+))?")  # a folder: <pid>-<start> (read-<pid>: older)
_OLD_FILE = re.compile(r"(\d+)-")  # a temp copy an older version left: <pid>-<file name>


def _path(vault: VaultPaths) -> Path:
    return vault.git_dir / "stemvault" / "txn.json"


def begin(vault: VaultPaths, *, old_head: str | None, paths: list[str], manifest_path: str,
          manifest_text: str | None) -> None:
    """Record what is about to change (written atomically)."""
    p = _path(vault)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".tmp")
    data: dict[str, Any] = {"old_head": old_head, "paths": paths, "manifest_path": manifest_path,
                            "manifest_text": manifest_text, "pid": os.getpid()}
    tmp.write_text(json.dumps(data))
    os.replace(tmp, p)


def pending(vault: VaultPaths) -> bool:
    """A commit was interrupted and its journal awaits recovery."""
    return _path(vault).exists()


def end(vault: VaultPaths) -> None:
    _path(vault).unlink(missing_ok=True)


def rollback(vault: VaultPaths, data: dict[str, Any]) -> None:
    """Put the journal's paths back to HEAD, and the user's manifest back as it was."""
    paths = [p for p in data.get("paths", []) if p]
    if not paths:
        return
    root = vault.root
    if git.head(root):
        git.unstage(*paths, cwd=root)
        present = [p for p in paths if git.rev_parse(f"HEAD:{p}", cwd=root)]
        if present:
            git.restore_from_head(*present, cwd=root)
    git.clean(*paths, cwd=root)
    text = data.get("manifest_text")
    mpath = data.get("manifest_path")
    if text is not None and mpath:
        target = root / mpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


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
    end(vault)
    return True
