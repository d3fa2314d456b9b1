"""Issue 9, findings 3, 7 and 8: mixed sample rates, playback in a lazy clone, the render's header.

3. A 44.1 kHz stem in a 48 kHz set, every file starting at the same timecode (its TimeReference
   written at its own rate): no start error, a sample-rate error, and the null test reported as
   not run (and why) — in ``check`` and in ``commit``. Checks that cannot run say so.
7. A lazy clone plays (and renders) what is heard; silent stems may be absent. ``diff --exact``
   names every missing file of both versions in one message.
8. ``--render`` writes a BWF ``bext`` TimeReference (the render's start), a complete fmt chunk,
   and says what loudness-match gain it applied.

Real vaults (git + git-lfs), real files (numpy + soundfile / audio.bwf); expectations come from
how the data was made.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio.analysis import SetAnalysis, bwf_metadata
from audio.bwf import quantize, write_bwf
from audio.checks import CheckSettings, check_set
from audio.probe import probe
from tests.helpers import Runner, git, lfs_objects, tone

SR = 48000
CUE = "3M12"
START_S = ((3 * 60 + 4) * 60 + 10)  # 03:04:10:00 at 24 fps: a whole second
ROLES = {"STR": 220.0, "BRS": 330.0, "WW": 440.0, "CHOIR": 523.25}


def _bwf_set(folder: Path, *, ww_rate: int = SR, ww_offset_samples: int = 0, seconds: float = 1.0,
             mix: bool = True, ww_seconds: float | None = None) -> dict[str, np.ndarray]:
    """Stems (WW at ``ww_rate``) and a mix, each starting at 03:04:10:00 at its own rate."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, np.ndarray] = {}
    for role, f in ROLES.items():
        rate = ww_rate if role == "WW" else SR
        x = quantize(tone(f, ww_seconds if role == "WW" and ww_seconds else seconds, sr=rate), "PCM_24")
        tref = START_S * rate + (ww_offset_samples if role == "WW" else 0)
        write_bwf(folder / f"{CUE}_{role}.wav", x, rate, time_reference=tref)
        out[role] = x
    if mix:
        same = [x for r, x in out.items() if len(x) == len(out["STR"])]
        write_bwf(folder / f"{CUE}_MIX.wav", sum(same), SR, time_reference=START_S * SR)
    return out


def _codes(findings: list[dict[str, object]]) -> dict[str, list[dict[str, object]]]:
    out: dict[str, list[dict[str, object]]] = {}
    for f in findings:
        out.setdefault(str(f["code"]), []).append(f)
    return out


# ----- 3. mixed sample rates ----------------------------------------------------------------------
def test_mixed_rates_same_start_no_start_error_and_the_null_test_says_it_did_not_run(
        sv: Runner, tmp_path: Path) -> None:
    src = tmp_path / "export"
    _bwf_set(src, ww_rate=44100)
    r = sv("check", src, "--frame-rate", "24", "--json")
    assert r.code == 1, r
    doc = r.json()
    codes = _codes(doc["findings"])
    assert "format-start" not in codes, codes.get("format-start")
    assert [f["file"] for f in codes["format-sample-rate"]] == [f"{CUE}_WW.wav"]
    # Every file is listed at its own start: 03:04:10:00.
    assert {x["file"]: x["start_tc"] for x in doc["files"]} == dict.fromkeys(
        [f"{CUE}_{r}.wav" for r in (*ROLES, "MIX")], "03:04:10:00")
    skipped = codes["null-skipped"]
    assert len(skipped) == 1 and "44100" in str(skipped[0]["message"]) and f"{CUE}_WW.wav" in str(skipped[0]["message"])
    nt = doc["null_test"]
    assert nt["ran"] is False and nt["mix"] == f"{CUE}_MIX.wav" and "sample rate" in nt["reason"]
    human = sv("check", src, "--frame-rate", "24")
    assert human.code == 1 and "null test against 3M12_MIX.wav: not run" in human.out
    assert "starts at" not in human.out


def test_mixed_rates_of_the_same_duration_are_not_a_length_error(sv: Runner, tmp_path: Path) -> None:
    src = tmp_path / "export"
    _bwf_set(src, ww_rate=44100, seconds=3.0)  # 132300 samples at 44.1 kHz, 144000 at 48 kHz: both 3.0 s
    codes = _codes(sv("check", src, "--frame-rate", "24", "--json").json()["findings"])
    assert "format-length" not in codes, codes.get("format-length")
    assert [f["file"] for f in codes["format-sample-rate"]] == [f"{CUE}_WW.wav"]


def test_a_real_length_difference_at_another_rate_is_still_reported(sv: Runner, tmp_path: Path) -> None:
    src = tmp_path / "export"
    _bwf_set(src, ww_rate=44100, seconds=3.0, ww_seconds=3.5)  # 154350 samples at 44.1 kHz
    codes = _codes(sv("check", src, "--frame-rate", "24", "--json").json()["findings"])
    (f,) = codes["format-length"]
    assert f["file"] == f"{CUE}_WW.wav"
    msg = str(f["message"])
    assert "3.500 s (154350 samples at 44100 Hz)" in msg and "3.000 s (144000 samples at 48000 Hz)" in msg
    # one sample at 44.1 kHz shorter (22.7 µs, more than a 48 kHz sample) is still a difference
    shutil.rmtree(src)
    _bwf_set(src, ww_rate=44100, seconds=3.0, ww_seconds=3.0 - 1 / 44100)
    codes = _codes(sv("check", src, "--frame-rate", "24", "--json").json()["findings"])
    assert [f["file"] for f in codes["format-length"]] == [f"{CUE}_WW.wav"]


def test_a_null_test_that_ran_says_so(sv: Runner, tmp_path: Path) -> None:
    src = tmp_path / "export"
    _bwf_set(src)
    doc = sv.ok("check", src, "--frame-rate", "24", "--json").json()
    assert doc["null_test"]["ran"] is True and doc["null_test"]["residual_db"] is None  # a digital null
    assert "null-skipped" not in _codes(doc["findings"])
    # Without a mix: not run, and why (the no-mix finding says what to do).
    nomix = tmp_path / "nomix"
    _bwf_set(nomix, mix=False)
    doc = sv.ok("check", nomix, "--frame-rate", "24", "--json").json()
    assert doc["null_test"]["ran"] is False and "no mix" in doc["null_test"]["reason"]
    assert "no-mix" in _codes(doc["findings"])


@pytest.mark.parametrize("offset", [1, 48])  # 1 sample at 44.1 kHz; 48 samples = 1 ms: both real offsets
def test_a_real_start_difference_at_another_rate_is_still_reported(sv: Runner, tmp_path: Path, offset: int) -> None:
    src = tmp_path / "export"
    _bwf_set(src, ww_rate=44100, ww_offset_samples=offset)
    codes = _codes(sv("check", src, "--frame-rate", "24", "--json").json()["findings"])
    assert [f["file"] for f in codes["format-start"]] == [f"{CUE}_WW.wav"]
    assert "where the set starts at 03:04:10:00" in str(codes["format-start"][0]["message"])


def test_commit_reports_the_skipped_null_test(vault: Path, sv: Runner, tmp_path: Path) -> None:
    src = tmp_path / "export"
    _bwf_set(src, ww_rate=44100)
    refused = sv("-C", vault, "commit", CUE, src, "-m", "ww at 44.1")
    assert refused.code == 1 and "null test" in refused.err and "did not run" in refused.err
    assert "starts at" not in refused.err
    r = sv.ok("-C", vault, "commit", CUE, src, "-m", "ww at 44.1", "--allow-errors", "WW resampled later", "--json")
    doc = r.json()
    assert doc["null_test"]["ran"] is False and "sample rate" in doc["null_test"]["reason"]
    codes = _codes(doc["findings"])
    assert "null-skipped" in codes and "format-start" not in codes and "format-sample-rate" in codes
    human = sv.ok("-C", vault, "show", f"{CUE}@1.0")
    assert "did not run" in human.out


def test_checks_that_cannot_run_are_reported(tmp_path: Path) -> None:
    """A naming rule that does not compile, a loudness target without a mix, a stem without a
    record: each is a finding, never a silently missing check."""
    folder = tmp_path / "x"
    _bwf_set(folder, mix=False)
    names = sorted(p.name for p in folder.iterdir())
    a = SetAnalysis(probes={n: probe(folder / n) for n in names}, records=dict.fromkeys(names))
    s = CheckSettings(cue=CUE, naming_rule="{cue}_([A-Z", integrated_lufs=-24.0)
    found = check_set(a, s)
    skipped = [f for f in found if f.code == "check-skipped"]
    text = " | ".join(f.message for f in skipped)
    assert "naming rule" in text and "loudness target" in text
    assert sum("not measured" in f.message for f in skipped) == len(names)


# ----- 7. a lazy clone plays what is heard ------------------------------------------------------------
@pytest.fixture
def lazy(vault: Path, sv: Runner, tmp_path: Path) -> tuple[Path, Path, dict[str, np.ndarray]]:
    v1 = tmp_path / "v1"
    _bwf_set(v1)
    sv.ok("-C", vault, "commit", CUE, v1, "-m", "first")
    v2 = tmp_path / "v2"
    x = _bwf_set(v2, seconds=1.0)
    louder = quantize(x["CHOIR"] * 1.5, "PCM_24")
    write_bwf(v2 / f"{CUE}_CHOIR.wav", louder, SR, time_reference=START_S * SR)
    write_bwf(v2 / f"{CUE}_MIX.wav", x["STR"] + x["BRS"] + x["WW"] + louder, SR, time_reference=START_S * SR)
    sv.ok("-C", vault, "commit", CUE, v2, "-m", "choir up")
    clone = tmp_path / "lazy"
    subprocess.run(["git", "clone", "-q", str(vault), str(clone)], env={**os.environ, "GIT_LFS_SKIP_SMUDGE": "1"},
                   check=True)
    assert not lfs_objects(clone)
    return vault, clone, {"CHOIR2": louder}


def test_solo_plays_in_a_lazy_clone_with_only_the_soloed_file(lazy: tuple[Path, Path, dict[str, np.ndarray]],
                                                              sv: Runner, tmp_path: Path) -> None:
    _, clone, x = lazy
    git(clone, "lfs", "pull", "--include", f"cues/{CUE}/{CUE}_CHOIR.wav")
    assert len(lfs_objects(clone)) == 1
    out = tmp_path / "choir.wav"
    r = sv.ok("-C", clone, "play", f"{CUE}@2.0", "--solo", "CHOIR", "--render", out, "--json")
    y, _ = sf.read(out, dtype="float64", always_2d=True)
    assert np.abs(y - x["CHOIR2"]).max() < 2e-7
    assert sorted(x["file"] for x in r.json()["absent"]) == sorted(f"{CUE}_{r}.wav" for r in ROLES if r != "CHOIR")
    assert {x["ref"] for x in r.json()["absent"]} == {f"{CUE}@2.0"}
    # A gain on the soloed stem applies; one on a silent, absent stem changes nothing heard.
    sv.ok("-C", clone, "play", f"{CUE}@2.0", "--solo", "CHOIR", "--gain", "CHOIR=-6", "--gain", "STR=-6",
          "--render", tmp_path / "g.wav")
    g, _ = sf.read(tmp_path / "g.wav", dtype="float64", always_2d=True)
    assert np.abs(g - y * 10 ** (-6 / 20)).max() < 1e-6
    # Muting the missing ones does the same; playing them is refused, naming only what is missing.
    mutes = [a for r in ROLES if r != "CHOIR" for a in ("--mute", r)]
    sv.ok("-C", clone, "play", f"{CUE}@2.0", *mutes, "--render", tmp_path / "m.wav")
    assert np.array_equal(sf.read(tmp_path / "m.wav", dtype="float64", always_2d=True)[0], y)
    r = sv("-C", clone, "play", f"{CUE}@2.0", "--mute", "STR", "--render", tmp_path / "no.wav")
    assert r.code == 2 and "2 of 3 files missing" in r.err and f"{CUE}_STR.wav" not in r.err, r.err
    assert not (tmp_path / "no.wav").exists()


def test_diff_exact_names_every_missing_file_of_both_versions_at_once(
        lazy: tuple[Path, Path, dict[str, np.ndarray]], sv: Runner) -> None:
    _, clone, _ = lazy
    r = sv("-C", clone, "diff", f"{CUE}@1.0", f"{CUE}@2.0", "--exact")
    assert r.code == 2 and r.err.count("\n") == 1, r.err
    # CHOIR and the mix changed: both files of both versions, and how to fetch each version's.
    for ref in (f"{CUE}@1.0", f"{CUE}@2.0"):
        for name in (f"{CUE}_CHOIR.wav", f"{CUE}_MIX.wav"):
            assert f"{ref} {name}" in r.err, r.err
    assert "git lfs fetch origin" in r.err and "git lfs pull --include" in r.err
    assert not lfs_objects(clone)


# ----- 8. the render's header ------------------------------------------------------------------------
def _chunks(path: Path) -> dict[bytes, bytes]:
    b = path.read_bytes()
    assert b[:4] == b"RIFF" and b[8:12] == b"WAVE"
    assert struct.unpack("<I", b[4:8])[0] == len(b) - 8
    out, i = {}, 12
    while i + 8 <= len(b):
        ident, size = b[i:i + 4], struct.unpack("<I", b[i + 4:i + 8])[0]
        out[ident] = b[i + 8:i + 8 + size]
        i += 8 + size + size % 2
    assert i == len(b)
    return out


def _sox_is_happy(path: Path) -> None:
    if shutil.which("sox") is None:
        return
    r = subprocess.run(["sox", "--i", str(path)], capture_output=True, text=True)
    assert r.returncode == 0 and "WARN" not in r.stderr and "FAIL" not in r.stderr, r.stderr


@pytest.mark.parametrize("fmt", ["float", "24"])
def test_render_carries_its_start_as_bext_and_a_complete_fmt_chunk(vault: Path, sv: Runner, tmp_path: Path,
                                                                   fmt: str) -> None:
    src = tmp_path / "src"
    x = _bwf_set(src)
    sv.ok("-C", vault, "commit", CUE, src, "-m", "bwf")
    whole = tmp_path / "whole.wav"
    sv.ok("-C", vault, "play", CUE, "--render", whole, "--format", fmt)
    assert bwf_metadata(whole)["time_reference"] == START_S * SR
    part = tmp_path / "part.wav"
    sv.ok("-C", vault, "play", CUE, "--from", "03:04:10:12", "--render", part, "--format", fmt)
    assert bwf_metadata(part)["time_reference"] == START_S * SR + SR // 2  # 12 frames at 24 fps
    y, sr = sf.read(part, dtype="float64", always_2d=True)
    want = sum(x.values())[SR // 2:]
    assert sr == SR and y.shape == want.shape
    assert np.abs(y - want).max() < (2e-6 if fmt == "float" else 2.0 ** -22)
    fmt_chunk = _chunks(part)[b"fmt "]
    tag, channels, rate, _, align, bits = struct.unpack("<HHIIHH", fmt_chunk[:16])
    assert (channels, rate) == (2, SR)
    if fmt == "float":  # plain IEEE float, with its (empty) extension and a fact chunk
        assert (tag, bits, len(fmt_chunk)) == (3, 32, 18) and struct.unpack("<H", fmt_chunk[16:18]) == (0,)
        assert struct.unpack("<I", _chunks(part)[b"fact"])[0] == len(want)
    else:  # WAVE_FORMAT_EXTENSIBLE: cbSize 22, valid bits, FL|FR, the PCM subformat GUID
        assert (tag, bits, align, len(fmt_chunk)) == (0xFFFE, 24, 6, 40)
        cb, valid, mask = struct.unpack("<HHI", fmt_chunk[16:24])
        assert (cb, valid, mask) == (22, 24, 0x3)
        assert fmt_chunk[24:40] == bytes.fromhex("0100000000001000800000aa00389b71")
    _sox_is_happy(part)
    _sox_is_happy(whole)


def test_render_says_the_loudness_match_gain(vault: Path, sv: Runner, tmp_path: Path) -> None:
    v1 = tmp_path / "v1"
    _bwf_set(v1)
    sv.ok("-C", vault, "commit", CUE, v1, "-m", "first")
    v2 = tmp_path / "v2"
    x = _bwf_set(v2)
    quiet = {r: quantize(s * 0.5, "PCM_24") for r, s in x.items()}  # -6 dB
    for r, s in quiet.items():
        write_bwf(v2 / f"{CUE}_{r}.wav", s, SR, time_reference=START_S * SR)
    write_bwf(v2 / f"{CUE}_MIX.wav", sum(quiet.values()), SR, time_reference=START_S * SR)
    sv.ok("-C", vault, "commit", CUE, v2, "-m", "quieter")
    r = sv.ok("-C", vault, "play", f"{CUE}@1.0", "--vs", f"{CUE}@2.0", "--match-loudness", "--start-in", "b",
              "--render", tmp_path / "b.wav")
    assert "B matched to A: +6.0 dB" in r.out, r.out
    doc = sv.ok("-C", vault, "play", f"{CUE}@1.0", "--vs", f"{CUE}@2.0", "--match-loudness", "--start-in", "b",
                "--render", tmp_path / "b.wav", "--json").json()
    assert abs(doc["match_gain_db"] - 6.02) < 0.05
    plain_ = sv.ok("-C", vault, "play", f"{CUE}@1.0", "--render", tmp_path / "a.wav")
    assert "matched" not in plain_.out


def test_a_version_whose_null_test_did_not_run_is_never_shown_as_passing(vault: Path, sv: Runner,
                                                                         tmp_path: Path) -> None:
    mixed = tmp_path / "mixed"
    _bwf_set(mixed, ww_rate=44100)
    sv.ok("-C", vault, "commit", CUE, mixed, "-m", "ww at 44.1", "--allow-errors", "resampled later")
    fixed = tmp_path / "fixed"
    _bwf_set(fixed)
    sv.ok("-C", vault, "commit", CUE, fixed, "-m", "ww at 48")
    nt = sv.ok("-C", vault, "diff", f"{CUE}@2.0", f"{CUE}@1.0", "--json").json()["null_test"]
    assert nt["b_passes"] is None and "sample rate" in nt["b_skipped"] and nt["a_passes"] is True
    human = sv.ok("-C", vault, "diff", f"{CUE}@2.0", f"{CUE}@1.0").out
    assert "null test not run in B" in human and "passes" not in human.split("mix:")[1].split("\n")[0]
    human = sv.ok("-C", vault, "diff", f"{CUE}@1.0", f"{CUE}@2.0").out
    assert "not run in A" in human.split("mix:")[1].split("\n")[0]


@pytest.mark.parametrize("channels, subtype, frames", [(1, "PCM_24", 4801), (6, "PCM_24", 1001), (1, "FLOAT", 7)])
def test_bwf_stream_sizes_and_samples(tmp_path: Path, channels: int, subtype: str, frames: int) -> None:
    """Written in uneven blocks, the file reads back exactly (odd data sizes padded, sizes patched)."""
    from audio.bwf import BwfStream

    rng = np.random.default_rng(channels)
    x = quantize(rng.uniform(-0.5, 0.5, (frames, channels)), subtype)
    path = tmp_path / "s.wav"
    w = BwfStream(path, 44100, channels, subtype=subtype, time_reference=44100 * 3600)
    for a in range(0, frames, 1000):
        w.write(x[a:a + 1000])
    w.close()
    y, sr = sf.read(path, dtype="float64", always_2d=True)
    assert sr == 44100 and np.array_equal(y, x.astype(np.float64))
    assert bwf_metadata(path)["time_reference"] == 44100 * 3600
    _chunks(path)  # RIFF size and chunk sizes add up
    if subtype != "FLOAT" or channels <= 2:
        _sox_is_happy(path)
