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


def write_big_set(folder: Path, *, seed: int = 0, changed: int | None = None) -> list[Path]:
    """A stem set of STEMS stereo files, SECONDS long, 48 kHz/24-bit, streamed to disk.

    The content is band-limited noise shaped by an envelope (it compresses as badly as music,
    which is what matters for hashing and copying). ``changed`` re-seeds one stem.
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    block = SR * 10
    for i, name in enumerate(stem_names()):
        p = folder / name
        rng = np.random.default_rng(seed * 1000 + i + (7777 if changed == i else 0))
        with sf.SoundFile(p, "w", SR, 2, subtype="PCM_24") as f:
            left = int(SECONDS * SR)
            while left > 0:
                n = min(block, left)
                x = rng.standard_normal((n, 2)).astype(np.float32) * 0.05
                f.write(x)
                left -= n
        paths.append(p)
    return paths


def cached_set(name: str, **kw: object) -> Path:
    """Build a set once per size (kept in tests/bench/out, which git ignores)."""
    folder = OUT / f"{name}-{STEMS}x{int(SECONDS)}s"
    done = folder / ".complete"
    if not done.exists():
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        write_big_set(folder, **kw)  # type: ignore[arg-type]
        done.write_text("ok")
    return folder


def drop_caches_hint() -> None:
    """Files stay in the page cache between runs: both sides are timed warm, equally."""


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
