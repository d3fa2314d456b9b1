"""stemvault's own client of git-lfs's SSH transfer protocol (vcs/lfs_ssh.py), end to end: a real
sshd whose sessions run this checkout's git-lfs-transfer. `stemvault fetch` over an ssh remote goes
through the client — no `git lfs fetch` runs (GIT_TRACE shows every git command; `git lfs checkout`
still runs, which shows the trace works) — and stores exactly what git-lfs's own client stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import CUE, Runner, git, lfs_objects, sha256, write_set
from tests.sshd import Sshd, transfer_sshd
from vcs.lfs_ssh import SshTarget, ssh_target

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sshd, Path]]:
    """sshd whose sessions' PATH finds a logging ``git-lfs-transfer`` (this checkout's)."""
    d = tmp_path_factory.mktemp("lfs-ssh-sshd")
    with transfer_sshd(d) as pair:
        yield pair


def _oids(vault: Path, sv: Runner, ref: str) -> dict[str, str]:
    return {s["file"]: s["sha256"] for s in sv.ok("-C", vault, "show", ref, "--json").json()["stems"]}


def _store(vault: Path) -> dict[str, bytes]:
    root = vault / ".git" / "lfs" / "objects"
    return {p.name: p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def pushed(server: tuple[Sshd, Path], vault: Path, sv: Runner, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, dict[str, str]]:
    """(bare repository behind sshd, its ssh URL, {file: oid} of CUE@1.0), pushed with its audio."""
    sshd, _ = server
    monkeypatch.setenv("GIT_SSH_COMMAND", sshd.git_ssh_command())
    bare = tmp_path / "srv" / "film.git"
    sv.ok("server", "init", bare)
    url = f"ssh://{sshd.user}@127.0.0.1:{sshd.port}{bare}"
    made = write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    git(vault, "remote", "add", "origin", url)
    git(vault, "config", "lfs.ssh.automultiplex", "false")
    sv.ok("-C", vault, "push")
    return bare, url, made


def _traced_fetch(sv: Runner, lazy: Path, trace: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> list[str]:
    """Run `stemvault -C lazy fetch args` with GIT_TRACE on; the git commands it ran."""
    trace.unlink(missing_ok=True)
    monkeypatch.setenv("GIT_TRACE", str(trace))
    sv("-C", lazy, "fetch", *args)
    monkeypatch.delenv("GIT_TRACE")
    return trace.read_text().splitlines() if trace.exists() else []


def test_one_stem_arrives_through_the_client_and_matches_git_lfs_own_fetch(
        server: tuple[Sshd, Path], pushed: tuple[Path, str, dict[str, str]], sv: Runner, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, log = server
    bare, url, made = pushed
    lazy = tmp_path / "lazy"
    sv.ok("clone", url, lazy, "--lazy")
    log.write_text("")
    trace = _traced_fetch(sv, lazy, tmp_path / "trace", monkeypatch, f"{CUE}@1.0", "--stem", "STR")
    want = made["1M03_STR.wav"]
    assert lfs_objects(lazy) == {want}
    assert sha256(lazy / "cues" / CUE / "1M03_STR.wav") == want
    assert f"{bare} download" in log.read_text().splitlines()  # over the SSH protocol
    assert any("lfs checkout" in t for t in trace)  # the trace sees git-lfs when it runs...
    assert not any("lfs fetch" in t or "lfs pull" in t for t in trace)  # ...and no git-lfs fetched
    assert git(lazy, "status", "--porcelain") == ""
    assert not any(p.is_file() for p in (lazy / ".git" / "lfs").rglob("*")
                   if "objects" not in p.relative_to(lazy / ".git" / "lfs").parts and p.name[:64] in made.values())

    # every file: the store is byte for byte what git-lfs's own client stores for the same objects
    sv.ok("-C", lazy, "fetch", f"{CUE}@1.0", "--all")
    theirs = tmp_path / "theirs"
    sv.ok("clone", url, theirs, "--lazy")
    git(theirs, "-c", "lfs.fetchexclude=", "lfs", "fetch", "origin", "HEAD", "--include=*", "--exclude=")
    assert _store(lazy) == _store(theirs)
    assert set(_store(lazy)) == set(made.values())


def test_a_missing_and_a_damaged_object_are_named_the_others_arrive(
        pushed: tuple[Path, str, dict[str, str]], sv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bare, url, made = pushed
    lazy = tmp_path / "lazy"
    sv.ok("clone", url, lazy, "--lazy")
    bad = made["1M03_BRS.wav"]
    obj = bare / "lfs" / "objects" / bad[:2] / bad[2:4] / bad
    data = bytearray(obj.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    obj.unlink()
    obj.write_bytes(bytes(data))
    r = sv("-C", lazy, "fetch", f"{CUE}@1.0", "--all")
    assert r.code == 2 and r.err.startswith("error: ") and len(r.err.strip().splitlines()) == 1, r.err
    assert "1M03_BRS.wav" in r.err and bad in r.err and "damaged" in r.err and "does not match" in r.err
    assert lfs_objects(lazy) == set(made.values()) - {bad}
    assert not [p for p in (lazy / ".git" / "lfs").rglob(f"{bad}*") if p.is_file()]  # nothing of it kept
    assert git(lazy, "status", "--porcelain") == ""

    gone = made["1M03_STR.wav"]
    obj.unlink()
    obj.write_bytes(bytes(data))
    (bare / "lfs" / "objects" / gone[:2] / gone[2:4] / gone).unlink()
    for f in ("1M03_STR.wav",):
        (lazy / ".git" / "lfs" / "objects" / made[f][:2] / made[f][2:4] / made[f]).unlink(missing_ok=True)
    r = sv("-C", lazy, "fetch", f"{CUE}@1.0", "--stem", "STR")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1, r.err
    assert "1M03_STR.wav" in r.err and gone in r.err and "does not have it" in r.err
    assert lfs_objects(lazy) == set(made.values()) - {bad, gone}


def test_git_ssh_program_and_an_scp_like_url(server: tuple[Sshd, Path], pushed: tuple[Path, str, dict[str, str]],
                                            sv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIT_SSH (a program, no shell) and a ``user@host:path`` remote: the client runs the same ssh."""
    sshd, log = server
    bare, url, made = pushed
    lazy = tmp_path / "lazy"
    sv.ok("clone", url, lazy, "--lazy")
    prog = tmp_path / "my-ssh"
    prog.write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path / "my-ssh.log"}"; ps -o args= -p $PPID >> "{tmp_path / "my-ssh.log"}"\nexec {sshd.git_ssh_command()} "$@"\n')
    prog.chmod(0o755)
    monkeypatch.delenv("GIT_SSH_COMMAND")
    monkeypatch.setenv("GIT_SSH", str(prog))
    git(lazy, "remote", "set-url", "origin", f"{sshd.user}@127.0.0.1:{bare}")
    log.write_text("")
    got = sv.ok("-C", lazy, "fetch", f"{CUE}@1.0", "--stem", "BRS", "--json").json()
    assert [g["oid"] for g in got] == [made["1M03_BRS.wav"]] and lfs_objects(lazy) == {made["1M03_BRS.wav"]}
    # GIT_SSH ran with the scp-like URL's host and path, started by stemvault's leader (vcs/_leader.py);
    # (`git lfs checkout` afterwards opens an ssh connection of its own too: git-lfs 3.3 does)
    lines = (tmp_path / "my-ssh.log").read_text().splitlines()
    assert lines[:2] == [f"{sshd.user}@127.0.0.1 git-lfs-transfer {bare} download", lines[1]]
    assert "_leader.py" in lines[1]
    assert f"{bare} download" in log.read_text().splitlines()


def test_which_remotes_the_client_serves(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    assert ssh_target("ssh://me@host:2222/srv/film.git", cwd=tmp_path, remote="origin") == \
        SshTarget("me@host", "2222", "/srv/film.git")
    assert ssh_target("host/x:y", cwd=tmp_path, remote="origin") is None  # a path: '/' before ':'
    assert ssh_target("me@host:film.git", cwd=tmp_path, remote="origin") == SshTarget("me@host", None, "film.git")
    assert ssh_target("https://host/film.git", cwd=tmp_path, remote="origin") is None
    assert ssh_target(str(tmp_path), cwd=tmp_path, remote="origin") is None
    git(tmp_path, "config", "remote.origin.lfsurl", "https://lfs.example/film")
    assert ssh_target("ssh://host/srv/film.git", cwd=tmp_path, remote="origin") is None  # git-lfs then
