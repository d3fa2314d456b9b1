"""Benchmark (issue: playback): the mixer's cost per second of audio, A/B switch latency, vs sox -m.

Sets of 24 and 64 stereo stems, 48 kHz/24-bit, STEMVAULT_BENCH_PLAY_SECONDS long (60), cached in
tests/bench/out. For block sizes 256–2048, on one thread:

- engine: ``Engine.process`` over the whole set (decode from the files + mix + per-stem meters),
  CPU seconds per second of audio (the fraction of real time of one core);
- mix only: the mixing step on blocks already in memory (gains × stems, meters);
- render vs sox: ``render`` of the set to a float WAV against ``sox -m`` of the same files to a
  file, wall time, same run (sox mixes with 1/N input gains and writes 24-bit; the work is alike);
- A/B switch: two versions playing in lockstep, switches sent from another thread while
  rendering; latency = frames from the command to the first switched sample, in blocks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio.playback import Engine, StemSet, StemSpec, render
from tests.bench.common import OUT, REPS, SR, median, report

PLAY_SECONDS = float(os.environ.get("STEMVAULT_BENCH_PLAY_SECONDS", "60"))
BLOCKS = (256, 512, 1024, 2048)


def _set(n: int, seed: int = 0) -> list[Path]:
    folder = OUT / f"play-{n}x{int(PLAY_SECONDS)}s-{seed}"
    done = folder / ".complete"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        rng = np.random.default_rng(seed)
        files = [sf.SoundFile(folder / f"1M03_S{i:02d}.wav", "w", SR, 2, subtype="PCM_24") for i in range(n)]
        left = int(PLAY_SECONDS * SR)
        while left > 0:
            k = min(SR * 10, left)
            for f in files:
                f.write((rng.standard_normal((k, 2)) * 0.02).astype(np.float32))
            left -= k
        for f in files:
            f.close()
        done.write_text("ok")
    return sorted(folder.glob("*.wav"))


def _engine(paths: list[Path], b: list[Path] | None = None, chunk: int = 8192) -> Engine:
    def stems(ps: list[Path]) -> StemSet:
        return StemSet([StemSpec(p.name, p) for p in ps], chunk=chunk)
    return Engine(stems(paths), stems(b) if b else None)


def _engine_cost(paths: list[Path], block: int) -> float:
    e = _engine(paths, chunk=max(8192, block))
    e.play()
    t = time.process_time()
    while not e.status.ended:
        e.process(block)
    cpu = time.process_time() - t
    e.close()
    return cpu / PLAY_SECONDS


def _mix_only(n: int, block: int) -> float:
    rng = np.random.default_rng(1)
    buf = rng.standard_normal((n, 8192, 2)).astype(np.float32)
    gains = np.ones(n, dtype=np.float32)
    out = np.zeros((block, 2), dtype=np.float32)
    blocks = int(PLAY_SECONDS * SR / block)
    t = time.process_time()
    for i in range(blocks):
        j = (i * block) % (8192 - block + 1)
        flat = buf[:, j:j + block].reshape(n, block * 2)
        np.matmul(gains, flat, out=out.reshape(block * 2))
        np.maximum(flat.max(axis=1), -flat.min(axis=1))
    return (time.process_time() - t) / (blocks * block / SR)


def _render_vs_sox(paths: list[Path]) -> dict[str, float]:
    tmp = OUT / "play-render.wav"
    ours, sox = [], []
    for _ in range(REPS):
        e = _engine(paths)
        t = time.perf_counter()
        render(e, tmp, block=1024)
        ours.append(time.perf_counter() - t)
        e.close()
        t = time.perf_counter()
        subprocess.run(["sox", "-m", *map(str, paths), "-b", "24", str(tmp)], check=True, capture_output=True)
        sox.append(time.perf_counter() - t)
    tmp.unlink(missing_ok=True)
    return {"stemvault_render_s": round(median(ours), 3), "sox_m_s": round(median(sox), 3),
            "ratio_vs_sox": round(median(ours) / median(sox), 3)}


def _switch_latency(a: list[Path], b: list[Path], block: int) -> dict[str, float]:
    e = _engine(a, b)
    done = threading.Event()

    def control() -> None:
        modes = ["b", "diff", "a"]
        i = 0
        while not done.is_set():
            e.switch(modes[i % 3])  # type: ignore[arg-type]
            i += 1
            time.sleep(0.003)

    t = threading.Thread(target=control)
    t.start()
    try:
        render(e, OUT / "play-ab.wav", end=min(e.frames, 10 * SR), block=block)
    finally:
        done.set()
        t.join()
    (OUT / "play-ab.wav").unlink(missing_ok=True)
    lat = [c.applied_at - c.asked_at for c in e.applied if c.name.startswith("switch")]
    e.close()
    return {"switches": len(lat), "max_frames": max(lat), "max_blocks": round(max(lat) / block, 3),
            "mean_blocks": round(float(np.mean(lat)) / block, 3)}


def test_bench_play() -> None:
    have_sox = shutil.which("sox") is not None
    rows: dict[str, object] = {}
    for n in (24, 64):
        paths = _set(n)
        costs = {str(b): round(median([_engine_cost(paths, b) for _ in range(REPS)]), 4) for b in BLOCKS}
        mix = {str(b): round(_mix_only(n, b), 4) for b in BLOCKS}
        rows[f"{n}_stems"] = {
            "engine_fraction_of_real_time": costs, "mix_only_fraction_of_real_time": mix,
            "vs_sox": _render_vs_sox(paths) if have_sox else "sox not installed (apt-get install sox)",
        }
    a, b = _set(24), _set(24, seed=1)
    rows["ab_switch_latency_24_stems"] = {str(bl): _switch_latency(a, b, bl) for bl in (256, 1024, 2048)}
    report("play", {"play_seconds": PLAY_SECONDS, "blocks": list(BLOCKS), **rows,
                    "target": "<= 0.02 of real time for 24 stems; A/B switch <= 1 block"})
    if not have_sox:
        pytest.skip("sox is not installed (apt-get install sox): the peer of this benchmark; figures written")
