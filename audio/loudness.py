"""Loudness, loudness range and true peak (ITU-R BS.1770-4, EBU R 128 / Tech 3341 / Tech 3342).

Public surface:
    Loudness (frozen dataclass), Loudness.to_dict() -> dict (JSON-safe: None, never NaN/inf)
    LoudnessMeter(sample_rate, channels, *, channel_weights=None, curve_hop_s=1.0)
        .process(block)   feed float samples of shape (frames, channels), any block size
        .result()         -> Loudness for everything fed so far (the meter keeps running)
    measure(data, sample_rate, **kw) -> Loudness          a whole array
    measure_file(path, *, block_frames=65536, **kw) -> Loudness   streams the file
    SlowFilterWarning: warned once per process when the filter falls back to scipy.signal

The meter is streaming: every piece of state (K-weighting filter memory, the partial 10 ms
sub-block, the oversampler history and its partial chunk) carries across ``process`` calls, so
a result does not depend on how the audio was cut into blocks. It keeps one number per 10 ms of
audio (the K-weighted energy of that sub-block) and derives every loudness figure from those:

* integrated loudness: 400 ms blocks every 100 ms, gated at -70 LUFS and -10 LU (BS.1770-4);
* loudness range: 3 s windows every 100 ms, gated at -70 LUFS and -20 LU, 95th minus 10th
  percentile (EBU Tech 3342);
* max momentary (400 ms) and max short-term (3 s) at a 10 ms hop, as a meter reset to silence
  before the programme would show them, and a short-term curve every ``curve_hop_s``.

True peak oversamples 4x (2x at 96 kHz and up, none at 192 kHz and up) with a Kaiser-windowed
sinc interpolator whose phase 0 is the identity, so the true peak is never below the sample
peak. Only chunks that could raise the running maximum are oversampled: see ``_TruePeak``.

Only numpy, soundfile and scipy's compiled ``sosfilt`` kernel are used (see ``_sosfilt_rows``:
loaded without importing ``scipy.signal``, whose import costs 1.5-2 s at every start); nothing
here knows about the UI or git.

Size (over the ~600-line rule, CONTRIBUTING.md): one meter. The figures share one streaming
state and block loop, and the true-peak oversampler and the filter kernel exist only for it;
each part is tested against the EBU vectors as this one module.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import soundfile as sf
from numpy.lib.stride_tricks import as_strided

from audio.errors import AudioError, UnreadableAudio

__all__ = ["Loudness", "LoudnessMeter", "SlowFilterWarning", "measure", "measure_file"]

# BS.1770: loudness = -0.691 + 10 log10(weighted mean square); the offset makes a 997 Hz sine
# at 0 dBFS in one channel read -3.01 LUFS.
_OFFSET_DB = -0.691
_ABS_GATE_LUFS = -70.0
_REL_GATE_LU = -10.0  # BS.1770-4 integrated loudness
_LRA_REL_GATE_LU = -20.0  # EBU Tech 3342
_LRA_PERCENTILES = (10.0, 95.0)

# Everything is built on 10 ms sub-blocks: a 100 ms gating hop is 10 of them, a 400 ms block
# 40, a 3 s window 300. A 10 ms hop for max momentary / short-term is what Tech 3341 cases 10
# and 13 (tones starting every 150 / 20 ms) need to read the full level.
_SUB_PER_S = 100
_SUB_PER_HOP = 10
_MOMENTARY_SUBS = 40
_SHORT_TERM_SUBS = 300

_MIN_SAMPLE_RATE = 8000  # the K-weighting shelf sits at 1.5 kHz; below this it is meaningless
_SURROUND_WEIGHT = 1.41  # BS.1770 channel weight for surround channels (+1.5 dB)
# Larger samples would overflow the float32 copy the oversampler works on.
_MAX_SAMPLE = float(np.finfo(np.float32).max)
# Longest slice fed through the meter at once, so measure() of a long array does not hold
# several float64/float32 copies of all of it.
_MAX_SLICE_FRAMES = 1 << 18


@dataclass(frozen=True)
class Loudness:
    """What the meter measured. Every level is None where it is undefined (never NaN or -inf).

    Attributes:
        integrated_lufs: programme loudness (BS.1770-4 gated); None for silence, for audio
            gated away entirely, or for audio shorter than one 400 ms gating block.
        lra_lu: loudness range (EBU Tech 3342); None when no 3 s window passes the gates
            (silence, or shorter than 3 s).
        true_peak_dbtp: maximum true peak (BS.1770-4 annex 2); None for digital silence.
        sample_peak_dbfs: maximum absolute sample value; None for digital silence.
        max_momentary_lufs: highest 400 ms loudness, 10 ms hop; None for digital silence.
        max_short_term_lufs: highest 3 s loudness, 10 ms hop; None for digital silence.
        short_term_curve: short-term loudness of the 3 s ending at each multiple of
            ``curve_hop_s`` (silence before the start counts as silence); None where -inf.
        curve_hop_s: time between curve points, in seconds (a multiple of 10 ms).
        duration_s: length of the audio measured, in seconds.
    """

    integrated_lufs: float | None
    lra_lu: float | None
    true_peak_dbtp: float | None
    sample_peak_dbfs: float | None
    max_momentary_lufs: float | None
    max_short_term_lufs: float | None
    short_term_curve: list[float | None]
    curve_hop_s: float
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        """The measurement as plain JSON-safe data (floats, None and a list)."""
        return asdict(self)


class LoudnessMeter:
    """A streaming BS.1770-4 / EBU R 128 meter: feed it blocks, ask for the result any time.

    Args:
        sample_rate: in Hz, an integer of at least 8000.
        channels: number of channels in every block, at least 1.
        channel_weights: BS.1770 weight per channel. The default is 1.0 for every channel,
            except for 6, 8 and 12 channels, taken as 5.1, 7.1 and 7.1.4 in WAV order
            (L R C LFE Ls Rs ...): the LFE (4th channel) weighs 0 and the surrounds after it
            (5th-6th for 5.1, 5th-8th for 7.1 and 7.1.4) weigh 1.41; 7.1.4's four height
            channels weigh 1.0. Give weights explicitly for anything else, such as 5.0
            (L R C Ls Rs: ``[1, 1, 1, 1.41, 1.41]``).
        curve_hop_s: spacing of ``Loudness.short_term_curve``, rounded to a multiple of 10 ms.

    Raises:
        ValueError: an argument is out of range; the message says which and why.
    """

    def __init__(
        self,
        sample_rate: int,
        channels: int,
        *,
        channel_weights: Sequence[float] | None = None,
        curve_hop_s: float = 1.0,
    ) -> None:
        self.sample_rate = _check_sample_rate(sample_rate)
        self.channels = _check_channels(channels)
        self.channel_weights = _check_weights(channel_weights, self.channels)
        self._curve_subs = _check_curve_hop(curve_hop_s)
        self._weights = np.asarray(self.channel_weights, dtype=np.float64)
        self._sos = _k_weighting_sos(self.sample_rate)
        # Filter state, carried: per channel, per section, 2 (the layout of _sosfilt_rows).
        self._zi = np.zeros((self.channels, self._sos.shape[0], 2))
        self._frames = 0  # frames fed so far
        self._subs_done = 0  # complete 10 ms sub-blocks so far
        self._sub_acc = 0.0  # K-weighted energy of the sub-block in progress
        # K-weighted energy of each complete sub-block, in a buffer that doubles when full
        # (one small array per process() call would cost more than the audio for tiny blocks).
        self._sub_energy = np.zeros(1024, dtype=np.float64)
        self._sample_peak = 0.0
        self._true_peak = _TruePeak(self.sample_rate, self.channels)

    def process(self, block: np.ndarray) -> None:
        """Feed the next ``block`` of samples.

        Args:
            block: floating-point samples (float32 or float64, full scale 1.0) of shape
                (frames, channels); a 1-D array is accepted when the meter has one channel.
                Any number of frames, including 0. The meter keeps no reference to it.

        Raises:
            ValueError: wrong shape, channel count or dtype, or NaN / infinite samples. The
                meter is left as it was.
        """
        x = self._check_block(block)
        n = x.shape[0]
        if n == 0:
            return
        # max/min rather than abs().max(): no temporary, and NaN/inf show up in the result,
        # which is the up-front finiteness check before any state changes.
        hi, lo = float(x.max()), float(x.min())
        if not (math.isfinite(hi) and math.isfinite(lo)):
            raise ValueError("block contains NaN or infinite samples")
        peak = max(hi, -lo)
        if peak > _MAX_SAMPLE:
            raise ValueError(f"block has a sample of magnitude {peak:.3g}, beyond float32 "
                             "range: that is not audio (full scale is 1.0)")
        self._sample_peak = max(self._sample_peak, peak)
        for start in range(0, n, _MAX_SLICE_FRAMES):
            self._process_slice(x[start:start + _MAX_SLICE_FRAMES], peak)

    def result(self) -> Loudness:
        """Measure everything fed so far. The meter keeps running; call ``process`` again after."""
        sr = self.sample_rate
        n_subs = self._subs_done
        energy = self._sub_energy[:n_subs]
        # Prefix sums turn every window sum into one subtraction. A run of exact zeros adds
        # nothing to a float64 sum, so digital silence still gives exactly 0 after loud audio.
        csum = np.concatenate(([0.0], np.cumsum(energy)))

        def windows(ends: np.ndarray, width: int) -> np.ndarray:
            """Mean square of the ``width`` sub-blocks ending at each of ``ends`` (zero-padded)."""
            starts = ends - width
            total = csum[ends] - csum[np.maximum(starts, 0)]
            # Exact sample counts: 10 ms is not a whole number of samples at every rate.
            length = ends * sr // _SUB_PER_S - starts * sr // _SUB_PER_S
            return np.maximum(total, 0.0) / length

        hop_ends = np.arange(1, n_subs // _SUB_PER_HOP + 1) * _SUB_PER_HOP
        blocks = windows(hop_ends[hop_ends >= _MOMENTARY_SUBS], _MOMENTARY_SUBS)
        short = windows(hop_ends[hop_ends >= _SHORT_TERM_SUBS], _SHORT_TERM_SUBS)
        every = np.arange(1, n_subs + 1)
        curve_ends = np.arange(1, n_subs // self._curve_subs + 1) * self._curve_subs
        # Phase 0 of the oversampler is the samples themselves, so the true peak is never below
        # the sample peak (the max() only hides float32 rounding of the oversampler's copy).
        true_peak = max(self._true_peak.peak(), self._sample_peak)
        return Loudness(
            integrated_lufs=_integrated(blocks),
            lra_lu=_loudness_range(short),
            true_peak_dbtp=_db(true_peak),
            sample_peak_dbfs=_db(self._sample_peak),
            max_momentary_lufs=_max_lufs(windows(every, _MOMENTARY_SUBS)),
            max_short_term_lufs=_max_lufs(windows(every, _SHORT_TERM_SUBS)),
            short_term_curve=[_lufs(z) for z in windows(curve_ends, _SHORT_TERM_SUBS)],
            curve_hop_s=self._curve_subs / _SUB_PER_S,
            duration_s=self._frames / sr,
        )

    # -- internals ---------------------------------------------------------------------------

    def _check_block(self, block: np.ndarray) -> np.ndarray:
        if not isinstance(block, np.ndarray):
            raise ValueError(f"block must be a numpy array, got {type(block).__name__}")
        if block.ndim == 1 and self.channels == 1:
            block = block.reshape(-1, 1)
        if block.ndim != 2:
            raise ValueError(f"block must be a 2-D array of shape (frames, {self.channels}), "
                             f"got a {block.ndim}-D array of shape {block.shape}")
        if block.shape[1] != self.channels:
            raise ValueError(f"block has {block.shape[1]} channels but the meter was made for "
                             f"{self.channels} (shape {block.shape}, expected (frames, channels))")
        if not np.issubdtype(block.dtype, np.floating):
            raise ValueError(f"block must hold floating-point samples (full scale 1.0), got "
                             f"{block.dtype}: scale integer PCM to [-1, 1] first")
        return block

    def _process_rows(self, xt: np.ndarray, peak: float) -> None:
        """``process`` for trusted input (audio.analysis): finite float32 samples as C-contiguous
        channel rows, shape (channels, frames), whose max |sample| is ``peak``. Skips the checks
        and the transposed copies; the result is the same, bit for bit."""
        n = xt.shape[1]
        if n == 0:
            return
        self._sample_peak = max(self._sample_peak, peak)
        for start in range(0, n, _MAX_SLICE_FRAMES):
            part = xt[:, start:start + _MAX_SLICE_FRAMES]
            self._true_peak.process_rows(part, peak)
            # The same filter on the same float64 copy as in _process_slice, in channel rows.
            y = np.array(part, dtype=np.float64, order="C")
            _sosfilt_rows(self._sos, y, self._zi)
            self._add_energy(self._weights @ np.square(y, out=y))
            self._frames += part.shape[1]

    def _process_slice(self, x: np.ndarray, block_peak: float) -> None:
        n = x.shape[0]
        self._true_peak.process(x, block_peak)
        # One channel-major float64 copy (what scipy.signal.sosfilt makes too), filtered in place.
        y = np.array(x.T, dtype=np.float64, order="C")
        _sosfilt_rows(self._sos, y, self._zi)
        energy = self._weights @ np.square(y, out=y)  # sum over channels of G_i * y_i^2
        self._add_energy(energy)
        self._frames += n

    def _add_energy(self, energy: np.ndarray) -> None:
        """Split per-frame energy at the absolute 10 ms boundaries and keep per-sub-block sums."""
        sr, pos, n = self.sample_rate, self._frames, energy.size
        end = pos + n
        # Boundary k sits at frame k*sr//100; the last one at or before `end` is this k:
        last_k = (_SUB_PER_S * (end + 1) - 1) // sr
        if last_k <= self._subs_done:
            self._sub_acc += float(energy.sum())
            return
        ks = np.arange(self._subs_done + 1, last_k + 1, dtype=np.int64)
        bounds = ks * sr // _SUB_PER_S - pos  # local frame index of each boundary, in (0, n]
        done = bounds.size
        starts = np.concatenate(([0], bounds[bounds < n]))
        sums = np.add.reduceat(energy, starts)
        sums[0] += self._sub_acc
        self._sub_acc = float(sums[done]) if sums.size > done else 0.0
        if last_k > self._sub_energy.size:
            grown = np.zeros(max(2 * self._sub_energy.size, last_k), dtype=np.float64)
            grown[:self._subs_done] = self._sub_energy[:self._subs_done]
            self._sub_energy = grown
        self._sub_energy[self._subs_done:last_k] = sums[:done]
        self._subs_done = int(last_k)


class _TruePeak:
    """Streaming true-peak meter with an exact shortcut.

    Oversampling is a polyphase FIR: interpolated sample ``y_p[t] = sum_k h_p[k] x[t-k]`` for
    each phase ``p``; phase 0 is the identity (the original samples). For any stretch of
    output, ``|y_p[t]| <= sum_k |h_p[k]| * max|x|`` over the input it reads, so with
    ``bound = max_p sum_k |h_p[k]|`` a chunk whose input peak times ``bound`` is below the
    running maximum cannot raise it and is not oversampled. The running maximum starts at the
    sample peak of everything fed (phase 0 is part of the output), chunks are visited loudest
    first, and the bound carries a 1e-4 margin that covers float32 rounding, so the result is
    bit-for-bit the one of oversampling every chunk (``shortcut=False``).

    Chunks sit on an absolute grid of ``_CHUNK`` frames from the first sample and each is
    computed alone with the same shapes, so neither the block sizes fed nor which chunks are
    skipped can change a single bit of the result. Audio is buffered up to ``_BATCH`` frames
    before a scan, so that "loudest first" sees seconds of audio at a time.

    The filter runs as one matrix product per chunk: with the signal cut into rows of ``b``
    frames, row ``j`` of the output depends only on input rows ``j-1`` and ``j``, so
    ``[x_{j-1} | x_j] @ W`` with a (2b, (L-1)b) block-Toeplitz ``W`` gives every phase at once,
    in float32 BLAS, with no per-sample Python.
    """

    _TAPS = 24  # per phase: flat to 0.07 dB up to 20 kHz at 48 kHz, images below -80 dB
    _BETA = 8.0  # Kaiser window
    _CHUNK = 85 * _TAPS  # 2040 frames (~43 ms at 48 kHz): fine enough to skip quiet stretches
    _BATCH = 128 * _CHUNK  # frames buffered before a scan (~5 s at 48 kHz)
    _MARGIN = 1.0 + 1e-4  # float32: a computed output exceeds its exact bound by < 2e-6
    _FIRST_BATCH = 2  # chunks in the first product: the loudest set the running maximum ...
    _MAX_BATCH = 64  # ... then growing batches (x4) up to this: ~2 MB of float32 per product

    def __init__(self, sample_rate: int, channels: int, *, shortcut: bool = True) -> None:
        self.shortcut = shortcut
        self.factor = 4 if sample_rate < 96000 else 2 if sample_rate < 192000 else 1
        # Work counters for tests and benchmarks: chunks scanned and chunks oversampled, the
        # flush done by the latest peak() included.
        self.chunks_seen = 0
        self.chunks_oversampled = 0
        self._scanned = (0, 0)  # the same, without the flush
        self._channels = channels
        self._max = 0.0  # max |interpolated sample| over the chunks scanned
        self._floor = 0.0  # sample peak of everything fed: phase 0 of the output
        # float32 frames not yet scanned, after TAPS frames of history (zeros at the start),
        # in channel rows: the audio is copied once, into here, and scanned in place.
        self._ext = np.zeros((channels, self._TAPS + self._BATCH), dtype=np.float32)
        self._buffered = 0
        if self.factor > 1:
            _one_blas_thread()
            phases = _interpolation_phases(self.factor, self._TAPS, self._BETA).astype(np.float32)
            bound = float(np.abs(phases.astype(np.float64)).sum(axis=1).max())
            self._bound = bound * self._MARGIN
            self._w = _block_toeplitz(phases, self._TAPS)

    def process(self, x: np.ndarray, peak: float) -> None:
        """Feed finite samples of shape (frames, channels).

        ``peak`` is the max |sample| of the block ``x`` belongs to (``x`` may be a slice of it):
        a value the result includes anyway, so it can only raise the floor of the shortcut.
        """
        self.process_rows(x.T, peak)

    def process_rows(self, xt: np.ndarray, peak: float) -> None:
        """``process`` for channel rows, shape (channels, frames): copied without a transpose."""
        n = xt.shape[1]
        if n == 0:
            return
        # Rounding to float32 is monotonic, so this is exactly the peak of the float32 copy.
        self._floor = max(self._floor, float(np.float32(peak)))
        if self.factor == 1:
            return
        b = self._TAPS
        end = b + self._buffered + n
        if end > self._ext.shape[1]:  # a block larger than the batch
            grown = np.zeros((self._channels, end), dtype=np.float32)
            grown[:, :b + self._buffered] = self._ext[:, :b + self._buffered]
            self._ext = grown
        self._ext[:, b + self._buffered:end] = xt  # converts to float32
        self._buffered += n
        if self._buffered >= self._BATCH:
            done = self._buffered // self._CHUNK * self._CHUNK
            self._max, seen, oversampled = self._scan(self._ext[:, :b + done], self._max)
            self._scanned = (self._scanned[0] + seen, self._scanned[1] + oversampled)
            self.chunks_seen, self.chunks_oversampled = self._scanned
            # Keep the last TAPS frames scanned as history, and what is left after them.
            self._buffered -= done
            self._ext[:, :b + self._buffered] = self._ext[:, done:end].copy()

    def peak(self) -> float:
        """The true peak (linear) of everything fed, as if followed by silence. Does not consume."""
        if self.factor == 1:
            return self._floor
        b, k = self._TAPS, self._CHUNK
        # The buffered frames plus enough silence for the filter to ring out after the last
        # sample (TAPS-1 frames), rounded up to whole chunks so every chunk has the same shape.
        frames = -(-(self._buffered + b - 1) // k) * k
        ext = np.zeros((self._channels, b + frames), dtype=np.float32)
        ext[:, :b + self._buffered] = self._ext[:, :b + self._buffered]
        peak, seen, oversampled = self._scan(ext, self._max)
        self.chunks_seen = self._scanned[0] + seen
        self.chunks_oversampled = self._scanned[1] + oversampled
        return max(peak, self._floor)

    def _scan(self, ext: np.ndarray, running: float) -> tuple[float, int, int]:
        """Max of ``running`` and the oversampled chunks of ``ext`` that could raise it.

        ``ext`` holds TAPS frames of history then whole chunks of ``_CHUNK`` frames.
        Returns (max, chunks, chunks oversampled).
        """
        k, b, c = self._CHUNK, self._TAPS, self._channels
        q = (ext.shape[1] - b) // k
        # Peaks per chunk (over all channels) from contiguous rows: max and min instead of
        # abs() to avoid a temporary as large as the audio.
        own = ext[:, b:b + q * k].reshape(c, q, k)
        before = ext[:, :q * k].reshape(c, q, k)[:, :, :b]  # the b frames each chunk reads first
        span_peak = np.maximum(np.maximum(own.max(axis=2), -own.min(axis=2)),
                               np.maximum(before.max(axis=2), -before.min(axis=2))).max(axis=0)
        oversampled = 0
        # Loudest first: the first chunks set a high running maximum, so more of the rest fall
        # below it. Visiting order cannot change a maximum, only how much work it takes.
        order = np.argsort(-span_peak, kind="stable")
        could = span_peak[order] * self._bound  # descending
        pos, batch = 0, self._FIRST_BATCH
        while pos < q:
            if self.shortcut:
                # Sorted, and the maximum only grows: the chunks that could still raise it are
                # a prefix of what is left.
                left = int(np.count_nonzero(could[pos:] >= max(running, self._floor)))
                if left == 0:
                    break
            else:
                left = q - pos
            take = order[pos:pos + min(left, batch)]
            running = max(running, self._oversampled_max(ext, take, q))
            pos += take.size
            oversampled += take.size
            batch = min(batch * 4, self._MAX_BATCH)
        return running, q, oversampled

    def _oversampled_max(self, ext: np.ndarray, chunks: np.ndarray, q: int) -> float:
        """Max |y_p| over the interpolated phases of the given chunks of ``ext``.

        The chunks are gathered in one copy and reduced in one max/min, so the Python cost is
        paid per batch; the products stay one per chunk, all of the same shape: BLAS rounds a
        row differently depending on where it falls in a larger matrix (its edge kernels), so
        one product for the whole batch would make a chunk's result depend on which others are
        computed. This way the shortcut stays exact bit for bit
        (test_true_peak_shortcut_is_exact compares it with oversampling everything).
        """
        b, k, c = self._TAPS, self._CHUNK, self._channels
        s_ch, s_fr = ext.strides  # ext is (channels, frames)
        # [chunk, channel, row] is frames [i*k + j*b, i*k + j*b + 2b) of one channel: the
        # previous row of b frames and the current one. Indexing gathers it contiguously.
        view = as_strided(ext, shape=(q, c, k // b, 2 * b), strides=(k * s_fr, s_ch, b * s_fr, s_fr),
                          writeable=False)
        x = view[chunks].reshape(chunks.size, c * (k // b), 2 * b)
        y = np.empty((chunks.size, c * (k // b), self._w.shape[1]), dtype=np.float32)
        for i in range(chunks.size):  # one product per chunk: see the docstring
            np.matmul(x[i], self._w, out=y[i])
        return float(max(y.max(), -y.min()))


def measure(data: np.ndarray, sample_rate: int, **kw: Any) -> Loudness:
    """Measure a whole array at once.

    Args:
        data: floating-point samples, shape (frames,) for mono or (frames, channels).
        sample_rate: in Hz.
        **kw: passed to ``LoudnessMeter`` (``channel_weights``, ``curve_hop_s``).

    Raises:
        ValueError: bad shape, dtype, sample rate or samples (NaN / inf).
    """
    if not isinstance(data, np.ndarray):
        raise ValueError(f"data must be a numpy array, got {type(data).__name__}")
    if data.ndim == 1:
        data = data.reshape(-1, 1)
    if data.ndim != 2:
        raise ValueError("data must be a 1-D (mono) or 2-D (frames, channels) array, got a "
                         f"{data.ndim}-D array of shape {data.shape}")
    if data.shape[1] == 0:
        raise ValueError(f"data has zero channels (shape {data.shape})")
    meter = LoudnessMeter(sample_rate, data.shape[1], **kw)
    meter.process(data)
    return meter.result()


def measure_file(
    path: str | os.PathLike[str] | BinaryIO, *, block_frames: int = 65536, **kw: Any
) -> Loudness:
    """Measure an audio file, reading it ``block_frames`` at a time (never all of it at once).

    Args:
        path: a path, or a binary file object soundfile can read.
        block_frames: frames read per block; changes memory use, not the result.
        **kw: passed to ``LoudnessMeter`` (``channel_weights``, ``curve_hop_s``).

    Raises:
        UnreadableAudio: the file is missing, not audio libsndfile can read, or holds NaN /
            infinite samples.
        ValueError: a bad argument.
    """
    if isinstance(block_frames, bool) or not isinstance(block_frames, int) or block_frames < 1:
        raise ValueError(f"block_frames must be a positive integer, got {block_frames!r}")
    name = Path(path).name if isinstance(path, (str, os.PathLike)) else "audio file"
    try:
        with sf.SoundFile(path) as f:
            if f.samplerate < _MIN_SAMPLE_RATE or f.channels < 1:
                raise UnreadableAudio(f"{name}: {f.channels} channels at {f.samplerate} Hz "
                                      f"cannot be measured (needs >= {_MIN_SAMPLE_RATE} Hz)")
            meter = LoudnessMeter(f.samplerate, f.channels, **kw)
            for block in _blocks(f, block_frames):
                try:
                    meter.process(block)
                except ValueError as e:
                    raise UnreadableAudio(f"{name}: {e}: the file is corrupt") from None
    except (sf.SoundFileError, OSError) as e:
        reason = str(e).split(":", 1)[-1].strip() or "unknown format"
        raise UnreadableAudio(f"{name}: not readable as audio ({reason})") from None
    return meter.result()


# -- helpers -----------------------------------------------------------------------------------


def _blocks(f: sf.SoundFile, block_frames: int) -> Iterator[np.ndarray]:
    # float32 is exact for up to 24-bit PCM and halves what libsndfile writes per block.
    return f.blocks(blocksize=block_frames, dtype="float32", always_2d=True)


def _check_sample_rate(sample_rate: int) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
        raise ValueError(f"sample_rate must be an integer number of Hz, got {sample_rate!r}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if sample_rate < _MIN_SAMPLE_RATE:
        raise ValueError(f"sample_rate {sample_rate} Hz is below the {_MIN_SAMPLE_RATE} Hz "
                         "this meter supports (BS.1770 K-weighting shelves at 1.5 kHz)")
    return int(sample_rate)


def _check_channels(channels: int) -> int:
    if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)):
        raise ValueError(f"channels must be an integer, got {channels!r}")
    if channels < 1:
        raise ValueError(f"channels must be at least 1, got {channels}")
    return int(channels)


def _check_weights(weights: Sequence[float] | None, channels: int) -> tuple[float, ...]:
    if weights is None:
        w = [1.0] * channels
        surrounds = {6: (4, 5), 8: (4, 5, 6, 7), 12: (4, 5, 6, 7)}.get(channels)
        if surrounds:
            w[3] = 0.0  # LFE is not measured
            for i in surrounds:
                w[i] = _SURROUND_WEIGHT
        return tuple(w)
    try:
        w = [float(v) for v in weights]
    except (TypeError, ValueError):
        raise ValueError(f"channel_weights must be a sequence of numbers, got {weights!r}") from None
    if len(w) != channels:
        raise ValueError(f"channel_weights has {len(w)} weights for {channels} channels: "
                         "give one weight per channel")
    if not all(math.isfinite(v) and v >= 0 for v in w):
        raise ValueError(f"channel_weights must be finite and >= 0, got {w}")
    return tuple(w)


def _check_curve_hop(curve_hop_s: float) -> int:
    try:
        hop = float(curve_hop_s)
    except (TypeError, ValueError):
        raise ValueError(f"curve_hop_s must be a number of seconds, got {curve_hop_s!r}") from None
    if not math.isfinite(hop) or hop < 1.0 / _SUB_PER_S - 1e-9:
        raise ValueError(f"curve_hop_s must be at least 0.01 s, got {curve_hop_s!r}")
    return max(1, round(hop * _SUB_PER_S))


def _k_weighting_sos(sample_rate: int) -> np.ndarray:
    """BS.1770 K-weighting as two biquads, designed like pyloudnorm's IIRfilter (RBJ cookbook).

    Stage 1 is a +4 dB high shelf at 1500 Hz (Q 1/sqrt(2)), stage 2 a 38 Hz high pass (Q 0.5).
    Designing from these parameters (rather than hard-coding the 48 kHz coefficients of the
    standard) works at any rate and agrees with pyloudnorm to rounding.
    """
    def cookbook(kind: str, gain_db: float, q: float, fc: float) -> list[float]:
        a = 10.0 ** (gain_db / 40.0)
        w0 = 2.0 * math.pi * fc / sample_rate
        cw, alpha = math.cos(w0), math.sin(w0) / (2.0 * q)
        if kind == "high_shelf":
            sa = 2.0 * math.sqrt(a) * alpha
            b = [a * ((a + 1) + (a - 1) * cw + sa), -2 * a * ((a - 1) + (a + 1) * cw),
                 a * ((a + 1) + (a - 1) * cw - sa)]
            den = [(a + 1) - (a - 1) * cw + sa, 2 * ((a - 1) - (a + 1) * cw),
                   (a + 1) - (a - 1) * cw - sa]
        else:  # high_pass
            b = [(1 + cw) / 2, -(1 + cw), (1 + cw) / 2]
            den = [1 + alpha, -2 * cw, 1 - alpha]
        return [v / den[0] for v in b] + [v / den[0] for v in den]

    return np.array([cookbook("high_shelf", 4.0, 1 / math.sqrt(2), 1500.0),
                     cookbook("high_pass", 0.0, 0.5, 38.0)])


class SlowFilterWarning(RuntimeWarning):
    """The meter filters through ``scipy.signal.sosfilt`` (same results, a slower start): the
    compiled kernel could not be loaded on its own, or STEMVAULT_NO_FAST_SOSFILT asked so."""


def _fast_filter_off() -> bool:
    """``STEMVAULT_NO_FAST_SOSFILT``: unset, empty or 0 (the fast kernel) or 1 (scipy.signal).

    Raises:
        AudioError: any other value, naming the variable (never silently one or the other).
    """
    raw = os.environ.get("STEMVAULT_NO_FAST_SOSFILT", "")
    if raw not in ("", "0", "1"):
        raise AudioError(f"environment variable STEMVAULT_NO_FAST_SOSFILT={raw!r} must be 1 (filter through "
                         "scipy.signal.sosfilt) or 0: fix it, or unset it for the fast filter")
    return raw == "1"


def _load_sosfilt() -> Callable[[np.ndarray, np.ndarray, np.ndarray], None]:
    """scipy's compiled second-order-sections kernel, loaded without ``import scipy.signal``.

    ``scipy.signal`` imports most of scipy (stats, interpolate, docstring parsing ...): 1.5-2 s
    of CPU at every start, paid twice by a pooled analysis (the parent and the fork server),
    against a filter that needs one C loop. The kernel (``scipy/signal/_sosfilt``, the one
    ``scipy.signal.sosfilt`` calls after its checks and copies) depends on numpy only. It is
    registered under its own name, so a later ``import scipy.signal`` reuses it. Anything
    unexpected (another scipy layout), or ``STEMVAULT_NO_FAST_SOSFILT=1`` in the environment,
    falls back to ``scipy.signal.sosfilt``: same kernel, same bits, slower start — said once per
    process by a ``SlowFilterWarning`` naming the reason (tests/test_loudness.py runs both paths).
    """
    name = "scipy.signal._sosfilt"
    mod = sys.modules.get(name)
    reason = f"no {name} in this scipy"
    if _fast_filter_off():
        mod, reason = None, "STEMVAULT_NO_FAST_SOSFILT is set"
    elif mod is None:
        try:
            import importlib.machinery
            import importlib.util

            spec = importlib.util.find_spec("scipy")
            roots = list(spec.submodule_search_locations or []) if spec else []
            for root in roots:
                for suffix in importlib.machinery.EXTENSION_SUFFIXES:
                    path = os.path.join(root, "signal", "_sosfilt" + suffix)
                    if os.path.isfile(path):
                        loader = importlib.machinery.ExtensionFileLoader(name, path)
                        ext = importlib.util.spec_from_file_location(name, path, loader=loader)
                        if ext is not None:
                            mod = importlib.util.module_from_spec(ext)
                            loader.exec_module(mod)
                            sys.modules[name] = mod
                            break
                if mod is not None:
                    break
        except (ImportError, OSError, AttributeError, ValueError) as e:
            mod, reason = None, f"loading {name} failed: {type(e).__name__}: {e}"
    fn = getattr(mod, "_sosfilt", None)
    if callable(fn):
        return fn
    if mod is not None:
        reason = f"{name} has no _sosfilt"
    warnings.warn(f"the loudness meter's fast filter is not available ({reason}): using "
                  "scipy.signal.sosfilt instead (the same results; importing scipy.signal adds "
                  "1.5-2 s to the start of each process that measures)", SlowFilterWarning, stacklevel=2)

    def fallback(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> None:
        import scipy.signal

        y, zf = scipy.signal.sosfilt(sos, x, axis=1, zi=zi.transpose(1, 0, 2))
        x[...] = y
        zi[...] = zf.transpose(1, 0, 2)

    return fallback


_SOSFILT: Callable[[np.ndarray, np.ndarray, np.ndarray], None] | None = None


def _sosfilt_rows(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> None:
    """Filter C-contiguous float64 channel rows ``x`` (channels, frames) in place through
    ``sos``, carrying the state ``zi`` (channels, sections, 2) in place."""
    global _SOSFILT
    if _SOSFILT is None:
        _SOSFILT = _load_sosfilt()
    _SOSFILT(sos, x, zi)


_blas_limited = False


def _one_blas_thread() -> None:
    """Hold numpy's BLAS to one thread, once per process, unless OPENBLAS_NUM_THREADS says.

    The true-peak products are small (170 x 48 by 48 x 72): OpenBLAS splits them over threads
    that spin while they wait, which on a busy 2-core machine made the meter 3-5x slower, and
    the analysis is parallel by processes anyway. threadpoolctl finds the BLAS numpy loaded.
    """
    global _blas_limited
    if _blas_limited:
        return
    _blas_limited = True
    if os.environ.get("OPENBLAS_NUM_THREADS"):
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def _interpolation_phases(factor: int, taps: int, beta: float) -> np.ndarray:
    """Phases 1..factor-1 of a Kaiser-windowed sinc interpolator, ``taps`` taps each.

    The prototype has ``factor*taps + 1`` taps centred on a multiple of ``factor``, so phase 0
    would be a pure delay (the identity) and is not computed. Each phase is scaled to unit DC
    gain so a constant interpolates to itself.
    """
    n = np.arange(factor * taps + 1)
    centre = taps // 2 * factor
    h = np.sinc((n - centre) / factor) * np.kaiser(n.size, beta)
    phases = np.stack([h[p::factor][:taps] for p in range(1, factor)])
    return phases / phases.sum(axis=1, keepdims=True)


def _block_toeplitz(phases: np.ndarray, b: int) -> np.ndarray:
    """W such that ``[x[jb-b : jb+b]] @ W`` is ``y_p[jb+i]`` at column ``p*b+i`` (see _TruePeak)."""
    n_phases, taps = phases.shape
    w = np.zeros((2 * b, n_phases * b), dtype=phases.dtype)
    i = np.arange(b)[:, None]
    k = np.arange(taps)[None, :]
    for p in range(n_phases):
        # y_p[jb+i] = sum_k h_p[k] x[jb+i-k], and x[jb+i-k] is entry b+i-k of the row.
        w[b + i - k, p * b + i] = phases[p][None, :]
    return w


def _integrated(z: np.ndarray) -> float | None:
    """Gated loudness of 400 ms block mean squares ``z`` (BS.1770-4 section 2.8)."""
    z = z[z > _power(_ABS_GATE_LUFS)]
    if z.size == 0:
        return None
    z = z[z > z.mean() * 10.0 ** (_REL_GATE_LU / 10.0)]
    return _lufs(float(z.mean()))


def _loudness_range(z: np.ndarray) -> float | None:
    """Loudness range of 3 s window mean squares ``z`` (EBU Tech 3342)."""
    z = z[z > _power(_ABS_GATE_LUFS)]
    if z.size == 0:
        return None
    z = z[z >= z.mean() * 10.0 ** (_LRA_REL_GATE_LU / 10.0)]
    levels = _OFFSET_DB + 10.0 * np.log10(z)
    lo, hi = np.percentile(levels, _LRA_PERCENTILES)
    return float(hi - lo)


def _power(lufs: float) -> float:
    """The weighted mean square that reads ``lufs``."""
    return 10.0 ** ((lufs - _OFFSET_DB) / 10.0)


def _lufs(mean_square: float) -> float | None:
    return _OFFSET_DB + 10.0 * math.log10(mean_square) if mean_square > 0 else None


def _max_lufs(z: np.ndarray) -> float | None:
    return _lufs(float(z.max())) if z.size else None


def _db(linear: float) -> float | None:
    return 20.0 * math.log10(linear) if linear > 0 else None
