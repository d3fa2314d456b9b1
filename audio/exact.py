"""Two audio files compared on their samples: the exact lag of a move, where they differ, by how much.

Public surface (on open ``soundfile.SoundFile`` objects of the same rate and channels):
    exact_lag(A, B, est, radius) -> the integer lag (B = A delayed by it) near ``est``, or None
    residual(A, B, lo, hi, lag) -> dB of A[t] - B[t + lag] against A over [lo, hi) (None: identical)
    differing_spans(A, B, spans) -> ([(first, last, residual dB)] per span that differs, total dB)

Memory is bounded: the files are read in chunks of 65536 frames, as float64 (exact for PCM up
to 32 bit).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["differing_spans", "exact_lag", "residual"]

_CHUNK = 1 << 16


def _read(sf_file: Any, start: int, n: int) -> np.ndarray:
    """``n`` frames from ``start`` (zeros outside the file), float64 (exact for PCM up to 32 bit)."""
    ch = sf_file.channels
    out = np.zeros((n, ch))
    lo, hi = max(0, start), min(sf_file.frames, start + n)
    if hi > lo:
        sf_file.seek(lo)
        out[lo - start:hi - start] = sf_file.read(hi - lo, dtype="float64", always_2d=True)
    return out


def _mono(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = x.sum(axis=1)
    return out


def exact_lag(A: Any, B: Any, est: int, radius: int) -> int | None:
    """The integer lag (B = A delayed by lag) near ``est``: cross-correlation of the samples in
    the loudest second of A against B within ``est ± radius`` (bounded memory)."""
    sr = A.samplerate
    n = min(sr, A.frames)
    best_pos, best_e = 0, -1.0
    # Probe a few seconds spread over the file for the loudest one: cheap and bounded.
    for pos in np.linspace(0, max(0, A.frames - n), num=min(12, max(1, A.frames // max(1, n)))).astype(int):
        seg = _read(A, int(pos), n)
        e = float(np.sum(seg * seg))
        if e > best_e:
            best_pos, best_e = int(pos), e
    if best_e <= 0:
        return None
    a = _mono(_read(A, best_pos, n))
    b = _mono(_read(B, best_pos + est - radius, n + 2 * radius))
    size = 1 << (len(a) + len(b) - 1).bit_length()
    corr = np.fft.irfft(np.conj(np.fft.rfft(a, size)) * np.fft.rfft(b, size), size)[:2 * radius + 1]
    return est - radius + int(np.argmax(corr))


def residual(A: Any, B: Any, lo: int, hi: int, lag: int) -> float | None:
    """dB of A[t] − B[t + lag] against A over [lo, hi) where both exist (None: identical)."""
    res = ref = 0.0
    start = max(lo, -lag)
    end = min(hi, A.frames, B.frames - lag)
    pos = start
    while pos < end:
        n = min(_CHUNK, end - pos)
        a, b = _read(A, pos, n), _read(B, pos + lag, n)
        diff = a - b
        res += float(np.sum(diff * diff))
        ref += float(np.sum(a * a))
        pos += n
    if res <= 0:
        return None
    return 10 * math.log10(res / ref) if ref > 0 else 0.0


def differing_spans(A: Any, B: Any, spans: list[tuple[int, int]]
                    ) -> tuple[list[tuple[int, int, float | None]], float | None]:
    """Per span [lo, hi) of frames: the first and last differing frame and the residual level of
    A - B there (dB against A); spans with identical samples are left out. Then the residual of
    all the spans together (None: identical)."""
    found: list[tuple[int, int, float | None]] = []
    total_res = 0.0
    total_ref = 0.0
    for lo, hi in spans:
        first = last = None
        res = ref = 0.0
        pos = lo
        while pos < hi:
            n = min(_CHUNK, hi - pos)
            a, b = _read(A, pos, n), _read(B, pos, n)
            diff = a - b
            res += float(np.sum(diff * diff))
            ref += float(np.sum(a * a))
            rows = np.flatnonzero(np.any(diff != 0, axis=1))
            if len(rows):
                if first is None:
                    first = pos + int(rows[0])
                last = pos + int(rows[-1]) + 1
            pos += n
        total_res += res
        total_ref += ref
        if first is None or last is None:
            continue  # identical samples here after all
        rdb = None if res <= 0 else 10 * math.log10(res / ref) if ref > 0 else 0.0
        found.append((first, last, rdb))
    total = None if total_res <= 0 else (10 * math.log10(total_res / total_ref) if total_ref > 0 else 0.0)
    return found, total
