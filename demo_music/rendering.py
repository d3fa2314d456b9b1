"""Render an arrangement to stems (each role a stereo float32 array), and mix them down."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from demo_music.arrangement import (
    _F32,
    _MASTER_DB,
    _ROLE_DB,
    HEADROOM_DBFS,
    Arrangement,
    _make_plan,
    _part_seed,
    _validate,
)
from demo_music.dsp import _db
from demo_music.effects import _peak, _shift_slices, _span_window
from demo_music.instruments import _render_part

# --- rendering ------------------------------------------------------------------------------


def render(arr: Arrangement, sample_rate: int = 48000) -> dict[str, np.ndarray]:
    """Render every part of ``arr`` to a stereo stem.

    Args:
        arr: The arrangement.
        sample_rate: 22050 to 192000 Hz; 48000 is the film norm.

    Returns:
        role -> (frames, 2) float32 array, in the order of ``arr.parts``; every stem has
        ``round((seconds + tail_s) * sample_rate)`` frames.

    Raises:
        ValueError: An invalid arrangement, or gains that would push a stem or the mix above
            ``HEADROOM_DBFS``.
    """
    _validate(arr, sample_rate)
    plan = _make_plan(arr, sample_rate)
    stems: dict[str, np.ndarray] = {}
    for part in arr.parts:
        role = part.role
        edits = [e for e in arr.edits if e.role == role]
        audio = _render_part(plan, role, _part_seed(arr.seed, role, part.seed_offset))
        for edit in edits:
            if edit.rewrite:
                alt_seed = _part_seed(
                    arr.seed,
                    role,
                    part.seed_offset,
                    "rewrite",
                    round(edit.start_s * 1000),
                    round(edit.end_s * 1000),
                )
                alt = _render_part(plan, role, alt_seed)
                lo, hi, w = _span_window(edit, sample_rate, plan.n_total)
                audio[:, lo:hi] += w * (alt[:, lo:hi] - audio[:, lo:hi])
        for edit in edits:
            if edit.gain_db:
                lo, hi, w = _span_window(edit, sample_rate, plan.n_total)
                audio[:, lo:hi] *= 1.0 + (_db(edit.gain_db) - 1.0) * w
        # The fixed level, the shift and the (2, N) -> (N, 2) layout in a single pass.
        gain = _F32(_db(_MASTER_DB + _ROLE_DB[role] + part.gain_db))
        shift = int(arr.shift_samples.get(role, 0))
        stem = np.zeros((plan.n_total, 2), _F32)
        src, dst = _shift_slices(shift, plan.n_total)
        np.multiply(audio[:, src].T, gain, out=stem[dst])
        stems[role] = stem

    limit = _db(HEADROOM_DBFS)
    mix = np.zeros_like(next(iter(stems.values())))
    for role, stem in stems.items():
        peak = _peak(stem)
        if peak > limit:
            raise ValueError(
                f"{arr.cue} {role} stem peaks at {20 * math.log10(peak):+.1f} dBFS, above "
                f"{HEADROOM_DBFS} dBFS; lower its gain_db or the gain of its edits"
            )
        mix += stem  # float32 is plenty to compare with a threshold
    peak = _peak(mix)
    if peak > limit:
        raise ValueError(
            f"{arr.cue} mix peaks at {20 * math.log10(peak):+.1f} dBFS, above {HEADROOM_DBFS} "
            "dBFS; lower some parts' gain_db"
        )
    return stems


def mixdown(stems: Mapping[str, np.ndarray]) -> np.ndarray:
    """Sum stems into their mix.

    The sum is plain (unity gain, accumulated in float64 in the mapping's order): headroom is
    handled upstream by ``render``'s fixed gains, so the mix of rendered stems stays below
    ``HEADROOM_DBFS`` and nothing here clips or normalises. Sum stems *as quantized in their
    files* (``audio.bwf.quantize``) to get a mix that nulls against them exactly.

    Args:
        stems: Name -> array, all of the same shape, floating point.

    Returns:
        The sum, float64 if any stem is float64, else float32.

    Raises:
        ValueError: No stems, or stems of different shapes or non-float types.
    """
    if not stems:
        raise ValueError("mixdown needs at least one stem")
    arrays = [np.asarray(s) for s in stems.values()]
    shape = arrays[0].shape
    for name, a in zip(stems, arrays, strict=True):
        if a.shape != shape:
            raise ValueError(f"stem {name!r} has shape {a.shape}, the first stem {shape}")
        if not np.issubdtype(a.dtype, np.floating):
            raise ValueError(f"stem {name!r} is {a.dtype}; stems must be floating point")
    total = np.zeros(shape, dtype=np.float64)
    for a in arrays:
        total += a
    return total.astype(np.result_type(*arrays, np.float32))
