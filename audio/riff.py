"""The one walker over the chunk list of a RIFF/RF64/BW64 WAVE file, and the ``fmt `` chunk.

Public surface:
    Chunk (frozen dataclass), chunks(f, size) -> Iterator[Chunk], wave_form(f) -> bytes | None
    WaveFmt (frozen dataclass), parse_fmt(body) -> WaveFmt | None, read_fmt(path) -> WaveFmt | None

Why one: the probe (is the data chunk all there?), the fast reader (where are the samples?) and
the analysis (the channel mask) each read the chunk list; they must agree on every odd file.
The rules, the same for every caller:

- The file is a RIFF WAVE when it starts ``RIFF``, ``RF64`` or ``BW64`` and ``WAVE`` (anything
  else, big-endian ``RIFX`` included, is left to libsndfile): ``wave_form`` says which.
- A chunk is an 8-byte header (id, little-endian 32-bit size) and its body; a body of odd size
  is followed by one pad byte that is not in its size. Zero-size chunks are chunks.
- In RF64/BW64, a size of 0xFFFFFFFF means "see ``ds64``": the ``data`` chunk's size is the
  ds64 data size, another chunk's is its entry in the ds64 table. Without a readable ds64 (or
  in plain RIFF) the size stays 0xFFFFFFFF, which no real file holds: it reads as truncated.
- A chunk whose body runs past the end of the file is *truncated*: it is yielded (``available``
  says how much of it is there) and the walk ends with it. Fewer than 8 bytes left after the
  last chunk end the walk too (trailing bytes that are not a chunk).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

__all__ = ["Chunk", "WaveFmt", "chunks", "parse_fmt", "read_fmt", "wave_form"]

FORMS = (b"RIFF", b"RF64", b"BW64")
UNKNOWN_SIZE = 0xFFFFFFFF
WAVE_FORMAT_EXTENSIBLE = 0xFFFE


@dataclass(frozen=True)
class Chunk:
    """One chunk of the list.

    Attributes:
        id: the four-byte chunk id (``b"fmt "``, ``b"data"``...).
        offset: the file offset of its body (the header is the 8 bytes before).
        size: the body's size as declared (through ds64 in RF64/BW64), without the pad byte.
        available: how many bytes of the body are in the file (``size`` unless truncated).
    """

    id: bytes
    offset: int
    size: int
    available: int

    @property
    def truncated(self) -> bool:
        return self.available < self.size


def wave_form(f: BinaryIO) -> bytes | None:
    """``b"RIFF"``, ``b"RF64"`` or ``b"BW64"`` for a RIFF WAVE file, else None (reads 12 bytes
    from the start of ``f``)."""
    f.seek(0)
    head = f.read(12)
    if len(head) < 12 or head[:4] not in FORMS or head[8:12] != b"WAVE":
        return None
    return head[:4]


def chunks(f: BinaryIO, size: int | None = None) -> Iterator[Chunk]:
    """The chunks of the RIFF WAVE file ``f`` (of ``size`` bytes; its size on disk when None), in
    file order, by the rules of the module docstring; nothing when it is not a RIFF WAVE.

    Reading a chunk's body is the caller's (``f.seek(c.offset)``, at most ``c.available``
    bytes); the walker reads only the headers and ds64.
    """
    form = wave_form(f)
    if form is None:
        return
    if size is None:
        size = os.fstat(f.fileno()).st_size
    ds64_data: int | None = None
    ds64_table: dict[bytes, int] = {}
    pos = 12
    while pos + 8 <= size:
        f.seek(pos)
        cid, csize = struct.unpack("<4sI", f.read(8))
        if cid == b"ds64" and form != b"RIFF":
            body = f.read(min(csize, max(0, size - pos - 8)))
            if len(body) >= 24:  # riff size, data size, sample count (3 x 64 bits)
                ds64_data = struct.unpack("<Q", body[8:16])[0]
                if len(body) >= 28:
                    n = struct.unpack("<I", body[24:28])[0]
                    for i in range(min(n, (len(body) - 28) // 12)):
                        tid, tsize = struct.unpack("<4sQ", body[28 + 12 * i:40 + 12 * i])
                        ds64_table[tid] = tsize
        if csize == UNKNOWN_SIZE and form != b"RIFF":
            csize = ds64_data if cid == b"data" and ds64_data is not None else ds64_table.get(cid, csize)
        start = pos + 8
        chunk = Chunk(cid, start, csize, min(csize, size - start))
        yield chunk
        if chunk.truncated:
            return
        pos = start + csize + (csize & 1)


@dataclass(frozen=True)
class WaveFmt:
    """The ``fmt `` chunk of a WAVE file.

    Attributes:
        tag: the format tag; for WAVE_FORMAT_EXTENSIBLE the sub-format's (PCM 1, float 3), with
            ``extensible`` True.
        channels, sample_rate, block_align, bits: as declared (``bits``: the container's).
        valid_bits: the extensible header's valid bits per sample (None without one).
        channel_mask: the extensible header's speaker mask (None without one; 0 when it says
            "no positions").
    """

    tag: int
    channels: int
    sample_rate: int
    block_align: int
    bits: int
    extensible: bool = False
    valid_bits: int | None = None
    channel_mask: int | None = None


def parse_fmt(body: bytes) -> WaveFmt | None:
    """The ``fmt `` chunk from its body, or None when it is too short to be one (an extensible
    header cut short keeps its format tag 0xFFFE and no mask)."""
    if len(body) < 16:
        return None
    tag, channels, rate, _bps, align, bits = struct.unpack("<HHIIHH", body[:16])
    if tag != WAVE_FORMAT_EXTENSIBLE or len(body) < 24:
        return WaveFmt(tag, channels, rate, align, bits)
    valid, mask = struct.unpack("<HI", body[18:24])
    sub = struct.unpack("<H", body[24:26])[0] if len(body) >= 26 else tag  # the sub-format GUID's first field
    return WaveFmt(sub, channels, rate, align, bits, True, valid, mask)


def read_fmt(path: str | os.PathLike[str]) -> WaveFmt | None:
    """The ``fmt `` chunk of the WAVE file at ``path`` when it comes before the data, else None
    (not a RIFF WAVE, no fmt, unreadable)."""
    try:
        with open(path, "rb") as f:
            for c in chunks(f):
                if c.id == b"fmt ":
                    f.seek(c.offset)
                    return parse_fmt(f.read(min(c.available, 40)))
                if c.id == b"data":
                    return None
    except (OSError, struct.error):
        pass
    return None
