"""Issue 9, findings 2, 5 and 12: a re-export whose audio did not change keeps the vault's file
(whatever the volatile bext fields say), the delta folds real header-only changes into a count,
delta regions are given in timecode, and a move is claimed only when the records confirm it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from audio.bwf import quantize, write_bwf
from tests.helpers import CUE, SR, Runner, git, lfs_objects, sha256
from tests.test_diff import delay, gain, music

SECONDS = 10.0
ROLES = {"STR": 220.0, "BRS": 164.8, "PERC": 98.0, "PAD": 130.8}
# 03:04:10:00 at 24 fps, the vault's default rate
TREF = (3 * 3600 + 4 * 60 + 10) * SR


def _ixml(name: str, tracks: tuple[str, str]) -> str:
    rows = "".join(f"<TRACK><CHANNEL_INDEX>{i}</CHANNEL_INDEX><NAME>{t}</NAME></TRACK>"
                   for i, t in enumerate(tracks, 1))
    return ('<?xml version="1.0" encoding="UTF-8"?><BWFXML><IXML_VERSION>2.10</IXML_VERSION>'
            f"<PROJECT>film</PROJECT><FILE_UID>{name}</FILE_UID>"
            f"<TRACK_LIST><TRACK_COUNT>2</TRACK_COUNT>{rows}</TRACK_LIST></BWFXML>")


def export(folder: Path, stems: dict[str, np.ndarray], *, bounce: int, tref: int = TREF,
           tracks: dict[str, tuple[str, str]] | None = None) -> None:
    """What a DAW writes on every bounce: BWF stems and their mix (the exact sum of the stored
    stems), each header restamped with this bounce's description, originator reference, date,
    time, coding history and iXML file id."""
    folder.mkdir(parents=True, exist_ok=True)
    for p in folder.glob("*.wav"):
        p.unlink()
    stored = {k: quantize(v, "PCM_24") for k, v in stems.items()}
    stored["MIX"] = quantize(sum(stored.values()), "PCM_24")
    for k, v in stored.items():
        name = f"{CUE}_{k}"
        write_bwf(folder / f"{name}.wav", v, SR, time_reference=tref,
                  description=f"{name} bounce {bounce}", originator="DAW 12.1",
                  originator_reference=f"DAW{bounce:04d}{k}", origination_date=f"2026-12-{bounce:02d}",
                  origination_time=f"10:{bounce:02d}:00",
                  coding_history=f"A=PCM,F=48000,W=24,M=stereo,T=DAW bounce {bounce}\r\n",
                  ixml=_ixml(f"{name}-{bounce}", (tracks or {}).get(k, (f"{k} L", f"{k} R"))))


def base_stems() -> dict[str, np.ndarray]:
    return {k: music(i, f, SECONDS) for i, (k, f) in enumerate(ROLES.items())}


def commit(sv: Runner, vault: Path, src: Path, *extra: str) -> dict[str, Any]:
    doc: dict[str, Any] = sv.ok("-C", vault, "commit", CUE, src, "--json", *extra).json()
    return doc


def manifest(vault: Path) -> dict[str, dict[str, Any]]:
    import tomllib

    m = tomllib.loads((vault / "cues" / CUE / "stemset.toml").read_text())
    return {s["file"]: s["measured"] for s in m["stem"]}


# ----- finding 2: a re-export keeps the vault's file ---------------------------------------------

def test_restamped_reexport_with_one_real_change_stores_only_that_change(vault: Path, sv: Runner,
                                                                         tmp_path: Path) -> None:
    src = tmp_path / "export"
    stems = base_stems()
    export(src, stems, bounce=1)
    commit(sv, vault, src)
    before = manifest(vault)
    objects = lfs_objects(vault)
    # Bounce 2: every header restamped, and the brass really changed (down 6 dB at 4-6 s).
    export(src, {**stems, "BRS": gain(stems["BRS"], 4, 6, 0.5)}, bounce=2)
    assert all(sha256(p) != before[p.name]["sha256"] for p in src.iterdir())  # every file's bytes differ
    doc = commit(sv, vault, src)
    assert sorted(doc["changed"]) == [f"{CUE}_BRS.wav", f"{CUE}_MIX.wav"]
    assert sorted(doc["unchanged"]) == [f"{CUE}_{k}.wav" for k in ("PAD", "PERC", "STR")]
    assert doc["added"] == [] and doc["removed"] == []
    assert doc["reexported"] == sorted(doc["unchanged"])
    assert doc["new_lfs_objects"] == 2 and len(lfs_objects(vault) - objects) == 2
    after = manifest(vault)
    for k in ("STR", "PERC", "PAD"):
        name = f"{CUE}_{k}.wav"
        # the manifest and the working copy keep the vault's file, not the restamped bytes
        assert after[name]["sha256"] == before[name]["sha256"]
        assert sha256(vault / "cues" / CUE / name) == before[name]["sha256"]
    delta = doc["delta"]
    assert delta.startswith("~BRS ") and "~MIX " in delta, delta
    for k in ("STR", "PERC", "PAD"):
        assert k not in delta, delta
    assert "meta" not in delta, delta  # only volatile fields were restamped
    assert git(vault, "status", "--porcelain") == ""


def test_a_kept_file_missing_from_the_working_copy_is_put_back(vault: Path, sv: Runner, tmp_path: Path) -> None:
    src = tmp_path / "export"
    stems = base_stems()
    export(src, stems, bounce=1)
    commit(sv, vault, src)
    before = manifest(vault)
    (vault / "cues" / CUE / f"{CUE}_STR.wav").unlink()
    export(src, {**stems, "BRS": gain(stems["BRS"], 4, 6, 0.5)}, bounce=2)
    doc = commit(sv, vault, src)
    assert f"{CUE}_STR.wav" in doc["reexported"] and doc["new_lfs_objects"] == 2
    assert sha256(vault / "cues" / CUE / f"{CUE}_STR.wav") == before[f"{CUE}_STR.wav"]["sha256"]
    assert git(vault, "status", "--porcelain") == ""
    out = sv.ok("-C", vault, "log", CUE).out
    assert "STR" not in out.split("delta:")[1].splitlines()[0]


def test_reexport_of_the_same_audio_is_nothing_new(vault: Path, sv: Runner, tmp_path: Path) -> None:
    src = tmp_path / "export"
    stems = base_stems()
    export(src, stems, bounce=1)
    commit(sv, vault, src)
    head = git(vault, "rev-parse", "HEAD")
    export(src, stems, bounce=2)
    r = sv("-C", vault, "commit", CUE, src)
    assert r.code == 2 and "nothing changed" in r.err
    assert git(vault, "rev-parse", "HEAD") == head


def test_real_header_changes_are_stored_and_folded_in_the_delta(vault: Path, sv: Runner, tmp_path: Path) -> None:
    src = tmp_path / "export"
    stems = base_stems()
    export(src, stems, bounce=1)
    commit(sv, vault, src)
    before = manifest(vault)
    # Bounce 2: restamped, PERC really changed, and two stems' iXML track names renamed (a
    # real metadata change of the same samples).
    export(src, {**stems, "PERC": gain(stems["PERC"], 2, 3, 2.0)}, bounce=2,
           tracks={"STR": ("Violins L", "Violins R"), "PAD": ("Synth L", "Synth R")})
    doc = commit(sv, vault, src)
    assert sorted(doc["changed"]) == [f"{CUE}_{k}.wav" for k in ("MIX", "PAD", "PERC", "STR")]
    assert sorted(doc["meta_only"]) == [f"{CUE}_PAD.wav", f"{CUE}_STR.wav"]
    assert doc["unchanged"] == [f"{CUE}_BRS.wav"]
    assert doc["new_lfs_objects"] == 4
    after = manifest(vault)
    assert after[f"{CUE}_STR.wav"]["sha256"] == sha256(src / f"{CUE}_STR.wav")
    assert after[f"{CUE}_BRS.wav"]["sha256"] == before[f"{CUE}_BRS.wav"]["sha256"]
    delta = doc["delta"]
    assert delta.startswith("~PERC ") and "~MIX " in delta and delta.endswith(" 2 meta-only"), delta
    assert "STR" not in delta and "PAD" not in delta, delta


def test_a_new_start_timecode_is_a_real_change(vault: Path, sv: Runner, tmp_path: Path) -> None:
    src = tmp_path / "export"
    stems = base_stems()
    export(src, stems, bounce=1)
    commit(sv, vault, src)
    export(src, stems, bounce=2, tref=TREF + 2 * SR)  # the cue now starts two seconds later
    doc = commit(sv, vault, src)
    assert sorted(doc["changed"]) == sorted(doc["meta_only"]) == sorted(p.name for p in src.iterdir())
    assert doc["new_lfs_objects"] == 5
    assert doc["delta"] == "5 meta-only"
    assert {s["start_tc"] for s in manifest(vault).values()} == {"03:04:12:00"}


def test_records_carry_the_samples_identity(tmp_path: Path) -> None:
    """The record says which samples the file holds, whatever the header: two bounces of the
    same audio have one samples identity; their header facts are in the record too."""
    from audio.analysis import ANALYSIS_VERSION, analyze_file, same_content

    stems = base_stems()
    export(tmp_path / "a", stems, bounce=1)
    export(tmp_path / "b", stems, bounce=2)
    export(tmp_path / "c", stems, bounce=3, tracks={"STR": ("Vln L", "Vln R")})
    ra, rb, rc = (analyze_file(tmp_path / x / f"{CUE}_STR.wav") for x in "abc")
    assert ANALYSIS_VERSION >= 3 and ra["sha256"] != rb["sha256"]
    assert ra["samples_sha256"] == rb["samples_sha256"] == rc["samples_sha256"]
    assert ra["header"]["time_reference"] == TREF
    assert same_content(ra, rb) == "same"
    assert same_content(ra, rc) == "metadata"
    rp = analyze_file(tmp_path / "a" / f"{CUE}_PAD.wav")
    assert same_content(ra, rp) == "audio"
    old = {k: v for k, v in ra.items() if k not in ("samples_sha256", "header")}
    old["analysis_version"] = 2
    assert same_content(old, rb) is None  # an older record cannot tell


# ----- finding 5: delta regions in timecode -------------------------------------------------------

def test_delta_regions_are_timecode_from_the_files_start_timecode(vault: Path, sv: Runner, tmp_path: Path) -> None:
    src = tmp_path / "export"
    stems = base_stems()
    export(src, stems, bounce=1)
    commit(sv, vault, src)
    # brass changed from 8 to 9.5 s into the files, which start at 03:04:10:00 (24 fps)
    export(src, {**stems, "BRS": gain(stems["BRS"], 8, 9.5, 0.5)}, bounce=2)
    doc = commit(sv, vault, src)
    assert doc["delta"].startswith("~BRS 03:04:18–03:04:20 "), doc["delta"]
    assert "~MIX 03:04:18–03:04:20" in doc["delta"]
    log = sv.ok("-C", vault, "log", CUE, "--json").json()
    assert log[0]["delta"] == doc["delta"]
    d = sv.ok("-C", vault, "diff", f"{CUE}@1.0", f"{CUE}@2.0", "--json").json()
    assert d["delta"] == doc["delta"]


def test_delta_regions_round_a_start_between_seconds(vault: Path, sv: Runner, tmp_path: Path) -> None:
    src = tmp_path / "export"
    stems = base_stems()
    start = TREF + SR // 4  # 03:04:10:06 at 24 fps
    export(src, stems, bounce=1, tref=start)
    commit(sv, vault, src)
    export(src, {**stems, "BRS": gain(stems["BRS"], 8, 9.5, 0.5)}, bounce=2, tref=start)
    doc = commit(sv, vault, src)
    # the changed blocks are 8-10 s into the file: 03:04:18:06-03:04:20:06, to the whole second
    assert doc["delta"].startswith("~BRS 03:04:18–03:04:21 "), doc["delta"]


def test_delta_regions_without_a_start_timecode_say_they_are_relative(vault: Path, sv: Runner,
                                                                      tmp_path: Path) -> None:
    src = tmp_path / "export"
    src.mkdir()
    stems = {k: quantize(v, "PCM_24") for k, v in base_stems().items()}
    for k, v in stems.items():  # plain WAV, no bext: no start timecode
        sf.write(src / f"{CUE}_{k}.wav", v, SR, subtype="PCM_24")
    commit(sv, vault, src)
    stems["BRS"] = quantize(gain(stems["BRS"], 8, 9.5, 0.5), "PCM_24")
    sf.write(src / f"{CUE}_BRS.wav", stems["BRS"], SR, subtype="PCM_24")
    doc = commit(sv, vault, src)
    assert doc["delta"].startswith("~BRS t+00:08–00:10"), doc["delta"]


# ----- finding 12: a move must be confirmed -----------------------------------------------------

def steady_pad(seed: int, pitch: float, seconds: float = SECONDS) -> np.ndarray:
    """A held chord over a noise bed: its level hardly moves, so its envelope fits itself at
    any shift."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * f * pitch * t + rng.uniform(0, 6.28)) for f in (440.0, 554.37, 659.26)) / 30
    x = x + rng.standard_normal(len(t)) * 0.01
    return np.stack([x, 0.9 * x], axis=1)


def test_two_renders_of_a_steady_pad_are_not_a_move(vault: Path, sv: Runner, tmp_path: Path) -> None:
    src = tmp_path / "export"
    stems = {"STR": music(0, 220.0, SECONDS), "PAD": steady_pad(1, 1.0)}
    export(src, stems, bounce=1)
    commit(sv, vault, src)
    # another render: other noise, 1 % higher; and the strings really moved by 480 samples
    export(src, {"STR": delay(stems["STR"], 480), "PAD": steady_pad(2, 1.01)}, bounce=2)
    doc = commit(sv, vault, src)
    assert "~PAD all" in doc["delta"] and "PAD moved" not in doc["delta"], doc["delta"]
    assert "~STR moved+10" in doc["delta"], doc["delta"]
    d = sv.ok("-C", vault, "diff", f"{CUE}@1.0", f"{CUE}@2.0", "--json").json()
    pad = next(s for s in d["stems"] if s["name"] == f"{CUE}_PAD.wav")
    assert pad["status"] == "changed" and pad["whole"] and pad["shift_samples"] is None, pad
    st = next(s for s in d["stems"] if s["name"] == f"{CUE}_STR.wav")
    assert st["status"] == "moved" and abs(st["shift_samples"] - 480) <= 240, st
    out = sv.ok("-C", vault, "diff", f"{CUE}@1.0", f"{CUE}@2.0").out
    assert "otherwise the same" in out and out.count("otherwise the same") == 1, out


def test_commit_json_has_the_records_it_needs(vault: Path, sv: Runner, tmp_path: Path) -> None:
    """The records committed carry the samples identity (what the next re-export is matched by)."""
    src = tmp_path / "export"
    export(src, base_stems(), bounce=1)
    doc = commit(sv, vault, src)
    for s in doc["stems"]:
        rel = f".stemvault/analysis/{s['sha256'][:2]}/{s['sha256']}.json"
        rec = json.loads(git(vault, "cat-file", "-p", f"HEAD:{rel}"))
        assert len(rec["samples_sha256"]) == 64
