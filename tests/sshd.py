"""A real sshd on 127.0.0.1 for end-to-end tests (shared by test_tui_e2e and test_lfs_transfer).

``running_sshd(folder, path=...)`` starts Debian's sshd in the foreground as our child on a free
loopback port, with a throwaway host key and user key, and stops it on exit. ``path`` is the PATH
that non-interactive sessions get (sshd's ``SetEnv``), which is how a test puts a server-side
program such as ``git-lfs-transfer`` where ``ssh host git-lfs-transfer ...`` finds it.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest


@dataclass(frozen=True)
class Sshd:
    port: int
    key: Path
    user: str

    def ssh_options(self) -> str:
        """The options every client command passes (throwaway keys, no known_hosts, no prompts)."""
        return (f"-F /dev/null -p {self.port} -i {self.key} -o IdentitiesOnly=yes -o BatchMode=yes "
                f"-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR")

    def command(self, remote: str) -> str:
        """`ssh -t` to this sshd running ``remote`` (one shell word, quoted here)."""
        quoted = "'" + remote.replace("'", "'\\''") + "'"
        return f"ssh -t {self.ssh_options()} {self.user}@127.0.0.1 {quoted}"

    def git_ssh_command(self) -> str:
        """A ``GIT_SSH_COMMAND`` for git and git-lfs (which add the host and remote command)."""
        return f"ssh {self.ssh_options()}"


def skip_or_fail(why: str) -> NoReturn:
    """Skip where a program is missing; in CI as root (where ./dev test installs them) the
    end-to-end path is a requirement, so a missing program fails instead of hiding."""
    if os.environ.get("CI") == "true" and os.geteuid() == 0:
        pytest.fail(f"CI must run the end-to-end tests: {why}")
    pytest.skip(why)


def _sshd_binary() -> str | None:
    return shutil.which("sshd", path=f"/usr/sbin:/usr/local/sbin:{os.environ.get('PATH', '')}")


@contextmanager
def running_sshd(d: Path, *, path: str | None = None, accept_env: str | None = None) -> Iterator[Sshd]:
    """sshd with its keys, config and log in folder ``d``. Skips when sshd is not installed, or
    when not root and the privilege-separation folder /run/sshd is missing. ``accept_env``: the
    variables a client may send (``ssh -o SetEnv=...``), as sshd's ``AcceptEnv``."""
    binary = _sshd_binary()
    if binary is None or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        skip_or_fail("sshd/ssh are not installed (apt-get install openssh-server openssh-client; "
                     "`./dev test` as root installs them)")
    run_dir = Path("/run/sshd")
    if not run_dir.is_dir():
        if os.geteuid() != 0:
            skip_or_fail("sshd needs /run/sshd, which only root can create here")
        run_dir.mkdir(parents=True, mode=0o755)
    for name in ("id", "host"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)], check=True)
    (d / "auth").write_text((d / "id.pub").read_text())
    (d / "auth").chmod(0o600)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (d / "cfg").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host'}\nPidFile none\n"
        f"AuthorizedKeysFile {d / 'auth'}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        # StrictModes no: the temp folders are not the user's own ~/.ssh; UsePAM no: no PAM stack needed.
        "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
        + (f"SetEnv PATH={path}\n" if path is not None else "")
        + (f"AcceptEnv {accept_env}\n" if accept_env is not None else ""))
    proc = subprocess.Popen([binary, "-D", "-f", str(d / "cfg"), "-E", str(d / "log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = (d / "log").read_text() if (d / "log").exists() else ""
                    raise AssertionError(f"sshd did not start (exit {proc.poll()}): {log}") from None
                time.sleep(0.05)
        yield Sshd(port, d / "id", getpass.getuser())
    finally:
        proc.terminate()
        proc.wait(timeout=10)


ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def transfer_sshd(d: Path, *, accept_env: str | None = None) -> Iterator[tuple[Sshd, Path]]:
    """(sshd, log): sshd whose sessions find this checkout's ``git-lfs-transfer`` first on their
    PATH (``python -m vcs.lfs_transfer``), each run's arguments appended to ``log``."""
    bin_dir = d / "bin"
    bin_dir.mkdir()
    log = d / "transfer.log"
    wrapper = bin_dir / "git-lfs-transfer"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\n'
                       f'PYTHONPATH="{ROOT}" exec "{sys.executable}" -m vcs.lfs_transfer "$@"\n')
    wrapper.chmod(0o755)
    with running_sshd(d, path=f"{bin_dir}:/usr/local/bin:/usr/bin:/bin", accept_env=accept_env) as sshd:
        yield sshd, log
