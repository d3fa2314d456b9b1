"""Each check fires on the defect it names and stays quiet on a clean set; bad files never crash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio.bwf import write_bwf
from tests.helpers import Runner
from vcs.checking import check_folder

SR = 48000


def tone(freq: float, seconds: float = 3.0, amp: float = 0.2, fade: bool = True) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    env = np.minimum(1.0, t * 20)
    if fade:  # decays to silence in the last second: a proper tail
        env = env * np.clip((seconds - t) / 1.0, 0, 1) ** 3
    x = amp * np.sin(2 * np.pi * freq * t) * env
    return np.stack([x, 0.9 * x], axis=1)


def make_set(folder: Path, stems: dict[str, np.ndarray] | None = None, *, mix: np.ndarray | None = None,
             cue: str = "1M03", subtype: str = "PCM_24", tref: int = 3600 * SR,
             trefs: dict[str, int] | None = None, rates: dict[str, int] | None = None,
             subtypes: dict[str, str] | None = None, with_mix: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if stems is None:
        stems = {f"{cue}_STR.wav": tone(220), f"{cue}_BRS.wav": tone(330), f"{cue}_PERC.wav": tone(110)}
    total = None
    for name, x in stems.items():
        st = (subtypes or {}).get(name, subtype)
        write_bwf(folder / name, x, (rates or {}).get(name, SR), subtype=st,
                  time_reference=(trefs or {}).get(name, tref))
        q, _ = sf.read(folder / name, always_2d=True)
        if len(q) == len(stems[next(iter(stems))]):
            total = q if total is None else total + q
    if with_mix:
        write_bwf(folder / f"{cue}_MIX.wav", total if mix is None else mix, SR, subtype=subtype, time_reference=tref)
    return folder


def codes(folder: Path, **kw: object) -> dict[str, list[str | None]]:
    report = check_folder(folder, **kw)  # type: ignore[arg-type]
    out: dict[str, list[str | None]] = {}
    for f in report.findings:
        out.setdefault(f.code, []).append(f.file)
    return out


def test_a_clean_set_has_no_findings(tmp_path: Path) -> None:
    report = check_folder(make_set(tmp_path / "ok"))
    assert report.ok and report.findings == []
    nt = report.null_test_doc()
    assert nt is not None and nt["residual_db"] is None  # a digital null
    row = next(r for r in report.file_rows() if r["file"] == "1M03_STR.wav")
    assert row["start_tc"] == "01:00:00:00" and row["time_reference"] == 3600 * SR
    assert row["integrated_lufs"] is not None and row["true_peak_dbtp"] is not None


@pytest.mark.parametrize("name, code", [
    ("1M03 STR.wav", "name-characters"), ("1M03_STR&BRS.wav", "name-characters"),
    ("Stem1.wav", "name-generic"), ("Audio 01.wav", "name-generic"), ("Bounce.wav", "name-generic"),
    ("1M03_Untitled.wav", "name-generic"), ("STR.wav", "name-cue-prefix"), ("1M03_XYZ.wav", "name-role"),
    ("1M03_STR.WAV", "name-extension-case"),
])
def test_names(tmp_path: Path, name: str, code: str) -> None:
    stems = {"1M03_BRS.wav": tone(330), name: tone(220)}
    found = codes(make_set(tmp_path / "s", stems), cue="1M03")
    assert name in found.get(code, []), found
    assert "1M03_BRS.wav" not in [f for fs in found.values() for f in fs]


def test_format_mismatches(tmp_path: Path) -> None:
    stems = {"1M03_STR.wav": tone(220), "1M03_BRS.wav": tone(330), "1M03_PERC.wav": tone(110),
             "1M03_PAD.wav": tone(110, seconds=2.5), "1M03_WW.wav": tone(440), "1M03_SYN.wav": tone(550)}
    folder = make_set(tmp_path / "s", stems, rates={"1M03_BRS.wav": 44100}, subtypes={"1M03_PERC.wav": "PCM_16"},
                      # A TimeReference counts samples at the file's own rate: BRS starts at 01:00:00:00 too.
                      trefs={"1M03_WW.wav": 3600 * SR + 480, "1M03_BRS.wav": 3600 * 44100})
    found = codes(folder)
    assert found["format-sample-rate"] == ["1M03_BRS.wav"]
    assert found["policy-sample-rate"] == ["1M03_BRS.wav"]
    assert found["format-bit-depth"] == ["1M03_PERC.wav"]
    assert "1M03_PAD.wav" in found["format-length"]
    assert found["format-start"] == ["1M03_WW.wav"]
    assert "1M03_SYN.wav" not in [f for fs in found.values() for f in fs]


def test_null_test_fails_and_finds_the_missing_region(tmp_path: Path) -> None:
    ok = make_set(tmp_path / "ok")
    mix, _ = sf.read(ok / "1M03_MIX.wav", always_2d=True)
    extra = np.zeros_like(mix)
    extra[SR:2 * SR] = tone(660, 1.0, amp=0.3, fade=False)
    report = check_folder(make_set(tmp_path / "bad", mix=mix + extra))
    found = {f.code: f for f in report.findings}
    assert "null-test" in found and not report.ok
    nt = report.null_test_doc()
    assert nt is not None and nt["residual_db"] > -20 and nt["worst_tc"] == "01:00:01:00"
    assert "null-missing" in found and found["null-missing"].tc == "01:00:01:00"
    assert "null-test" not in codes(ok)


def test_no_mix_is_said(tmp_path: Path) -> None:
    assert "no-mix" in codes(make_set(tmp_path / "s", with_mix=False))


def test_tail_cut(tmp_path: Path) -> None:
    stems = {"1M03_STR.wav": tone(220, fade=False), "1M03_BRS.wav": tone(330)}
    found = codes(make_set(tmp_path / "s", stems))
    assert found["tail-cut"] == ["1M03_STR.wav"]


def test_clipping_true_peak_dc_silence_mono_polarity(tmp_path: Path) -> None:
    clip = tone(220)
    clip[SR:SR + 10] = 1.0
    hot = tone(SR / 4 * 0.999, amp=1.0)  # inter-sample peaks above the samples
    hot = hot / np.abs(hot).max() * 0.98
    dc = tone(220) + 0.02
    silent = np.zeros((3 * SR, 2))
    mono = tone(220)
    mono[:, 1] = mono[:, 0]
    inv = tone(220)
    inv[:, 1] = -inv[:, 0]
    stems = {"1M03_STR.wav": clip, "1M03_SYN.wav": hot, "1M03_PAD.wav": dc, "1M03_FX.wav": silent,
             "1M03_BASS.wav": mono, "1M03_VOX.wav": inv, "1M03_BRS.wav": tone(330)}
    found = codes(make_set(tmp_path / "s", stems, with_mix=False))
    assert found["clipping"] == ["1M03_STR.wav"]
    assert "1M03_SYN.wav" in found["true-peak"] and "1M03_BRS.wav" not in found["true-peak"]
    assert found["dc-offset"] == ["1M03_PAD.wav"]
    assert found["silent"] == ["1M03_FX.wav"]
    assert found["mono-as-stereo"] == ["1M03_BASS.wav"]
    assert found["polarity"] == ["1M03_VOX.wav"]
    assert "1M03_BRS.wav" not in [f for fs in found.values() for f in fs]


def test_loudness_target(tmp_path: Path) -> None:
    from vcs.config import Config, default_config_text

    cfg_path = tmp_path / "stemvault.toml"
    text = default_config_text("x", "24").replace("tolerance_lu = 1.0", "integrated_lufs = -14.0\ntolerance_lu = 1.0")
    cfg_path.write_text(text)
    cfg = Config.load(cfg_path)
    folder = make_set(tmp_path / "s")
    assert codes(folder, config=cfg)["loudness-target"] == ["1M03_MIX.wav"]
    assert "loudness-target" not in codes(folder)


@pytest.mark.parametrize("rate, expect", [("23.976", "00:59:56:09"), ("24", "01:00:00:00"),
                                          ("25", "01:00:00:00"), ("29.97", "00:59:56:12")])
def test_bwf_time_reference_round_trips_to_timecode(tmp_path: Path, rate: str, expect: str) -> None:
    folder = make_set(tmp_path / "s", tref=3600 * SR)
    rows = check_folder(folder, frame_rate=rate).file_rows()
    assert {r["start_tc"] for r in rows} == {expect}
    # and a session that starts at 01:00:00:00 on the clock of 23.976 / 29.97
    from audio.timecode import parse_frame_rate, parse_timecode

    tref = parse_timecode("01:00:00:00", parse_frame_rate(rate)).samples(SR)
    folder2 = make_set(tmp_path / "s2", tref=tref)
    assert {r["start_tc"] for r in check_folder(folder2, frame_rate=rate).file_rows()} == {"01:00:00:00"}


def test_mp3_in_disguise_is_an_error(tmp_path: Path) -> None:
    folder = make_set(tmp_path / "s")
    try:
        sf.write(tmp_path / "x.mp3", tone(220), SR, format="MP3")
    except (sf.LibsndfileError, TypeError, ValueError) as e:
        pytest.skip(f"this libsndfile cannot write MP3: {e}")
    (folder / "1M03_STR.wav").write_bytes((tmp_path / "x.mp3").read_bytes())
    found = codes(folder)
    assert found["format-lossy"] == ["1M03_STR.wav"]


@pytest.mark.parametrize("damage", ["empty", "one_byte", "header_only", "truncated", "image", "huge_size",
                                    "zero_channels"])
def test_bad_files_are_one_line_errors(tmp_path: Path, sv: Runner, damage: str) -> None:
    folder = make_set(tmp_path / "s")
    target = folder / "1M03_STR.wav"
    good = target.read_bytes()
    data_at = good.index(b"data")
    if damage == "empty":
        target.write_bytes(b"")
    elif damage == "one_byte":
        target.write_bytes(good[:1])
    elif damage == "header_only":
        target.write_bytes(good[:data_at + 4] + b"\x00\x00\x00\x00")
    elif damage == "truncated":
        target.write_bytes(good[: len(good) // 3])
    elif damage == "image":
        target.write_bytes(b"\xff\xd8\xff\xe0" + bytes(5000))
    elif damage == "huge_size":
        target.write_bytes(good[:data_at + 4] + (0xFFFFFFF0).to_bytes(4, "little") + good[data_at + 8:])
    elif damage == "zero_channels":
        fmt_at = good.index(b"fmt ")
        b = bytearray(good)
        b[fmt_at + 10:fmt_at + 12] = b"\x00\x00"
        target.write_bytes(bytes(b))
    r = sv("check", folder, "--json")
    assert r.code == 2, (r.out, r.err)
    assert r.err.startswith("error: 1M03_STR.wav") and r.err.count("\n") == 1 and "Traceback" not in r.err
    assert r.out == ""


def test_check_cli_json_contract(tmp_path: Path, sv: Runner) -> None:
    folder = make_set(tmp_path / "s")
    r = sv("check", folder, "--json")
    assert r.code == 0
    doc = r.json()
    assert set(doc) == {"ok", "files", "findings", "null_test"}
    assert {"file", "format", "subtype", "sample_rate", "bit_depth", "channels", "layout", "frames",
            "time_reference", "start_tc", "integrated_lufs", "lra_lu", "true_peak_dbtp",
            "max_momentary_lufs", "max_short_term_lufs"} <= set(doc["files"][0])
    assert doc["null_test"]["mix"] == "1M03_MIX.wav"
    silent = make_set(tmp_path / "q", {"1M03_STR.wav": np.zeros((SR, 2))}, with_mix=False)
    doc = sv("check", silent, "--json").json()
    assert doc["files"][0]["integrated_lufs"] is None  # null, never NaN/-Infinity
    assert "NaN" not in sv("check", silent, "--json").out and "Infinity" not in sv("check", silent, "--json").out
    bad = make_set(tmp_path / "b", {"Stem1.wav": tone(220)}, with_mix=False)
    assert sv("check", bad).code == 1
    assert sv("check", tmp_path / "nope").code == 2
    assert sv("check", folder, "--frame-rate", "31").code == 2


@pytest.mark.slow
def test_analysis_streams_in_bounded_memory(tmp_path: Path) -> None:
    """A 10-minute stereo file: held whole as float64 it would take 460 MB."""
    path = tmp_path / "long.wav"
    with sf.SoundFile(path, "w", SR, 2, subtype="PCM_24") as f:
        rng = np.random.default_rng(0)
        for _ in range(60):
            f.write((rng.standard_normal((SR * 10, 2)) * 0.05).astype(np.float32))
    code = ("import resource, sys; from pathlib import Path; from audio.analysis import analyze_file; "
            f"analyze_file(Path({str(path)!r})); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    peak_mb = int(out.strip()) / 1024
    assert peak_mb < 300, f"peak RSS {peak_mb:.0f} MB"
    json.dumps(peak_mb)


def test_worker_processes_give_the_same_analysis(tmp_path: Path) -> None:
    """Files spread over two processes (null-test partial sums shipped to the parent) give the
    records, hashes and null test of one in-process pass."""
    from audio.analysis import FileSpec, analyze_set

    rng = np.random.default_rng(5)
    stems = {f"1M03_{r}.wav": tone(f, 7.5) + rng.standard_normal((int(7.5 * SR), 2)) * 1e-3
             for r, f in (("STR", 220), ("BRS", 330), ("PERC", 110), ("WW", 550))}
    folder = make_set(tmp_path / "set", stems)
    specs = [FileSpec(p, p.name) for p in sorted(folder.glob("*.wav"))]
    one = analyze_set(specs, mix="1M03_MIX.wav", workers=1)
    two = analyze_set(specs, mix="1M03_MIX.wav", workers=2)
    assert one.sha256 == two.sha256 and one.records == two.records
    assert one.null_test == two.null_test and one.null_test is not None
    skipped = analyze_set(specs, mix="1M03_MIX.wav", workers=2, skip={"1M03_STR.wav"})
    assert skipped.records["1M03_STR.wav"] is None and skipped.null_test == one.null_test


def test_workers_start_from_a_script_on_stdin(tmp_path: Path) -> None:
    # Worker processes re-import the parent's __main__ by path; "<stdin>" is no file.
    folder = make_set(tmp_path / "set")
    script = ("from pathlib import Path\n"
              "from audio.analysis import FileSpec, analyze_set\n"
              f"specs = [FileSpec(p, p.name) for p in sorted(Path({str(folder)!r}).glob('*.wav'))]\n"
              "r = analyze_set(specs, mix='1M03_MIX.wav', workers=2)\n"
              "print(len(r.records), r.null_test is not None)\n")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-"], input=script, text=True, capture_output=True,
                         cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(root)}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(len(list(folder.glob("*.wav")))), "True"]


def test_a_bad_file_in_a_worker_is_one_named_error(tmp_path: Path) -> None:
    from audio.analysis import FileSpec, analyze_set
    from audio.errors import UnreadableAudio

    folder = make_set(tmp_path / "set")
    x = tone(220)
    x[SR] = np.nan
    sf.write(folder / "1M03_BAD.wav", x.astype(np.float32), SR, subtype="FLOAT")
    specs = [FileSpec(p, p.name) for p in sorted(folder.glob("*.wav"))]
    with pytest.raises(UnreadableAudio, match=r"1M03_BAD\.wav"):
        analyze_set(specs, mix="1M03_MIX.wav", workers=2)


def _cut_bext(path: Path, keep: int) -> None:
    """Rewrite ``path`` with its bext chunk cut to ``keep`` bytes (the fixed part is 602)."""
    import struct

    b = path.read_bytes()
    i = b.index(b"bext")
    size = struct.unpack("<I", b[i + 4:i + 8])[0]
    rest = b[i + 8 + size + (size & 1):]
    out = bytearray(b[:i] + b"bext" + struct.pack("<I", keep) + b[i + 8:i + 8 + keep] + rest)
    struct.pack_into("<I", out, 4, len(out) - 8)
    path.write_bytes(bytes(out))


def test_a_corrupt_bext_chunk_is_said_not_taken_for_no_timecode(tmp_path: Path, sv: Runner) -> None:
    """A bext cut short (20 of its 602 fixed bytes): the audio reads, the start timecode cannot."""
    folder = make_set(tmp_path / "s")
    _cut_bext(folder / "1M03_BRS.wav", 20)
    assert sf.info(str(folder / "1M03_BRS.wav")).frames == 3 * SR  # the audio itself is fine
    report = check_folder(folder)
    bad = [f for f in report.findings if f.code == "bwf-unreadable"]
    assert [f.file for f in bad] == ["1M03_BRS.wav"] and bad[0].severity == "warning"
    assert "bext" in bad[0].message and "start timecode" in bad[0].message
    assert "no-timecode" not in codes(folder)  # the others carry one: the set is not "without"
    doc = sv("check", folder, "--json").json()
    assert any(f["code"] == "bwf-unreadable" and f["file"] == "1M03_BRS.wav" for f in doc["findings"])


def test_flac_and_aiff_have_no_bext_and_no_finding_about_it(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    sf.write(folder / "1M03_STR.flac", tone(220), SR, subtype="PCM_24")
    sf.write(folder / "1M03_BRS.aiff", tone(330), SR, subtype="PCM_24")
    found = codes(folder)
    assert "bwf-unreadable" not in found and "no-timecode" in found


def test_a_broken_wavinfo_install_is_said_as_a_bug_not_no_timecode(tmp_path: Path, sv: Runner,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    folder = make_set(tmp_path / "s")
    monkeypatch.setitem(sys.modules, "wavinfo", None)  # `import wavinfo` raises ImportError
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    r = sv("check", folder)
    assert r.code == 3, r
    assert r.err.startswith("error: unexpected ModuleNotFoundError: import of wavinfo halted")
    assert r.err.count("\n") == 1


@pytest.mark.parametrize("xml", [b"not xml at all", b"<BWFXML><TRACK_LIST><TRACK>"], ids=["not-xml", "cut-short"])
def test_an_unreadable_ixml_is_a_finding_and_the_bext_is_kept(sv: Runner, tmp_path: Path, xml: bytes) -> None:
    import struct

    src = tmp_path / "export"
    src.mkdir()
    start = 3600 * SR  # 01:00:00:00
    for role, f in (("STR", 220.0), ("BRS", 330.0)):
        write_bwf(src / f"1M03_{role}.wav", tone(f), SR, time_reference=start)
    path = src / "1M03_BRS.wav"  # a DAW's broken iXML chunk appended to a good file
    data = path.read_bytes() + b"iXML" + struct.pack("<I", len(xml)) + xml + b"\0" * (len(xml) % 2)
    path.write_bytes(data[:4] + struct.pack("<I", len(data) - 8) + data[8:])
    r = sv("check", src, "--frame-rate", "24", "--json")
    assert r.code in (0, 1), r.err
    doc = r.json()
    found = [(f["code"], f["file"]) for f in doc["findings"] if "ixml" in f["code"] or "bwf" in f["code"]]
    if xml.startswith(b"<"):  # lxml recovers what it can from a cut-short document: nothing to say
        assert found == []
    else:
        assert found == [("ixml-unreadable", "1M03_BRS.wav")]
        msg = next(f["message"] for f in doc["findings"] if f["code"] == "ixml-unreadable")
        assert "iXML" in msg and "track names" in msg
    assert {x["file"]: x["start_tc"] for x in doc["files"]} == dict.fromkeys(
        ["1M03_STR.wav", "1M03_BRS.wav"], "01:00:00:00")  # the bext start is still read
