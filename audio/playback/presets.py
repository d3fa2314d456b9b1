"""Audition presets: what the mix would sound like on a phone, a laptop, in mono, in a small room
or a large theater — documented filters on the engine's output.

Public surface:
    PRESETS                              name -> one line saying what it does (the order keys cycle)
    PresetStage(sample_rate, channels, *, crossfade_s=0.02, warm_s=0.1)
        .set(name | None, *, fade=True)  switch (None: bypass), from the next sample
        .process(block) -> block         (n, channels) float32, the audio thread
        .name                            the preset heard now (None: bypass)
    design(name, sample_rate, channels) -> a filter with .run(x) (x: (channels, n) float64, in place)

Every preset is a fixed, documented filter (docs/editor.md, "Audition presets"), designed once
per stage from closed forms (no ``scipy.signal`` import: it costs 1.5–2 s at start; the compiled
second-order-sections kernel is the one audio.loudness loads):

- ``mono``: fold-down, M = (L + R) / 2 on both speakers (−6 dB law); 5.1 (6 channels, WAV order
  L R C LFE Ls Rs) first to Lo/Ro by ITU-R BS.775 (C and Ls/Rs at −3 dB, LFE dropped).
- ``laptop``: 4th-order Butterworth high-pass at 150 Hz, 2nd-order Butterworth low-pass at 12 kHz.
- ``phone``: mono fold-down, 4th-order Butterworth high-pass at 300 Hz, 2nd-order Butterworth
  low-pass at 8 kHz (one small speaker).
- ``small-room``: the direct sound and the six first-order wall reflections of a 5 × 4 × 2.6 m
  room (image sources; every surface reflects 0.8 of the pressure), as a sparse FIR normalised
  to unit energy.
- ``theater``: an X-curve (SMPTE ST 202 / ISO 2969) tilt: flat to 2 kHz, −3 dB/octave above,
  as first-order shelving sections (poles at 3.4 kHz × 2.5^i, a zero √2.5 above each).

Filters keep their state from block to block (a render in blocks of 64 or 4096 frames is the
same, sample for sample). A switch never clicks: the new filter is first run over the last
``warm_s`` of what played (so its state is what it would be had it been on all along), then the
output crossfades from the old filter to the new one over ``crossfade_s`` (a raised-cosine,
equal-gain fade: the two are the same music, correlated, so equal gain keeps the level). Bypass
returns the engine's block untouched, bit for bit.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

__all__ = ["PRESETS", "PresetStage", "butterworth", "design", "mono_matrix", "room_taps", "xcurve_db", "xcurve_sections", "xcurve_sos"]

PRESETS: dict[str, str] = {
    "mono": "mono fold-down, (L+R)/2 on both speakers (5.1: ITU-R BS.775 first)",
    "laptop": "laptop speakers: high-pass 150 Hz (24 dB/oct), low-pass 12 kHz (12 dB/oct)",
    "phone": "a phone's speaker: mono, high-pass 300 Hz (24 dB/oct), low-pass 8 kHz (12 dB/oct)",
    "small-room": "a 5 x 4 x 2.6 m room: direct sound + 6 first-order reflections (3.3-11.7 ms)",
    "theater": "a large theater: X-curve (SMPTE ST 202), flat to 2 kHz, -3 dB/octave above",
}

# small-room: the room (width, length, height), the loudspeaker and the listener (x, y, z) in
# metres, the pressure reflection coefficient of every surface, the speed of sound (m/s, 20 °C).
ROOM_SIZE = (4.0, 5.0, 2.6)
ROOM_SOURCE = (2.0, 1.0, 1.2)
ROOM_LISTENER = (2.2, 3.0, 1.2)
ROOM_REFLECTION = 0.8
SPEED_OF_SOUND = 343.0
XCURVE_KNEE_HZ = 2000.0
XCURVE_FIRST_POLE_HZ = 3400.0
XCURVE_RATIO = 2.5
_BS775 = 1.0 / math.sqrt(2.0)  # −3 dB: ITU-R BS.775 Table 2, C and surrounds into Lo/Ro


class Filter(Protocol):
    def run(self, x: np.ndarray) -> None:
        """Filter ``x`` (channels, frames) float64, C-contiguous, in place, keeping the state."""


def _sosfilt(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> None:
    from audio.loudness import _sosfilt_rows  # the compiled kernel, without scipy.signal

    _sosfilt_rows(sos, x, zi)


# ----- designs (closed forms: the bilinear transform, corners pre-warped) -----------------------
def _biquad(kind: str, f0: float, q: float, fs: int) -> list[float]:
    """A 2nd-order high- or low-pass section (RBJ cookbook = bilinear transform, pre-warped at
    ``f0``); Butterworth when ``q`` is one of the Butterworth pole Qs."""
    w0 = 2.0 * math.pi * f0 / fs
    cw, alpha = math.cos(w0), math.sin(w0) / (2.0 * q)
    if kind == "hp":
        b = [(1 + cw) / 2, -(1 + cw), (1 + cw) / 2]
    else:
        b = [(1 - cw) / 2, 1 - cw, (1 - cw) / 2]
    a = [1 + alpha, -2 * cw, 1 - alpha]
    return [v / a[0] for v in b] + [v / a[0] for v in a]


def butterworth(kind: str, order: int, f0: float, fs: int) -> np.ndarray:
    """An even-order Butterworth high-pass (``"hp"``) or low-pass (``"lp"``) as sections; the
    same filter as ``scipy.signal.butter(order, f0, kind, fs=fs, output="sos")``."""
    qs = [1.0 / (2.0 * math.cos(math.pi * (2 * k + 1) / (2 * order))) for k in range(order // 2)]
    return np.array([_biquad(kind, f0, q, fs) for q in qs])


def xcurve_sections(fs: int) -> list[tuple[float, float]]:
    """The theater tilt's (zero, pole) corner frequencies in Hz: poles at 3.4 kHz × 2.5^i, each
    zero √2.5 above its pole (each section falls 10·log10(2.5) dB over log2(2.5) octaves: −3.01
    dB/octave on average), every section whose zero lies below the Nyquist frequency."""
    out = []
    p = XCURVE_FIRST_POLE_HZ
    while p * math.sqrt(XCURVE_RATIO) < fs / 2:
        out.append((p * math.sqrt(XCURVE_RATIO), p))
        p *= XCURVE_RATIO
    return out


def _shelf1(fz: float, fp: float, fs: int) -> list[float]:
    """(s + wz)/(s + wp) · wp/wz (0 dB at DC) by the bilinear transform, each corner pre-warped."""
    k = 2.0 * fs
    wp = k * math.tan(math.pi * fp / fs)
    wz = k * math.tan(math.pi * fz / fs)
    b = [(k + wz) * wp / wz, (wz - k) * wp / wz]
    a = [k + wp, wp - k]
    return [b[0] / a[0], b[1] / a[0], 0.0, 1.0, a[1] / a[0], 0.0]


def xcurve_sos(fs: int) -> np.ndarray:
    return np.array([_shelf1(z, p, fs) for z, p in xcurve_sections(fs)])


def xcurve_db(f: float) -> float:
    """The ideal X-curve: 0 dB up to 2 kHz, −3 dB per octave above."""
    return 0.0 if f <= XCURVE_KNEE_HZ else -3.0 * math.log2(f / XCURVE_KNEE_HZ)


def mono_matrix(channels: int) -> np.ndarray:
    """The fold-down as a (channels, channels) matrix ``y = M @ x``: stereo M = (L+R)/2 to both;
    6 channels as 5.1 in WAV order (L R C LFE Ls Rs): Lo = L + 0.707 C + 0.707 Ls, Ro = R + 0.707 C
    + 0.707 Rs (ITU-R BS.775, LFE dropped), then (Lo+Ro)/2 to L and R, the others silent; mono
    unchanged; any other count: the mean of all channels to every channel."""
    if channels == 1:
        return np.ones((1, 1))
    if channels == 6:
        lo = np.array([1.0, 0.0, _BS775, 0.0, _BS775, 0.0])
        ro = np.array([0.0, 1.0, _BS775, 0.0, 0.0, _BS775])
        m = np.zeros((6, 6))
        m[0] = m[1] = (lo + ro) / 2
        return m
    return np.full((channels, channels), 1.0 / channels)


def room_taps(fs: int) -> list[tuple[int, float]]:
    """The small room's impulse response as (delay in samples, gain): the direct sound at delay 0
    and the six first-order image sources of ``ROOM`` (each mirrored in one surface), delayed by
    their extra path over the speed of sound (rounded to the sample), attenuated by the surface's
    reflection coefficient and by distance (1/r, relative to the direct path); then scaled so
    that the gains' squares sum to 1 (broadband sound keeps its power)."""
    beta, c = ROOM_REFLECTION, SPEED_OF_SOUND
    s = np.array(ROOM_SOURCE, dtype=float)
    li = np.array(ROOM_LISTENER, dtype=float)
    r0 = float(np.linalg.norm(s - li))
    taps = [(0, 1.0)]
    for axis in range(3):
        for wall in (0.0, ROOM_SIZE[axis]):
            img = s.copy()
            img[axis] = 2 * wall - s[axis]
            r = float(np.linalg.norm(img - li))
            taps.append((round((r - r0) / c * fs), beta * r0 / r))
    norm = math.sqrt(sum(g * g for _, g in taps))
    return [(d, g / norm) for d, g in taps]


# ----- filters ----------------------------------------------------------------------------------
class _Chain:
    """A channel matrix (or none), then second-order sections with their state."""

    def __init__(self, channels: int, *, matrix: np.ndarray | None = None, sos: np.ndarray | None = None) -> None:
        self.matrix = matrix
        self.sos = sos
        self.zi = None if sos is None else np.zeros((channels, len(sos), 2))

    def run(self, x: np.ndarray) -> None:
        if self.matrix is not None:
            x[...] = self.matrix @ x
        if self.sos is not None:
            assert self.zi is not None
            _sosfilt(self.sos, x, self.zi)


class _Taps:
    """A sparse FIR: ``y[n] = Σ g·x[n − d]``, keeping the last ``max(d)`` frames of input."""

    def __init__(self, channels: int, taps: list[tuple[int, float]]) -> None:
        self.taps = taps
        self.span = max(d for d, _ in taps)
        self.tail = np.zeros((channels, self.span))

    def run(self, x: np.ndarray) -> None:
        n = x.shape[1]
        buf = np.concatenate((self.tail, x), axis=1)
        s = self.span
        y = np.zeros_like(x)
        for d, g in self.taps:  # the same order for every block: block size changes nothing
            y += g * buf[:, s - d:s - d + n]
        self.tail = buf[:, buf.shape[1] - s:].copy()
        x[...] = y


def design(name: str, sample_rate: int, channels: int) -> Filter:
    """A fresh filter (zero state) for preset ``name``.

    Raises:
        ValueError: for a name that is not in PRESETS.
    """
    fs = int(sample_rate)
    if name == "mono":
        return _Chain(channels, matrix=mono_matrix(channels))
    if name == "laptop":
        return _Chain(channels, sos=np.vstack((butterworth("hp", 4, 150.0, fs), butterworth("lp", 2, 12000.0, fs))))
    if name == "phone":
        return _Chain(channels, matrix=mono_matrix(channels),
                      sos=np.vstack((butterworth("hp", 4, 300.0, fs), butterworth("lp", 2, 8000.0, fs))))
    if name == "small-room":
        return _Taps(channels, room_taps(fs))
    if name == "theater":
        return _Chain(channels, sos=xcurve_sos(fs))
    raise ValueError(f"unknown preset {name!r}: use one of {', '.join(PRESETS)}")


class PresetStage:
    """The preset filter on the engine's output; see the module docstring."""

    def __init__(self, sample_rate: int, channels: int, *, crossfade_s: float = 0.02, warm_s: float = 0.1) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self.name: str | None = None
        self._cur: Filter | None = None
        self._old: Filter | None = None  # faded out during a switch (None: the dry signal)
        self._fading = False
        self.xfade_len = max(1, round(crossfade_s * sample_rate))
        self._xfade_done = 0
        self._hist = np.zeros((channels, max(1, round(warm_s * sample_rate))))  # the last dry frames, a ring
        self._at = 0  # where the next frame goes (the oldest frame is there)

    def set(self, name: str | None, *, fade: bool = True, filt: Filter | None = None) -> None:
        """Hear preset ``name`` (None: bypass) from the next block on; ``filt``: its filter,
        designed beforehand (``design``; the audio thread then only warms it up).

        Raises:
            ValueError: for a name that is not in PRESETS.
        """
        if name == self.name:
            return
        new = filt if filt is not None or name is None else design(name, self.sample_rate, self.channels)
        if new is not None:
            # its state: as if it had been on (its output is discarded)
            new.run(np.ascontiguousarray(np.roll(self._hist, -self._at, axis=1)))
        if fade:
            if not self._fading:  # a switch during a switch fades on from the same old filter
                self._old = self._cur
            self._fading = True
            self._xfade_done = 0
        else:
            self._fading = False
            self._old = None
        self._cur = new
        self.name = name

    def settle(self) -> None:
        """End a switch's crossfade at once (the new preset alone from the next block)."""
        self._fading = False
        self._old = None

    def _remember(self, dry: np.ndarray) -> None:
        h = self._hist
        size, n = h.shape[1], dry.shape[1]
        if n >= size:
            h[...] = dry[:, n - size:]
            self._at = 0
            return
        k = min(n, size - self._at)
        h[:, self._at:self._at + k] = dry[:, :k]
        h[:, :n - k] = dry[:, k:]
        self._at = (self._at + n) % size

    def process(self, block: np.ndarray) -> np.ndarray:
        """``block`` (frames, channels) float32 through the preset: the same array untouched in
        bypass, else a new float32 array."""
        n = block.shape[0]
        if n == 0 or (self._cur is None and not self._fading):
            if n:
                self._remember(block.T)
            return block
        dry = np.array(block.T, dtype=np.float64, order="C")
        y = dry.copy()
        if self._cur is not None:
            self._cur.run(y)
        if self._fading:
            old = dry.copy()
            if self._old is not None:
                self._old.run(old)
            k = min(n, self.xfade_len - self._xfade_done)
            t = (np.arange(self._xfade_done, self._xfade_done + k, dtype=np.float64) + 0.5) / self.xfade_len
            w = 0.5 - 0.5 * np.cos(math.pi * t)  # 0 → 1, raised cosine
            y[:, :k] = y[:, :k] * w + old[:, :k] * (1.0 - w)
            self._xfade_done += k
            if self._xfade_done >= self.xfade_len:
                self._fading = False
                self._old = None
        self._remember(dry)
        return np.ascontiguousarray(y.T, dtype=np.float32)
