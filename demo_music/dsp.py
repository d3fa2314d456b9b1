"""Signal helpers of the instruments: an oscillator bank (band-limited saw), envelopes,
vibrato, panning, filters and filtered noise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal as _signal

from demo_music.arrangement import _F32

# --- signal helpers -------------------------------------------------------------------------

_BLOCK = 4096  # samples per block in the oscillator bank: temporaries stay in cache


def _db(db: float) -> float:
    return 10.0 ** (db / 20.0)


def _hz(midi: float | np.ndarray) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def _pan(pos: float | np.ndarray) -> np.ndarray:
    """Constant-power pan gains (..., 2) for positions in [-1 (left), 1 (right)]."""
    angle = (np.clip(np.asarray(pos, dtype=np.float64), -1, 1) + 1) * (np.pi / 4)
    return np.stack([np.cos(angle), np.sin(angle)], axis=-1).astype(_F32)


def _envelope(n: int, sr: int, attack: float, gate: float, release: float) -> np.ndarray:
    """Attack (sin² rise), hold until ``gate`` seconds, then a quadratic release to zero."""
    t = np.arange(n, dtype=_F32) / _F32(sr)
    rise = np.minimum(t / _F32(max(attack, 1e-4)), _F32(1))
    env = np.sin(rise * _F32(np.pi / 2))
    env *= env
    fall = np.clip((_F32(gate + release) - t) / _F32(max(release, 1e-4)), 0, 1)
    env *= fall * fall
    return env


@dataclass(frozen=True)
class _Vibrato:
    rate: float  # Hz
    depth: float  # relative frequency deviation
    phases: np.ndarray  # radians, one per oscillator


def _bank(
    n: int,
    sr: int,
    freqs: np.ndarray,
    pans: np.ndarray,
    *,
    phase0: np.ndarray,
    env: np.ndarray | None = None,
    wave: str = "sine",
    weights: np.ndarray | None = None,
    decays: np.ndarray | None = None,
    vibrato: _Vibrato | None = None,
    drive: np.ndarray | None = None,
) -> np.ndarray:
    """A bank of oscillators mixed to stereo: (2, n) float32.

    Rendered in blocks of ``_BLOCK`` samples, so the (oscillators x samples) temporaries stay
    in cache; whole-note arrays of them made rendering several times slower. The phase at each
    block start is reduced modulo 1 in float64 and only the offset inside the block is float32,
    so long notes stay in tune and clean (phase error below -80 dB).

    Args:
        n: Samples.
        sr: Sample rate.
        freqs: (V,) Hz.
        pans: (V,) pan positions.
        phase0: (V,) start phases in cycles.
        env: (n,) amplitude envelope applied to the mix.
        wave: ``sine``, ``saw`` (PolyBLEP anti-aliased) or ``brass``
            (a sine and its octave driven into tanh by ``drive``).
        weights: (V,) gains.
        decays: (V,) exponential decay rates in 1/s.
        vibrato: Sinusoidal frequency modulation.
        drive: (n,) tanh drive for ``brass``.
    """
    freqs = np.asarray(freqs, dtype=np.float64)
    gains = _pan(pans)
    if weights is not None:
        gains = gains * np.asarray(weights, dtype=_F32)[:, None]
    mixer = np.ascontiguousarray(gains.T)  # (2, V)
    step = freqs / sr
    dts = step.astype(_F32)[:, None]
    offsets = np.outer(step, np.arange(_BLOCK)).astype(_F32)
    local_t = np.arange(_BLOCK, dtype=_F32) / _F32(sr)
    if vibrato is not None:
        # f * depth * cos(2 pi rate t) integrates to f * depth / (2 pi rate) * sin(...).
        beta = (freqs * vibrato.depth / (2 * np.pi * vibrato.rate)).astype(_F32)[:, None]
        vib_phase = np.asarray(vibrato.phases, dtype=_F32)[:, None]
    if decays is not None:
        rates = np.asarray(decays, dtype=_F32)[:, None]
    out = np.empty((2, n), _F32)
    for a in range(0, n, _BLOCK):
        m = min(_BLOCK, n - a)
        start = (phase0 + step * a) % 1.0
        ph = offsets[:, :m] + start.astype(_F32)[:, None]
        t = local_t[:m] + _F32(a / sr)
        if vibrato is not None:
            ph += beta * np.sin(_F32(2 * np.pi * vibrato.rate) * t + vib_phase)
        if wave == "saw":
            w = _polyblep_saw(ph, dts)
        elif wave == "brass":
            d = drive[a : a + m]  # type: ignore[index]
            w = np.sin(ph * _F32(2 * np.pi)) + _F32(0.35) * np.sin(ph * _F32(4 * np.pi))
            w = np.tanh(w * d) / np.tanh(d)
        else:
            w = np.sin(ph * _F32(2 * np.pi))
        if decays is not None:
            w *= np.exp(-rates * t)
        block = np.einsum("cv,vm->cm", mixer, w)  # not BLAS: its threads spin for nothing
        if env is not None:
            block *= env[a : a + m]
        out[:, a : a + m] = block
    return out


def _polyblep_saw(ph: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """A sawtooth from phase ``ph`` (V, m) with PolyBLEP anti-aliasing.

    A naive saw's jump folds harmonics above Nyquist back as inharmonic hash about 40 dB
    down, which a low-pass after the fact cannot remove. PolyBLEP smooths the jump over the
    sample before and after it; only those few samples are touched, so it costs little.
    ``dt`` (V, 1) is each voice's phase increment per sample.
    """
    frac = ph - np.floor(ph)
    # Within dt of a wrap <=> |frac - 1/2| > 1/2 - dt; flat indices are much cheaper than 2-D.
    near = np.flatnonzero(np.abs(frac - _F32(0.5)) > _F32(0.5) - dt)
    flat = frac.reshape(-1)
    p = flat[near]
    d = dt[near // frac.shape[1], 0]
    lo = p / d
    hi = (p - 1) / d
    blep = np.where(p < d, lo + lo - lo * lo - 1, hi * hi + hi + hi + 1)
    frac *= 2
    frac -= 1
    flat[near] -= blep
    return frac


def _place(buf: np.ndarray, start: int, sig: np.ndarray) -> None:
    """Add ``sig`` (2, n) into ``buf`` (2, N) at sample ``start``, clipped to the buffer."""
    if start < 0:
        sig = sig[:, -start:]
        start = 0
    end = min(buf.shape[1], start + sig.shape[1])
    if end > start:
        buf[:, start:end] += sig[:, : end - start]


def _place_mono(buf: np.ndarray, start: int, sig: np.ndarray, pan: float, gain: float) -> None:
    _place(buf, start, sig[None, :] * (_pan(pan) * _F32(gain))[:, None])


def _lowpass(sig: np.ndarray, cutoff: float, sr: int) -> np.ndarray:
    """``sig`` (2, n) through a 2nd-order Butterworth low-pass.

    Parts filter each (cached) chord rather than the whole stem: the filter is linear and each
    chord starts from silence, so the sum is the same, for a fraction of the work.
    """
    sos = _signal.butter(2, min(cutoff, 0.45 * sr), fs=sr, output="sos")
    return _signal.sosfilt(sos, sig, axis=-1).astype(_F32, copy=False)


def _filtered_noise(
    rng: np.random.Generator, n: int, sr: int, kind: str, freq: float | tuple[float, float]
) -> np.ndarray:
    edge = np.minimum(np.asarray(freq, dtype=np.float64), 0.45 * sr)  # stay below Nyquist
    sos = _signal.butter(2, edge, btype=kind, fs=sr, output="sos")
    return _signal.sosfilt(sos, rng.standard_normal(n)).astype(_F32)
