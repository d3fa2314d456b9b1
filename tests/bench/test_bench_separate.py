"""Benchmark (issue 16): `stemvault separate` — the model's time, stemvault's overhead around it,
and peak memory for a long mix.

The model at hand is the tiny one the tests build (tests/sepmodel.py: htdemucs's graph contract
and its 7.8-s segment, but a few multiplications instead of a network): it measures
stemvault's work around the model, not a separation. No real htdemucs.onnx can be had on these
machines (weights come from model hubs only); docs/performance.md sets the overhead against
demucs-onnx's published CPU figure for htdemucs instead, and says so.

Measured, on a stereo 48 kHz / 24-bit mix of STEMVAULT_BENCH_SEP_SECONDS (600: 10 minutes) and of
one minute:
- model seconds per minute of audio (onnxruntime's run calls, timed around the session);
- the separation step (check_mix + separate: reading, resampling 48 -> 44.1 -> 48 kHz, the
  overlap-add, quantizing, the residual, writing 6 files) minus the model: stemvault's overhead;
- the commit of the separated set (analysis, checks, null test, LFS, git): the whole
  `stemvault separate` into a vault minus the separation step;
- peak resident memory (ru_maxrss) of `stemvault separate --to DIR` and of `stemvault separate`
  into a vault, each in a fresh process, for the long mix and for one minute (bounded memory:
  the two are about the same).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.bench.common import OUT, SR, _music_block, report

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

LONG = float(os.environ.get("STEMVAULT_BENCH_SEP_SECONDS", "600"))
ROOT = Path(__file__).resolve().parents[2]
SEGMENT = 343980  # demucs-onnx's export of htdemucs: 7.8 s at 44.1 kHz
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@x",
       "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "b@x"}


def write_mix(path: Path, seconds: float) -> Path:
    """Music (tests/bench/common.py's notes), streamed to a 24-bit BWF, 10 s at a time."""
    from audio.bwf import BwfStream

    if path.exists():
        return path
    rng = np.random.default_rng(16)
    tmp = path.with_suffix(".part")
    w = BwfStream(tmp, SR, 2, subtype="PCM_24", time_reference=SR * 3600)
    left = int(seconds * SR)
    while left > 0:
        n = min(left, SR * 10)
        w.write(np.clip(_music_block(rng, n, 110.0) + _music_block(rng, n, 440.0), -0.99, 0.99))
        left -= n
    w.close()
    tmp.rename(path)
    return path


class _Timed:
    """The model's session, each run timed (the model still runs: nothing is replaced)."""

    def __init__(self, session: Any) -> None:
        self.session, self.seconds, self.cpu = session, 0.0, 0.0

    def run(self, *a: Any, **k: Any) -> Any:
        t, c = time.perf_counter(), time.process_time()
        try:
            return self.session.run(*a, **k)
        finally:
            self.seconds += time.perf_counter() - t
            self.cpu += time.process_time() - c


def _step(mix: Path, models: Path, out: Path) -> dict[str, float]:
    """check_mix + separate in this process: total and model seconds."""
    from audio.separate import check_mix, load_model, separate

    model = load_model(models, "htdemucs")
    timed = _Timed(model.session)
    model.session = timed
    out.mkdir(parents=True, exist_ok=True)
    outputs: dict[str, str | Path] = {n: out / f"{n}.wav" for n in (*model.sources, "residual")}
    t, c = time.perf_counter(), time.process_time()
    check_mix(mix)
    checked = time.perf_counter() - t
    separate(mix, model, outputs)
    total, cpu = time.perf_counter() - t, time.process_time() - c
    for p in outputs.values():
        Path(p).unlink()
    return {"total_s": total, "model_s": timed.seconds, "check_mix_s": checked, "total_cpu_s": cpu,
            "model_cpu_s": timed.cpu}


_PEAK = ("import resource, sys; from tui.cli import main; rc = main(sys.argv[1:]); "
         "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
         "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc, file=sys.stderr)")


def _cli(*args: str | Path, cwd: Path) -> tuple[float, float, float]:
    """`stemvault ARGS` in a fresh process: (seconds, peak RSS in MiB of stemvault's process, of
    the largest of its children: git, git-lfs, the analysis's worker processes)."""
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", _PEAK, *map(str, args)], cwd=cwd, env=ENV,
                       capture_output=True, text=True)
    seconds = time.perf_counter() - t
    line = [x for x in r.stderr.splitlines() if x.startswith("PEAK ")]
    assert line and line[-1].split()[3] == "0", r.stderr[-2000:]
    return seconds, int(line[-1].split()[1]) / 1024, int(line[-1].split()[2]) / 1024


@pytest.mark.timeout(3600)
def test_bench_separate(tmp_path: Path) -> None:
    from tests.sepmodel import write_model

    models = tmp_path / "models"
    write_model(models, "htdemucs", segment=SEGMENT)
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"model": "tiny ONNX stand-in (tests/sepmodel.py), htdemucs's contract and "
                                        "segment; not a separation network", "sizes": {}}
    _step(write_mix(OUT / "separate-mix-10s.wav", 10.0), models, tmp_path / "step")  # warm: imports, caches
    for seconds in (60.0, LONG):
        mix = write_mix(OUT / f"separate-mix-{int(seconds)}s.wav", seconds)
        minutes = seconds / 60
        step = _step(mix, models, tmp_path / "step")
        vault = tmp_path / f"vault{int(seconds)}"
        subprocess.run([sys.executable, "-m", "tui.cli", "init", str(vault)], env=ENV, check=True,
                       capture_output=True)
        to_s, to_peak, _ = _cli("separate", mix, "--cue", "1M07", "--model-repo", models, "--to",
                             tmp_path / f"to{int(seconds)}", cwd=tmp_path)
        full_s, full_peak, child_peak = _cli("-C", vault, "separate", mix, "--cue", "1M07", "--model-repo", models,
                                 cwd=tmp_path)
        overhead = step["total_s"] - step["model_s"]
        results["sizes"][f"{int(seconds)}s"] = {
            "model_s_per_min": round(step["model_s"] / minutes, 3),
            "separation_step_s_per_min": round(step["total_s"] / minutes, 3),
            "overhead_s_per_min": round(overhead / minutes, 3),
            "overhead_fraction_of_tiny_model": round(overhead / step["model_s"], 2) if step["model_s"] else None,
            "check_mix_s_per_min": round(step["check_mix_s"] / minutes, 3),
            "cli_to_dir_s_per_min": round(to_s / minutes, 3),
            "cli_commit_s_per_min": round(full_s / minutes, 3),
            "commit_s_per_min": round((full_s - to_s) / minutes, 3),
            "peak_rss_mib_to_dir": round(to_peak, 1),
            "peak_rss_mib_commit": round(full_peak, 1),
            "peak_rss_mib_commit_children": round(child_peak, 1),
            "model_cpu_s_per_min": round(step["model_cpu_s"] / minutes, 3),
            "overhead_cpu_s_per_min": round((step["total_cpu_s"] - step["model_cpu_s"]) / minutes, 3),
        }
    results["load_avg"] = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else None
    report("separate", results)
