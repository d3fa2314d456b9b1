"""The live stream of an engine's output: a clock-driven pump, listeners, and their encoders.

Public surface:
    STREAM_FORMATS, MIME                     ``wav`` (24-bit PCM), ``flac`` (24-bit), ``opus`` (Ogg/Opus)
    check_format(fmt, sample_rate, channels) a one-line PlaybackError when the set cannot stream so
    Pump(engine, *, block=1024, queue_s=2.0, stop_at_end=True) runs the engine at real time with no
        audio device (``stop_at_end=False``: on past the cue's end, in silence, until stopped):
        .start(), .stop(), .finished (Event), .wait(timeout) -> bool, .device_name, .latency
        (the same shape as ``audio.playback.output.Output``, so a player can use either),
        .listen(fmt) -> Listener, .listeners, .history (who joined/left), .slips, .error
    Listener.chunks(timeout) -> iterator of bytes (the format's header first), .close()
    Encoder(fmt, sample_rate, channels): .header() -> bytes, .encode(block) -> bytes, .finish() -> bytes

Why a pump: without a sound card nothing calls ``Engine.process`` on a clock, so the pump does
(block by block, at the rate the wall clock allows, whether anyone listens or not). Every block
goes to every listener's bounded queue and nothing else happens on the pump's thread: encoding
and the socket are the listener's (its own thread, in the server), so a slow or gone listener
never holds the engine up. A listener whose queue is full has fallen ``queue_s`` behind: it is
dropped (its chunks end) and the engine plays on. A listener hears from the block after it
joined: the current position, and every switch or seek as it happens.

Whatever the engine's ``process`` returns is what is streamed, as it is what the sound card
plays and what a render writes: a filter on the engine's output (audition presets) is heard in
all three alike.

Formats: WAV is 24-bit PCM with an "infinite" header (RIFF and data sizes 0xFFFFFFFF, as
streaming players expect); FLAC (24-bit) and Ogg/Opus are libsndfile's encoders writing into
memory, one encoder per listener (so each stream starts with its own headers and is a complete
file from its first byte). Opus pages are flushed every ~50 ms (libsndfile's default is 1 s).
"""

from __future__ import annotations

import contextlib
import queue
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from audio.errors import PlaybackError
from audio.playback.engine import Engine

__all__ = ["MIME", "STREAM_FORMATS", "Encoder", "Listener", "Pump", "check_format"]

STREAM_FORMATS = ("wav", "flac", "opus")
MIME = {"wav": "audio/wav", "flac": "audio/flac", "opus": "audio/ogg"}
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
OPUS_PAGE_MS = 50.0
OPUS_QUALITY = 0.7  # libsndfile's compression level for Opus: ~170 kb/s stereo (about CBR)
_SFC_SET_OGG_PAGE_LATENCY_MS = 0x1302  # sndfile.h
_FULL_SCALE = 8388608.0  # 2**23
_MAX_LATE_S = 1.0  # further behind the clock than this (a stalled machine): start the clock again
_LEAD_S = 0.02  # produce this far ahead of the clock, so a listener's socket never runs dry


def check_format(fmt: str, sample_rate: int, channels: int) -> None:
    """Raise a one-line PlaybackError when ``fmt`` cannot carry this set."""
    if fmt not in STREAM_FORMATS:
        raise PlaybackError(f"unknown stream format {fmt!r}: use {', '.join(STREAM_FORMATS)}")
    if fmt == "opus":
        import soundfile as sf

        if "OPUS" not in sf.available_subtypes("OGG"):
            raise PlaybackError("this libsndfile cannot encode Opus (it needs 1.0.29 or later): "
                                "use --stream-format wav or flac")
        if sample_rate not in OPUS_RATES:
            raise PlaybackError(f"Opus cannot carry {sample_rate} Hz (it takes 48000 Hz): "
                                "use --stream-format wav or flac")
        if channels > 2:
            raise PlaybackError(f"this Opus encoder takes mono or stereo, not {channels} channels: "
                                "use --stream-format wav or flac")


def wav_header(sample_rate: int, channels: int) -> bytes:
    """A 24-bit PCM WAV header whose sizes say "unknown, as long as it lasts" (0xFFFFFFFF)."""
    block_align = 3 * channels
    if channels <= 2:
        fmt = struct.pack("<HHIIHH", 1, channels, sample_rate, sample_rate * block_align, block_align, 24)
    else:  # more than two channels: WAVE_FORMAT_EXTENSIBLE with the PCM subformat
        mask = (1 << channels) - 1 if channels <= 18 else 0
        sub = bytes.fromhex("0100000000001000800000aa00389b71")
        fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, sample_rate, sample_rate * block_align, block_align,
                          24, 22, 24, mask) + sub
    return (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", 0xFFFFFFFF))


def pcm24(block: np.ndarray) -> bytes:
    """Float samples as little-endian 24-bit PCM (rounded, clipped to full scale)."""
    x = np.clip(np.rint(block * _FULL_SCALE), -_FULL_SCALE, _FULL_SCALE - 1).astype("<i4")
    return x.reshape(-1).view(np.uint8).reshape(-1, 4)[:, :3].tobytes()


class _Sink:
    """A file object libsndfile writes into: bytes written at the end are kept (and taken by
    ``take``); its seeks back to rewrite a header (on close) write into the past and are dropped."""

    def __init__(self) -> None:
        self.pos = 0
        self.end = 0
        self.out: list[bytes] = []

    def write(self, data: Any) -> int:
        b = bytes(data)
        if self.pos == self.end:
            self.out.append(b)
            self.end += len(b)
        self.pos += len(b)
        return len(b)

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset if whence == 0 else self.pos + offset if whence == 1 else self.end + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def read(self, n: int = -1) -> bytes:
        return b""

    def take(self) -> bytes:
        b = b"".join(self.out)
        self.out.clear()
        return b


class Encoder:
    """One listener's encoder: float blocks in, the format's bytes out."""

    def __init__(self, fmt: str, sample_rate: int, channels: int) -> None:
        check_format(fmt, sample_rate, channels)
        self.fmt = fmt
        self.sample_rate = sample_rate
        self.channels = channels
        self._sink: _Sink | None = None
        self._file: Any = None
        if fmt != "wav":
            import soundfile as sf

            self._sink = _Sink()
            if fmt == "flac":
                self._file = sf.SoundFile(self._sink, "w", sample_rate, channels, format="FLAC", subtype="PCM_24")
            else:
                self._file = sf.SoundFile(self._sink, "w", sample_rate, channels, format="OGG", subtype="OPUS",
                                          compression_level=OPUS_QUALITY)
                # soundfile has no call for it: its cffi handle (a soundfile without it pages every 1 s)
                with contextlib.suppress(AttributeError):
                    latency = sf._ffi.new("double*", OPUS_PAGE_MS)
                    sf._snd.sf_command(self._file._file, _SFC_SET_OGG_PAGE_LATENCY_MS, latency,
                                       sf._ffi.sizeof("double"))

    def header(self) -> bytes:
        if self._sink is None:
            return wav_header(self.sample_rate, self.channels)
        return self._sink.take()

    def encode(self, block: np.ndarray) -> bytes:
        if self._sink is None:
            return pcm24(block)
        # libsndfile wraps (does not clip) a float over full scale when it writes integers
        self._file.write(np.clip(block, -1.0, 1.0))
        return self._sink.take()

    def finish(self) -> bytes:
        if self._sink is None:
            return b""
        self._file.close()
        return self._sink.take()

    def close(self) -> None:
        if self._file is not None and not self._file.closed:
            self._file.close()


_END = None  # in a listener's queue: the stream has ended


@dataclass
class Visit:
    """A listener's stay, for people and tests: the timeline frame of its first sample, how many
    frames it was sent, and whether it was dropped for falling behind."""

    fmt: str
    joined_at: int | None = None
    frames: int = 0
    dropped: bool = False
    left: bool = False


class Listener:
    """One listener's queue of blocks (see the module docstring)."""

    def __init__(self, pump: Pump, fmt: str, max_blocks: int) -> None:
        self.pump = pump
        self.fmt = fmt
        self.visit = Visit(fmt)
        self._q: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=max_blocks)
        self.gone = threading.Event()  # dropped, closed, or the stream ended

    def offer(self, block: np.ndarray | None, frame: int) -> bool:
        """From the pump: queue a block (never waits). False when the listener is too far behind."""
        if self.visit.joined_at is None and block is not None:
            self.visit.joined_at = frame
        try:
            self._q.put_nowait(block)
        except queue.Full:
            self.visit.dropped = True
            self.gone.set()
            return False
        if block is not None:
            self.visit.frames += len(block)
        return True

    def chunks(self, timeout: float = 0.5) -> Iterator[bytes]:
        """The stream's bytes, header first, until the stream ends, the listener is dropped or
        closed. Encodes on the caller's thread."""
        enc = Encoder(self.fmt, self.pump.engine.sample_rate, self.pump.engine.channels)
        try:
            yield enc.header()
            while not (self.visit.dropped or self.visit.left):
                try:
                    block = self._q.get(timeout=timeout)
                except queue.Empty:
                    if self.pump.finished.is_set() and self._q.empty():
                        break
                    continue
                if block is _END:
                    tail = enc.finish()
                    if tail:
                        yield tail
                    break
                data = enc.encode(block)
                if data:
                    yield data
        finally:
            enc.close()
            self.close()

    def close(self) -> None:
        """The listener went away (or was dropped): the pump stops feeding it."""
        self.visit.left = True
        self.gone.set()
        self.pump._forget(self)


class Pump:
    """Runs ``engine.process`` at real time on its own thread and feeds the listeners."""

    def __init__(self, engine: Engine, *, block: int = 1024, queue_s: float = 2.0, trail_s: float = 0.0,
                 stop_at_end: bool = True) -> None:
        self.engine = engine
        self.stop_at_end = stop_at_end
        self.block = int(block)
        self.max_blocks = max(2, round(queue_s * engine.sample_rate / self.block))
        self.finished = threading.Event()
        self.device_name = "the stream"
        self.latency = self.block / engine.sample_rate
        self.history: list[Visit] = []
        self.slips = 0  # times the clock was restarted after the machine stalled
        self.error: Exception | None = None  # what stopped the engine (a file that cannot be read)
        self._trail = round(trail_s * engine.sample_rate)
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self._done = 0

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._listeners)

    def listen(self, fmt: str = "wav") -> Listener:
        """A new listener, fed from the next block on.

        Raises:
            PlaybackError: for a format this set cannot stream in, or when the stream has ended.
        """
        check_format(fmt, self.engine.sample_rate, self.engine.channels)
        if self.finished.is_set():
            raise PlaybackError("the stream has ended")
        lst = Listener(self, fmt, self.max_blocks)
        with self._lock:
            self._listeners.append(lst)
            self.history.append(lst.visit)
        return lst

    def _forget(self, lst: Listener) -> None:
        with self._lock:
            if lst in self._listeners:
                self._listeners.remove(lst)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="stemvault-stream-pump", daemon=True)
        self._t0 = time.monotonic()
        self._thread.start()

    def wait(self, timeout: float) -> bool:
        """True once the engine has played to its end (and the stream has ended)."""
        return self.finished.wait(timeout)

    def stop(self) -> None:
        """Stop the clock and end every listener's stream; joins the pump's thread."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._end()

    def _end(self) -> None:
        with self._lock:
            ls, self._listeners = self._listeners, []
        for lst in ls:
            if not lst.offer(_END, 0):
                lst.close()
        self.finished.set()

    def _fan(self, block: np.ndarray, frame: int) -> None:
        with self._lock:
            ls = list(self._listeners)
        late = [lst for lst in ls if not lst.offer(block, frame)]
        if late:
            with self._lock:
                self._listeners = [x for x in self._listeners if x not in late]

    def _run(self) -> None:
        e = self.engine
        sr = e.sample_rate
        trail = self._trail
        try:
            while not self._stop.is_set():
                due = self._t0 + self._done / sr
                now = time.monotonic()
                if now < due - _LEAD_S:
                    self._stop.wait(min(due - _LEAD_S - now, 0.05))
                    continue
                if now - due > _MAX_LATE_S:  # the machine stalled: play on from now, not in a burst
                    self.slips += 1
                    self._t0 = now - self._done / sr
                frame = e.status.position
                out = e.process(self.block)
                self._done += self.block
                self._fan(out, frame)
                if self.stop_at_end and e.status.ended:
                    trail -= self.block
                    if trail < 0:
                        break
        except Exception as exc:  # the stream ends; whoever runs the pump says why (``error``)
            self.error = exc
        finally:
            self._end()
