"""The server side of sharing a vault over SSH: a bare repository that git-lfs-transfer serves.

``init_server(path)`` makes the bare repository; ``transfer_on_path()`` says whether a
non-interactive SSH session (which reads no shell profile) would find ``git-lfs-transfer``;
``link_transfer(folder)`` puts a symlink to stemvault's own ``git-lfs-transfer`` there.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from vcs import git
from vcs.errors import UsageError, cannot_write

__all__ = ["TRANSFER", "ServerInit", "check_link", "init_server", "link_transfer", "transfer_on_path", "transfer_script"]

TRANSFER = "git-lfs-transfer"
# what sshd gives a non-interactive session when the system sets nothing else (Debian's default)
_SSH_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/games"


@dataclass(frozen=True)
class ServerInit:
    path: Path
    transfer: str | None  # where git-lfs-transfer was found on an SSH session's PATH, or None


def transfer_script() -> Path:
    """stemvault's own ``git-lfs-transfer`` console script (next to this Python)."""
    return Path(sys.prefix) / "bin" / TRANSFER


def transfer_on_path(path: str | None = None) -> str | None:
    """Where ``git-lfs-transfer`` is on ``path`` (default: an SSH session's PATH), or None."""
    return shutil.which(TRANSFER, path=path if path is not None else _SSH_PATH)


def init_server(path: Path) -> ServerInit:
    """Create a bare repository at ``path`` (missing or an empty folder) for vaults to push to."""
    path = Path(os.path.abspath(path))
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UsageError(f"{path} exists and is not an empty folder: choose a new path for the repository")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise cannot_write(e, path.parent) from None
    git.init_bare(path)
    from vcs.hook import install_hook  # the guard on every push (docs/supervisor.md)

    install_hook(path)
    return ServerInit(path, transfer_on_path())


def check_link(folder: Path) -> bool:
    """Raise UsageError when ``link_transfer(folder)`` cannot work; True when the link is already there."""
    target = transfer_script()
    if not target.exists():
        raise UsageError(f"{target} is missing: reinstall stemvault (pip install stemvault)")
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such folder: give a folder on the SSH PATH, like /usr/local/bin")
    link = folder / TRANSFER
    if link.is_symlink() or link.exists():
        if link.resolve() == target.resolve():
            return True
        raise UsageError(f"{link} exists: remove it first, or link it by hand: ln -sf {target} {folder}/")
    return False


def link_transfer(folder: Path) -> Path:
    """Symlink stemvault's ``git-lfs-transfer`` into ``folder``; return the link."""
    link = folder / TRANSFER
    if check_link(folder):
        return link
    try:
        link.symlink_to(transfer_script())
    except OSError as e:
        raise cannot_write(e, folder) from None
    return link
