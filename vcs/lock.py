"""One writer at a time per vault, and recovery from a writer that was killed.

Public surface:
    vault_lock(git_dir, wait_s) -> context manager (raises VaultBusy)
    clear_stale_index_lock(git_dir) -> bool

The vault lock is an ``flock`` on ``.git/stemvault/lock``: the kernel releases it when its
holder dies, however it dies, so a killed commit never leaves the vault locked. git's own
``index.lock`` has no such guarantee — a ``git add`` killed with SIGKILL leaves it behind — so
under our lock we remove it when no living process has it open.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from vcs.env import lock_wait_s
from vcs.errors import VaultBusy, cannot_write

__all__ = ["clear_stale_index_lock", "vault_lock"]


@contextlib.contextmanager
def vault_lock(git_dir: Path, wait_s: float | None = None) -> Iterator[None]:
    """Hold the vault's write lock; wait up to ``wait_s`` seconds for another holder.

    Raises:
        VaultBusy: when another stemvault process still holds it after ``wait_s``.
    """
    if wait_s is None:
        wait_s = lock_wait_s()
    d = git_dir / "stemvault"
    path = d / "lock"
    try:
        d.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:  # every writer starts here: a vault it cannot write says so, once
        raise cannot_write(e, git_dir.parent) from None
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    holder = _read_pid(path)
                    who = f" (pid {holder})" if holder else ""
                    raise VaultBusy(
                        f"another stemvault command{who} is writing to this vault; "
                        "wait for it to finish and run this again"
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip() or 0) or None
    except (OSError, ValueError):
        return None


def _open_by_someone(path: Path) -> bool:
    """True when a living process has ``path`` open (Linux /proc); assume so when unknowable."""
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    target = str(path.resolve())
    for pid_dir in proc.iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            for fd in (pid_dir / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) == target:
                        return True
        except OSError:
            continue  # another user's process, or gone
    return False


def clear_stale_index_lock(git_dir: Path) -> bool:
    """Remove ``index.lock`` if no process holds it (call only under the vault lock).

    Returns True when a stale lock was removed. A lock that a living process holds (a user's
    own ``git`` in this repository) is left alone; git then reports it.
    """
    lock = git_dir / "index.lock"
    if not lock.exists():
        return False
    if _open_by_someone(lock):
        # Give a short-lived git command a moment to finish.
        wait_s = lock_wait_s()
        for _ in range(max(1, int(wait_s * 10))):
            time.sleep(0.1)
            if not lock.exists():
                return False
            if not _open_by_someone(lock):
                break
        else:
            return False
    with contextlib.suppress(FileNotFoundError):
        lock.unlink()
    return True
