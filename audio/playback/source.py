"""Stem files read in blocks, aligned on one timeline, and mixed with per-stem gains.

Public surface:
    StemSpec (what to open), StemSet(specs, *, chunk=8192)
    StemSet.mix(pos, n, gains, out) -> per-stem peaks; .frames, .channels, .sample_rate, .start

Each file is read a chunk of frames at a time (never the whole file): plain PCM/float WAV
(RIFF/RF64/BW64, 16/24/32-bit, the common case) with one ``pread`` per chunk and a numpy
unpack — 3.5x cheaper than libsndfile's conversion for 24-bit, the same samples bit for bit —
and every other format through soundfile. Stems
of a set share a timeline: when their BWF start timecodes differ, each sits at its own offset
from the earliest one, with silence before and after. A chunk of every stem is read into one
``(stems, chunk, channels)`` float32 array, so that the mix of a block is one matrix product
(gains × stems), whatever the block size.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from audio.errors import PlaybackError, UnreadableAudio
from audio.wavread import WavLayout, unpack, wav_layout

__all__ = ["StemSet", "StemSpec"]


@dataclass(frozen=True)
class StemSpec:
    """One file to play.

    Attributes:
        name: the name people use (``1M03_STR.wav``).
        path: where the bytes are.
        role: the stem's role (``STR``), also accepted by mute/solo.
        time_reference: BWF start in samples since midnight, or None (starts with the set).
        mute, solo: the manifest's defaults.
    """

    name: str
    path: Path
    role: str = ""
    time_reference: int | None = None
    mute: bool = False
    solo: bool = False


class _Reader:
    """One open file and where it sits on the set's timeline."""

    def __init__(self, spec: StemSpec) -> None:
        try:
            self.f = sf.SoundFile(str(spec.path))
        except (sf.LibsndfileError, RuntimeError, OSError) as e:
            raise UnreadableAudio(f"{spec.name} is not readable as audio ({e})") from None
        self.spec = spec
        self.frames = self.f.frames
        self.channels = self.f.channels
        self.sample_rate = self.f.samplerate
        self.offset = 0  # frames from the set's start
        self._at = 0  # the file's read position, to seek only when needed
        self._wav: WavLayout | None = None
        self._fd = -1
        lay = wav_layout(spec.path)
        if lay is not None and lay.frames == self.frames and lay.channels == self.channels:
            try:
                self._fd = os.open(spec.path, os.O_RDONLY)
                self._wav = lay
            except OSError:
                pass  # soundfile has it open: read through it
        self._raw = bytearray()

    def _read_wav(self, start: int, dst: np.ndarray) -> None:
        """Frames ``[start, start + len(dst))`` of a plain WAV, unpacked into ``dst`` (float32),
        exactly as libsndfile converts them (integer PCM scaled by a power of two)."""
        lay = self._wav
        assert lay is not None
        k, c = dst.shape
        width = lay.bits // 8
        want = k * c * width
        if len(self._raw) < want + 1:
            self._raw = bytearray(want + 1)
        view = memoryview(self._raw)
        got = os.preadv(self._fd, [view[1:want + 1]], lay.data_offset + start * c * width)
        if got < want:  # the file shrank under us: what is missing plays as silence
            view[1 + got:want + 1] = bytes(want - got)
        count = k * c
        samples = unpack(self._raw, count, lay.bits, lay.is_float)
        if lay.is_float:
            dst.reshape(count)[:] = samples
        else:
            np.multiply(samples, np.float32(2.0 ** -31), out=dst.reshape(count), casting="unsafe")

    def read_into(self, out: np.ndarray, pos: int, tmp: np.ndarray) -> None:
        """Fill ``out`` (n, C) with this file's frames at timeline ``pos``, silence outside."""
        n = len(out)
        a = max(pos, self.offset)
        b = min(pos + n, self.offset + self.frames)
        if b <= a:
            out[:] = 0.0
            return
        if a > pos:
            out[:a - pos] = 0.0
        if b < pos + n:
            out[b - pos:] = 0.0
        k = b - a
        start = a - self.offset
        if self._wav is not None:
            if self.channels == out.shape[1]:
                self._read_wav(start, out[a - pos:b - pos])
            else:
                got = tmp[:k, :self.channels]
                self._read_wav(start, got)
                dst = out[a - pos:b - pos]
                if self.channels == 1:
                    dst[:] = got
                else:
                    dst[:, :self.channels] = got
                    dst[:, self.channels:] = 0.0
            return
        if start != self._at:
            self.f.seek(start)
        if self.channels == out.shape[1]:
            self.f.read(k, dtype="float32", always_2d=True, out=out[a - pos:b - pos])
        else:
            got = self.f.read(k, dtype="float32", always_2d=True, out=tmp[:k, :self.channels])
            dst = out[a - pos:b - pos]
            if self.channels == 1:
                dst[:] = got  # a mono stem plays in every channel
            else:
                dst[:, :self.channels] = got
                dst[:, self.channels:] = 0.0
        self._at = start + k

    def close(self) -> None:
        self.f.close()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class StemSet:
    """The stems of one version, read in lockstep.

    Raises (at construction):
        UnreadableAudio: a file does not open as audio.
        PlaybackError: the files do not share a sample rate, or a set is empty.
    """

    def __init__(self, specs: list[StemSpec], *, chunk: int = 8192, channels: int | None = None) -> None:
        if not specs:
            raise PlaybackError("nothing to play: the version has no stems")
        self.readers: list[_Reader] = []
        try:
            for s in specs:
                self.readers.append(_Reader(s))
        except BaseException:
            self.close()
            raise
        rates = {r.sample_rate for r in self.readers}
        if len(rates) > 1:
            self.close()
            detail = ", ".join(f"{r.spec.name} {r.sample_rate}" for r in self.readers)
            raise PlaybackError(f"the stems do not share one sample rate ({detail}): convert them before playing")
        self.sample_rate = rates.pop()
        known = [r.spec.time_reference for r in self.readers if r.spec.time_reference is not None]
        self.start = min(known) if known else 0  # samples since midnight of timeline 0
        for r in self.readers:
            r.offset = (r.spec.time_reference - self.start) if r.spec.time_reference is not None else 0
        self.frames = max(r.offset + r.frames for r in self.readers)
        self.channels = channels or max(2 if r.channels == 1 else r.channels for r in self.readers)
        self.names = [r.spec.name for r in self.readers]
        self.roles = [r.spec.role for r in self.readers]
        self.chunk = chunk
        self._buf = np.zeros((len(self.readers), chunk, self.channels), dtype=np.float32)
        self._tmp = np.zeros((chunk, max(r.channels for r in self.readers)), dtype=np.float32)
        self._buf_pos = 0
        self._buf_len = 0  # nothing buffered yet

    def __len__(self) -> int:
        return len(self.readers)

    def shift(self, frames: int) -> None:
        """Move the whole set ``frames`` later on the timeline (to align with another version)."""
        for r in self.readers:
            r.offset += frames
        self.frames += frames
        self.start -= frames
        self._buf_len = 0

    def _fill(self, pos: int) -> None:
        for i, r in enumerate(self.readers):
            r.read_into(self._buf[i], pos, self._tmp)
        self._buf_pos, self._buf_len = pos, self.chunk

    def mix(self, pos: int, n: int, gains: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write the mix of timeline frames ``[pos, pos + n)`` into ``out`` (n, C); return the
        peak of each stem in that block (before its gain)."""
        peaks = np.zeros(len(self.readers), dtype=np.float32)
        done = 0
        while done < n:
            p = pos + done
            if not (self._buf_pos <= p < self._buf_pos + self._buf_len):
                self._fill(p)
            i = p - self._buf_pos
            m = min(n - done, self._buf_len - i)
            seg = self._buf[:, i:i + m, :]
            flat = seg.reshape(len(self.readers), m * self.channels)
            np.matmul(gains, flat, out=out[done:done + m].reshape(m * self.channels))
            np.maximum(peaks, np.maximum(flat.max(axis=1), -flat.min(axis=1)), out=peaks)
            done += m
        return peaks

    def close(self) -> None:
        for r in self.readers:
            r.close()
