"""Benchmark (issue 14): the CPU cost of the audition presets, per second of audio.

A preset filters the engine's output (the mix: 2 channels here), after the stems are summed, so
its cost does not grow with the number of stems; it adds to the engine's (docs/performance.md,
Playback: 0.0131 of real time for 24 stems at 1024 frames). ``PresetStage.process`` on stereo
noise in blocks of 256 and 1024 frames, STEMVAULT_BENCH_PRESET_SECONDS (60) of audio per run,
median of REPS; CPU seconds (process time, this thread) per second of audio.
"""

from __future__ import annotations

import os
import time

import numpy as np

from audio.playback.presets import PRESETS, PresetStage
from tests.bench.common import REPS, SR, median, report

PRESET_SECONDS = float(os.environ.get("STEMVAULT_BENCH_PRESET_SECONDS", "60"))


def test_bench_presets() -> None:
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((SR * 10, 2)) * 0.1).astype(np.float32)  # 10 s, fed round and round
    rows = []
    for block in (256, 1024):
        for name in [None, *PRESETS]:
            costs = []
            for _ in range(REPS):
                st = PresetStage(SR, 2)
                st.set(name, fade=False)
                total = int(PRESET_SECONDS * SR)
                done = 0
                t = time.process_time()
                while done < total:
                    i = done % len(x)
                    n = min(block, len(x) - i, total - done)
                    st.process(x[i:i + n])
                    done += n
                costs.append((time.process_time() - t) / PRESET_SECONDS)
            rows.append({"preset": name or "none (bypass)", "block": block, "cpu_per_s": median(costs)})
    report("presets", {"seconds_per_run": PRESET_SECONDS, "rows": rows})
