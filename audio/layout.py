"""The name of a file's channel layout: one table for the probe, the analysis and the manifest.

Public surface:
    layout_of(channels, mask) -> str, MASK_LAYOUTS

The rule: when the file carries a WAVE_FORMAT_EXTENSIBLE channel mask (Microsoft's speaker
bits), the layout comes from the mask — ``mono``, ``stereo``, ``LCR``, ``quad``, ``5.0``,
``5.1``, ``7.1``, ``7.1.4``... where the mask says so, ``"6ch mask 0x60F"``-like for a mask of
no common layout or one that positions fewer (or more) channels than the file has. Without a
mask (plain WAV, FLAC, AIFF, or a mask of 0, "no positions"), 1 channel is ``mono``, 2 are
``stereo`` and anything else is ``"Nch"``: a count is not a layout (three unmarked channels may
be a 3-mic stem as well as L C R).
"""

from __future__ import annotations

__all__ = ["MASK_LAYOUTS", "layout_of"]

# WAVE_FORMAT_EXTENSIBLE channel masks of common layouts: FL 0x1, FR 0x2, FC 0x4, LFE 0x8,
# BL 0x10, BR 0x20, FLC 0x40, FRC 0x80, BC 0x100, SL 0x200, SR 0x400, TFL 0x1000, TFR 0x4000,
# TBL 0x8000, TBR 0x20000 (x.1.2 adds the top front pair, x.1.4 the top front and back pairs).
MASK_LAYOUTS = {
    0x4: "mono", 0x3: "stereo", 0x7: "LCR", 0x33: "quad", 0x107: "LCRS", 0x37: "5.0", 0x607: "5.0",
    0x3F: "5.1", 0x60F: "5.1", 0x13F: "6.1", 0x70F: "6.1", 0x63F: "7.1", 0xFF: "7.1 (SDDS)",
    0x563F: "7.1.2", 0x2D63F: "7.1.4", 0x2D60F: "5.1.4", 0x560F: "5.1.2",
}


def layout_of(channels: int, mask: int | None) -> str:
    """The layout name of ``channels`` channels with WAVE_FORMAT_EXTENSIBLE ``mask`` (None when
    the file has none), by the rule of the module docstring."""
    if mask:
        name = MASK_LAYOUTS.get(mask)
        if name is not None and mask.bit_count() == channels:
            return name
        return f"{channels}ch mask 0x{mask:X}"
    return {1: "mono", 2: "stereo"}.get(channels, f"{channels}ch")
