"""The level curves of an analysis record, decoded, and what a curve says per block.

Public surface:
    decode_envelope(record) -> (hop_frames, dB per hop; -inf = silence), or None (analysis version 1)
    decode_levels(record) -> dB per 50 ms window as a float array (-inf = digital silence)
    finest_curve(record) -> the finest curve the record holds (envelope, else levels) as
        (frames per hop, dB), or None (none, or a damaged record)
    block_silent(curve, block_frames, n_blocks) -> per block: digital silence (bool array)
    smooth_db(db, width) -> the curve averaged as power over ``width`` hops, in dB

The one decoder of the records' curves (audio.analysis re-exports it). Numpy only: a diff decodes
records without importing audio.analysis, which costs scipy (~1.7 s of `stemvault diff`'s start)
for a base64 + zlib step. The format is the one audio.analysis writes: uint8 codes, 0 = digital
silence, else dB = code / 2 - 127.5; the fine envelope zlib-packed.
"""

from __future__ import annotations

import base64
import zlib
from typing import Any

import numpy as np

__all__ = ["block_silent", "decode_envelope", "decode_levels", "finest_curve", "smooth_db"]

_CODE_DB: np.ndarray | None = None


def _decode_codes(codes: np.ndarray) -> np.ndarray:
    """uint8 codes to dB through a 256-entry table (the same float64 values as computing each)."""
    global _CODE_DB
    if _CODE_DB is None:
        table = np.arange(256, dtype=np.float64) / 2 - 127.5
        table[0] = -np.inf
        _CODE_DB = table
    out: np.ndarray = _CODE_DB[codes]
    return out


def decode_envelope(rec: dict[str, Any]) -> tuple[int, np.ndarray] | None:
    """The fine envelope (hop frames, dB per hop), or None (analysis version 1 has none)."""
    env = rec.get("envelope")
    if not env:
        return None
    raw = np.frombuffer(zlib.decompress(base64.b64decode(env["db"])), dtype=np.uint8)
    return int(env["hop_frames"]), _decode_codes(raw)


def decode_levels(rec: dict[str, Any]) -> np.ndarray:
    """The 50 ms level curve in dB (-inf for digital silence)."""
    return _decode_codes(np.frombuffer(base64.b64decode(rec["levels"]["db"]), dtype=np.uint8))


def finest_curve(rec: dict[str, Any]) -> tuple[int, np.ndarray] | None:
    """The finest level curve the record holds: (frames per hop, dB with -inf for silence)."""
    try:
        env = decode_envelope(rec)
        if env is not None:
            return env
        lv = rec.get("levels")
        if not lv:
            return None
        hop = max(1, round(float(lv["window_s"]) * int(rec["sample_rate"])))
        return hop, decode_levels(rec)
    except (KeyError, TypeError, ValueError, OSError, zlib.error):
        return None  # a damaged record (binascii.Error is a ValueError) reads as none


def block_silent(env: tuple[int, np.ndarray] | None, block_frames: int, n_blocks: int) -> np.ndarray:
    """Per 1 s block: is it digital silence (every envelope hop -inf)?"""
    out = np.zeros(n_blocks, dtype=bool)
    if env is None:
        return out
    hop, db = env
    per = max(1, block_frames // hop)
    # Per block, whether any hop is finite: one pass (the last block may be partial, and blocks
    # past the curve's end hold no hop: not silent).
    finite = np.isfinite(db[:n_blocks * per])
    full = len(finite) // per
    out[:full] = ~finite[:full * per].reshape(full, per).any(axis=1)
    if full < n_blocks and len(finite) > full * per:
        out[full] = not finite[full * per:].any()
    return out


def smooth_db(db: np.ndarray, width: int) -> np.ndarray:
    """The level curve averaged (as power) over ``width`` hops, in dB (-inf = silence)."""
    p = np.where(np.isfinite(db), np.power(10.0, db / 10), 0.0)
    if width > 1:
        p = np.convolve(p, np.ones(width) / width, mode="same")
    with np.errstate(divide="ignore"):
        out: np.ndarray = 10 * np.log10(p)
    return out
