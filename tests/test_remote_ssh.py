"""stemvault's own verbs over SSH, end to end: `server init` a bare repository behind a real sshd
whose sessions find git-lfs-transfer (a wrapper running this checkout's vcs.lfs_transfer), then
push, a lazy clone, fetch of one stem, and a note pushed from the clone and pulled back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import CUE, Runner, git, lfs_objects, sha256, write_set
from tests.sshd import Sshd, transfer_sshd

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sshd, Path]]:
    """sshd whose sessions' PATH starts with a bin folder holding a logging ``git-lfs-transfer``."""
    d = tmp_path_factory.mktemp("sv-sshd")
    with transfer_sshd(d) as pair:
        yield pair


def _bare_objects(bare: Path) -> set[str]:
    root = bare / "lfs" / "objects"
    return {p.name for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _oids(vault: Path, sv: Runner, ref: str) -> dict[str, str]:
    return {s["file"]: s["sha256"] for s in sv.ok("-C", vault, "show", ref, "--json").json()["stems"]}


def _notes(vault: Path, sv: Runner, ref: str) -> list[str]:
    return [n["text"] for n in sv.ok("-C", vault, "show", ref, "--json").json()["notes"]]


def test_push_lazy_clone_fetch_and_notes_over_ssh(server: tuple[Sshd, Path], vault: Path, sv: Runner,
                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sshd, log = server
    monkeypatch.setenv("GIT_SSH_COMMAND", sshd.git_ssh_command())
    bare = tmp_path / "srv" / "film.git"
    sv.ok("server", "init", bare)
    url = f"ssh://{sshd.user}@127.0.0.1:{sshd.port}{bare}"

    # the composer's vault: two versions, pushed over ssh with their audio
    v1 = write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    v2 = write_set(tmp_path / "v2", gains={"STR": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    git(vault, "remote", "add", "origin", url)
    git(vault, "config", "lfs.ssh.automultiplex", "false")  # what `clone` sets (git-lfs 3.3 can hang)
    sv.ok("-C", vault, "push")
    assert _bare_objects(bare) == set(v1.values()) | set(v2.values())
    assert f"{bare} upload" in log.read_text().splitlines()  # through git-lfs-transfer, not HTTP
    assert git(bare, "rev-parse", "main") == git(vault, "rev-parse", "HEAD")

    # a lazy clone over ssh: no audio, history readable; the folder is named after the URL
    laptop = tmp_path / "laptop"
    laptop.mkdir()
    monkeypatch.chdir(laptop)
    sv.ok("clone", url, "--lazy")
    lazy = laptop / "film"
    assert lfs_objects(lazy) == set()
    assert [f"{v['cue']}@{v['version']}" for v in sv.ok("-C", lazy, "log", "--json").json()][:2] == \
        [f"{CUE}@2.0", f"{CUE}@1.0"]
    assert _oids(lazy, sv, f"{CUE}@2.0") == _oids(vault, sv, f"{CUE}@2.0")
    sv.ok("-C", lazy, "diff", f"{CUE}@1.0", f"{CUE}@2.0")

    # exactly the one stem asked for arrives, over git-lfs-transfer
    want = _oids(vault, sv, f"{CUE}@2.0")["1M03_STR.wav"]
    got = sv.ok("-C", lazy, "fetch", f"{CUE}@2.0", "--stem", "STR", "--json").json()
    assert [(g["file"], g["oid"]) for g in got] == [("1M03_STR.wav", want)]
    assert lfs_objects(lazy) == {want}
    assert sha256(lazy / "cues" / CUE / "1M03_STR.wav") == want == v2["1M03_STR.wav"]
    assert f"{bare} download" in log.read_text().splitlines()

    # a note from the lazy clone travels back to the composer
    sv.ok("-C", lazy, "note", f"{CUE}@2.0", "00:00:01:00", "strings still too loud")
    sv.ok("-C", lazy, "push")
    sv.ok("-C", vault, "pull")
    assert _notes(vault, sv, f"{CUE}@2.0") == ["strings still too loud"]
    assert lfs_objects(lazy) == {want}  # pushing a note sent and fetched no audio


def test_an_object_missing_on_the_ssh_server_is_named_and_the_others_arrive(
        server: tuple[Sshd, Path], vault: Path, sv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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
    gone = made["1M03_BRS.wav"]
    (bare / "lfs" / "objects" / gone[:2] / gone[2:4] / gone).unlink()

    lazy = tmp_path / "lazy"
    sv.ok("clone", url, lazy, "--lazy")
    r = sv("-C", lazy, "fetch", f"{CUE}@1.0", "--all")
    assert r.code == 2 and r.err.startswith("error: ") and len(r.err.strip().splitlines()) == 1
    assert "1M03_BRS.wav" in r.err and f"{CUE}@1.0" in r.err and gone in r.err
    assert lfs_objects(lazy) == set(made.values()) - {gone}
    for f, oid in made.items():
        if f != "1M03_BRS.wav":
            assert sha256(lazy / "cues" / CUE / f) == oid
    assert git(lazy, "status", "--porcelain") == ""  # no broken working tree: BRS is still its pointer


def test_plain_git_and_a_lazy_clone_against_a_server_init_repository(
        server: tuple[Sshd, Path], vault: Path, sv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import soundfile as sf

    from tests.helpers import SR, tone

    sshd, log = server
    monkeypatch.setenv("GIT_SSH_COMMAND", sshd.git_ssh_command())
    bare = tmp_path / "srv" / "film.git"
    sv.ok("server", "init", bare)
    url = f"ssh://{sshd.user}@127.0.0.1:{sshd.port}{bare}"
    v1 = write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    git(vault, "remote", "add", "origin", url)
    sv.ok("-C", vault, "push")

    # plain git: a full clone has the audio; a clone without it pulls exactly one file
    plain = tmp_path / "plain"
    git(tmp_path, "-c", "lfs.ssh.automultiplex=false", "clone", "-q", url, str(plain))
    for f, oid in v1.items():
        assert sha256(plain / "cues" / CUE / f) == oid
    skipped = tmp_path / "skipped"
    git(tmp_path, "-c", "lfs.ssh.automultiplex=false", "-c", "filter.lfs.smudge=git-lfs smudge --skip",
        "-c", "filter.lfs.process=git-lfs filter-process --skip", "clone", "-q", url, str(skipped))
    git(skipped, "config", "lfs.ssh.automultiplex", "false")
    assert lfs_objects(skipped) == set()
    git(skipped, "lfs", "pull", f"--include=cues/{CUE}/1M03_PAD.wav")
    assert lfs_objects(skipped) == {v1["1M03_PAD.wav"]}
    assert sha256(skipped / "cues" / CUE / "1M03_PAD.wav") == v1["1M03_PAD.wav"]
    # plain git push of new audio: the object reaches the server through git-lfs-transfer
    sf.write(plain / "cues" / CUE / "1M03_ALT.wav", tone(440.0, 1.0), SR, subtype="PCM_24")
    alt = sha256(plain / "cues" / CUE / "1M03_ALT.wav")
    git(plain, "add", f"cues/{CUE}/1M03_ALT.wav")
    git(plain, "commit", "-qm", "an alternate take, added with plain git")
    git(plain, "-c", "lfs.ssh.automultiplex=false", "push", "-q", "origin", "main")
    assert alt in _bare_objects(bare)
    assert git(bare, "rev-parse", "main") == git(plain, "rev-parse", "HEAD")
    assert log.read_text().splitlines().count(f"{bare} upload") >= 2  # stemvault's push and git's

    # stemvault's lazy clone of the same server: reads everything with an empty LFS store
    sv.ok("-C", vault, "pull")
    v2 = write_set(tmp_path / "v2", gains={"STR": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    sv.ok("-C", vault, "push")
    lazy = tmp_path / "lazy"
    sv.ok("clone", url, lazy, "--lazy")
    assert git(lazy, "config", "lfs.ssh.automultiplex").strip() == "false"
    assert git(lazy, "config", "lfs.fetchexclude").strip() == "*"
    assert lfs_objects(lazy) == set()
    assert [f"{v['cue']}@{v['version']}" for v in sv.ok("-C", lazy, "log", "--json").json()][:2] == \
        [f"{CUE}@2.0", f"{CUE}@1.0"]
    assert _oids(lazy, sv, f"{CUE}@2.0") == _oids(vault, sv, f"{CUE}@2.0")
    assert sv.ok("-C", lazy, "diff", f"{CUE}@1.0", f"{CUE}@2.0", "--json").json()
    assert sv.ok("-C", lazy, "verify", "--json").json()["ok"]
    v3 = write_set(tmp_path / "v3", gains={"PERC": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v3", "-m", "third")
    sv.ok("-C", vault, "push")
    sv.ok("-C", lazy, "pull")
    latest = sv.ok("-C", lazy, "log", "--json").json()[0]
    assert f"{latest['cue']}@{latest['version']}" == f"{CUE}@3.0"
    assert lfs_objects(lazy) == set()
    assert sv.ok("-C", lazy, "verify", "--json").json()["ok"]
    assert git(lazy, "status", "--porcelain") == ""
    assert set(v3.values()) <= _bare_objects(bare) and set(v2.values()) <= _bare_objects(bare)
