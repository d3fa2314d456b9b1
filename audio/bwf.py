"""Write Broadcast Wave (BWF) files: RIFF/WAVE with a ``bext`` chunk and optional ``iXML``.

The reading side uses the ``wavinfo`` library; this module only writes, because soundfile (the
writer everything else uses) cannot write a ``bext`` chunk with a TimeReference, and a stem
without its start timecode is useless in a film session.

Public surface:
    write_bwf(path, data, sample_rate, *, subtype, time_reference, description, originator,
              originator_reference, origination_date, origination_time, coding_history, ixml)
        Write one BWF file atomically.
    quantize(data, subtype) -> np.ndarray
        The exact sample values ``write_bwf`` (and ``soundfile.write``) store for ``data``, as
        float64 on the subtype's grid; sum stems quantized this way to build a mix that nulls
        against them.
    SUBTYPES
        The supported subtypes: ``PCM_16``, ``PCM_24``, ``PCM_32``, ``FLOAT``.
    BwfStream(path, sample_rate, channels, *, subtype, time_reference, description, originator)
        Write a BWF file block by block (``write``, or ``write_pcm`` for integers, then
        ``close``), when the length is known only at the end (a render); the sizes are filled in
        on ``close``.

File layout, in this order: ``RIFF``/``WAVE``, ``fmt `` (``WAVE_FORMAT_EXTENSIBLE`` when there
are more than 2 channels or more than 16 bits, with the standard channel mask for 1, 2, 6 and
8 channels), ``fact`` (floating point only, as the WAVE spec requires for non-PCM data), ``bext``
(EBU Tech 3285 version 1), ``iXML`` (when given), ``data``. Files are limited to 4 GiB (no RF64).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import secrets
import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

__all__ = ["SUBTYPES", "BwfStream", "quantize", "write_bwf"]

#: Subtype name -> (bits per sample, is floating point).
SUBTYPES: dict[str, tuple[int, bool]] = {
    "PCM_16": (16, False),
    "PCM_24": (24, False),
    "PCM_32": (32, False),
    "FLOAT": (32, True),
}

_WAVE_FORMAT_PCM = 0x0001
_WAVE_FORMAT_IEEE_FLOAT = 0x0003
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE
# KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT are {TAG-0000-0010-8000-00AA00389B71}: a GUID stored as
# Data1 (uint32 LE), Data2, Data3 (uint16 LE), then Data4 as 8 raw bytes.
_GUID_DATA4 = bytes.fromhex("800000aa00389b71")

# Standard WAVEFORMATEXTENSIBLE speaker masks: mono = FC; stereo = FL|FR;
# 5.1 = FL|FR|FC|LFE|BL|BR; 7.1 = 5.1 + SL|SR. Other counts get 0 ("no assignment").
_CHANNEL_MASKS = {1: 0x4, 2: 0x3, 6: 0x3F, 8: 0x63F}

# EBU Tech 3285 bext: the fixed part is 602 bytes, CodingHistory follows.
_BEXT_FIXED = struct.Struct("<256s32s32s10s8sIIH64s190s")
_BEXT_VERSION = 1

_MAX_RIFF = 0xFFFFFFFF
_BLOCK_FRAMES = 1 << 16  # frames converted per write: bounded memory for long stems

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME_RE = re.compile(r"\d{2}:\d{2}:\d{2}")


def quantize(data: np.ndarray, subtype: str = "PCM_24") -> np.ndarray:
    """Return the sample values a file of ``subtype`` stores for ``data``.

    Integer subtypes reproduce libsndfile (and so ``soundfile.write``) bit for bit: the sample is
    scaled by 2**31, rounded to the nearest integer (ties to even), clipped to int32, then
    shifted right to the target width, which truncates toward minus infinity. At 16 and 24 bits
    that is *not* plain rounding (the result sits up to 1 LSB low), but matching the writer
    everyone else uses matters more here: a mix built from these values nulls exactly against
    stems written by either tool. ``FLOAT`` is a cast to float32, without clipping.

    Args:
        data: Float samples in [-1, 1): (frames,) or (frames, channels).
        subtype: One of ``SUBTYPES``.

    Returns:
        float64 array of the same shape (float32 for ``FLOAT``), every value on the grid.

    Raises:
        ValueError: Unknown subtype, non-float or non-finite data.
    """
    bits, is_float = _check_subtype(subtype)
    arr = _check_samples(data)
    if is_float:
        return arr.astype(np.float32)
    return _to_int(arr, bits).astype(np.float64) / float(1 << (bits - 1))


def write_bwf(
    path: str | os.PathLike[str],
    data: np.ndarray,
    sample_rate: int,
    *,
    subtype: str = "PCM_24",
    time_reference: int = 0,
    description: str = "",
    originator: str = "stemvault",
    originator_reference: str = "",
    origination_date: str | None = None,
    origination_time: str | None = None,
    coding_history: str | None = None,
    ixml: str | None = None,
) -> None:
    """Write ``data`` as a Broadcast Wave file, atomically.

    The file is written under a temporary name in the target folder and renamed over ``path``
    only when complete, so a reader (or a crash) never sees half a stem.

    Args:
        path: Target file; its folder must exist.
        data: Float samples in [-1, 1): shape (frames, channels), or (frames,) for mono.
            Integer subtypes are quantized as ``quantize`` describes (clipped, never wrapped).
        sample_rate: Samples per second, 1 to 4294967295.
        subtype: ``PCM_16``, ``PCM_24`` (the film norm), ``PCM_32`` or ``FLOAT``.
        time_reference: bext TimeReference: the start position in samples since midnight,
            i.e. the file's start timecode times the sample rate.
        description: bext Description, ASCII, at most 256 characters.
        originator: bext Originator, ASCII, at most 32 characters.
        originator_reference: bext OriginatorReference, ASCII, at most 32 characters.
        origination_date: ``YYYY-MM-DD``. None leaves the field empty rather than stamping
            today's date, so the same audio always gives the same bytes (and the same sha256
            in the vault); pass a date explicitly to record one.
        origination_time: ``HH:MM:SS``; None leaves the field empty, for the same reason.
        coding_history: bext CodingHistory. None writes one EBU R98 line describing this
            file (e.g. ``A=PCM,F=48000,W=24,M=stereo,T=stemvault``).
        ixml: An iXML document, written as an ``iXML`` chunk (UTF-8). Must be well-formed XML.

    Raises:
        ValueError: Any argument out of range, a field too long or not ASCII, malformed iXML,
            data that is not finite float audio, or a result larger than 4 GiB.
        OSError: The file cannot be written (the temporary file is removed).
    """
    bits, is_float = _check_subtype(subtype)
    samples = _check_samples(data)
    frames_data = samples.reshape(-1, 1) if samples.ndim == 1 else samples
    frames, channels = frames_data.shape
    if not 1 <= channels <= 0xFFFF:
        raise ValueError(f"data has {channels} channels; a WAV file holds 1 to 65535")
    rate = _check_int("sample_rate", sample_rate, 1, 0xFFFFFFFF)
    tref = _check_int("time_reference", time_reference, 0, (1 << 64) - 1)

    bext = _bext_payload(
        description=description,
        originator=originator,
        originator_reference=originator_reference,
        origination_date=origination_date,
        origination_time=origination_time,
        time_reference=tref,
        coding_history=(
            _default_coding_history(rate, bits, is_float, channels)
            if coding_history is None
            else coding_history
        ),
    )
    ixml_payload = _ixml_payload(ixml) if ixml is not None else None

    block_align = channels * bits // 8
    data_size = frames * block_align
    chunks: list[tuple[bytes, bytes]] = [(b"fmt ", _fmt_payload(channels, rate, bits, is_float))]
    if is_float:
        # Non-PCM formats need a fact chunk with the frame count (WAVE spec, rev. 3).
        chunks.append((b"fact", struct.pack("<I", min(frames, 0xFFFFFFFF))))
    chunks.append((b"bext", bext))
    if ixml_payload is not None:
        chunks.append((b"iXML", ixml_payload))
    riff_size = 4 + sum(8 + len(p) + len(p) % 2 for _, p in chunks) + 8 + data_size + data_size % 2
    if riff_size > _MAX_RIFF:
        raise ValueError(
            f"{frames} frames x {channels} channels of {subtype} exceed the 4 GiB RIFF limit; "
            "split the file (RF64 is not supported)"
        )

    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # os.open with 0o666 lets the umask decide the final permissions, like a plain open().
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"RIFF" + struct.pack("<I", riff_size) + b"WAVE")
            for ident, payload in chunks:
                _write_chunk(fh, ident, payload)
            fh.write(b"data" + struct.pack("<I", data_size))
            for block in _encoded_blocks(frames_data, bits, is_float):
                fh.write(block)
            if data_size % 2:
                fh.write(b"\0")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --- validation ---------------------------------------------------------------------------


def _check_subtype(subtype: str) -> tuple[int, bool]:
    try:
        return SUBTYPES[subtype]
    except (KeyError, TypeError):
        raise ValueError(
            f"unsupported subtype {subtype!r}; use one of {', '.join(SUBTYPES)}"
        ) from None


def _check_samples(data: np.ndarray) -> np.ndarray:
    arr = np.asarray(data)
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"audio data must be floating point in [-1, 1), got dtype {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"audio data must be (frames,) or (frames, channels), got shape {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise ValueError("audio data contains NaN or infinite samples")
    return arr


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool | float) or not hasattr(value, "__index__"):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    number = int(value)
    if not low <= number <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {number}")
    return number


def _ascii_field(name: str, value: str, size: int) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {type(value).__name__}")
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError:
        # EBU Tech 3285 defines the text fields as ASCII; readers decode them as such.
        raise ValueError(f"{name} must be ASCII (EBU Tech 3285): {value!r}") from None
    if len(raw) > size:
        raise ValueError(f"{name} is {len(raw)} characters; the bext field holds {size}")
    return raw


# --- chunk payloads -----------------------------------------------------------------------


def _fmt_payload(channels: int, rate: int, bits: int, is_float: bool) -> bytes:
    tag = _WAVE_FORMAT_IEEE_FLOAT if is_float else _WAVE_FORMAT_PCM
    block_align = channels * bits // 8
    if channels <= 2 and bits <= 16:
        return struct.pack("<HHIIHH", tag, channels, rate, rate * block_align, block_align, bits)
    # Microsoft's rule: more than 2 channels or more than 16 bits -> WAVE_FORMAT_EXTENSIBLE.
    return struct.pack(
        "<HHIIHHHHI16s",
        _WAVE_FORMAT_EXTENSIBLE,
        channels,
        rate,
        rate * block_align,
        block_align,
        bits,
        22,  # cbSize: the extension below
        bits,  # wValidBitsPerSample: every container bit is used
        _CHANNEL_MASKS.get(channels, 0),
        struct.pack("<IHH8s", tag, 0x0000, 0x0010, _GUID_DATA4),
    )


def _bext_payload(
    *,
    description: str,
    originator: str,
    originator_reference: str,
    origination_date: str | None,
    origination_time: str | None,
    time_reference: int,
    coding_history: str,
) -> bytes:
    date = b""
    if origination_date is not None:
        date = _ascii_field("origination_date", origination_date, 10)
        if not _DATE_RE.fullmatch(origination_date) or not _valid(origination_date, "%Y-%m-%d"):
            raise ValueError(f"origination_date must be YYYY-MM-DD, got {origination_date!r}")
    time = b""
    if origination_time is not None:
        time = _ascii_field("origination_time", origination_time, 8)
        if not _TIME_RE.fullmatch(origination_time) or not _valid(origination_time, "%H:%M:%S"):
            raise ValueError(f"origination_time must be HH:MM:SS, got {origination_time!r}")
    history = _ascii_field("coding_history", coding_history, 1 << 20)
    fixed = _BEXT_FIXED.pack(
        _ascii_field("description", description, 256),
        _ascii_field("originator", originator, 32),
        _ascii_field("originator_reference", originator_reference, 32),
        date,
        time,
        time_reference & 0xFFFFFFFF,  # TimeReferenceLow
        time_reference >> 32,  # TimeReferenceHigh
        _BEXT_VERSION,
        b"",  # UMID: none
        b"",  # v1 reserved (where v2 keeps loudness): zero
    )
    return fixed + history


def _valid(text: str, fmt: str) -> bool:
    try:
        _dt.datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def _default_coding_history(rate: int, bits: int, is_float: bool, channels: int) -> str:
    mode = {1: "mono", 2: "stereo"}.get(channels, "multichannel")
    word = f"{bits}F" if is_float else str(bits)
    # EBU R98 line; CR LF terminated as the recommendation asks.
    return f"A=PCM,F={rate},W={word},M={mode},T=stemvault\r\n"


def _ixml_payload(ixml: str) -> bytes:
    if not isinstance(ixml, str):
        raise ValueError(f"ixml must be a string, got {type(ixml).__name__}")
    try:
        ET.fromstring(ixml)
    except ET.ParseError as exc:
        raise ValueError(f"ixml is not well-formed XML: {exc}") from None
    return ixml.encode("utf-8")


# --- writing ------------------------------------------------------------------------------


def _write_chunk(fh: BinaryIO, ident: bytes, payload: bytes) -> None:
    fh.write(ident + struct.pack("<I", len(payload)) + payload)
    if len(payload) % 2:
        fh.write(b"\0")  # RIFF chunks start on even offsets; the pad is not in the size


def _to_int(samples: np.ndarray, bits: int) -> np.ndarray:
    """libsndfile's float -> int: round at 32 bits, clip, then truncate to ``bits``.

    float32 input stays float32: scaling by 2**31 is exact, and so is rint (a float32 of that
    size is either already an integer or small enough to round exactly), at half the memory
    traffic of float64.
    """
    kind = np.dtype(np.float32 if samples.dtype == np.float32 else np.float64)
    wide = samples.astype(kind)  # a copy: the caller's array is left alone
    with np.errstate(over="ignore"):  # an absurd over becomes inf, and is clipped below
        np.multiply(wide, 2147483648.0, out=wide)
    np.rint(wide, out=wide)
    # Clip before converting (a huge over must not overflow the cast), then once more in
    # integers: 2**31 - 1 is not a float32.
    np.clip(wide, -2147483648.0, 2147483648.0, out=wide)
    ints = wide.astype(np.int64)
    np.minimum(ints, 2147483647, out=ints)
    ints >>= 32 - bits
    return ints


def _encoded_blocks(frames: np.ndarray, bits: int, is_float: bool) -> Iterator[bytes]:
    # Converting a block at a time keeps memory bounded for long stems: the float64 and
    # int64 temporaries would otherwise be several times the size of the file.
    for start in range(0, frames.shape[0], _BLOCK_FRAMES):
        block = frames[start : start + _BLOCK_FRAMES]
        if is_float:
            yield np.ascontiguousarray(block, dtype="<f4").tobytes()
            continue
        ints = _to_int(block, bits)
        if bits == 16:
            yield ints.astype("<i2").tobytes()
        elif bits == 32:
            yield ints.astype("<i4").tobytes()
        else:
            # 24-bit: the low three bytes of each little-endian int32, gathered into a
            # contiguous array first (tobytes on a strided view is several times slower).
            quad = ints.astype("<i4").reshape(-1).view(np.uint8).reshape(-1, 4)
            packed = np.empty((quad.shape[0], 3), np.uint8)
            packed[:] = quad[:, :3]
            yield packed.tobytes()


# --- streaming ----------------------------------------------------------------------------


class BwfStream:
    """A BWF file written block by block; the RIFF, ``data`` and ``fact`` sizes are patched in
    by ``close``.

    The header is the one ``write_bwf`` writes, except for floating point with one or two
    channels: there the fmt chunk is plain ``WAVE_FORMAT_IEEE_FLOAT`` with its (empty)
    extension, cbSize 0 — what every reader takes without a warning (sox warns on any
    WAVE_FORMAT_EXTENSIBLE float file). Nothing makes the file atomic: write it under a
    temporary name and rename it when ``close`` returns.

    Raises (from the constructor, ``write``):
        ValueError: a bad argument or field (as ``write_bwf``), samples of the wrong shape, or a
            file growing past 4 GiB.
        OSError: the file cannot be written.
    """

    def __init__(self, path: str | os.PathLike[str], sample_rate: int, channels: int, *,
                 subtype: str = "PCM_24", time_reference: int = 0, description: str = "",
                 originator: str = "stemvault", originator_reference: str = "") -> None:
        self.bits, self.is_float = _check_subtype(subtype)
        if not 1 <= channels <= 0xFFFF:
            raise ValueError(f"{channels} channels; a WAV file holds 1 to 65535")
        self.channels = channels
        rate = _check_int("sample_rate", sample_rate, 1, 0xFFFFFFFF)
        tref = _check_int("time_reference", time_reference, 0, (1 << 64) - 1)
        bext = _bext_payload(description=description, originator=originator,
                             originator_reference=originator_reference, origination_date=None,
                             origination_time=None, time_reference=tref,
                             coding_history=_default_coding_history(rate, self.bits, self.is_float, channels))
        if self.is_float and channels <= 2:
            block_align = channels * 4
            fmt = struct.pack("<HHIIHHH", _WAVE_FORMAT_IEEE_FLOAT, channels, rate, rate * block_align,
                              block_align, 32, 0)
        else:
            fmt = _fmt_payload(channels, rate, self.bits, self.is_float)
        self.frames = 0
        self._fact_at: int | None = None
        self._fh: BinaryIO = open(path, "wb")  # noqa: SIM115 -- closed by close()
        try:
            fh = self._fh
            fh.write(b"RIFF\0\0\0\0WAVE")
            _write_chunk(fh, b"fmt ", fmt)
            if self.is_float:
                self._fact_at = fh.tell() + 8
                _write_chunk(fh, b"fact", b"\0\0\0\0")
            _write_chunk(fh, b"bext", bext)
            fh.write(b"data\0\0\0\0")
            self._data_at = fh.tell()
        except BaseException:
            self._fh.close()
            raise

    def write(self, block: np.ndarray) -> None:
        """Append ``block``: float samples, (frames, channels) or (frames,) for mono."""
        arr = _check_samples(block)
        frames = arr.reshape(-1, 1) if arr.ndim == 1 else arr
        if frames.shape[1] != self.channels:
            raise ValueError(f"a block of {frames.shape[1]} channels for a {self.channels}-channel file")
        size = (self.frames + len(frames)) * self.channels * self.bits // 8
        if self._data_at - 8 + size + 8 > _MAX_RIFF:
            raise ValueError("the file would pass the 4 GiB RIFF limit (RF64 is not supported)")
        for data in _encoded_blocks(frames, self.bits, self.is_float):
            self._fh.write(data)
        self.frames += len(frames)

    def write_pcm(self, ints: np.ndarray) -> None:
        """Append integer samples already on the file's grid (PCM only): (frames, channels), each
        within the bit depth's range — what a caller that computes in integers (a residual that
        must sum exactly) has, written without a round trip through floats."""
        if self.is_float:
            raise ValueError("write_pcm writes PCM: this file is floating point")
        frames = np.asarray(ints)
        if frames.ndim == 1:
            frames = frames.reshape(-1, 1)
        if frames.ndim != 2 or frames.shape[1] != self.channels or not np.issubdtype(frames.dtype, np.integer):
            raise ValueError(f"write_pcm takes integers of shape (frames, {self.channels}), not {frames.dtype} "
                             f"{frames.shape}")
        lo, hi = -(1 << (self.bits - 1)), (1 << (self.bits - 1)) - 1
        if frames.size and (int(frames.min()) < lo or int(frames.max()) > hi):
            raise ValueError(f"samples outside the {self.bits}-bit range")
        size = (self.frames + len(frames)) * self.channels * self.bits // 8
        if self._data_at - 8 + size + 8 > _MAX_RIFF:
            raise ValueError("the file would pass the 4 GiB RIFF limit (RF64 is not supported)")
        if self.bits == 16:
            self._fh.write(frames.astype("<i2").tobytes())
        elif self.bits == 32:
            self._fh.write(frames.astype("<i4").tobytes())
        else:
            quad = frames.astype("<i4").reshape(-1).view(np.uint8).reshape(-1, 4)
            packed = np.empty((quad.shape[0], 3), np.uint8)
            packed[:] = quad[:, :3]
            self._fh.write(packed.tobytes())
        self.frames += len(frames)

    def close(self) -> None:
        """Pad, fill in the sizes, flush to disk and close."""
        fh = self._fh
        if fh.closed:
            return
        try:
            size = self.frames * self.channels * self.bits // 8
            if size % 2:
                fh.write(b"\0")
            end = fh.tell()
            fh.seek(4)
            fh.write(struct.pack("<I", end - 8))
            if self._fact_at is not None:
                fh.seek(self._fact_at)
                fh.write(struct.pack("<I", min(self.frames, 0xFFFFFFFF)))
            fh.seek(self._data_at - 4)
            fh.write(struct.pack("<I", size))
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fh.close()
