"""Loudness-normalised copies and stereo previews of delivered audio (``stemvault export``).

Public surface:
    GainPlan (dataclass), plan_gain(integrated_lufs, true_peak_dbtp, target_lufs, ceiling_dbtp)
        the one gain that brings a programme to a target, stopped by a true-peak ceiling
    write_gained(src, dst, gain_db, *, time_reference=0, description="") -> None
        a 24-bit BWF copy of ``src`` with a constant gain (no limiter, no dither)
    measure_peak(paths) -> float | None      the highest true peak (dBTP) of several files
    FOLD_DOWN_LAYOUTS, fold_down_matrix(channels) -> ndarray | None
    mp3_support() -> str | None              "soundfile" or None (the caller says so)
    write_preview_mp3(src, dst) -> None   a stereo MP3 (folded down when 5.1 / 7.1)

A loudness copy is a plain gain: every sample times one factor, so stems given the gain of their
mix still sum to the gained mix (up to the 24-bit quantization). A gain that would push the true
peak over the ceiling is reduced to what the ceiling allows (``GainPlan.limited``): the copy then
lands below the target, and the caller says so. There is no limiter: changing the waveform of a
delivery is a mastering decision, never a side effect of an export.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from audio.bwf import BwfStream
from audio.errors import UnreadableAudio
from audio.loudness import LoudnessMeter

__all__ = ["FOLD_DOWN_LAYOUTS", "GainPlan", "fold_down_matrix", "measure_peak", "mp3_support",
           "plan_gain", "write_gained", "write_preview_mp3"]

_BLOCK = 1 << 16
# The copy is aimed this far under the ceiling: the 24-bit quantization and another meter's
# interpolator (ffmpeg's ebur128) may read a few hundredths of a dB higher than ours.
CEILING_MARGIN_DB = 0.05
_SQRT_HALF = math.sqrt(0.5)
FOLD_DOWN_LAYOUTS = (6, 8)  # 5.1 and 7.1, in WAVE channel order


@dataclass(frozen=True)
class GainPlan:
    """The gain of one loudness copy.

    Attributes:
        gain_db: the gain applied to every sample.
        expected_lufs: the integrated loudness the copy will have.
        expected_peak_dbtp: its true peak (None for silence).
        limited: the true-peak ceiling stopped the gain short of the target.
    """

    target_lufs: float
    gain_db: float
    expected_lufs: float
    expected_peak_dbtp: float | None
    limited: bool


def plan_gain(integrated_lufs: float, true_peak_dbtp: float | None, target_lufs: float,
              ceiling_dbtp: float) -> GainPlan:
    """The gain that brings a programme measured at ``integrated_lufs`` to ``target_lufs``,
    reduced when the true peak (``true_peak_dbtp``, None for silence) would pass the ceiling."""
    gain = target_lufs - integrated_lufs
    limited = False
    if true_peak_dbtp is not None and true_peak_dbtp + gain > ceiling_dbtp - CEILING_MARGIN_DB:
        gain = ceiling_dbtp - CEILING_MARGIN_DB - true_peak_dbtp
        limited = True
    peak = None if true_peak_dbtp is None else true_peak_dbtp + gain
    return GainPlan(target_lufs, round(gain, 6), integrated_lufs + gain, peak, limited)


def write_gained(src: Path, dst: Path, gain_db: float, *, time_reference: int = 0,
                 description: str = "") -> None:
    """Write ``src`` times ``10^(gain_db/20)`` to ``dst`` as a 24-bit BWF file (start timecode
    kept as ``time_reference``). The caller makes it atomic (it writes in a temporary folder).

    Raises:
        UnreadableAudio: ``src`` cannot be read as audio.
    """
    factor = 10.0 ** (gain_db / 20.0)
    try:
        with sf.SoundFile(src) as f:
            out = BwfStream(dst, f.samplerate, f.channels, subtype="PCM_24",
                            time_reference=time_reference, description=description[:256])
            try:
                for block in f.blocks(blocksize=_BLOCK, dtype="float64", always_2d=True):
                    out.write(block * factor)
            finally:
                out.close()
    except sf.SoundFileError as e:
        raise UnreadableAudio(f"{src.name}: not readable as audio ({e})") from None


def measure_peak(paths: list[Path]) -> float | None:
    """The highest true peak (dBTP, the project's meter) over ``paths``; None when all are silent."""
    worst: float | None = None
    for p in paths:
        with sf.SoundFile(p) as f:
            meter = LoudnessMeter(f.samplerate, f.channels)
            for block in f.blocks(blocksize=_BLOCK, dtype="float32", always_2d=True):
                meter.process(block)
        tp = meter.result().true_peak_dbtp
        if tp is not None and (worst is None or tp > worst):
            worst = tp
    return worst


def fold_down_matrix(channels: int) -> np.ndarray | None:
    """The stereo fold-down of 5.1 (6) or 7.1 (8) channels in WAVE order (L R C LFE Ls Rs [Lrs
    Rrs]): ITU-R BS.775 coefficients, centre and surrounds at -3 dB, LFE left out. None for
    other counts (1 and 2 channels need none; others have no agreed fold-down)."""
    if channels not in FOLD_DOWN_LAYOUTS:
        return None
    m = np.zeros((channels, 2))
    m[0, 0] = m[1, 1] = 1.0
    m[2, 0] = m[2, 1] = _SQRT_HALF
    for left in range(4, channels, 2):
        m[left, 0] = _SQRT_HALF
        m[left + 1, 1] = _SQRT_HALF
    return m


def mp3_support() -> str | None:
    """How an MP3 can be written here: "soundfile" (libsndfile built with MPEG, 1.1 and later),
    or None. There is no ffmpeg route: ``audio`` runs no subprocess (the layer contract in
    pyproject.toml), and the libsndfile the soundfile wheels (0.12 and later) bundle has MPEG."""
    if "MP3" in sf.available_formats():
        return "soundfile"
    return None


def _stereo_blocks(f: sf.SoundFile, matrix: np.ndarray | None, scale: float) -> Iterator[np.ndarray]:
    for block in f.blocks(blocksize=_BLOCK, dtype="float64", always_2d=True):
        x = block @ matrix if matrix is not None else block
        if x.shape[1] == 1:
            x = np.repeat(x, 2, axis=1)
        yield x * scale


def write_preview_mp3(src: Path, dst: Path) -> None:
    """A stereo MP3 preview of ``src`` (folded down when it is 5.1 or 7.1; scaled down when the
    fold-down would clip) at ``dst``.

    Raises:
        UnreadableAudio: ``src`` cannot be read, or has a channel count with no fold-down.
        OSError: no MP3 encoder (``mp3_support()`` is None).
    """
    how = mp3_support()
    with sf.SoundFile(src) as f:
        matrix = fold_down_matrix(f.channels) if f.channels > 2 else None
        if f.channels > 2 and matrix is None:
            raise UnreadableAudio(f"{src.name}: {f.channels} channels have no stereo fold-down (5.1 and 7.1 do)")
        peak = 0.0
        if matrix is not None:  # a first pass: the fold-down's peak, so the preview does not clip
            for x in _stereo_blocks(f, matrix, 1.0):
                peak = max(peak, float(np.max(np.abs(x))) if len(x) else 0.0)
            f.seek(0)
        scale = 0.98 / peak if peak > 0.98 else 1.0
        if how is None:
            raise OSError("no MP3 encoder: this libsndfile was built without MPEG (libsndfile >= 1.1 has it)")
        with sf.SoundFile(dst, "w", samplerate=f.samplerate, channels=2, format="MP3",
                          subtype="MPEG_LAYER_III") as out:
            for x in _stereo_blocks(f, matrix, scale):
                out.write(x)
