"""Shared by the benchmarks: the big stem set, timing, reporting.

Benchmarks run with ``./dev bench`` (never with the tests). Sizes come from the environment so a
quick look is possible: STEMVAULT_BENCH_STEMS (24), STEMVAULT_BENCH_SECONDS (300),
STEMVAULT_BENCH_REPS (3). Results go to tests/bench/out/<name>.json and are printed.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

OUT = Path(__file__).parent / "out"
STEMS = int(os.environ.get("STEMVAULT_BENCH_STEMS", "24"))
SECONDS = float(os.environ.get("STEMVAULT_BENCH_SECONDS", "300"))
REPS = int(os.environ.get("STEMVAULT_BENCH_REPS", "3"))
SR = 48000
ROLES = ["STR", "BRS", "WW", "PERC", "DRM", "BASS", "SYN", "PAD", "KEYS", "GTR", "CHOIR", "VOX",
         "MEL", "FX", "HARP", "AMB", "ORCH", "LEAD", "OTHER", "STRS", "HRN", "TPT", "FL", "CEL",
         "SFX", "BGV", "PNO", "VC", "VLA", "CB", "TBN", "KIT"]


def stem_names(cue: str = "1M03", n: int = STEMS) -> list[str]:
    names = [f"{cue}_{ROLES[i % len(ROLES)]}{'' if i < len(ROLES) else i}.wav" for i in range(n - 1)]
    return [*names, f"{cue}_MIX.wav"]


CONTENT = os.environ.get("STEMVAULT_BENCH_CONTENT", "music")  # or "noise": the worst case
# Stems at half the level they were first written at: 23 of them summed peaked at ~1.1 (the mix
# clipped, so the checks refused the set); at 0.5 the mix peaks near -5 dBFS and the set is clean.
MUSIC_GAIN = 0.5
# In the cached sets' folder names: a set written by an older generator is not reused.
GENERATOR = 2


def _music_block(rng: np.random.Generator, n: int, base_hz: float) -> np.ndarray:
    """Notes: a few harmonics each, plucked envelopes, random onsets, over a quiet noise floor.

    Stems have the crest factor of music — peaks that come and decay — which is what the
    true-peak shortcut and the codecs meet in practice; white noise is the worst case instead.
    """
    out = (rng.standard_normal((n, 2)) * 1e-5).astype(np.float64)
    t = np.arange(n) / SR
    onset = 0.0
    while onset < n / SR:
        length = rng.uniform(0.3, 2.0)
        i0, i1 = int(onset * SR), min(n, int((onset + length + 1.0) * SR))
        tt = t[i0:i1] - onset
        f = base_hz * 2 ** (rng.integers(0, 12) / 12)
        env = np.minimum(1.0, tt * 200) * np.exp(-tt * rng.uniform(2, 6))
        note = sum(np.sin(2 * np.pi * f * k * tt + k) / k for k in (1, 2, 3, 4)) * env * rng.uniform(0.05, 0.2)
        pan = rng.uniform(0.3, 0.7)
        out[i0:i1, 0] += note * (1 - pan)
        out[i0:i1, 1] += note * pan
        onset += rng.uniform(0.15, 0.8)
    out *= MUSIC_GAIN
    return out


def write_big_set(folder: Path, *, seed: int = 0, changed: int | None = None) -> list[Path]:
    """A stem set of STEMS stereo files, SECONDS long, 48 kHz/24-bit, streamed to disk, whose
    last file is the exact sum of the others (the mix). ``changed`` re-seeds one stem (and so
    changes the mix too)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = stem_names()
    block = SR * 10
    files = [sf.SoundFile(folder / name, "w", SR, 2, subtype="PCM_24") for name in names]
    rngs = [np.random.default_rng(seed * 1000 + i + (7777 if changed == i else 0)) for i in range(len(names) - 1)]
    try:
        left = int(SECONDS * SR)
        while left > 0:
            n = min(block, left)
            mix = np.zeros((n, 2))
            for i, rng in enumerate(rngs):
                if CONTENT == "noise":
                    x = rng.standard_normal((n, 2)) * 0.02
                else:
                    x = _music_block(rng, n, 55.0 * 2 ** (i % 5))
                x = np.floor(np.clip(x, -1, 1 - 2**-23) * 2**23) / 2**23  # on the 24-bit grid
                files[i].write(x)
                mix += x
            if np.abs(mix).max() >= 1.0:  # a clean set: the checks must accept it
                raise AssertionError("the bench mix clips: lower MUSIC_GAIN")
            files[-1].write(mix)
            left -= n
    finally:
        for f in files:
            f.close()
    return [folder / n for n in names]
def cached_set(name: str, **kw: object) -> Path:
    """Build a set once per size (kept in tests/bench/out, which git ignores)."""
    folder = OUT / f"{name}-{CONTENT}-{STEMS}x{int(SECONDS)}s-g{GENERATOR}"
    done = folder / ".complete"
    if not done.exists():
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        write_big_set(folder, **kw)  # type: ignore[arg-type]
        done.write_text("ok")
    return folder


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def machine() -> dict[str, object]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(),
            "git": subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip(),
            "git_lfs": subprocess.run(["git", "lfs", "version"], capture_output=True, text=True).stdout.strip()}


def report(name: str, data: dict[str, object]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    data = {"benchmark": name, "stems": STEMS, "seconds": SECONDS, "reps": REPS,
            "machine": machine(), **data}
    (OUT / f"{name}.json").write_text(json.dumps(data, indent=2))
    print(json.dumps(data, indent=2))
