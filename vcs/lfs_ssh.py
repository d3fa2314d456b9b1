"""stemvault's own client of git-lfs's pure-SSH transfer protocol, download side (``stemvault fetch``).

git-lfs 3.3's client spends ~5x scp's CPU per byte on this protocol, plus a start-up per call; this
client is the mirror of vcs/lfs_transfer.py (the server, which documents the protocol): it runs
``ssh [-p PORT] [USER@]HOST git-lfs-transfer PATH download`` the way git would (GIT_SSH_COMMAND,
else core.sshCommand, else GIT_SSH, else ``ssh``), under vcs/_leader.py so that ssh ends when
stemvault dies, even by SIGKILL; negotiates version 1, sends one ``batch``, then ``get-object`` per
object, streaming each into ``<git dir>/lfs/incomplete/<oid>.sv-*`` (1 MiB buffers, sha256 while
writing) and renaming it to ``lfs/objects/aa/bb/<oid>`` only when its size and sha256 match.

Public surface:
    ssh_target(url, cwd, remote) -> SshTarget | None   (None: not an ssh URL, or lfs.url points elsewhere)
    download(git_dir, target, want, *, cwd, tick) -> dict[oid, problem]   (objects not stored, why)
    fetch_objects(vault, url, remote, commit, paths, want, tick) -> (problems, checked)
        (fetch_audio's download: this client for an ssh remote, else git-lfs)
    TransferFailed
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from vcs import git

if TYPE_CHECKING:
    from vcs.vault import Vault

__all__ = ["SshTarget", "TransferFailed", "download", "fetch_objects", "ssh_target"]

_OID = re.compile(r"^[0-9a-f]{64}$")
_BUF = 1 << 20
_TICK = 0.2
_DAMAGED = "the remote's copy is damaged: its content does not match the oid"


class TransferFailed(Exception):
    """The connection or the protocol failed: objects not yet stored did not arrive."""


@dataclass(frozen=True)
class SshTarget:
    host: str  # [user@]host
    port: str | None
    path: str


_SSH_URL = re.compile(r"^(?:ssh|git\+ssh|ssh\+git)://(?P<host>[^/:]+|\[[^\]]+\])(?::(?P<port>\d*))?(?P<path>/.*)$")
_SCP_LIKE = re.compile(r"^(?P<host>[^/:]+):(?P<path>.+)$")


def ssh_target(url: str, *, cwd: Path, remote: str) -> SshTarget | None:
    """Where ``url`` (a remote's URL) reaches over ssh, or None: not an ssh URL (a path, file://,
    http(s)://), or ``lfs.url`` / ``remote.<remote>.lfsurl`` sends LFS elsewhere (git-lfs then)."""
    for key in ("lfs.url", f"remote.{remote}.lfsurl"):
        if git.config_get(key, cwd=cwd):
            return None
    m = _SSH_URL.match(url)
    if m is not None:
        host = m["host"]
        if host.startswith("["):
            host = host[1:-1]
        return SshTarget(host, m["port"] or None, m["path"])
    if "://" in url:
        return None
    m = _SCP_LIKE.match(url)
    if m is None or Path(url).exists():  # git reads "a:b" as a path when it has a slash before ':'
        return None
    host = m["host"]
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return SshTarget(host, None, m["path"])


def _ssh_command(target: SshTarget, cwd: Path) -> list[str]:
    """The command git would run: GIT_SSH_COMMAND or core.sshCommand (through the shell, as git
    does), else GIT_SSH (a program), else ``ssh``; the port with -p; then the remote command."""
    remote_cmd = f"git-lfs-transfer {shlex.quote(target.path)} download"
    args = [*(["-p", target.port] if target.port else []), target.host, remote_cmd]
    shell = os.environ.get("GIT_SSH_COMMAND") or git.config_get("core.sshCommand", cwd=cwd)
    if shell:
        return ["/bin/sh", "-c", f'{shell} "$@"', shell, *args]
    return [os.environ.get("GIT_SSH") or "ssh", *args]


def _led(cmd: list[str]) -> list[str]:
    """``cmd`` under vcs/_leader.py (see vcs/git.py): ended when stemvault dies, however it dies."""
    if not os.path.isdir("/proc/self"):
        return cmd
    return [sys.executable, "-I", "-S", str(git._LEADER), str(os.getpid()), *cmd]


# --- pkt-line ------------------------------------------------------------------------------------

_FLUSH = b"0000"
_DELIM = b"0001"


def _pkt(text: str) -> bytes:
    data = text.encode() + b"\n"
    return b"%04x" % (len(data) + 4) + data


class _Conn:
    def __init__(self, rfile: IO[bytes], wfile: IO[bytes]) -> None:
        self.r = rfile
        self.w = wfile

    def send(self, *packets: bytes) -> None:
        self.w.write(b"".join(packets))
        self.w.flush()

    def _exact(self, n: int) -> bytes:
        data = self.r.read(n)
        if len(data) != n:
            raise TransferFailed("the server closed the connection")
        return data

    def packet(self) -> bytes | None:
        """A packet's payload; None for a flush; b"" stands for a delimiter (never a payload here)."""
        head = self._exact(4)
        try:
            n = int(head, 16)
        except ValueError:
            raise TransferFailed(f"the server broke the protocol (pkt-line length {head!r})") from None
        if n == 0:
            return None
        if n == 1:
            return b""
        if n < 4:
            raise TransferFailed(f"the server broke the protocol (pkt-line length {head!r})")
        return self._exact(n - 4)

    def text(self, packet: bytes | None) -> str:
        if not packet:
            raise TransferFailed("the server broke the protocol (expected a text packet)")
        return packet.decode("utf-8", "replace").removesuffix("\n")

    def status(self) -> tuple[int, list[str], bool]:
        """``status N`` and the argument lines after it; True when a delimiter ended them (the
        body follows), False at a flush."""
        line = self.text(self.packet())
        if not line.startswith("status "):
            raise TransferFailed(f"the server broke the protocol (expected a status, got {line[:80]!r})")
        try:
            code = int(line[7:])
        except ValueError:
            raise TransferFailed(f"the server broke the protocol ({line[:80]!r})") from None
        args: list[str] = []
        while True:
            p = self.packet()
            if p is None:
                return code, args, False
            if p == b"":
                return code, args, True
            args.append(self.text(p))

    def lines(self) -> list[str]:
        """Text lines up to the flush."""
        out = []
        while (p := self.packet()) is not None:
            out.append(self.text(p))
        return out


def _message(lines: list[str], fallback: str) -> str:
    for line in lines:
        if line.startswith("message "):
            return line[8:].removeprefix("error: ")
    return fallback


# --- one object ----------------------------------------------------------------------------------


def _receive(conn: _Conn, git_dir: Path, oid: str, size: int, tick: Callable[[], None] | None,
             last_tick: list[float]) -> str | None:
    """``get-object OID``: the object stored whole, or why not (the connection goes on)."""
    conn.send(_pkt(f"get-object {oid}"), _FLUSH)
    code, _, body = conn.status()
    if code != 200:
        rest = conn.lines() if body else []
        return "the remote does not have it" if code == 404 else _message(rest, f"the server answered {code}")
    if not body:
        raise TransferFailed(f"the server sent no data for object {oid}")
    incomplete = git_dir / "lfs" / "incomplete"
    incomplete.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f"{oid}.sv-", dir=incomplete)
    tmp = Path(name)
    digest = hashlib.sha256()
    written = 0
    try:
        with open(fd, "wb", buffering=_BUF) as f:
            while (p := conn.packet()) is not None:
                f.write(p)
                digest.update(p)
                written += len(p)
                if tick is not None and time.monotonic() - last_tick[0] >= _TICK:
                    f.flush()
                    tick()
                    last_tick[0] = time.monotonic()
        if written != size or digest.hexdigest() != oid:
            return _DAMAGED if written == size else (
                f"the remote's copy is damaged: {written} bytes arrived, the pointer says {size}")
        target = git_dir / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, target)
        return None
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def download(git_dir: Path, target: SshTarget, want: dict[str, int], *, cwd: Path,
             tick: Callable[[], None] | None = None) -> dict[str, str]:
    """Fetch ``want`` ({oid: size}) over one ssh connection into ``git_dir``'s LFS store, each
    checked by size and sha256 before it gets its final name. ``tick`` is called a few times a
    second while data arrives, and once at the end. Returns {oid: why} for each object not stored
    (missing on the server, damaged there); the others are stored whole.

    Raises:
        TransferFailed: ssh or the protocol failed (the message says why); whole objects stay.
    """
    problems: dict[str, str] = {}
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(_led(_ssh_command(target, cwd)), cwd=cwd, env=git.clean_env(),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, bufsize=_BUF)
        assert proc.stdin is not None and proc.stdout is not None
        conn = _Conn(proc.stdout, proc.stdin)
        try:
            try:
                _session(conn, git_dir, want, tick, problems)
            except (TransferFailed, BrokenPipeError, OSError) as e:
                proc.stdin.close()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=30)
                err.seek(0)
                said = [ln for ln in err.read().decode("utf-8", "replace").strip().splitlines() if ln.strip()]
                why = said[-1] if said else (str(e) if isinstance(e, TransferFailed) else "the connection broke")
                raise TransferFailed(why) from None
            with contextlib.suppress(OSError):
                proc.stdin.close()
            proc.wait(timeout=60)
        except BaseException:
            if proc.poll() is None:
                proc.terminate()  # the leader ends ssh under it
                proc.wait()
            raise
        finally:
            with contextlib.suppress(OSError):
                proc.stdout.close()
    if tick is not None:
        tick()
    return problems


def _session(conn: _Conn, git_dir: Path, want: dict[str, int], tick: Callable[[], None] | None,
             problems: dict[str, str]) -> None:
    advert = conn.lines()
    if "version=1" not in advert:
        raise TransferFailed(f"the server does not speak git-lfs's SSH protocol version 1 ({advert[:3]})")
    conn.send(_pkt("version 1"), _FLUSH)
    code, _, body = conn.status()
    if body:
        conn.lines()
    if code != 200:
        raise TransferFailed(f"the server refused protocol version 1 (status {code})")
    conn.send(_pkt("batch"), _pkt("hash-algo=sha256"), _DELIM,
              *(_pkt(f"{oid} {size}") for oid, size in want.items()), _FLUSH)
    code, _, body = conn.status()
    lines = conn.lines() if body else []
    if code != 200:
        raise TransferFailed(_message(lines, f"the server refused the batch (status {code})"))
    actions = {}
    for line in lines:
        fields = line.split(" ")
        if len(fields) >= 3 and _OID.match(fields[0]):
            actions[fields[0]] = fields[2]
    last_tick = [time.monotonic()]
    for oid, size in want.items():
        if actions.get(oid) != "download":
            problems[oid] = "the remote does not have it"
            continue
        why = _receive(conn, git_dir, oid, size, tick, last_tick)
        if why is not None:
            problems[oid] = why
    conn.send(_pkt("quit"), _FLUSH)
    with contextlib.suppress(TransferFailed):
        conn.status()


def fetch_objects(vault: Vault, url: str, remote: str, commit: str, paths: list[str], want: dict[str, int],
                  tick: Callable[[], None] | None = None) -> tuple[dict[str, str], set[str]]:
    """fetch_audio's download of ``want`` ({oid: size}, the files ``paths`` at ``commit``): over an
    ssh remote with this client, else with git-lfs (vcs.git.lfs_fetch). Returns ({oid: why} for
    objects this client did not store, the oids it stored and checked by sha256).

    Raises:
        GitFailed: git-lfs failed (some objects may have arrived, not checked here).
    """
    git_dir, cwd = vault.git_dir, vault.root
    target = ssh_target(url, cwd=cwd, remote=remote)
    if target is None:
        git.lfs_fetch(remote, commit, paths, cwd=cwd, tick=tick)
        return {}, set()
    try:
        problems = download(git_dir, target, want, cwd=cwd, tick=tick)
    except TransferFailed as e:  # whole objects stay (each was checked); the others did not arrive
        stored = {oid for oid in want if (git_dir / "lfs" / "objects" / oid[:2] / oid[2:4] / oid).is_file()}
        return {oid: str(e) for oid in want if oid not in stored}, stored
    return problems, set(want) - set(problems)
