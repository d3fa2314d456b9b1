"""Bad input: one line on stderr, exit 2, the vault and the user's files as they were."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import CUE, Runner, snapshot, tone, vault_state, write_set


@pytest.fixture
def committed(vault: Path, sv: Runner, tmp_path: Path) -> Path:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    return vault


def _refused(sv: Runner, vault: Path, source: Path | None, *args: str | Path, expect: str) -> None:
    before = vault_state(vault)
    src_before = snapshot(source) if source and source.is_dir() else None
    r = sv("-C", vault, *args)
    assert r.code == 2, (args, r)
    assert r.err.startswith("error: ") and r.err.count("\n") == 1, r.err
    assert "Traceback" not in r.err + r.out
    assert expect in r.err, r.err
    assert vault_state(vault) == before
    if src_before is not None:
        assert snapshot(source) == src_before  # type: ignore[arg-type]


def _folder(tmp_path: Path, name: str) -> Path:
    d = tmp_path / name
    write_set(d, gains={"STR": 0.7})
    return d


def test_missing_empty_and_audio_less_folders(committed: Path, sv: Runner, tmp_path: Path) -> None:
    _refused(sv, committed, None, "commit", CUE, tmp_path / "nope", expect="no such folder")
    empty = tmp_path / "empty"
    empty.mkdir()
    _refused(sv, committed, empty, "commit", CUE, empty, expect="is empty")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "readme.txt").write_text("stems to follow")
    _refused(sv, committed, docs, "commit", CUE, docs, expect="holds no audio")
    f = tmp_path / "file.wav"
    f.write_bytes(b"x")
    _refused(sv, committed, None, "commit", CUE, f, expect="is not a folder")


@pytest.mark.parametrize("damage, expect", [
    ("image", "not readable as audio"),
    ("one_byte", "not readable as audio"),
    ("empty", "is empty"),
    ("header_only", "holds no audio"),
    ("truncated", "truncated"),
    ("huge_size_field", "truncated"),
])
def test_damaged_audio_files(committed: Path, sv: Runner, tmp_path: Path, damage: str, expect: str) -> None:
    src = _folder(tmp_path, "v2")
    good = (src / "1M03_STR.wav").read_bytes()
    bad = src / "1M03_STR.wav"
    if damage == "image":
        bad.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(4000))
    elif damage == "one_byte":
        bad.write_bytes(good[:1])
    elif damage == "empty":
        bad.write_bytes(b"")
    elif damage == "header_only":
        sf.write(bad, np.zeros((0, 2)), 48000, subtype="PCM_24")
    elif damage == "truncated":
        bad.write_bytes(good[: len(good) // 2])
    elif damage == "huge_size_field":
        data_at = good.index(b"data")
        bad.write_bytes(good[:data_at + 4] + (0xFFFFFFF0).to_bytes(4, "little") + good[data_at + 8:])
    _refused(sv, committed, src, "commit", CUE, src, expect=expect)
    assert "1M03_STR.wav" in sv("-C", committed, "commit", CUE, src).err


@pytest.mark.parametrize("cue", ["1M 03", "../evil", "a/b", "", "-rf", "1M03@2", "x" * 60, "1M03\n"])
def test_invalid_cue_names(committed: Path, sv: Runner, tmp_path: Path, cue: str) -> None:
    src = _folder(tmp_path, "v2")
    _refused(sv, committed, src, "commit", "--", cue, src, expect="invalid cue name")


@pytest.mark.parametrize("note, expect", [
    ("1:00 hello", "does not parse"),
    ("01:00:00:24 hello", "frame 24"),
    ("25:00:00:00 hello", "out of range"),
    ("01:61:00:00 hello", "out of range"),
    ("01:00:00:00", "needs a timecode and a text"),
    ("hello there", "does not parse"),
])
def test_bad_note_timecodes(committed: Path, sv: Runner, tmp_path: Path, note: str, expect: str) -> None:
    src = _folder(tmp_path, "v2")
    _refused(sv, committed, src, "commit", CUE, src, "--note", note, expect=expect)
    if "timecode and a text" not in expect:
        _refused(sv, committed, None, "note", f"{CUE}@1.0", note.split(" ")[0], "text", expect=expect)


def test_drop_frame_labels_that_do_not_exist(tmp_path: Path, sv: Runner) -> None:
    v = tmp_path / "df"
    sv.ok("init", v, "--frame-rate", "29.97df")
    write_set(tmp_path / "v1")
    _refused(sv, v, None, "commit", CUE, tmp_path / "v1", "--note", "01:01:00;00 x", expect="does not exist")
    sv.ok("-C", v, "commit", CUE, tmp_path / "v1", "--note", "00:00:01;00 x")  # within the 2 s set


def test_commit_outside_a_vault(sv: Runner, tmp_path: Path) -> None:
    src = _folder(tmp_path, "v1")
    before = snapshot(src)
    r = sv("-C", tmp_path, "commit", CUE, src)
    assert r.code == 2 and "not inside a stemvault vault" in r.err
    assert snapshot(src) == before


def test_git_lfs_not_installed(committed: Path, sv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    real_git = next(Path(p) / "git" for p in os.environ["PATH"].split(":") if (Path(p) / "git").exists())
    (bin_dir / "git").symlink_to(real_git)
    src = _folder(tmp_path, "v2")
    before, src_before = vault_state(committed), snapshot(src)
    with monkeypatch.context() as m:
        m.setenv("PATH", str(bin_dir))
        r = sv("-C", committed, "commit", CUE, src)
        assert r.code == 2 and r.err.startswith("error: git-lfs is not installed") and r.err.count("\n") == 1
        r = sv("init", tmp_path / "new")
        assert r.code == 2 and "git-lfs is not installed" in r.err and not (tmp_path / "new").exists()
    assert vault_state(committed) == before and snapshot(src) == src_before


def test_no_git_identity(vault: Path, sv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty_home = tmp_path / "nohome"
    empty_home.mkdir()
    monkeypatch.setenv("HOME", str(empty_home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty_home / "none"))
    monkeypatch.setenv("EMAIL", "")
    src = _folder(tmp_path, "v1")
    r = sv("-C", vault, "commit", CUE, src)
    assert r.code == 2 and "git does not know who you are" in r.err


def test_control_characters_in_a_file_name(committed: Path, sv: Runner, tmp_path: Path) -> None:
    src = _folder(tmp_path, "v2")
    sf.write(src / "1M03_\x1b[31mRED.wav", tone(100, 1), 48000, subtype="PCM_24")
    _refused(sv, committed, src, "commit", CUE, src, expect="control characters")


def test_usage_errors_exit_2(committed: Path, sv: Runner, tmp_path: Path) -> None:
    r = sv("-C", committed, "commit", CUE)
    assert r.code == 2
    r = sv("-C", committed, "commit", CUE, tmp_path, "--minor", "--major")
    assert r.code == 2 and "contradict" in r.err
    r = sv("-C", committed, "frobnicate")
    assert r.code == 2 and r.err.count("\n") == 1 and "No such command" in r.err
    r = sv("-C", committed, "commit", "-rf", tmp_path)
    assert r.code == 2 and r.err.count("\n") == 1 and "--help" in r.err
