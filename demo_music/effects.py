"""Reverb (a synthetic impulse response, convolved near 12 kHz) and the edits between
versions (gain spans, rewrites crossfaded in, shifts)."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import fft as _fft
from scipy import signal as _signal

from demo_music.arrangement import _F32, _RAMP_S, Edit

# --- reverb ---------------------------------------------------------------------------------

_REVERB_RATE = 12000  # the reverb runs near this rate: 16x less FFT work than at 48 kHz
_IR_SECONDS = 2.6
_CHUNK = 1 << 14


def _add_reverb(dry: np.ndarray, sr: int, n_music: int, send: float) -> None:
    """Add a stereo hall to ``dry`` (2, N) in place: its mono sum convolved with a synthetic
    impulse response, scaled by ``send``.

    The convolution runs near 12 kHz (decimation by an integer factor through a triangular
    anti-alias filter, linear interpolation back up): 16 times less FFT work than at 48 kHz,
    which keeps six 40 s stems well under a second. The hall is dark anyway (its response has
    little above 4.5 kHz), so little is lost. The reverb ends ~2.7 s after ``n_music``.
    """
    n_total = dry.shape[1]
    factor = max(1, round(sr / _REVERB_RATE))
    low_rate = sr / factor
    mono = np.add(dry[0, :n_music], dry[1, :n_music])
    mono *= _F32(0.5)
    low = _decimate(mono, factor)
    ir_len = round(_IR_SECONDS * low_rate)
    size = _fft.next_fast_len(len(low) + ir_len - 1, real=True)
    wet = _fft.irfft(_fft.rfft(low, size)[None, :] * _ir_spectrum(low_rate, size), size)
    used = min(len(low) + ir_len - 1, -(-n_total // factor))
    # One sample beyond `used` for the interpolation, so a shorter tail is an exact truncation
    # of a longer one (tail_s sets the file length, nothing else).
    wet = wet[:, : used + 1].astype(_F32)
    if wet.shape[1] == used:
        wet = np.concatenate([wet, np.zeros((2, 1), _F32)], axis=1)
    wet *= _F32(send)
    # Linear interpolation straight into `dry`, a chunk at a time: output q*factor + j is
    # wet[q] + (wet[q+1] - wet[q]) * j / factor. No full-length temporaries.
    for a in range(0, used, _CHUNK):
        b = min(used, a + _CHUNK)
        here = wet[:, a:b]
        slope = wet[:, a + 1 : b + 1] - here
        for j in range(factor):
            first = a * factor + j
            if first >= n_total:
                break
            dst = dry[:, first : min(n_total, b * factor) : factor]
            count = dst.shape[1]
            dst += here[:, :count] + slope[:, :count] * _F32(j / factor)


def _decimate(x: np.ndarray, factor: int) -> np.ndarray:
    """Every ``factor``-th sample after a triangular low-pass (a box convolved with itself:
    its nulls sit on the frequencies that would fold onto DC, and squaring deepens them)."""
    if factor == 1:
        return x.astype(_F32)
    n = -(-len(x) // factor)
    padded = np.zeros((n + 1) * factor, _F32)
    padded[factor : factor + len(x)] = x
    rows = padded.reshape(n + 1, factor)  # row q holds samples (q-1)*factor ... q*factor-1
    j = np.arange(factor, dtype=_F32)
    # Output q is centred on input q*factor: the rising half of the triangle lies in the
    # previous row, the falling half in this one; the weights sum to 1.
    # Plain ufuncs, not a matrix product: BLAS threads spin and cost more than they save here.
    out = np.zeros(n, _F32)
    for k in range(factor):
        column = rows[:, k]
        out += column[:-1] * (j[k] / _F32(factor**2))
        out += column[1:] * ((factor - j[k]) / _F32(factor**2))
    return out


@lru_cache(maxsize=8)
def _ir_spectrum(rate: float, size: int) -> np.ndarray:
    """Spectrum (2, size // 2 + 1) of the hall's stereo impulse response at ``rate``.

    Decorrelated noise for left and right, a 15 ms pre-delay, a few early reflections, a dark
    band decaying slowly (RT60 1.9 s) and a bright band decaying fast (RT60 0.8 s), because
    real rooms absorb highs first. A fixed seed: the room is the same for every cue and part.
    """
    rng = np.random.default_rng(20240611)
    n = round(_IR_SECONDS * rate)
    t = np.arange(n) / rate
    low_sos = _signal.butter(2, 1500.0, fs=rate, output="sos")
    high_sos = _signal.butter(
        2, (1500.0, min(4500.0, 0.45 * rate)), btype="bandpass", fs=rate, output="sos"
    )
    onset = np.clip((t - 0.015) / 0.01, 0, 1)
    ir = np.zeros((2, n))
    for ch in range(2):
        low = _signal.sosfilt(low_sos, rng.standard_normal(n)) * np.exp(-6.91 * t / 1.9)
        high = _signal.sosfilt(high_sos, rng.standard_normal(n)) * np.exp(-6.91 * t / 0.8)
        ir[ch] = (low + 0.6 * high) * onset
        for delay in rng.uniform(0.015, 0.07, 6):  # early reflections off near walls
            ir[ch, round(delay * rate)] += rng.choice((-1.0, 1.0)) * rng.uniform(0.05, 0.12)
    fade = round(0.2 * rate)
    ir[:, -fade:] *= np.linspace(1, 0, fade)
    ir /= np.sqrt(np.sum(ir**2, axis=1, keepdims=True))  # unit energy: wet ~ dry loudness
    spectrum = _fft.rfft(ir.astype(_F32), size, axis=-1)
    spectrum.flags.writeable = False  # cached and shared: nobody may change it
    return spectrum


# --- edits and output -----------------------------------------------------------------------


def _peak(x: np.ndarray) -> float:
    return max(float(x.max()), -float(x.min())) if x.size else 0.0


def _span_window(edit: Edit, sr: int, n_total: int) -> tuple[int, int, np.ndarray]:
    """Samples [lo, hi) of the span and a weight rising 0→1 and falling 1→0 inside it."""
    lo = max(0, math.ceil(edit.start_s * sr))
    hi = min(n_total, math.floor(edit.end_s * sr) + 1)
    n = max(0, hi - lo)
    ramp = max(1, min(round(_RAMP_S * sr), n // 2))
    w = np.ones(n, dtype=_F32)
    if n:
        edge = np.sin(np.linspace(0, np.pi / 2, ramp, dtype=np.float64)) ** 2
        w[:ramp] = edge
        w[n - ramp :] = np.minimum(w[n - ramp :], edge[::-1])
    return lo, hi, w


def _shift_slices(shift: int, n: int) -> tuple[slice, slice]:
    """(source, destination) slices that delay n samples by ``shift`` (negative: advance)."""
    if shift >= 0:
        return slice(0, n - shift), slice(shift, n)
    return slice(-shift, n), slice(0, n + shift)
