"""Interrupted transfers (issue 12, scope 5): `stemvault push`, `fetch` and `clone` killed with
SIGKILL in the middle of moving an object over SSH, as real subprocesses.

The kill lands mid-transfer by construction, not by timing: the server's ``git-lfs-transfer``
wrapper can put a "hold" pipe on its input (upload) or output (download) that passes the first
HOLD_AFTER bytes, then writes a marker file and passes nothing more; every object is bigger than
that. The test waits for the marker, records the killed command's process tree, and SIGKILLs the
command. Then: the processes it started end by themselves, no object is stored under its final
name unless it is whole (client and server), the server's incoming folder is emptied, and
running the same command again completes."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import CUE, Runner, git, lfs_objects, sha256, write_set
from tests.sshd import Sshd, running_sshd

ROOT = Path(__file__).resolve().parents[1]
HOLD_AFTER = 1 << 20  # bytes passed before the hold; each stem below is ~2.9 MB
SECONDS = 10.0

HOLD = r'''
import os, select, sys, time
marker, limit = sys.argv[1], int(sys.argv[2])
src, dst = sys.stdin.buffer.raw, sys.stdout.buffer.raw
passed = 0
while passed < limit:
    chunk = src.read(min(65536, limit - passed))
    if not chunk:
        sys.exit(0)
    view = memoryview(chunk)
    while view:
        view = view[dst.write(view):]
    passed += len(chunk)
open(marker, "w").close()
# Hold: pass nothing more; end when either side goes away (the client was killed).
p = select.poll()
p.register(src.fileno(), select.POLLIN | select.POLLHUP)
p.register(dst.fileno(), select.POLLERR | select.POLLHUP)
deadline = time.monotonic() + 600
while time.monotonic() < deadline:
    for fd, ev in p.poll(200):
        if fd == dst.fileno() and ev & (select.POLLERR | select.POLLHUP):
            sys.exit(0)
        if fd == src.fileno() and ev & (select.POLLIN | select.POLLHUP):
            if ev & select.POLLHUP or not os.read(src.fileno(), 65536):
                sys.exit(0)
'''


@dataclass(frozen=True)
class Server:
    sshd: Sshd
    dir: Path

    def hold(self, operation: str | None) -> Path:
        """Hold the next ``operation`` ("upload"/"download") transfer; the marker it will write."""
        for op in ("upload", "download"):
            (self.dir / f"hold-{op}").unlink(missing_ok=True)
        marker = self.dir / "held"
        marker.unlink(missing_ok=True)
        if operation:
            (self.dir / f"hold-{operation}").touch()
        return marker


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    d = tmp_path_factory.mktemp("hold-sshd")
    bin_dir = d / "bin"
    bin_dir.mkdir()
    (d / "hold.py").write_text(HOLD)
    transfer = f'"{sys.executable}" -m vcs.lfs_transfer "$@"'
    hold = f'"{sys.executable}" "{d / "hold.py"}" "{d / "held"}" {HOLD_AFTER}'
    wrapper = bin_dir / "git-lfs-transfer"
    wrapper.write_text(
        f'#!/bin/sh\nexport PYTHONPATH="{ROOT}"\n'
        f'if [ -e "{d}/hold-$2" ] && [ "$2" = upload ]; then {hold} | {transfer}\n'
        f'elif [ -e "{d}/hold-$2" ]; then {transfer} | {hold}\n'
        f"else exec {transfer}; fi\n")
    wrapper.chmod(0o755)
    with running_sshd(d, path=f"{bin_dir}:/usr/local/bin:/usr/bin:/bin") as sshd:
        yield Server(sshd, d)


def _env(server: Server) -> dict[str, str]:
    return {**os.environ, "GIT_SSH_COMMAND": server.sshd.git_ssh_command(), "PYTHONPATH": str(ROOT)}


def _tree(pid: int) -> set[int]:
    """``pid`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(p.name))
    out, todo = set(), [pid]
    while todo:
        q = todo.pop()
        out.add(q)
        todo += children.get(q, [])
    return out


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _describe(pids: set[int]) -> list[str]:
    out = []
    for pid in pids:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            out.append(f"{pid}: {cmdline}")
        except OSError:
            pass
    return out


def _kill_mid_transfer(args: list[str], cwd: Path, server: Server, operation: str,
                       sig: signal.Signals = signal.SIGKILL) -> int:
    """Run ``stemvault args`` with the ``operation`` held; send it ``sig`` (SIGKILL) once the hold
    is reached; then every process it started must end by itself (within a generous bound).
    Its exit code (negative: the signal)."""
    marker = server.hold(operation)
    proc = subprocess.Popen([sys.executable, "-c", "from tui.cli import entry; entry()", *args], cwd=cwd,
                            env=_env(server), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, f"stemvault {args} ended before the hold: {proc.communicate()}"
            assert time.monotonic() < deadline, "the transfer never reached the hold"
            time.sleep(0.05)
        tree = _tree(proc.pid) - {proc.pid}
        assert tree, "stemvault had started no process"
        proc.send_signal(sig)
        code = proc.wait(timeout=60)
        deadline = time.monotonic() + 60
        while _alive(tree) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = _alive(tree)
        try:
            assert not left, f"left behind after {sig.name}: {_describe(left)}"
        finally:
            for pid in left:  # ours: end them so that nothing outlives the test
                os.kill(pid, signal.SIGKILL)
        return code
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        server.hold(None)


def _store_is_whole(git_dir: Path) -> set[str]:
    """The oids stored under git_dir/lfs/objects, each checked: a file under its final name is whole."""
    root = git_dir / "lfs" / "objects"
    found = set()
    for p in root.rglob("*") if root.exists() else []:
        if p.is_file():
            assert hashlib.sha256(p.read_bytes()).hexdigest() == p.name, f"a partial object under its final name: {p}"
            found.add(p.name)
    return found


def _scratch_with_data(git_dir: Path) -> list[Path]:
    """Files under git_dir/lfs outside objects/ that hold data (git-lfs's scratch: partial downloads)."""
    root = git_dir / "lfs"
    return [p for p in root.rglob("*") if p.is_file() and p.stat().st_size
            and "objects" not in p.relative_to(root).parts] if root.exists() else []


def _server_processes(*needles: str) -> set[int]:
    """Live processes whose command line names any of ``needles`` (the server side of a test)."""
    found = set()
    for p in Path("/proc").iterdir():
        if not p.name.isdigit() or int(p.name) == os.getpid():
            continue
        try:
            cmdline = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if any(n in cmdline for n in needles):
            found.add(int(p.name))
    return _alive(found)


def _server_settled(bare: Path, server: Server) -> None:
    """Wait (bounded) for the server side to end and clean up after the cut connection: no
    git-lfs-transfer (nor the hold pipe) still running for this repository, nothing in incoming."""
    incoming = bare / "lfs" / "incoming"
    needles = (str(bare), str(server.dir / "hold.py"))
    deadline = time.monotonic() + 60
    while ((incoming.exists() and any(incoming.iterdir())) or _server_processes(*needles)) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _server_processes(*needles), _describe(_server_processes(*needles))
    assert not incoming.exists() or not any(incoming.iterdir()), list(incoming.iterdir())


@pytest.fixture
def shared(server: Server, vault: Path, sv: Runner, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, dict[str, str]]:
    """(bare repository, its ssh URL, the first version's {file: oid}); the vault's origin is it,
    nothing pushed yet."""
    monkeypatch.setenv("GIT_SSH_COMMAND", server.sshd.git_ssh_command())
    bare = tmp_path / "srv" / "film.git"
    sv.ok("server", "init", bare)
    url = f"ssh://{server.sshd.user}@127.0.0.1:{server.sshd.port}{bare}"
    made = write_set(tmp_path / "v1", seconds=SECONDS, roles={"STR": 220.0, "BRS": 330.0})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    git(vault, "remote", "add", "origin", url)
    git(vault, "config", "lfs.ssh.automultiplex", "false")
    return bare, url, made


def test_a_push_killed_mid_transfer_leaves_nothing_half_written_and_a_rerun_completes(
        server: Server, shared: tuple[Path, str, dict[str, str]], vault: Path, sv: Runner) -> None:
    bare, _, made = shared
    _kill_mid_transfer(["-C", str(vault), "push"], vault, server, "upload")
    _server_settled(bare, server)
    assert _store_is_whole(bare) < set(made.values())  # some objects did not arrive
    assert git(bare, "for-each-ref") == ""  # the branch did not land without its audio
    sv.ok("-C", vault, "push")
    assert _store_is_whole(bare) == set(made.values())
    assert _scratch_with_data(bare) == []
    assert git(bare, "rev-parse", "main") == git(vault, "rev-parse", "HEAD")


def test_a_fetch_killed_mid_transfer_leaves_nothing_half_written_and_a_rerun_completes(
        server: Server, shared: tuple[Path, str, dict[str, str]], vault: Path, sv: Runner, tmp_path: Path) -> None:
    bare, url, made = shared
    sv.ok("-C", vault, "push")
    lazy = tmp_path / "lazy"
    sv.ok("clone", url, lazy, "--lazy")
    _kill_mid_transfer(["-C", str(lazy), "fetch", CUE, "--all"], lazy, server, "download")
    assert _store_is_whole(lazy / ".git") < set(made.values())
    assert git(lazy, "status", "--porcelain") == ""
    # the held object was coming through stemvault's own SSH client (vcs/lfs_ssh.py): its partial
    # is under a scratch name (removed once the object is whole), never under the final one
    assert [p.name[64:68] for p in (lazy / ".git" / "lfs" / "incomplete").iterdir()] == [".sv-"]
    _server_settled(bare, server)
    got = sv.ok("-C", lazy, "fetch", CUE, "--all", "--json").json()
    assert {g["file"]: g["oid"] for g in got} == made
    assert _store_is_whole(lazy / ".git") == set(made.values()) == lfs_objects(lazy)
    for f, oid in made.items():
        assert sha256(lazy / "cues" / CUE / f) == oid
    assert git(lazy, "status", "--porcelain") == ""
    assert _scratch_with_data(lazy / ".git") == []


def test_a_clone_killed_mid_transfer_leaves_no_vault_and_a_rerun_completes(
        server: Server, shared: tuple[Path, str, dict[str, str]], vault: Path, sv: Runner, tmp_path: Path) -> None:
    bare, url, made = shared
    sv.ok("-C", vault, "push")
    dest = tmp_path / "copy"
    _kill_mid_transfer(["clone", url, str(dest)], tmp_path, server, "download")
    assert not dest.exists() or not any(dest.iterdir())  # no half-made vault where the user asked for one
    _server_settled(bare, server)
    sv.ok("clone", url, dest)
    assert _store_is_whole(dest / ".git") == set(made.values())
    assert _scratch_with_data(dest / ".git") == []
    for f, oid in made.items():
        assert sha256(dest / "cues" / CUE / f) == oid
    assert sv.ok("-C", dest, "verify", "--json").json()["ok"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no leftovers beside it


def test_an_interrupt_sent_to_stemvault_alone_ends_the_transfer_under_it(
        server: Server, shared: tuple[Path, str, dict[str, str]], vault: Path, sv: Runner, tmp_path: Path) -> None:
    """SIGINT to stemvault's process only (not the terminal's whole process group): stemvault ends
    with 130 and takes git, git-lfs and ssh with it."""
    bare, url, made = shared
    sv.ok("-C", vault, "push")
    lazy = tmp_path / "lazy"
    sv.ok("clone", url, lazy, "--lazy")
    code = _kill_mid_transfer(["-C", str(lazy), "fetch", CUE, "--all"], lazy, server, "download", signal.SIGINT)
    assert code == 130
    assert _store_is_whole(lazy / ".git") < set(made.values())
    _server_settled(bare, server)
    sv.ok("-C", lazy, "fetch", CUE, "--all")
    assert _store_is_whole(lazy / ".git") == set(made.values())
