"""Benchmark (issue 14): the cost of serving the live stream, and switch latency as a listener hears it.

24 stereo stems, 48 kHz/24-bit (the playback benchmark's cached set, STEMVAULT_BENCH_PLAY_SECONDS
long), block 1024. All of it in this process, as `stemvault play --stream` runs it: the engine,
the pump, the HTTP server, the listeners' encoders. Listeners are other processes (urllib
readers that throw the bytes away; ffmpeg for latency), so their CPU is not counted.

- engine alone: ``Engine.process`` over the set as fast as it goes, CPU seconds per second of
  audio (what the sound card path costs);
- serving: the pump at real time for STEMVAULT_BENCH_STREAM_SECONDS (20) with 0, 1 and 4
  listeners in each format (wav, flac, opus): this process's CPU time over the wall time (the
  whole player, as a fraction of one core), and that minus the engine alone (the serving);
- switch latency as heard: ffmpeg records the stream (decoded, to a pipe); A is the set, B the
  same set silent; switches A → B → A are sent at random moments, and the latency is the wall
  time from the command to the moment ffmpeg's output holds the first switched sample (the
  server's pump lead + one block + the socket + ffmpeg's own reading);
- the same as ffplay hands it to its audio device, as it comes and with its low-latency flags
  (SDL's "disk" audio driver writes each device buffer to a file at the device's pace; the file
  is read as it grows): the whole chain but the sound card's own output latency.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from audio.playback import Engine, StemSet, StemSpec
from audio.playback.stream import Pump
from tests.bench.common import OUT, SR, median, report
from tests.bench.test_bench_play import PLAY_SECONDS, _set
from vcs.playserver import PlayServer

STREAM_SECONDS = float(os.environ.get("STEMVAULT_BENCH_STREAM_SECONDS", "20"))
BLOCK = 1024
STEMS = 24
SWITCHES = int(os.environ.get("STEMVAULT_BENCH_STREAM_SWITCHES", "12"))
_READER = ("import sys, urllib.request\n"
           "r = urllib.request.urlopen(sys.argv[1])\n"
           "while r.read(65536): pass\n")


def _silent_twin(paths: list[Path]) -> list[Path]:
    """The same set, silent: B, so that a switch is an edge in the recording."""
    import soundfile as sf

    folder = paths[0].parent.with_name(paths[0].parent.name + "-silent")
    done = folder / ".complete"
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        for p in paths:
            info = sf.info(str(p))
            with sf.SoundFile(folder / p.name, "w", SR, info.channels, subtype="PCM_24") as f:
                left = info.frames
                while left > 0:
                    k = min(left, SR * 10)
                    f.write(np.zeros((k, info.channels), dtype=np.float32))
                    left -= k
        done.write_text("ok")
    return sorted(folder.glob("*.wav"))


def _engine(a: list[Path], b: list[Path] | None = None) -> Engine:
    def stems(ps: list[Path]) -> StemSet:
        return StemSet([StemSpec(p.name, p) for p in ps], chunk=8192)
    e = Engine(stems(a), stems(b) if b else None)
    e.set_loop(0, e.frames)  # the stream runs as long as the measurement wants
    e.settle()
    return e


def _engine_alone(paths: list[Path]) -> float:
    e = _engine(paths)
    e.play()
    n = int(min(PLAY_SECONDS, STREAM_SECONDS) * SR / BLOCK)
    t = time.process_time()
    for _ in range(n):
        e.process(BLOCK)
    cpu = time.process_time() - t
    e.close()
    return cpu / (n * BLOCK / SR)


def _serving(paths: list[Path], fmt: str, listeners: int) -> dict[str, float]:
    e = _engine(paths)
    e.play()
    pump = Pump(e, block=BLOCK)
    server = PlayServer(pump=pump, fmt=fmt, port=0)
    server.start()
    pump.start()
    readers = [subprocess.Popen([sys.executable, "-c", _READER, server.stream_url]) for _ in range(listeners)]
    try:
        deadline = time.monotonic() + 30
        while pump.listeners < listeners and time.monotonic() < deadline:
            time.sleep(0.05)
        cpu0, wall0 = time.process_time(), time.monotonic()
        time.sleep(STREAM_SECONDS)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        heard = pump.listeners
    finally:
        server.close()
        for r in readers:
            r.wait(30)
        e.close()
    return {"whole_player": round(cpu / wall, 4), "slips": pump.slips, "listening_at_end": heard}


class _Arrivals:
    """Decoded audio as it comes out of a listener process, with the wall time of each piece."""

    def __init__(self, dtype: str) -> None:
        self.dtype = np.dtype(dtype)
        self.frame_bytes = 2 * self.dtype.itemsize
        self.chunks: list[bytes] = []
        self.arrivals: list[tuple[int, float]] = []  # (frames so far, when)
        self.got = 0

    def add(self, data: bytes) -> None:
        if data:
            self.chunks.append(data)
            self.got += len(data)
            self.arrivals.append((self.got // self.frame_bytes, time.monotonic()))

    def latencies(self, commands: list[tuple[float, str]]) -> list[float]:
        raw = b"".join(self.chunks)
        y = np.frombuffer(raw[: len(raw) // self.frame_bytes * self.frame_bytes], dtype=self.dtype).reshape(-1, 2)
        scale = 1.0 if self.dtype.kind == "f" else 32768.0
        loud = np.abs(y[:, 0] / scale) > 1e-3  # A is noise at 0.02 a stem (~0.1 summed); B is silence
        frames = np.array([f for f, _ in self.arrivals])
        times = np.array([w for _, w in self.arrivals])
        out = []
        for when, mode in commands:
            # the switched samples are made after the command: received after what had arrived by then
            k = int(np.searchsorted(times, when))
            i0 = int(frames[k - 1]) if k > 0 else 0
            want = ~loud if mode == "b" else loud
            run = 64  # a switch is a run of samples of the new kind (not one zero crossing)
            kinds = np.convolve(want[i0:].astype(np.int32), np.ones(run, dtype=np.int32), "valid")
            idx = np.flatnonzero(kinds == run)
            if not len(idx):
                continue
            first = i0 + int(idx[0])
            out.append(float(times[min(len(times) - 1, int(np.searchsorted(frames, first + 1)))] - when))
        return out


def _switching(a: list[Path], b: list[Path], fmt: str, start: Any) -> dict[str, object]:
    """Stream A/B, start a listener (``start(url) -> (Popen, _Arrivals, stop)``), switch A ↔ B at
    random moments, and return the latencies as the listener's output shows them."""
    e = _engine(a, b)
    e.play()
    pump = Pump(e, block=BLOCK)
    server = PlayServer(pump=pump, fmt=fmt, port=0)
    server.start()
    pump.start()
    proc, arrivals, stop = start(server.stream_url)
    rng = np.random.default_rng(0)
    commands: list[tuple[float, str]] = []
    try:
        deadline = time.monotonic() + 30
        while pump.listeners < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2.0)  # the listener's buffers fill
        for i in range(SWITCHES):
            time.sleep(rng.uniform(0.6, 1.2))
            mode = "b" if i % 2 == 0 else "a"
            commands.append((time.monotonic(), mode))
            e.switch(mode)  # type: ignore[arg-type]
        time.sleep(2.0)
    finally:
        server.close()
        stop()
        proc.wait(30)
        e.close()
    lat = arrivals.latencies(commands)
    return {"switches": len(lat), "median_ms": round(1000 * median(lat), 1) if lat else None,
            "max_ms": round(1000 * max(lat), 1) if lat else None}


def _ffmpeg(url: str) -> tuple[subprocess.Popen[bytes], _Arrivals, Any]:
    """ffmpeg decoding the stream to a pipe: the server's side of the latency, no player buffer."""
    ff = subprocess.Popen(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", url, "-f", "f32le", "-ac", "2",
                           "-ar", str(SR), "-"], stdout=subprocess.PIPE)
    arr = _Arrivals("<f4")

    def read() -> None:
        assert ff.stdout is not None
        while data := ff.stdout.read1(65536):  # type: ignore[attr-defined]
            arr.add(data)

    t = threading.Thread(target=read)
    t.start()
    return ff, arr, lambda: t.join(30)


def _ffplay(flags: list[str]) -> Any:
    """ffplay with SDL's "disk" audio driver: what it hands its audio device, at the device's pace
    (SDL writes each buffer and waits its duration), read as the file grows."""
    def start(url: str) -> tuple[subprocess.Popen[bytes], _Arrivals, Any]:
        out = OUT / "ffplay-disk.raw"
        out.unlink(missing_ok=True)
        env = {**os.environ, "SDL_AUDIODRIVER": "disk", "SDL_DISKAUDIOFILE": str(out)}
        proc = subprocess.Popen(["ffplay", "-nodisp", "-autoexit", "-loglevel", "error", *flags, url], env=env,
                                stdin=subprocess.DEVNULL)
        arr = _Arrivals("<i2")
        done = threading.Event()

        def poll() -> None:
            pos = 0
            while not done.is_set():
                with contextlib.suppress(OSError), open(out, "rb") as f:
                    f.seek(pos)
                    data = f.read()
                    pos += len(data)
                    arr.add(data)
                time.sleep(0.002)

        t = threading.Thread(target=poll)
        t.start()

        def stop() -> None:
            proc.terminate()
            done.set()
            t.join(30)
        return proc, arr, stop
    return start


FFPLAY_LOW = ["-fflags", "nobuffer", "-flags", "low_delay", "-probesize", "32", "-analyzeduration", "0"]


def test_bench_stream() -> None:
    a = _set(STEMS)
    b = _silent_twin(a)
    alone = _engine_alone(a)
    rows: dict[str, object] = {"engine_alone_fraction_of_one_core": round(alone, 4)}
    for fmt in ("wav", "flac", "opus"):
        for n in (0, 1, 4) if fmt == "wav" else (1, 4):
            r = _serving(a, fmt, n)
            r["serving"] = round(float(r["whole_player"]) - alone, 4)
            rows[f"{fmt}_{n}_listeners"] = r
    rows["switch_latency_ffmpeg_decoded"] = {fmt: _switching(a, b, fmt, _ffmpeg) for fmt in ("wav", "opus")}
    if shutil.which("ffplay"):
        rows["switch_latency_ffplay"] = {
            f"{fmt}_{name}": _switching(a, b, fmt, _ffplay(flags))
            for fmt in ("wav", "opus") for name, flags in (("default", []), ("low_latency", FFPLAY_LOW))}
    report("stream", {"stems": STEMS, "block": BLOCK, "stream_seconds": STREAM_SECONDS,
                      "load_average": os.getloadavg(), **rows})
    assert OUT.exists()
