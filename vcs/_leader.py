"""The leader of a transfer: ``python -I -S _leader.py PARENT_PID COMMAND [ARGS...]``.

vcs/git.py runs the git commands that talk to a remote (clone, fetch, push, git-lfs fetch) under
this script rather than directly, so that a stemvault that dies — even by SIGKILL, which it cannot
handle — does not leave git, its hooks, git-lfs and ssh running alone (or hanging on a server):

- the kernel sends this process SIGTERM when its parent dies (Linux's PR_SET_PDEATHSIG);
- on SIGTERM or SIGHUP it sends SIGTERM to every process under it (found in /proc), then exits;
- it stays in stemvault's process group and terminal: ssh can still ask for a passphrase, and
  Ctrl-C at the terminal reaches git and its children directly (the leader ignores it, and
  stemvault then ends the leader with SIGTERM).

It runs as a plain script with no site packages (standard library only, no subprocess import),
so it starts quickly. Exit code: the command's own, or 128 + the signal that ended it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from types import FrameType

PR_SET_PDEATHSIG = 1


def descendants(root: int) -> list[int]:
    """Every process under ``root``, from /proc."""
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    kids.setdefault(int(f.read().rsplit(b")", 1)[1].split()[1]), []).append(int(name))
            except (OSError, IndexError, ValueError):
                pass
    out: list[int] = []
    todo = [root]
    while todo:
        for child in kids.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def end(signum: int, frame: FrameType | None = None) -> None:
    for pid in descendants(os.getpid()):
        try:  # noqa: SIM105 - contextlib is one import more at every start
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    os._exit(128 + signum)


def main() -> None:
    signal.signal(signal.SIGTERM, end)
    signal.signal(signal.SIGHUP, end)
    signal.signal(signal.SIGINT, lambda signum, frame: None)  # the children get Ctrl-C themselves
    try:  # noqa: SIM105 - as above
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except Exception:  # not Linux: the leader still passes on stemvault's SIGTERM
        pass
    if os.getppid() != int(sys.argv[1]):  # stemvault died before prctl took effect
        end(signal.SIGTERM)
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(sys.argv[2], sys.argv[2:])
        except OSError as e:
            os.write(2, f"error: cannot run {sys.argv[2]}: {e.strerror}\n".encode())
        os._exit(127)
    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    sys.exit(128 - code if code < 0 else code)


if __name__ == "__main__":
    main()
