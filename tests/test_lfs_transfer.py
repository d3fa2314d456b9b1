"""git-lfs over plain SSH (issue 12, scope 1): the server program ``git-lfs-transfer``.

Two levels. The protocol: ``main()`` driven through in-memory pipes with crafted pkt-lines, as
git-lfs 3.3 frames them (tq/ssh.go, ssh/protocol.go). End to end: Debian's git-lfs client pushes,
clones and pulls WAVs over ``ssh://`` to a real sshd on 127.0.0.1 whose session PATH holds a
``git-lfs-transfer`` wrapper that runs this checkout's module and logs each invocation — no lfs.url,
no HTTP.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import SR, sha256, tone
from tests.sshd import Sshd, transfer_sshd
from vcs.lfs_transfer import main

ROOT = Path(__file__).resolve().parents[1]

# --- pkt-line helpers (the client's side) --------------------------------------------------------


def pkt(text: str) -> bytes:
    data = text.encode() + b"\n"
    return b"%04x" % (len(data) + 4) + data


def pkt_data(data: bytes) -> bytes:
    out = b""
    for i in range(0, len(data), 65516):
        part = data[i:i + 65516]
        out += b"%04x" % (len(part) + 4) + part
    return out


FLUSH, DELIM = b"0000", b"0001"
START = pkt("version 1") + FLUSH


def parse(stream: bytes) -> list[bytes | str]:
    """The server's answer as a list: text lines (LF stripped), raw data as bytes, 'FLUSH'/'DELIM'."""
    out: list[bytes | str] = []
    i = 0
    while i < len(stream):
        n = int(stream[i:i + 4], 16)
        if n == 0:
            out.append("FLUSH")
            i += 4
        elif n == 1:
            out.append("DELIM")
            i += 4
        else:
            out.append(stream[i + 4:i + n])
            i += n
    return out


def text(items: list[bytes | str]) -> list[str]:
    return [x if isinstance(x, str) else x.decode("utf-8", "replace").removesuffix("\n") for x in items]


def serve(repo: Path, operation: str, request: bytes) -> tuple[int, list[bytes | str]]:
    out = io.BytesIO()
    code = main([str(repo), operation], io.BytesIO(request), out)
    return code, parse(out.getvalue())


def store(repo: Path, oid: str) -> Path:
    return repo / "lfs" / "objects" / oid[:2] / oid[2:4] / oid


@pytest.fixture
def bare(tmp_path: Path) -> Path:
    repo = tmp_path / "server.git"
    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    return repo


AUDIO = b"RIFF" + bytes(range(256)) * 600  # 153,604 bytes: several pkt-lines of data
OID = hashlib.sha256(AUDIO).hexdigest()


def put(oid: str, data: bytes, size: int | None = None) -> bytes:
    return (pkt(f"put-object {oid}") + pkt(f"size={len(data) if size is None else size}") + DELIM
            + pkt_data(data) + FLUSH)


# --- the protocol --------------------------------------------------------------------------------


def test_advertises_version_1_accepts_it_and_quits_with_200(bare: Path) -> None:
    code, items = serve(bare, "download", START + pkt("quit") + FLUSH)
    assert code == 0
    assert text(items) == ["version=1", "FLUSH", "status 200", "FLUSH", "status 200", "FLUSH"]


def test_an_unknown_version_is_refused_with_400(bare: Path) -> None:
    _, items = serve(bare, "download", pkt("version 2") + FLUSH + pkt("quit") + FLUSH)
    lines = text(items)
    assert lines[2] == "status 400" and lines[3] == "DELIM" and "version" in lines[4]


def test_put_object_stores_the_object_after_checking_its_sha256_and_size(bare: Path) -> None:
    request = (START + pkt("batch") + pkt("transfer=ssh") + pkt("hash-algo=sha256") + pkt("refname=refs/heads/main")
               + DELIM + pkt(f"{OID} {len(AUDIO)}") + FLUSH
               + put(OID, AUDIO)
               + pkt(f"verify-object {OID}") + pkt(f"size={len(AUDIO)}") + FLUSH
               + pkt("batch") + DELIM + pkt(f"{OID} {len(AUDIO)}") + FLUSH
               + pkt("quit") + FLUSH)
    code, items = serve(bare, "upload", request)
    assert code == 0
    assert text(items)[4:] == [
        "status 200", "hash-algo=sha256", "DELIM", f"{OID} {len(AUDIO)} upload", "FLUSH",  # not held yet
        "status 200", "FLUSH",                                                              # put-object
        "status 200", "FLUSH",                                                              # verify-object
        "status 200", "hash-algo=sha256", "DELIM", f"{OID} {len(AUDIO)} noop", "FLUSH",    # now held
        "status 200", "FLUSH"]
    assert store(bare, OID).read_bytes() == AUDIO
    assert list((bare / "lfs" / "incoming").iterdir()) == []


def test_put_object_with_a_wrong_sha256_is_refused_and_nothing_is_stored(bare: Path) -> None:
    corrupt = AUDIO[:-1] + b"X"  # same size, different content: what git-lfs itself would not notice
    code, items = serve(bare, "upload", START + put(OID, corrupt)
                        + pkt(f"verify-object {OID}") + pkt(f"size={len(AUDIO)}") + FLUSH + pkt("quit") + FLUSH)
    assert code == 0
    lines = text(items)
    assert lines[4:6] == ["status 400", "DELIM"]
    assert lines[6].startswith(f"message error: object {OID} does not match its content")
    assert hashlib.sha256(corrupt).hexdigest() in lines[6]
    assert lines[8:10] == ["status 404", "DELIM"]  # verify: the server does not hold it
    assert not store(bare, OID).exists()
    assert list((bare / "lfs" / "incoming").iterdir()) == []


def test_put_object_with_a_wrong_size_or_a_bad_oid_is_refused(bare: Path) -> None:
    _, items = serve(bare, "upload", START + put(OID, AUDIO, size=len(AUDIO) + 1)
                     + put("../../../../etc/x", b"data", 4) + pkt("quit") + FLUSH)
    lines = text(items)
    assert lines[4] == "status 400" and "announced" in lines[6]
    assert lines[8] == "status 400" and "is not a sha256 object id" in lines[10]
    assert lines[-2:] == ["status 200", "FLUSH"]
    assert not (bare / "lfs" / "objects").exists() or not any(p.is_file() for p in (bare / "lfs" / "objects").rglob("*"))


def test_get_object_streams_the_object_with_its_size(bare: Path) -> None:
    store(bare, OID).parent.mkdir(parents=True)
    store(bare, OID).write_bytes(AUDIO)
    code, items = serve(bare, "download", START + pkt("batch") + pkt("hash-algo=sha256") + DELIM
                        + pkt(f"{OID} {len(AUDIO)}") + FLUSH
                        + pkt(f"get-object {OID}") + pkt(f"size={len(AUDIO)}") + FLUSH + pkt("quit") + FLUSH)
    assert code == 0
    assert text(items[4:9]) == ["status 200", "hash-algo=sha256", "DELIM", f"{OID} {len(AUDIO)} download", "FLUSH"]
    assert text(items[9:12]) == ["status 200", f"size={len(AUDIO)}", "DELIM"]
    end = items.index("FLUSH", 12)
    assert b"".join(x for x in items[12:end] if isinstance(x, bytes)) == AUDIO
    assert text(items[end + 1:]) == ["status 200", "FLUSH"]


def test_locking_is_answered_not_implemented_and_the_connection_goes_on(bare: Path) -> None:
    _, items = serve(bare, "upload", START + pkt("list-locks") + pkt("refname=refs/heads/main") + FLUSH
                     + pkt("lock") + pkt("path=a.wav") + FLUSH + pkt("quit") + FLUSH)
    lines = text(items)
    assert lines[4] == "status 501" and lines[8] == "status 501"
    assert lines[-2:] == ["status 200", "FLUSH"]


def test_an_unknown_object_is_a_404_naming_it(bare: Path) -> None:
    missing = "ab" * 32
    _, items = serve(bare, "download", START + pkt(f"get-object {missing}") + FLUSH + pkt("quit") + FLUSH)
    lines = text(items)
    assert lines[4:6] == ["status 404", "DELIM"] and missing in lines[6]
    assert lines[-2:] == ["status 200", "FLUSH"]


def test_upload_and_download_are_kept_apart(bare: Path) -> None:
    _, items = serve(bare, "download", START + put(OID, AUDIO) + pkt("quit") + FLUSH)
    assert text(items)[4] == "status 400"
    assert not store(bare, OID).exists()
    store(bare, OID).parent.mkdir(parents=True)
    store(bare, OID).write_bytes(AUDIO)
    _, items = serve(bare, "upload", START + pkt(f"get-object {OID}") + FLUSH + pkt("quit") + FLUSH)
    assert text(items)[4] == "status 400"


def test_a_connection_cut_mid_upload_leaves_nothing_half_written(bare: Path) -> None:
    cut = put(OID, AUDIO)[:70000]
    code, _ = serve(bare, "upload", START + cut)
    assert code == 2
    assert not store(bare, OID).exists()
    assert list((bare / "lfs" / "incoming").iterdir()) == []


def test_bad_usage_and_a_path_that_is_no_repository_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["only-one-arg"], io.BytesIO(), io.BytesIO()) == 2
    assert capsys.readouterr().err.startswith("error: usage: git-lfs-transfer PATH upload|download")
    out = io.BytesIO()
    assert main([str(tmp_path / "nowhere"), "download"], io.BytesIO(), out) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "is not a git repository" in err and err.count("\n") == 1
    assert out.getvalue() == b""


def test_the_server_program_does_not_import_numpy() -> None:
    probe = "import sys, vcs.lfs_transfer; print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'soundfile', 'tui', 'audio')))"
    out = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "PYTHONPATH": str(ROOT)},
                         check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


# --- end to end: Debian's git-lfs over a real sshd -------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sshd, Path]]:
    """sshd whose sessions' PATH starts with a bin folder holding a logging ``git-lfs-transfer``."""
    d = tmp_path_factory.mktemp("lfs-sshd")
    with transfer_sshd(d) as pair:
        yield pair


def _env(sshd: Sshd, home: Path) -> dict[str, str]:
    return {"HOME": str(home), "PATH": os.environ["PATH"], "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C.UTF-8",
            "GIT_SSH_COMMAND": sshd.git_ssh_command(), "GIT_TERMINAL_PROMPT": "0",
            # git-lfs 3.3 can hang with SSH multiplexing on (issue 12).
            "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "lfs.ssh.automultiplex", "GIT_CONFIG_VALUE_0": "false"}


def run(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{' '.join(args)} -> {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def _objects(git_dir: Path) -> dict[str, bytes]:
    root = git_dir / "lfs" / "objects"
    return {p.name: p.read_bytes() for p in root.rglob("*") if p.is_file()} if root.exists() else {}


def test_push_clone_and_pull_one_file_with_git_lfs_over_plain_ssh(server: tuple[Sshd, Path], tmp_path: Path,
                                                                  home: Path) -> None:
    import soundfile as sf

    sshd, log = server
    env = _env(sshd, home)
    bare = tmp_path / "srv" / "film.git"
    run(tmp_path, env, "git", "init", "-q", "--bare", str(bare))
    url = f"ssh://{sshd.user}@127.0.0.1:{sshd.port}{bare}"

    work = tmp_path / "composer"
    run(tmp_path, env, "git", "init", "-q", "-b", "main", str(work))
    run(work, env, "git", "lfs", "track", "*.wav")
    stems = {"1M03_STR.wav": 220.0, "1M03_BRS.wav": 330.0, "1M03_PERC.wav": 82.41}
    for name, freq in stems.items():
        sf.write(work / name, tone(freq, 1.0), SR, subtype="PCM_24")
    made = {name: sha256(work / name) for name in stems}
    run(work, env, "git", "add", ".")
    run(work, env, "git", "commit", "-qm", "1M03 v1")
    run(work, env, "git", "remote", "add", "origin", url)
    pushed = run(work, {**env, "GIT_TRACE": "1"}, "git", "push", "-u", "origin", "main")

    # The objects arrived in the bare repository's store, byte for byte.
    assert _objects(bare) == {oid: (work / name).read_bytes() for name, oid in made.items()}
    assert not any((bare / "lfs" / "incoming").iterdir())
    # ...through the SSH transfer program, not HTTP: no lfs.url, the wrapper ran, no authenticate/HTTP.
    assert subprocess.run(["git", "config", "lfs.url"], cwd=work, env=env).returncode == 1
    assert f"{bare} upload" in log.read_text().splitlines()
    assert "git-lfs-transfer" in pushed.stderr
    assert 'starting transfer adapter "ssh"' in pushed.stderr
    assert "git-lfs-authenticate" not in pushed.stderr and "HTTP:" not in pushed.stderr  # git-lfs traces each request
    # Locking is answered "not implemented" (501): git-lfs says nothing about it.
    assert "Locking support detected" not in pushed.stdout + pushed.stderr
    assert "does not support the Git LFS locking API" not in pushed.stdout + pushed.stderr

    # A full clone: every object downloaded, working files are the audio, not pointers.
    full = tmp_path / "editor"
    run(tmp_path, env, "git", "clone", "-q", url, str(full))
    assert {name: sha256(full / name) for name in stems} == made
    assert set(_objects(full / ".git")) == set(made.values())
    assert f"{bare} download" in log.read_text().splitlines()

    # A clone without audio, then exactly one file pulled.
    lazy = tmp_path / "laptop"
    run(tmp_path, {**env, "GIT_LFS_SKIP_SMUDGE": "1"}, "git", "clone", "-q", url, str(lazy))
    assert _objects(lazy / ".git") == {}
    assert (lazy / "1M03_STR.wav").read_bytes().startswith(b"version https://git-lfs.github.com/spec/v1")
    pulled = run(lazy, {**env, "GIT_TRACE": "1"}, "git", "lfs", "pull", "--include=1M03_BRS.wav")
    assert set(_objects(lazy / ".git")) == {made["1M03_BRS.wav"]}
    assert sha256(lazy / "1M03_BRS.wav") == made["1M03_BRS.wav"]
    assert (lazy / "1M03_STR.wav").read_bytes().startswith(b"version https://git-lfs.github.com/spec/v1")
    assert 'starting transfer adapter "ssh"' in pulled.stderr
    assert "git-lfs-authenticate" not in pulled.stderr and "HTTP:" not in pulled.stderr


def test_a_missing_object_on_the_server_fails_the_pull_naming_it(server: tuple[Sshd, Path], tmp_path: Path,
                                                                 home: Path) -> None:
    import soundfile as sf

    sshd, _ = server
    env = _env(sshd, home)
    bare = tmp_path / "film.git"
    run(tmp_path, env, "git", "init", "-q", "--bare", str(bare))
    url = f"ssh://{sshd.user}@127.0.0.1:{sshd.port}{bare}"
    work = tmp_path / "composer"
    run(tmp_path, env, "git", "init", "-q", "-b", "main", str(work))
    run(work, env, "git", "lfs", "track", "*.wav")
    sf.write(work / "1M03_PAD.wav", tone(146.83, 0.5), SR, subtype="PCM_24")
    oid = sha256(work / "1M03_PAD.wav")
    run(work, env, "git", "add", ".")
    run(work, env, "git", "commit", "-qm", "v1")
    run(work, env, "git", "remote", "add", "origin", url)
    run(work, env, "git", "push", "-q", "origin", "main")
    store(bare, oid).unlink()

    lazy = tmp_path / "laptop"
    run(tmp_path, {**env, "GIT_LFS_SKIP_SMUDGE": "1"}, "git", "clone", "-q", url, str(lazy))
    # One retry instead of eight: the 404 is final, the default retries only cost time.
    quick = {**env, "GIT_CONFIG_COUNT": "2", "GIT_CONFIG_KEY_1": "lfs.transfer.maxretries", "GIT_CONFIG_VALUE_1": "1"}
    r = subprocess.run(["git", "lfs", "pull"], cwd=lazy, env=quick, capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    assert oid in r.stderr and "404" in r.stderr
    assert _objects(lazy / ".git") == {}


def test_a_push_of_a_same_size_corrupted_object_is_refused_by_the_server(server: tuple[Sshd, Path], tmp_path: Path,
                                                                         home: Path) -> None:
    """git-lfs checks only sizes before it uploads; the server checks the sha256 and stores nothing."""
    import soundfile as sf

    sshd, _ = server
    env = _env(sshd, home)
    bare = tmp_path / "film.git"
    run(tmp_path, env, "git", "init", "-q", "--bare", str(bare))
    work = tmp_path / "composer"
    run(tmp_path, env, "git", "init", "-q", "-b", "main", str(work))
    run(work, env, "git", "lfs", "track", "*.wav")
    sf.write(work / "1M03_STR.wav", tone(220.0, 0.5), SR, subtype="PCM_24")
    oid = sha256(work / "1M03_STR.wav")
    run(work, env, "git", "add", ".")
    run(work, env, "git", "commit", "-qm", "v1")
    run(work, env, "git", "remote", "add", "origin", f"ssh://{sshd.user}@127.0.0.1:{sshd.port}{bare}")
    local = store(work / ".git", oid)
    data = bytearray(local.read_bytes())
    data[-1] ^= 0xFF  # same size, different bytes
    local.chmod(0o644)
    local.write_bytes(bytes(data))

    quick = {**env, "GIT_CONFIG_COUNT": "2", "GIT_CONFIG_KEY_1": "lfs.transfer.maxretries", "GIT_CONFIG_VALUE_1": "1"}
    r = subprocess.run(["git", "push", "origin", "main"], cwd=work, env=quick, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode != 0
    assert f"got status 400 when uploading OID {oid}" in r.stderr and "does not match its content" in r.stderr
    assert _objects(bare) == {}
    assert not any((bare / "lfs" / "incoming").iterdir())
    assert subprocess.run(["git", "rev-parse", "--verify", "-q", "refs/heads/main"], cwd=bare, env=env,
                          capture_output=True).returncode == 1  # the commit did not land without its audio
