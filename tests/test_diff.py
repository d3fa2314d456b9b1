"""Diffs between versions on real git + git-lfs: regions, renames, header-only changes, moves,
lazy clones, versions without analysis records, the delta notation, bad input."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from audio.bwf import quantize, write_bwf
from tests.helpers import CUE, SR, Runner, git, lfs_objects
from tui.cli import main

SECONDS = 45.0
TREF = 3600 * SR  # 01:00:00:00
BASES = {"STR": 220.0, "BRS": 164.8, "PERC": 98.0, "PAD": 130.8, "CHOIR": 261.6}


def music(seed: int, base_hz: float, seconds: float = SECONDS) -> np.ndarray:
    """Plucked notes at random onsets over a quiet floor: envelopes that vary, like music."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    out = rng.standard_normal((n, 2)) * 1e-5
    onset = 0.0
    while onset < seconds - 0.5:
        length = rng.uniform(0.3, 1.5)
        i0, i1 = int(onset * SR), min(n, int((onset + length + 0.8) * SR))
        tt = np.arange(i1 - i0) / SR
        f = base_hz * 2 ** (int(rng.integers(0, 12)) / 12)
        env = np.minimum(1.0, tt * 300) * np.exp(-tt * rng.uniform(2, 6))
        note = sum(np.sin(2 * np.pi * f * k * tt + k) / k for k in (1, 2, 3)) * env * rng.uniform(0.04, 0.12)
        pan = rng.uniform(0.3, 0.7)
        out[i0:i1, 0] += note * (1 - pan)
        out[i0:i1, 1] += note * pan
        onset += rng.uniform(0.12, 0.7)
    return out


def write_version(folder: Path, stems: dict[str, np.ndarray], *, descriptions: dict[str, str] | None = None,
                  names: dict[str, str] | None = None, ixml: dict[str, str] | None = None) -> None:
    """BWF files at 01:00:00:00 and their mix (the exact sum of the stored stems)."""
    folder.mkdir(parents=True, exist_ok=True)
    for p in folder.glob("*.wav"):
        p.unlink()
    stored = {k: quantize(v, "PCM_24") for k, v in stems.items()}
    for k, v in stored.items():
        name = (names or {}).get(k, f"{CUE}_{k}.wav")
        write_bwf(folder / name, v, SR, time_reference=TREF, description=(descriptions or {}).get(k, f"{k} stem"),
                  ixml=(ixml or {}).get(k))
    write_bwf(folder / f"{CUE}_MIX.wav", quantize(sum(stored.values()), "PCM_24"), SR, time_reference=TREF,
              description="mix")


def gain(x: np.ndarray, start: float, end: float, g: float) -> np.ndarray:
    y = x.copy()
    y[int(start * SR):int(end * SR)] *= g
    return y


def delay(x: np.ndarray, n: int) -> np.ndarray:
    y = np.zeros_like(x)
    y[n:] = x[:-n]
    return y


def cli(*args: str | Path) -> int:
    return main([str(a) for a in args])


@pytest.fixture(scope="module")
def hist(tmp_path_factory: pytest.TempPathFactory, _home: Path) -> Iterator[Path]:
    """A vault with four versions of 1M03:
    1.0 STR BRS PERC PAD + MIX
    2.0 STR changed 30–40 s only
    3.0 PERC changed in two places: 5.25–7.5 s and 20–22 s
    4.0 PAD renamed to PADS (same bytes), BRS re-saved with another header (same PCM; its iXML
        track names are new, a real metadata change), STR delayed by 480 samples, CHOIR added
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(_home))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        for k in list(os.environ):
            if k.startswith("GIT_") and k != "GIT_CONFIG_NOSYSTEM":
                mp.delenv(k)
        root = tmp_path_factory.mktemp("diff")
        vault = root / "film"
        assert cli("init", vault) == 0
        base = {k: music(i, BASES[k]) for i, k in enumerate(("STR", "BRS", "PERC", "PAD"))}
        src = root / "export"
        write_version(src, base)
        assert cli("-C", vault, "commit", CUE, src, "-m", "first pass") == 0
        v2 = {**base, "STR": gain(base["STR"], 30, 40, 0.5)}
        write_version(src, v2)
        assert cli("-C", vault, "commit", CUE, src, "-m", "strings down in the middle") == 0
        v3 = {**v2, "PERC": gain(gain(v2["PERC"], 5.25, 7.5, 0.3), 20, 22, 1.5)}
        write_version(src, v3)
        assert cli("-C", vault, "commit", CUE, src, "-m", "perc fixes") == 0
        v4 = {**v3, "STR": delay(v3["STR"], 480), "CHOIR": music(9, BASES["CHOIR"])}
        brs_ixml = ("<BWFXML><TRACK_LIST><TRACK_COUNT>1</TRACK_COUNT><TRACK><CHANNEL_INDEX>1</CHANNEL_INDEX>"
                    "<NAME>Brass</NAME></TRACK></TRACK_LIST></BWFXML>")
        write_version(src, v4, descriptions={"BRS": "brass stem, re-saved"}, names={"PAD": f"{CUE}_PADS.wav"},
                      ixml={"BRS": brs_ixml})
        assert cli("-C", vault, "commit", CUE, src, "-m", "moved strings, choir") == 0
        yield vault


def diff(sv: Runner, vault: Path, a: str, b: str, *extra: str) -> dict[str, Any]:
    doc: dict[str, Any] = sv.ok("-C", vault, "diff", f"{CUE}@{a}", f"{CUE}@{b}", "--json", *extra).json()
    return doc


def by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in doc["stems"]}


def test_one_changed_region_and_nothing_else(hist: Path, sv: Runner) -> None:
    doc = diff(sv, hist, "1.0", "2.0")
    s = by_name(doc)
    assert s["1M03_STR.wav"]["status"] == "changed"
    assert [(r["start_s"], r["end_s"]) for r in s["1M03_STR.wav"]["regions"]] == [(30.0, 40.0)]
    r = s["1M03_STR.wav"]["regions"][0]
    assert (r["start_tc"], r["end_tc"]) == ("01:00:30:00", "01:00:40:00")
    assert s["1M03_STR.wav"]["loudness_delta_lu"] < 0
    assert {n: x["status"] for n, x in s.items() if n != "1M03_STR.wav"} == {
        "1M03_BRS.wav": "unchanged", "1M03_PERC.wav": "unchanged", "1M03_PAD.wav": "unchanged"}
    assert doc["mix"]["status"] == "changed"
    assert [(r["start_s"], r["end_s"]) for r in doc["mix"]["regions"]] == [(30.0, 40.0)]
    assert doc["a"] == {"cue": CUE, "version": "1.0"} and doc["b"] == {"cue": CUE, "version": "2.0"}
    assert doc["delta"].startswith("~STR 01:00:30–01:00:40 ")  # timecode: the files start at 01:00:00:00


def test_two_separate_regions(hist: Path, sv: Runner) -> None:
    s = by_name(diff(sv, hist, "2.0", "3.0"))
    assert [(r["start_s"], r["end_s"]) for r in s["1M03_PERC.wav"]["regions"]] == [(5.0, 8.0), (20.0, 22.0)]
    assert [x["status"] for n, x in s.items() if n != "1M03_PERC.wav"] == ["unchanged"] * 3


def test_rename_metadata_move_and_add(hist: Path, sv: Runner) -> None:
    doc = diff(sv, hist, "3.0", "4.0")
    s = by_name(doc)
    assert s["1M03_PADS.wav"]["status"] == "renamed" and s["1M03_PADS.wav"]["renamed_from"] == "1M03_PAD.wav"
    assert s["1M03_BRS.wav"]["status"] == "metadata" and s["1M03_BRS.wav"]["regions"] == []
    st = s["1M03_STR.wav"]
    assert st["status"] == "moved" and st["regions"] == [] and not st["shift_exact"]
    assert abs(st["shift_samples"] - 480) <= 240  # within 5 ms from the records alone
    assert s["1M03_CHOIR.wav"]["status"] == "added"
    assert s["1M03_PERC.wav"]["status"] == "unchanged"
    assert "1M03_PAD.wav" not in s  # a rename, not remove + add
    assert "PAD>PADS" in doc["delta"] and "~STR moved+10ms" in doc["delta"]
    assert "BRS" not in doc["delta"] and doc["delta"].endswith(" 1 meta-only")  # header-only: folded
    assert "+CHOIR" in doc["delta"]
    # The other way round: CHOIR removed, the rename reversed.
    back = by_name(diff(sv, hist, "4.0", "3.0"))
    assert back["1M03_CHOIR.wav"]["status"] == "removed"
    assert back["1M03_PAD.wav"]["renamed_from"] == "1M03_PADS.wav"


def test_exact_confirms_the_move_and_refines_regions(hist: Path, sv: Runner) -> None:
    st = by_name(diff(sv, hist, "3.0", "4.0", "--exact"))["1M03_STR.wav"]
    assert st["status"] == "moved" and st["shift_samples"] == 480 and st["shift_exact"]
    perc = by_name(diff(sv, hist, "2.0", "3.0", "--exact"))["1M03_PERC.wav"]
    spans = [(r["start_s"], r["end_s"]) for r in perc["regions"]]
    assert spans == [(5.25, 7.5), (20.0, 22.0)]
    assert all(r["residual_db"] is not None and r["residual_db"] < 0 for r in perc["regions"])


def test_diff_across_non_neighbours_and_with_itself(hist: Path, sv: Runner) -> None:
    s = by_name(diff(sv, hist, "1.0", "4.0"))
    assert s["1M03_PERC.wav"]["status"] == "changed" and len(s["1M03_PERC.wav"]["regions"]) == 2
    assert s["1M03_STR.wav"]["status"] == "changed"  # a region changed and then moved: rewritten
    same = diff(sv, hist, "2.0", "2.0")
    assert {x["status"] for x in same["stems"]} == {"unchanged"} and same["delta"] == "="


def test_human_output_and_log_delta(hist: Path, sv: Runner) -> None:
    out = sv.ok("-C", hist, "diff", f"{CUE}@1.0", f"{CUE}@2.0").out
    assert "1M03_STR.wav" in out and "01:00:30:00–01:00:40:00 (10.0 s)" in out
    assert "unchanged (3)" in out and "mix: changed" in out and "null test passes" in out
    log = {v["version"]: v["delta"] for v in sv.ok("-C", hist, "log", CUE, "--json").json()}
    assert log["2.0"].startswith("~STR 01:00:30–01:00:40") and "~MIX 01:00:30–01:00:40" in log["2.0"]
    assert log["3.0"].startswith("~PERC 01:00:05–01:00:08,01:00:20–01:00:22")
    assert "PAD>PADS" in log["4.0"] and "moved+10ms" in log["4.0"]
    assert len(sv.ok("-C", hist, "log", CUE, "--json").json()) == 4


def test_lazy_clone_diffs_without_downloading_audio(hist: Path, sv: Runner, tmp_path: Path) -> None:
    lazy = tmp_path / "lazy"
    subprocess.run(["git", "clone", "-q", str(hist), str(lazy)], env={**os.environ, "GIT_LFS_SKIP_SMUDGE": "1"},
                   check=True)
    assert not lfs_objects(lazy)
    full = diff(sv, hist, "1.0", "4.0")
    assert diff(sv, lazy, "1.0", "4.0") == full
    diff(sv, lazy, "3.0", "4.0")
    sv.ok("-C", lazy, "diff", f"{CUE}@2.0", f"{CUE}@3.0")
    assert not lfs_objects(lazy), "the diff downloaded audio"
    r = sv("-C", lazy, "diff", f"{CUE}@2.0", f"{CUE}@3.0", "--exact")
    assert r.code == 2 and "1M03_PERC.wav" in r.err and "git lfs" in r.err and r.err.count("\n") == 1
    assert not lfs_objects(lazy)


def test_bad_input(hist: Path, sv: Runner) -> None:
    for args, word in ((("1M99@1.0", f"{CUE}@1.0"), "no versions"), ((f"{CUE}@9.0", f"{CUE}@1.0"), "no version 9.0"),
                       ((f"{CUE}@x.y", f"{CUE}@1.0"), "invalid version"), (("bad name", f"{CUE}@1.0"), "invalid cue")):
        r = sv("-C", hist, "diff", *args)
        assert r.code == 2 and word in r.err and r.err.count("\n") == 1, r.err
    r = sv("-C", hist, "diff", f"{CUE}@1.0")
    assert r.code == 2


@pytest.fixture
def no_records(vault: Path, sv: Runner, tmp_path: Path) -> Path:
    """Two versions made "by an older stemvault": the records rewritten out of history."""
    src = tmp_path / "src"
    base = {"STR": music(1, 220.0, 6.0), "BRS": music(2, 165.0, 6.0)}
    write_version(src, base)
    sv.ok("-C", vault, "commit", CUE, src)
    write_version(src, {**base, "STR": gain(base["STR"], 2, 3, 0.5)})
    sv.ok("-C", vault, "commit", CUE, src)
    env = {**os.environ, "FILTER_BRANCH_SQUELCH_WARNING": "1"}
    subprocess.run(["git", "filter-branch", "-f", "--index-filter",
                    "git rm -r -q --cached --ignore-unmatch .stemvault/analysis", "HEAD"],
                   cwd=vault, env=env, check=True, capture_output=True)
    subprocess.run(["rm", "-rf", str(vault / ".stemvault" / "analysis")], check=True)
    git(vault, "update-ref", "-d", "refs/original/refs/heads/main")
    return vault


def test_versions_without_records_say_how_to_build_them(no_records: Path, sv: Runner, tmp_path: Path) -> None:
    vault = no_records
    r = sv("-C", vault, "diff", f"{CUE}@1.0", f"{CUE}@2.0")
    assert r.code == 2 and "no analysis record" in r.err and "stemvault analyze" in r.err
    # A lazy clone has no audio to build them from: it says what to fetch.
    lazy = tmp_path / "lazy2"
    subprocess.run(["git", "clone", "-q", str(vault), str(lazy)], env={**os.environ, "GIT_LFS_SKIP_SMUDGE": "1"},
                   check=True)
    r = sv("-C", lazy, "diff", f"{CUE}@1.0", f"{CUE}@2.0")
    assert r.code == 2 and "no analysis record" in r.err and "git lfs" in r.err
    r = sv("-C", lazy, "analyze", CUE)
    assert r.code == 2 and "git lfs" in r.err
    # Where the audio is: analyze builds them in a commit that is not a version.
    head = git(vault, "rev-parse", "HEAD").strip()
    out = sv.ok("-C", vault, "analyze", CUE, "--json").json()
    assert len(out["built"]) == 5 and out["commit"] != head  # STR, BRS and the mix of 1.0; STR and mix of 2.0
    assert git(vault, "diff", "--name-only", head, "HEAD").strip().split("\n") == sorted(
        git(vault, "diff", "--name-only", head, "HEAD").strip().split("\n"))
    assert all(p.startswith(".stemvault/analysis/") for p in git(vault, "diff", "--name-only", head, "HEAD").split())
    assert [v["version"] for v in sv.ok("-C", vault, "log", CUE, "--json").json()] == ["2.0", "1.0"]
    s = by_name(diff(sv, vault, "1.0", "2.0"))
    assert [(r["start_s"], r["end_s"]) for r in s["1M03_STR.wav"]["regions"]] == [(2.0, 3.0)]
    assert sv.ok("-C", vault, "analyze", CUE).out.startswith("Nothing to do")
    assert git(vault, "status", "--porcelain") == ""
