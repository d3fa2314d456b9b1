"""The commit path keeps what it does not own, says what it did, and says why it failed.

Issue 9: untracked files in a cue folder (A), an unparseable manifest edit (B), counts that agree
with the delta (6), dangling symlinks in an export (9), a rollback without the LFS smudge filter
(11), and the messages for a full disk, an unreadable file and a lossy file (15).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import (
    CUE,
    ROLES,
    SR,
    Runner,
    git,
    lfs_objects,
    sha256,
    tone,
    vault_state,
    write_set,
)

ROOT = Path(__file__).resolve().parent.parent


def _cue(vault: Path) -> Path:
    return vault / "cues" / CUE


def _one_line_error(r: object) -> str:
    err = r.err.strip()  # type: ignore[attr-defined]
    assert err.startswith("error: ") and "\n" not in err, err
    assert "Traceback" not in err
    return err


def _start(vault: Path, *args: str | Path, pause: str, marker: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "STEMVAULT_TEST_PAUSE": pause, "STEMVAULT_TEST_PAUSE_FILE": str(marker),
           "STEMVAULT_TEST_PAUSE_S": "60", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "tui.cli", "-C", str(vault), *map(str, args)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _wait_for(marker: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"exited early: {proc.communicate()}")
        assert time.monotonic() < deadline, "never reached the pause point"
        time.sleep(0.05)


# ----- A: files git does not hold ------------------------------------------------------------------

def test_untracked_files_in_the_cue_folder_stop_the_commit(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    notes = _cue(vault) / "editor notes.txt"
    notes.write_text("bar 12: the choir is late\n")
    (_cue(vault) / "alt").mkdir()
    alt = _cue(vault) / "alt" / "1M03_STR_alt.wav"
    sf.write(alt, tone(250.0, 1.0), SR, subtype="PCM_24")
    alt_sha = sha256(alt)
    # the new export has a file of the same name as one the editor dropped in by hand
    write_set(tmp_path / "v2", gains={"STR": 0.5}, roles={"STR": 220.0, "BRS": 330.0, "CHOIR": 440.0})
    by_hand = _cue(vault) / "1M03_CHOIR.wav"
    sf.write(by_hand, tone(500.0, 1.0), SR, subtype="PCM_24")
    hand_sha = sha256(by_hand)
    before = vault_state(vault)

    r = sv("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    assert r.code == 2
    err = _one_line_error(r)
    for name in ("editor notes.txt", "alt/1M03_STR_alt.wav", "1M03_CHOIR.wav"):
        assert name in err
    assert "not part of any version" in err and "move" in err
    assert vault_state(vault) == before
    assert notes.read_text() == "bar 12: the choir is late\n"
    assert sha256(alt) == alt_sha and sha256(by_hand) == hand_sha
    # once moved out, the same commit goes through
    shutil.move(str(_cue(vault) / "alt"), tmp_path / "kept-alt")
    notes.unlink()
    by_hand.unlink()
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")


def test_a_file_dropped_in_during_a_killed_commit_survives_recovery(
        vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    write_set(tmp_path / "v2", gains={"STR": 0.5})
    marker = tmp_path / "paused"
    proc = _start(vault, "commit", CUE, tmp_path / "v2", "-m", "second", pause="after-add", marker=marker)
    _wait_for(marker, proc)
    dropped = _cue(vault) / "notes from the spotting session.txt"
    dropped.write_text("keep me\n")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    sv("-C", vault, "verify")  # recovers the killed commit
    assert dropped.read_text() == "keep me\n"


def test_a_file_dropped_in_during_an_interrupted_commit_survives_its_rollback(
        vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    write_set(tmp_path / "v2", gains={"STR": 0.5})
    marker = tmp_path / "paused"
    proc = _start(vault, "commit", CUE, tmp_path / "v2", "-m", "second", pause="after-copy", marker=marker)
    _wait_for(marker, proc)
    dropped = _cue(vault) / "alt take.wav"
    sf.write(dropped, tone(300.0, 0.5), SR, subtype="PCM_24")
    want = sha256(dropped)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the commit rolls itself back
    proc.wait()
    assert git(vault, "log", "-1", "--format=%s").startswith("1M03 v1.0")
    assert sha256(dropped) == want


def test_verify_says_an_untracked_file_is_not_backed_up(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    (_cue(vault) / "notes.txt").write_text("x\n")
    r = sv("-C", vault, "verify", "--json")
    assert r.code == 1
    (p,) = [p for p in r.json()["problems"] if p["file"] == "notes.txt"]
    assert "not part of any version" in p["message"] and "not backed up" in p["message"]
    assert "git checkout" not in p["message"]


# ----- B: a hand edit of the manifest that does not parse -------------------------------------------

def test_an_unparseable_manifest_edit_stops_the_commit(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    mpath = _cue(vault) / "stemset.toml"
    lines = mpath.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith('role = "pads"'))
    lines[at] = 'role = "pads\n'  # an unclosed quote
    mpath.write_text("".join(lines))
    edited = mpath.read_text()
    write_set(tmp_path / "v2", gains={"STR": 0.5})
    before = vault_state(vault)
    r = sv("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    assert r.code == 2
    err = _one_line_error(r)
    assert "stemset.toml" in err and f"line {at + 1}" in err
    assert mpath.read_text() == edited
    assert vault_state(vault) == before


# ----- 6: counts that agree with the delta ---------------------------------------------------------

def test_a_rename_is_reported_as_a_rename(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    shutil.copytree(tmp_path / "v1", tmp_path / "v2")
    (tmp_path / "v2" / "1M03_PAD.wav").rename(tmp_path / "v2" / "1M03_PADS.wav")
    doc = sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "renamed", "--json").json()
    assert doc["renamed"] == [["1M03_PAD.wav", "1M03_PADS.wav"]]
    assert doc["added"] == [] and doc["removed"] == [] and doc["changed"] == []
    assert sorted(doc["unchanged"]) == ["1M03_BRS.wav", "1M03_MIX.wav", "1M03_PERC.wav", "1M03_STR.wav"]
    assert doc["new_lfs_objects"] == 0
    assert "PAD>PADS" in doc["delta"]

    # and in the human line: a rename back, with the strings changed as well
    shutil.rmtree(tmp_path / "v2")
    write_set(tmp_path / "v3", gains={"STR": 0.5})
    out = sv.ok("-C", vault, "commit", CUE, tmp_path / "v3", "-m", "back").out
    first = out.splitlines()[0]
    assert "0 added, 2 changed, 0 removed, 1 renamed, 2 unchanged; 2 new LFS objects" in first


def test_a_rename_with_changed_audio_is_renamed_and_changed(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    write_set(tmp_path / "v2", gains={"PAD": 0.5})
    (tmp_path / "v2" / "1M03_PAD.wav").rename(tmp_path / "v2" / "1M03_PADS.wav")
    doc = sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "pads down", "--json").json()
    assert doc["delta"].startswith("~PAD>PADS ")
    assert doc["renamed"] == [["1M03_PAD.wav", "1M03_PADS.wav"]]
    assert doc["added"] == [] and doc["removed"] == []
    assert sorted(doc["changed"]) == ["1M03_MIX.wav", "1M03_PADS.wav"]
    assert doc["new_lfs_objects"] == 2


def test_new_lfs_objects_counts_what_earlier_versions_do_not_hold(
        vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    v2 = tmp_path / "v2"
    write_set(v2, gains={"STR": 0.5})
    # what a refused attempt leaves: the objects of the changed files already in .git/lfs/objects
    for name in ("1M03_STR.wav", "1M03_MIX.wav"):
        with open(v2 / name, "rb") as f:
            subprocess.run(["git", "lfs", "clean", "--", f"cues/{CUE}/{name}"], cwd=vault, stdin=f,
                           check=True, capture_output=True)
    assert {sha256(v2 / "1M03_STR.wav"), sha256(v2 / "1M03_MIX.wav")} <= lfs_objects(vault)
    doc = sv.ok("-C", vault, "commit", CUE, v2, "-m", "second", "--json").json()
    assert sorted(doc["changed"]) == ["1M03_MIX.wav", "1M03_STR.wav"]
    assert doc["new_lfs_objects"] == 2
    # going back to the first version's audio stores nothing new
    doc = sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "back", "--json").json()
    assert doc["new_lfs_objects"] == 0


def test_a_killed_attempt_leaves_no_orphan_objects_and_the_next_commit_counts_right(
        vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    objects = lfs_objects(vault)
    write_set(tmp_path / "v2", gains={"STR": 0.5})
    marker = tmp_path / "paused"
    proc = _start(vault, "commit", CUE, tmp_path / "v2", "-m", "second", pause="after-add", marker=marker)
    _wait_for(marker, proc)
    assert len(lfs_objects(vault) - objects) == 2  # git add stored them
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert sv.ok("-C", vault, "verify", "--json").json()["ok"]
    assert lfs_objects(vault) == objects  # the recovery removed what no commit references
    doc = sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second", "--json").json()
    assert doc["new_lfs_objects"] == 2


# ----- 9: dangling symlinks and unreadable entries in an export --------------------------------------

def test_a_dangling_symlink_in_an_export_is_an_error(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    src = tmp_path / "v2"
    write_set(src, gains={"STR": 0.5})
    render = tmp_path / "drive" / "1M03_PAD.wav"
    render.parent.mkdir()
    (src / "1M03_PAD.wav").unlink()
    shutil.move(str(src / "1M03_MIX.wav"), render.parent / "1M03_MIX.wav")
    os.symlink(render.parent / "1M03_MIX.wav", src / "1M03_MIX.wav")  # a link to a real file: fine
    os.symlink(render, src / "1M03_PAD.wav")  # the drive is not mounted
    before = vault_state(vault)

    r = sv("-C", vault, "check", src)
    assert r.code == 2
    err = _one_line_error(r)
    assert "1M03_PAD.wav" in err and str(render) in err and "1M03_MIX" not in err
    r = sv("-C", vault, "check", src, "--json")
    assert r.code == 2 and "1M03_PAD.wav" in r.err
    r = sv("-C", vault, "commit", CUE, src, "-m", "second")
    assert r.code == 2
    err = _one_line_error(r)
    assert "1M03_PAD.wav" in err and "does not exist" in err
    assert vault_state(vault) == before

    # an audio-named folder cannot be read either
    (src / "1M03_PAD.wav").unlink()
    (src / "1M03_PAD.wav").mkdir()
    for args in (("check", src), ("commit", CUE, src)):
        r = sv("-C", vault, *args)
        assert r.code == 2 and "1M03_PAD.wav" in _one_line_error(r) and "folder" in r.err
    assert vault_state(vault) == before

    # with the render back, the link is read through: its content is committed, not the link
    (src / "1M03_PAD.wav").rmdir()
    sf.write(render, tone(146.83, 2.0), SR, subtype="PCM_24")
    os.symlink(render, src / "1M03_PAD.wav")
    doc = sv.ok("-C", vault, "commit", CUE, src, "-m", "second", "--allow-errors", "test", "--json").json()
    assert "1M03_PAD.wav" in [s["file"] for s in doc["stems"]] and doc["removed"] == []
    assert not (_cue(vault) / "1M03_PAD.wav").is_symlink()
    assert sha256(_cue(vault) / "1M03_MIX.wav") == sha256(render.parent / "1M03_MIX.wav")


# ----- 11: a rollback without the LFS smudge filter ---------------------------------------------------

def _pointer(text: bytes) -> bool:
    return text.startswith(b"version https://git-lfs.github.com/spec/v1")


def test_a_rollback_without_the_lfs_filter_keeps_the_working_audio(
        vault: Path, sv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    working = {p.name: sha256(p) for p in _cue(vault).glob("*.wav")}
    # the LFS filter is not configured: neither in the vault nor in HOME
    for key in ("filter.lfs.smudge", "filter.lfs.clean", "filter.lfs.process", "filter.lfs.required"):
        subprocess.run(["git", "config", "--unset", key], cwd=vault, check=False)
    bare = tmp_path / "gitconfig"
    bare.write_text("[user]\n\tname = Ada Composer\n\temail = ada@composer.example\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(bare))
    write_set(tmp_path / "v2", gains={"STR": 0.5}, roles={"STR": 220.0, "BRS": 330.0, "PERC": 82.41})
    head = git(vault, "rev-parse", "HEAD")
    r = sv("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    assert r.code == 2 and "git-lfs" in _one_line_error(r)
    assert git(vault, "rev-parse", "HEAD") == head
    after = {p.name: p.read_bytes() for p in _cue(vault).glob("*.wav")}
    assert not any(_pointer(b) for b in after.values())
    assert {n: sha256(_cue(vault) / n) for n in after} == working  # 1M03_PAD.wav is back too


def test_verify_flags_a_pointer_file_where_audio_should_be(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    stem = _cue(vault) / "1M03_STR.wav"
    stem.unlink()  # and checked out again without the smudge filter
    subprocess.run(["git", "checkout", "--", f"cues/{CUE}/1M03_STR.wav"], cwd=vault, check=True,
                   env={**os.environ, "GIT_LFS_SKIP_SMUDGE": "1"})
    assert _pointer(stem.read_bytes())
    assert git(vault, "status", "--porcelain", "--", "cues") == ""  # git sees nothing wrong
    r = sv("-C", vault, "verify", "--json")
    assert r.code == 1
    (p,) = [p for p in r.json()["problems"] if p["file"] == "1M03_STR.wav"]
    assert "pointer" in p["message"] and "git lfs" in p["message"]

    # a clone without the audio has pointers by design: not a problem there
    lazy = tmp_path / "lazy"
    subprocess.run(["git", "clone", "-q", str(vault), str(lazy)], check=True, capture_output=True,
                   env={**os.environ, "GIT_LFS_SKIP_SMUDGE": "1"})
    assert _pointer((lazy / "cues" / CUE / "1M03_STR.wav").read_bytes())
    rep = sv("-C", lazy, "verify", "--json").json()
    assert not [p for p in rep["problems"] if "pointer" in p["message"]]


# ----- 15: messages ----------------------------------------------------------------------------------

def test_a_lossy_file_says_lossy_never_none(vault: Path, sv: Runner, tmp_path: Path) -> None:
    src = tmp_path / "v1"
    write_set(src)
    sf.write(src / "1M03_FX.mp3", tone(600.0, 2.0), SR, format="MP3", subtype="MPEG_LAYER_III")
    sf.write(src / "1M03_WW.ogg", tone(700.0, 2.0), SR, format="OGG", subtype="VORBIS")
    r = sv("-C", vault, "check", src)
    assert r.code == 1
    assert "None" not in r.out
    lossy = [line for line in r.out.splitlines() if "format-lossy" in line]
    assert len(lossy) == 2
    assert any("1M03_FX.mp3 is lossy (MP3)" in line for line in lossy)
    assert any("1M03_WW.ogg is lossy (Ogg Vorbis)" in line for line in lossy)
    assert all("lossless" in line for line in lossy)
    assert "format-bit-depth" not in r.out
    r = sv("-C", vault, "commit", CUE, src)
    assert r.code == 1 and "None" not in r.err and "lossy" in r.err.strip().splitlines()[-1]


def test_an_unreadable_lossy_only_container_says_lossy(vault: Path, sv: Runner, tmp_path: Path) -> None:
    src = tmp_path / "v1"
    write_set(src)
    (src / "1M03_FX.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(4000))
    r = sv("-C", vault, "check", src)
    assert r.code == 2
    err = _one_line_error(r)
    assert "1M03_FX.m4a" in err and "lossy" in err and "lossless" in err


def _drop_dac(cmd: list[str]) -> list[str] | None:
    """``cmd`` run without the capabilities that let root read any file, or None where that is
    not possible (then root would read a mode-000 file and the test would prove nothing)."""
    if os.geteuid() != 0:
        return cmd
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    wrapped = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *cmd]
    probe = subprocess.run([*wrapped[:-len(cmd)], "true"], capture_output=True)
    return wrapped if probe.returncode == 0 else None


def test_a_file_without_read_permission_says_permission_denied(tmp_path: Path) -> None:
    src = tmp_path / "export"
    write_set(src)
    locked = src / "1M03_PAD.wav"
    locked.chmod(0)
    try:
        cmd = _drop_dac([sys.executable, "-m", "tui.cli", "check", str(src)])
        if cmd is None:
            pytest.skip("running as root without setpriv: root reads a mode-000 file")
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
        if r.returncode == 0 and "permission" not in r.stderr.lower():
            pytest.skip("this environment lets the process read a mode-000 file")
        assert r.returncode == 2, r
        err = r.stderr.strip()
        assert err.startswith("error: ") and "\n" not in err, err
        assert "1M03_PAD.wav" in err and "permission denied" in err.lower()
        assert "System error" not in err and "chmod" in err
    finally:
        locked.chmod(0o644)


def test_a_commit_of_a_file_without_read_permission_says_permission_denied(
        vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    src = tmp_path / "v2"
    write_set(src, gains={"STR": 0.5})
    locked = src / "1M03_STR.wav"
    locked.chmod(0)
    try:
        cmd = _drop_dac([sys.executable, "-m", "tui.cli", "-C", str(vault), "commit", CUE, str(src)])
        if cmd is None:
            pytest.skip("running as root without setpriv: root reads a mode-000 file")
        before = vault_state(vault)
        r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert r.returncode == 2, r
        err = r.stderr.strip()
        assert err.startswith("error: ") and "\n" not in err, err
        assert "1M03_STR.wav" in err and "permission denied" in err.lower() and "System error" not in err
        assert vault_state(vault) == before
    finally:
        locked.chmod(0o644)


@pytest.fixture
def small_disk(tmp_path: Path) -> object:
    """A folder on a tmpfs of a given size (root only): ``small_disk(size_kb) -> Path``."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    mounts: list[Path] = []

    def make(size_kb: int) -> Path:
        mnt = tmp_path / f"disk{len(mounts)}"
        mnt.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(mnt)],
                           capture_output=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
        mounts.append(mnt)
        return mnt

    yield make
    for m in mounts:
        subprocess.run(["umount", "-l", str(m)], check=False)


@pytest.mark.parametrize("where", ["reading", "storing"])
def test_a_full_disk_says_so_and_leaves_nothing_behind(
        sv: Runner, tmp_path: Path, small_disk: object, where: str) -> None:
    v1, v2 = tmp_path / "v1", tmp_path / "v2"
    write_set(v1, seconds=0.2)
    write_set(v2, seconds=1.0, gains={"STR": 0.5})
    new_bytes = sum(p.stat().st_size for p in v2.iterdir())
    disk = small_disk(4096)  # type: ignore[operator]
    vault = disk / "film"
    sv.ok("init", vault)
    sv.ok("-C", vault, "commit", CUE, v1, "-m", "first")
    # fill the disk until the export's copies fit ("storing": git-lfs fails) or do not ("reading")
    free = shutil.disk_usage(disk).free
    room = new_bytes * 3 // 2 if where == "storing" else new_bytes // 2
    if free > room:
        with open(disk / "filler", "wb") as f:
            f.write(bytes(free - room))
    objects = lfs_objects(vault)
    before = vault_state(vault)
    r = sv("-C", vault, "commit", CUE, v2, "-m", "second")
    assert r.code == 2
    err = _one_line_error(r)
    assert "full" in err and str(disk) in err and "clean filter" not in err
    assert "free" in err
    assert vault_state(vault) == before
    assert lfs_objects(vault) == objects
    tmp = vault / ".git" / "lfs" / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir())
    # with room again, the same commit goes through
    (disk / "filler").unlink(missing_ok=True)
    sv.ok("-C", vault, "commit", CUE, v2, "-m", "second")


def test_lossy_subtype_in_a_wav_container_says_lossy(tmp_path: Path, sv: Runner, vault: Path) -> None:
    src = tmp_path / "v1"
    write_set(src)
    x = np.clip(tone(600.0, 2.0), -1, 1)
    sf.write(src / "1M03_FX.wav", x, SR, format="WAV", subtype="IMA_ADPCM")
    r = sv("-C", vault, "check", src)
    assert r.code == 1 and "None" not in r.out
    assert any("1M03_FX.wav is lossy (IMA ADPCM)" in line and "lossless" in line for line in r.out.splitlines())


def test_a_stem_deleted_by_hand_and_left_out_of_the_export_is_removed_from_the_version(
        vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    (_cue(vault) / "1M03_PAD.wav").unlink()
    write_set(tmp_path / "v2", gains={"STR": 0.5}, roles={"STR": 220.0, "BRS": 330.0, "PERC": 82.41})
    doc = sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second", "--json").json()
    assert doc["removed"] == ["1M03_PAD.wav"]
    assert "1M03_PAD.wav" not in git(vault, "ls-tree", "-r", "--name-only", "HEAD", "--", f"cues/{CUE}")
    assert sv.ok("-C", vault, "verify", "--json").json()["ok"]


# ----- a stem changed by hand in the cue folder (review of A) -----------------------------------

def _vault_with_v1(vault: Path, sv: Runner, tmp_path: Path) -> Path:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    return vault / "cues" / CUE


@pytest.mark.parametrize("export", ["changes it", "drops it"])
def test_a_stem_changed_by_hand_in_the_cue_folder_stops_the_commit(vault: Path, sv: Runner, tmp_path: Path,
                                                                   export: str) -> None:
    cue_dir = _vault_with_v1(vault, sv, tmp_path)
    hand = tmp_path / "hand"
    write_set(hand, gains={"PERC": 0.3})  # another render of PERC, never committed
    shutil.copyfile(hand / f"{CUE}_PERC.wav", cue_dir / f"{CUE}_PERC.wav")
    kept = sha256(cue_dir / f"{CUE}_PERC.wav")
    if export == "changes it":
        write_set(tmp_path / "v2", gains={"PERC": 0.7})
    else:
        write_set(tmp_path / "v2", roles={k: v for k, v in ROLES.items() if k != "PERC"})
    before = vault_state(vault)
    r = sv("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    assert r.code == 2, r.out
    assert f"{CUE}_PERC.wav" in r.err and "changed in the working folder" in r.err
    assert sha256(cue_dir / f"{CUE}_PERC.wav") == kept  # the hand copy is still there
    assert vault_state(vault)[0] == before[0]  # no version made


def test_ignored_files_are_left_alone(vault: Path, sv: Runner, tmp_path: Path) -> None:
    cue_dir = _vault_with_v1(vault, sv, tmp_path)
    (cue_dir / ".DS_Store").write_bytes(b"\0Bud1 finder junk")  # ignored by the vault's .gitignore
    write_set(tmp_path / "v2", gains={"BRS": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    assert (cue_dir / ".DS_Store").read_bytes() == b"\0Bud1 finder junk"
    assert sv.ok("-C", vault, "verify").code == 0


def test_an_ignored_file_named_like_an_export_file_stops_the_commit(vault: Path, sv: Runner,
                                                                     tmp_path: Path) -> None:
    cue_dir = _vault_with_v1(vault, sv, tmp_path)
    (vault / ".gitignore").write_text((vault / ".gitignore").read_text() + f"cues/{CUE}/{CUE}_CHOIR.wav\n")
    git(vault, "commit", "-qam", "ignore a name")
    (cue_dir / f"{CUE}_CHOIR.wav").write_bytes(b"an editor's alternate take")
    write_set(tmp_path / "v2", roles={**ROLES, "CHOIR": 440.0})
    r = sv("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "choir")
    assert r.code == 2 and f"{CUE}_CHOIR.wav" in r.err and "not part of any version" in r.err
    assert (cue_dir / f"{CUE}_CHOIR.wav").read_bytes() == b"an editor's alternate take"
