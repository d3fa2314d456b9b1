"""Benchmark (issue: analysis and checks): full analysis of a stem set vs ffmpeg's ebur128.

The 24 × 5 min stereo 48 kHz/24-bit set of the commit benchmark. Side by side in one run, at
equal parallelism (both cores), median of STEMVAULT_BENCH_REPS:

- stemvault: `stemvault check DIR --json` — sha256, integrated loudness, LRA, true peak,
  momentary/short-term maxima, overview, fingerprints, envelope, null test and every check, in
  worker processes (one per core: both);
- peer: `ffmpeg -af ebur128=peak=true` on every file, two processes at a time (loudness and true
  peak only);
- floor: decoding the set with soundfile (two threads), nothing else.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import soundfile as sf

from tests.bench.common import CONTENT, REPS, cached_set, median, report, timed

# The installed entry point, next to this Python (the venv need not be on PATH).
STEMVAULT = str(Path(sys.executable).parent / "stemvault")


def _ffmpeg(paths: list[Path]) -> None:
    def one(p: Path) -> None:
        subprocess.run(["ffmpeg", "-nostats", "-hide_banner", "-i", str(p), "-af", "ebur128=peak=true",
                        "-f", "null", "-"], check=True, capture_output=True)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(one, paths))


def _decode(paths: list[Path]) -> None:
    def one(p: Path) -> None:
        with sf.SoundFile(p) as f:
            for _ in f.blocks(blocksize=48000, dtype="float32"):
                pass

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(one, paths))


def _stemvault(folder: Path) -> None:
    r = subprocess.run([STEMVAULT, "check", str(folder), "--json"], capture_output=True)
    assert r.returncode in (0, 1), r.stderr


def _load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0]) if Path("/proc/loadavg").exists() else -1.0


@pytest.mark.timeout(0)  # full size takes minutes: pytest's 300 s default killed it
def test_bench_analysis() -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg): it is the peer of this benchmark")
    folder = cached_set("commit-v1", seed=1)
    paths = sorted(folder.glob("*.wav"))
    rows: dict[str, list[float]] = {"stemvault_check": [], "ffmpeg_ebur128_2proc": [], "decode_floor": []}
    load = [_load()]
    for _ in range(REPS):
        rows["decode_floor"].append(timed(lambda: _decode(paths)))
        rows["stemvault_check"].append(timed(lambda: _stemvault(folder)))
        rows["ffmpeg_ebur128_2proc"].append(timed(lambda: _ffmpeg(paths)))
        load.append(_load())
    med = {k: round(median(v), 2) for k, v in rows.items()}
    report("analysis", {
        "content": CONTENT, "loadavg_1min": load, "runs_s": rows, "median_s": med,
        "ratio_vs_ffmpeg": round(med["stemvault_check"] / med["ffmpeg_ebur128_2proc"], 3),
        "ratio_vs_decode_floor": round(med["stemvault_check"] / med["decode_floor"], 2),
        "target": "<= 0.5x ffmpeg (goal 0.25x)",
    })
