"""clone, lazy clone, fetch of chosen stems, push, pull, status — against local bare repositories
(git-lfs moves the objects to a plain-path remote's lfs/objects/ itself)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import CUE, Runner, git, lfs_objects, sha256, write_set


@pytest.fixture
def remote(vault: Path, sv: Runner, tmp_path: Path) -> Path:
    """A bare remote holding the vault's first version (with its audio), pushed with `push`."""
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    bare = tmp_path / "server" / "film.git"
    bare.parent.mkdir()
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(vault, "remote", "add", "origin", str(bare))
    sv.ok("-C", vault, "push")
    return bare


def _oids(vault: Path, sv: Runner, ref: str) -> dict[str, str]:
    return {s["file"]: s["sha256"] for s in sv.ok("-C", vault, "show", ref, "--json").json()["stems"]}


def _refs(vault: Path, sv: Runner) -> list[str]:
    return [f"{v['cue']}@{v['version']}" for v in sv.ok("-C", vault, "log", "--json").json()]


def _notes(vault: Path, sv: Runner, ref: str) -> list[str]:
    return [n["text"] for n in sv.ok("-C", vault, "show", ref, "--json").json()["notes"]]


def test_clone_brings_versions_and_audio(remote: Path, vault: Path, sv: Runner, tmp_path: Path) -> None:
    dest = tmp_path / "copy"
    sv.ok("clone", remote, dest)
    want = _oids(vault, sv, f"{CUE}@1.0")
    assert lfs_objects(dest) == set(want.values())
    for f, oid in want.items():
        assert sha256(dest / "cues" / CUE / f) == oid
    assert git(dest, "config", "lfs.ssh.automultiplex").strip() == "false"
    assert sv.ok("-C", dest, "verify", "--json").json()["ok"]


def test_lazy_clone_holds_no_audio_and_still_reads(remote: Path, vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v2", gains={"STR": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    sv.ok("-C", vault, "push")
    dest = tmp_path / "lazy"
    sv.ok("clone", remote, dest, "--lazy")
    assert lfs_objects(dest) == set()
    assert _refs(dest, sv)[:2] == [f"{CUE}@2.0", f"{CUE}@1.0"]
    assert _oids(dest, sv, f"{CUE}@2.0") == _oids(vault, sv, f"{CUE}@2.0")
    sv.ok("-C", dest, "diff", f"{CUE}@1.0", f"{CUE}@2.0")
    assert sv.ok("-C", dest, "verify", "--json").json()["ok"]
    # a third version arrives: pull brings it, still without audio
    write_set(tmp_path / "v3", gains={"BRS": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v3", "-m", "third")
    sv.ok("-C", vault, "push")
    sv.ok("-C", dest, "pull")
    assert _refs(dest, sv)[0] == f"{CUE}@3.0"
    assert lfs_objects(dest) == set()
    assert sv.ok("-C", dest, "verify", "--json").json()["ok"]
    assert git(dest, "status", "--porcelain") == ""
    st = sv.ok("-C", dest, "status", "--json").json()
    assert st["lazy"] and st["ahead"] == 0 and st["behind"] == 0
    assert st["cues"][0]["local"] == [] and len(st["cues"][0]["missing"]) == 5


def test_fetch_one_stem_brings_exactly_that_object(remote: Path, vault: Path, sv: Runner, tmp_path: Path) -> None:
    dest = tmp_path / "lazy"
    sv.ok("clone", remote, dest, "--lazy")
    want = _oids(vault, sv, f"{CUE}@1.0")["1M03_STR.wav"]
    got = sv.ok("-C", dest, "fetch", f"{CUE}@1.0", "--stem", "STR", "--json").json()
    assert [(g["file"], g["oid"]) for g in got] == [("1M03_STR.wav", want)]
    assert lfs_objects(dest) == {want}
    assert sha256(dest / "cues" / CUE / "1M03_STR.wav") == want  # smudged in the working folder
    st = sv.ok("-C", dest, "status", "--json").json()
    assert st["cues"][0]["local"] == ["1M03_STR.wav"]
    assert git(dest, "status", "--porcelain") == ""
    sv.ok("-C", dest, "fetch", CUE, "--all")
    assert lfs_objects(dest) == set(_oids(vault, sv, f"{CUE}@1.0").values())


def test_a_new_version_pushed_arrives_with_its_audio(remote: Path, vault: Path, sv: Runner, tmp_path: Path) -> None:
    other = tmp_path / "other"
    sv.ok("clone", remote, other)
    sums = write_set(tmp_path / "v2", gains={"STR": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    sv.ok("-C", vault, "push")
    assert sv.ok("-C", other, "status", "--json").json()["behind"] == 1  # status asks the remote
    sv.ok("-C", other, "pull")
    for f, oid in sums.items():
        assert sha256(other / "cues" / CUE / f) == oid
    assert sv.ok("-C", other, "verify", "--json").json()["ok"]


@pytest.mark.parametrize("order", ["a-first", "b-first"])
def test_notes_from_two_clones_both_survive(order: str, remote: Path, vault: Path, sv: Runner,
                                            tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    sv.ok("clone", remote, a, "--lazy")
    sv.ok("clone", remote, b, "--lazy")
    sv.ok("-C", a, "note", f"{CUE}@1.0", "00:00:01:00", "strings too loud")
    sv.ok("-C", b, "note", f"{CUE}@1.0", "00:00:00:12", "brass late")
    first, second = (a, b) if order == "a-first" else (b, a)
    sv.ok("-C", first, "push")
    sv.ok("-C", second, "push")  # merges the first's notes, then pushes (a fast-forward)
    sv.ok("-C", first, "pull")
    for clone in (a, b, vault):
        if clone == vault:
            sv.ok("-C", vault, "pull")
        assert _notes(clone, sv, f"{CUE}@1.0") == ["brass late", "strings too loud"]
    # pulling again changes nothing and duplicates nothing
    sv.ok("-C", a, "pull")
    assert _notes(a, sv, f"{CUE}@1.0") == ["brass late", "strings too loud"]


def test_approval_tags_travel_and_are_never_moved(remote: Path, vault: Path, sv: Runner, tmp_path: Path) -> None:
    other = tmp_path / "other"
    sv.ok("clone", remote, other)
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "-m", "ok")
    sv.ok("-C", vault, "push")
    sv.ok("-C", other, "pull")
    tag = "refs/tags/" + git(vault, "for-each-ref", "--format=%(refname:strip=2)", "refs/tags/").strip()
    assert git(other, "rev-parse", tag) == git(vault, "rev-parse", tag)
    assert sv.ok("-C", other, "show", f"{CUE}@1.0", "--json").json()["approved"]
    # a different tag of the same name in a third clone: reported, not overwritten on either side
    third = tmp_path / "third"
    git(tmp_path, "clone", "-q", str(remote), str(third))
    git(third, "tag", "-f", "-a", "-m", "forged", tag[len("refs/tags/"):], "HEAD")
    r = sv.ok("-C", third, "pull")
    assert "differs" in r.out
    assert git(third, "cat-file", "-p", tag).endswith("forged\n")
    sv.ok("-C", third, "push")
    assert git(remote, "rev-parse", tag) == git(vault, "rev-parse", tag)


def test_same_cue_race_second_push_refused_then_next_number(remote: Path, vault: Path, sv: Runner,
                                                           tmp_path: Path) -> None:
    other = tmp_path / "other"
    sv.ok("clone", remote, other)
    write_set(tmp_path / "a2", gains={"STR": 0.5})
    write_set(tmp_path / "b2", gains={"BRS": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "a2", "-m", "mine")
    sv.ok("-C", other, "commit", CUE, tmp_path / "b2", "-m", "theirs")
    sv.ok("-C", vault, "push")
    before = git(remote, "rev-parse", "main")
    r = sv("-C", other, "push")
    assert r.code == 2 and r.err.startswith("error: ") and "stemvault pull" in r.err
    assert len(r.err.strip().splitlines()) == 1
    assert git(remote, "rev-parse", "main") == before
    # the documented way out: drop the local commit, pull, commit the export again
    r = sv("-C", other, "pull")
    assert r.code == 2 and "reset --hard" in r.err
    git(other, "reset", "-q", "--hard", "origin/main")
    sv.ok("-C", other, "pull")
    sv.ok("-C", other, "commit", CUE, tmp_path / "b2", "-m", "theirs again")
    sv.ok("-C", other, "push")
    sv.ok("-C", vault, "pull")
    refs = _refs(vault, sv)
    assert refs[:3] == [f"{CUE}@3.0", f"{CUE}@2.0", f"{CUE}@1.0"]


def test_push_refuses_a_corrupted_object_naming_it(remote: Path, vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v2", gains={"STR": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    oid = _oids(vault, sv, f"{CUE}@2.0")["1M03_STR.wav"]
    obj = vault / ".git/lfs/objects" / oid[:2] / oid[2:4] / oid
    data = bytearray(obj.read_bytes())
    data[len(data) // 2] ^= 0x01  # same size: git-lfs alone would upload it
    os.chmod(obj, 0o644)
    obj.write_bytes(bytes(data))
    before = git(remote, "rev-parse", "main")
    r = sv("-C", vault, "push")
    assert r.code == 2 and "1M03_STR.wav" in r.err and oid in r.err
    assert git(remote, "rev-parse", "main") == before
    assert not (remote / "lfs/objects" / oid[:2] / oid[2:4] / oid).exists()


def test_one_line_errors(vault: Path, sv: Runner, tmp_path: Path, remote: Path) -> None:
    alone = tmp_path / "alone"
    sv.ok("init", alone)
    r = sv("-C", alone, "push")
    assert r.code == 2 and "no remote named 'origin'" in r.err and len(r.err.strip().splitlines()) == 1
    r = sv("clone", tmp_path / "nowhere.git", tmp_path / "x")
    assert r.code == 2 and r.err.startswith("error: cannot reach") and len(r.err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())
    git(vault, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    r = sv("-C", vault, "pull")
    assert r.code == 2 and "cannot reach the remote origin" in r.err
    git(vault, "remote", "set-url", "origin", str(remote))
    (vault / "cues" / CUE / "1M03_STR.wav").write_bytes(b"changed")
    r = sv("-C", vault, "pull")
    assert r.code == 2 and "not committed" in r.err and "1M03_STR.wav" in r.err


def test_an_object_missing_on_the_remote_is_named_and_the_others_arrive(remote: Path, vault: Path, sv: Runner,
                                                                       tmp_path: Path) -> None:
    dest = tmp_path / "lazy"
    sv.ok("clone", remote, dest, "--lazy")
    oids = _oids(vault, sv, f"{CUE}@1.0")
    gone = oids["1M03_BRS.wav"]
    (remote / "lfs/objects" / gone[:2] / gone[2:4] / gone).unlink()
    r = sv("-C", dest, "fetch", f"{CUE}@1.0", "--all")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1
    assert "1M03_BRS.wav" in r.err and f"{CUE}@1.0" in r.err and gone in r.err
    assert lfs_objects(dest) == set(oids.values()) - {gone}
    assert sha256(dest / "cues" / CUE / "1M03_STR.wav") == oids["1M03_STR.wav"]
    assert git(dest, "status", "--porcelain") == ""


def test_a_plain_git_pull_in_a_lazy_clone_fetches_no_audio(remote: Path, vault: Path, sv: Runner,
                                                           tmp_path: Path) -> None:
    dest = tmp_path / "lazy"
    sv.ok("clone", remote, dest, "--lazy")
    write_set(tmp_path / "v2", gains={"STR": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    sv.ok("-C", vault, "push")
    git(dest, "pull", "-q", "--ff-only")  # the setting persists: no environment variable to remember
    assert _refs(dest, sv)[0] == f"{CUE}@2.0"
    assert lfs_objects(dest) == set()
    assert git(dest, "status", "--porcelain") == ""


def test_status_asks_the_remote_and_names_what_is_not_pushed(remote: Path, vault: Path, sv: Runner,
                                                             tmp_path: Path) -> None:
    other = tmp_path / "other"
    sv.ok("clone", remote, other, "--lazy")
    st = sv.ok("-C", other, "status", "--json").json()
    assert st["checked"] and (st["ahead"], st["behind"]) == (0, 0)
    assert st["versions_not_pushed"] == [] and st["notes_not_pushed"] == [] and st["approvals_not_pushed"] == []
    assert st["cues"] == [{"version": f"{CUE}@1.0", "local": [], "missing": sorted(_oids(vault, sv, f"{CUE}@1.0")),
                           "objects_local": 0, "objects_needed": 5}]
    # the composer pushes a new version: status in the other clone sees it without a pull or fetch
    write_set(tmp_path / "v2", gains={"STR": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    sv.ok("-C", vault, "push")
    st = sv.ok("-C", other, "status", "--json").json()
    assert (st["ahead"], st["behind"]) == (0, 1)
    # here: a version, two notes and an approval not pushed yet
    write_set(tmp_path / "v3", gains={"BRS": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v3", "-m", "third")
    sv.ok("-C", vault, "note", f"{CUE}@2.0", "00:00:01:00", "strings fine now")
    sv.ok("-C", vault, "note", f"{CUE}@2.0", "00:00:01:12", "brass late")
    sv.ok("-C", vault, "approve", f"{CUE}@2.0", "-m", "ok")
    st = sv.ok("-C", vault, "status", "--json").json()
    assert (st["ahead"], st["behind"]) == (1, 0)
    assert st["versions_not_pushed"] == [f"{CUE}@3.0"]
    assert st["notes_not_pushed"] == [{"version": f"{CUE}@2.0", "lines": 2}]
    assert len(st["approvals_not_pushed"]) == 1 and st["approvals_not_pushed"][0].startswith(CUE)
    assert st["cues"][0]["objects_local"] == st["cues"][0]["objects_needed"] == 5
    out = sv.ok("-C", vault, "status").out
    assert f"versions not pushed: {CUE}@3.0" in out and f"{CUE}@2.0 (2 notes)" in out
    sv.ok("-C", vault, "push")
    st = sv.ok("-C", vault, "status", "--json").json()
    assert (st["ahead"], st["notes_not_pushed"], st["approvals_not_pushed"]) == (0, [], [])
    # a remote that cannot be reached: the answer is as of the last contact, and says so
    git(vault, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    st = sv.ok("-C", vault, "status", "--json").json()
    assert not st["checked"] and "cannot reach" in st["error"] and st["ahead"] == 0
    assert "could not ask origin" in sv.ok("-C", vault, "status").out


def test_remote_option_works_with_a_second_remote(remote: Path, vault: Path, sv: Runner, tmp_path: Path) -> None:
    backup = tmp_path / "backup" / "film.git"
    backup.parent.mkdir()
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(backup))
    git(vault, "remote", "add", "backup", str(backup))
    write_set(tmp_path / "v2", gains={"STR": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    assert sv.ok("-C", vault, "status", "--remote", "backup", "--json").json()["versions_not_pushed"] == \
        [f"{CUE}@2.0", f"{CUE}@1.0"]
    sv.ok("-C", vault, "note", f"{CUE}@1.0", "00:00:01:00", "for the backup")
    sv.ok("-C", vault, "push", "--remote", "backup")
    assert git(backup, "rev-parse", "main") == git(vault, "rev-parse", "HEAD")
    assert git(remote, "rev-parse", "main") != git(vault, "rev-parse", "HEAD")  # origin untouched
    oids = _oids(vault, sv, f"{CUE}@2.0")
    held = {p.name for p in (backup / "lfs" / "objects").rglob("*") if p.is_file()}
    assert set(oids.values()) <= held
    st = sv.ok("-C", vault, "status", "--remote", "backup", "--json").json()
    assert (st["remote"], st["ahead"], st["behind"], st["notes_not_pushed"]) == ("backup", 0, 0, [])
    assert sv.ok("-C", vault, "status", "--json").json()["ahead"] == 1  # origin still lacks v2
    # a lazy clone of origin fetches and pulls from the backup by name
    lazy = tmp_path / "lazy"
    sv.ok("clone", remote, lazy, "--lazy")
    git(lazy, "remote", "add", "backup", str(backup))
    sv.ok("-C", lazy, "pull", "--remote", "backup")
    assert _refs(lazy, sv)[0] == f"{CUE}@2.0" and _notes(lazy, sv, f"{CUE}@1.0") == ["for the backup"]
    got = sv.ok("-C", lazy, "fetch", f"{CUE}@2.0", "--stem", "STR", "--remote", "backup", "--json").json()
    assert [(g["file"], g["oid"]) for g in got] == [("1M03_STR.wav", oids["1M03_STR.wav"])]
    assert lfs_objects(lazy) == {oids["1M03_STR.wav"]}
    # an unknown remote name: one line, exit 2
    for verb in (["push"], ["pull"], ["status"], ["fetch", CUE]):
        r = sv("-C", lazy, *verb, "--remote", "nosuch")
        assert r.code == 2 and "no remote named 'nosuch'" in r.err and len(r.err.strip().splitlines()) == 1


def test_fetch_progress_only_on_a_terminal_or_when_asked(remote: Path, vault: Path, sv: Runner,
                                                       tmp_path: Path) -> None:
    oids = _oids(vault, sv, f"{CUE}@1.0")
    sizes = {f: (vault / "cues" / CUE / f).stat().st_size for f in oids}
    dest = tmp_path / "lazy"
    sv.ok("clone", remote, dest, "--lazy")
    # not a terminal (captured): stdout is the JSON alone, stderr stays empty
    r = sv.ok("-C", dest, "fetch", f"{CUE}@1.0", "--stem", "STR", "--json")
    assert r.err == "" and [g["file"] for g in r.json()] == ["1M03_STR.wav"]
    # --progress: objects and bytes on stderr, one line per object arrived, the last one complete
    r = sv.ok("-C", dest, "fetch", f"{CUE}@1.0", "--all", "--progress", "--json")
    lines = r.err.strip().splitlines()
    rest = sum(size for f, size in sizes.items() if f != "1M03_STR.wav")
    assert lines[-1] == f"fetching {CUE}@1.0: 4/4 objects, {rest / 1e6:.1f} MB of {rest / 1e6:.1f} MB"
    assert all(line.startswith(f"fetching {CUE}@1.0: ") and "\r" not in line for line in lines)
    assert len(r.json()) == 5  # stdout is still the JSON document alone
    # nothing left to fetch: no progress at all
    assert sv.ok("-C", dest, "fetch", f"{CUE}@1.0", "--all", "--progress").err == ""


def test_clone_into_an_empty_folder_and_around_a_leftover(remote: Path, vault: Path, sv: Runner,
                                                          tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    sv.ok("clone", remote, empty, "--lazy")
    assert _refs(empty, sv) == [f"{CUE}@1.0"] and not (tmp_path / ".empty.stemvault-clone").exists()
    # what an interrupted clone leaves (its marker inside) is removed by the rerun
    left = tmp_path / ".copy.stemvault-clone"
    (left / "vault" / ".git").mkdir(parents=True)
    (left / "STEMVAULT-CLONE-IN-PROGRESS").write_text("x")
    sv.ok("clone", remote, tmp_path / "copy", "--lazy")
    assert not left.exists() and _refs(tmp_path / "copy", sv) == [f"{CUE}@1.0"]
    # a folder of that name that is not ours is left alone, and the clone refused
    theirs = tmp_path / ".other.stemvault-clone"
    theirs.mkdir()
    (theirs / "keep.txt").write_text("mine")
    r = sv("clone", remote, tmp_path / "other")
    assert r.code == 2 and "in the way" in r.err and len(r.err.strip().splitlines()) == 1
    assert (theirs / "keep.txt").read_text() == "mine" and not (tmp_path / "other").exists()


def test_fetch_progress_on_a_terminal_is_one_line_rewritten(remote: Path, vault: Path, sv: Runner,
                                                            tmp_path: Path) -> None:
    dest = tmp_path / "lazy"
    sv.ok("clone", remote, dest, "--lazy")
    main_fd, tty_fd = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-c", "from tui.cli import entry; entry()", "-C", str(dest),
                               "fetch", f"{CUE}@1.0", "--json"], stdout=subprocess.PIPE, stderr=tty_fd,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
                              timeout=300)
        os.close(tty_fd)
        tty_fd = -1
        err = b""
        while True:
            try:
                chunk = os.read(main_fd, 65536)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            err += chunk
    finally:
        os.close(main_fd)
        if tty_fd >= 0:
            os.close(tty_fd)
    assert proc.returncode == 0
    assert len(json.loads(proc.stdout)) == 5  # stdout: the JSON alone
    text = err.decode()
    assert text.startswith("\r\x1b[Kfetching 1M03@1.0: ") and "5/5 objects" in text
    assert text.rstrip("\r\n").count("\n") == 0  # one line, rewritten in place, ended once


def test_clone_of_a_relative_path(remote: Path, vault: Path, sv: Runner, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(remote.parent)
    sv.ok("clone", "film.git", "sub/copy", "--lazy")
    assert _refs(remote.parent / "sub" / "copy", sv) == [f"{CUE}@1.0"]


def test_a_damaged_object_on_the_remote_is_refused_and_not_kept(remote: Path, vault: Path, sv: Runner,
                                                                 tmp_path: Path) -> None:
    """The server's copy of one object has the right size and the wrong bytes: fetch names it,
    keeps nothing of it, and the other files arrive whole (what was fetched is checked by sha256)."""
    dest = tmp_path / "lazy"
    sv.ok("clone", remote, dest, "--lazy")
    oids = _oids(vault, sv, f"{CUE}@1.0")
    bad = oids["1M03_BRS.wav"]
    obj = remote / "lfs/objects" / bad[:2] / bad[2:4] / bad
    data = bytearray(obj.read_bytes())
    data[len(data) // 2] ^= 0xFF
    obj.unlink()  # a new file: the vault's own copy may be a hard link to this one
    obj.write_bytes(bytes(data))
    r = sv("-C", dest, "fetch", f"{CUE}@1.0", "--all")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1, r.err
    assert "1M03_BRS.wav" in r.err and bad in r.err and "damaged" in r.err and "does not match" in r.err
    assert lfs_objects(dest) == set(oids.values()) - {bad}
    assert git(dest, "status", "--porcelain") == ""
