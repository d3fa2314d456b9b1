"""A fast reader for plain PCM / float WAV that hashes (and can copy) the file as it reads.

Public surface:
    WavLayout (frozen dataclass), wav_layout(path) -> WavLayout | None
    WavReader(path, layout, *, tee=None): .read(frames) -> ndarray, .finish() -> sha256 hex,
        .size, .bytes_read, .close()

Why: through soundfile, libsndfile pulls a file through a Python read callback a few KB at a
time (``audio.reader.HashingFile``, which hashes what goes by), then converts; for the common
case of a stem set — RIFF/RF64/BW64 WAVE, 16/24/32-bit integer PCM or 32-bit float, little
endian, WAVE_FORMAT_EXTENSIBLE or not — this module parses the chunk list itself, reads the
``data`` chunk (found by ``audio.riff``, the one chunk walker) with one system call per block, updates the sha256 (and the ``tee`` copy) on
exactly the bytes read, header and trailing chunks included, and unpacks with numpy. The samples
are the ones libsndfile gives, bit for bit (tests/test_wavread.py): int32 with full scale 2**31
(16-bit << 16, 24-bit << 8, 32-bit as is) and float32 as stored. 24-bit samples are unpacked
with one strided int32 view (each 4-byte window ends on a sample's 3 bytes; the stray low byte
is masked off), which is one pass over the block.

Everything else (AIFF, FLAC, W64, CAF, 8-bit, double, big-endian RIFX, an odd header) gets
``None`` from ``wav_layout`` and goes through soundfile as before.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from audio.riff import UNKNOWN_SIZE, WaveFmt, chunks, parse_fmt

__all__ = ["WavLayout", "WavReader", "unpack", "wav_layout"]

_PCM, _FLOAT = 0x1, 0x3
_MAX_HEADER = 1 << 22  # chunks before the audio beyond 4 MB: leave the file to libsndfile
_TAIL_CHUNK = 1 << 20


@dataclass(frozen=True)
class WavLayout:
    """Where the samples of a WAV file are and how they are stored.

    Attributes:
        data_offset: file offset of the first sample.
        frames: whole frames in the data chunk that are in the file (a chunk that declares
            more than the file holds is read as far as it goes, as libsndfile does).
        channels, bits: per frame; ``is_float`` for 32-bit IEEE float.
    """

    data_offset: int
    frames: int
    channels: int
    bits: int
    is_float: bool

    @property
    def block_align(self) -> int:
        return self.channels * self.bits // 8


def wav_layout(path: str | os.PathLike[str]) -> WavLayout | None:
    """The layout of a WAV file this module reads, or None (read it with soundfile)."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            return _parse(f, size)
    except (OSError, struct.error):
        return None


def _parse(f: BinaryIO, size: int) -> WavLayout | None:
    fmt: WaveFmt | None = None
    for c in chunks(f, size):
        if c.offset > _MAX_HEADER:
            return None
        if c.id == b"ds64" and c.available < 24:
            return None
        if c.id == b"fmt ":
            f.seek(c.offset)
            body = f.read(min(c.available, 40))
            fmt = parse_fmt(body)
            if fmt is None or (fmt.extensible and len(body) < 40):
                return None
            if fmt.valid_bits not in (None, 0, fmt.bits):
                return None  # e.g. 20 valid bits in a 24-bit container: libsndfile's call
        elif c.id == b"data":
            if fmt is None:
                return None
            if c.size in (0, UNKNOWN_SIZE):
                return None  # a streaming writer's placeholder (or RF64 without ds64): libsndfile has rules for it
            tag, channels, align, bits = fmt.tag, fmt.channels, fmt.block_align, fmt.bits
            ok = (tag == _PCM and bits in (16, 24, 32)) or (tag == _FLOAT and bits == 32)
            if not ok or channels < 1 or align != channels * bits // 8:
                return None
            return WavLayout(c.offset, c.available // align, channels, bits, tag == _FLOAT)
    return None


class WavReader:
    """Reads a WAV file front to back: samples through ``read``, every byte through the sha256
    (and ``tee``) once, in order."""

    def __init__(self, path: str | os.PathLike[str], layout: WavLayout, *, tee: BinaryIO | None = None) -> None:
        self.layout = layout
        self._tee = tee
        self._fd = os.open(path, os.O_RDONLY)
        try:
            self.size = os.fstat(self._fd).st_size
            self._sha = hashlib.sha256()
            self.bytes_read = 0
            self._pos = 0  # bytes hashed (and read) so far: the file is read once, in order
            self._frames_left = layout.frames
            self._buf = bytearray(1)  # grown to a block; byte 0 is the pad of the 24-bit view
            self._consume(layout.data_offset)  # the header chunks
        except BaseException:
            os.close(self._fd)
            raise

    def _consume(self, upto: int) -> None:
        """Hash (and tee) [pos, upto) without keeping it."""
        while self._pos < upto:
            chunk = os.pread(self._fd, min(_TAIL_CHUNK, upto - self._pos), self._pos)
            if not chunk:
                break
            self._take(chunk)

    def _take(self, data: Any) -> None:
        self._sha.update(data)
        if self._tee is not None:
            self._tee.write(data)
        n = len(data)
        self._pos += n
        self.bytes_read += n

    def read(self, frames: int) -> np.ndarray:
        """The next ``frames`` frames (fewer at the end), shape (frames, channels): int32 at
        full scale 2**31 for PCM, float32 for float files."""
        lay = self.layout
        frames = max(0, min(frames, self._frames_left))
        n = frames * lay.block_align
        if len(self._buf) < n + 1:
            self._buf = bytearray(n + 1)
        view = memoryview(self._buf)[1:n + 1]
        got = 0
        while got < n:  # a short read only where the file ends (or shrank under us)
            k = os.preadv(self._fd, [view[got:]], self._pos + got)
            if k <= 0:
                break
            got += k
        frames = got // lay.block_align
        self._take(view[:got])  # the partial frame at a short end is hashed too, like the rest
        self._frames_left = 0 if got < n else self._frames_left - frames
        return self._unpack(frames)

    def _unpack(self, frames: int) -> np.ndarray:
        lay = self.layout
        out = unpack(self._buf, frames * lay.channels, lay.bits, lay.is_float)
        return (out.copy() if lay.is_float else out).reshape(frames, lay.channels)  # _buf is reused

    def finish(self) -> str:
        """Hash the rest of the file (what follows the samples) and return its sha256 (hex)."""
        self._consume(self.size)
        return self._sha.hexdigest()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def unpack(buf: bytes | bytearray | memoryview, count: int, bits: int, is_float: bool) -> np.ndarray:
    """``count`` little-endian PCM samples stored from ``buf[1]`` on (byte 0 is a spare in front,
    for the 24-bit trick): float32 for float data (a view of ``buf``), else int32 scaled to the
    full int32 range (a 16-bit sample is ``x << 16``, a 24-bit one ``x << 8``; a new array).
    One reader of the sample formats for analysis (WavReader) and playback (WavSource)."""
    if is_float:
        return np.frombuffer(buf, dtype="<f4", count=count, offset=1)
    if bits == 16:
        return np.left_shift(np.frombuffer(buf, dtype="<i2", count=count, offset=1), 16, dtype=np.int32)
    if bits == 24:
        # Window i is bytes [3i, 3i+4): the byte before sample i, then its 3 bytes; as a
        # little-endian int32 that is sample << 8 plus a stray low byte, masked off.
        windows = np.ndarray((count,), dtype="<i4", buffer=buf, offset=0, strides=(3,))
        return np.bitwise_and(windows, np.int32(-256), dtype=np.int32)
    return np.frombuffer(buf, dtype="<i4", count=count, offset=1).astype(np.int32)
