"""Write a rendered stem set as BWF files (``<CUE>_<ABBR>.wav`` and the mix) at a start
timecode, with iXML, through ``audio.bwf``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from audio.bwf import SUBTYPES, quantize, write_bwf
from demo_music.arrangement import (
    _ABBR_RE,
    _MIX_ABBREVIATION,
    DEFAULT_ABBREVIATIONS,
    Arrangement,
    _validate,
)
from demo_music.rendering import mixdown, render


def write_stem_set(
    arr: Arrangement,
    folder: str | Path,
    *,
    sample_rate: int = 48000,
    subtype: str = "PCM_24",
    start_tc_seconds: float = 3600.0,
    abbreviations: Mapping[str, str] | None = None,
) -> list[Path]:
    """Render ``arr`` and write its stem set and mix as Broadcast Wave files.

    Files: ``<CUE>_<ABBR>.wav`` per part and ``<CUE>_MIX.wav``, all with the bext
    TimeReference ``round(start_tc_seconds * sample_rate)``, a description naming cue and role,
    and an iXML chunk naming the tracks. The mix is the sum of the stems *as stored*: each
    stem is quantized to the subtype first, those are summed, and the sum quantized, so the
    stems null against the mix exactly (or to float32 rounding for ``FLOAT``).

    Args:
        arr: The arrangement.
        folder: Where to write; created if missing. Existing files of the same names are
            replaced (atomically, one by one).
        sample_rate: Sample rate of the files.
        subtype: ``PCM_16``, ``PCM_24``, ``PCM_32`` or ``FLOAT``.
        start_tc_seconds: Start timecode as seconds since midnight (3600 = 01:00:00:00).
        abbreviations: role -> file-name abbreviation, merged over ``DEFAULT_ABBREVIATIONS``.

    Returns:
        The paths written: the stems in the order of ``arr.parts``, then the mix.

    Raises:
        ValueError: An invalid arrangement, subtype, timecode or abbreviation.
    """
    if subtype not in SUBTYPES:
        raise ValueError(f"unsupported subtype {subtype!r}; use one of {', '.join(SUBTYPES)}")
    if not (math.isfinite(start_tc_seconds) and 0 <= start_tc_seconds < 86400):
        raise ValueError(
            f"start_tc_seconds must be within a day (0 to 86400), got {start_tc_seconds!r}"
        )
    abbr = dict(DEFAULT_ABBREVIATIONS)
    abbr.update(abbreviations or {})
    _validate(arr, sample_rate)
    names = [abbr.get(p.role, "") for p in arr.parts]
    for part, name in zip(arr.parts, names, strict=True):
        if not _ABBR_RE.fullmatch(name):
            raise ValueError(f"abbreviation {name!r} for {part.role!r} must be letters/digits")
        if name.upper() == _MIX_ABBREVIATION:
            raise ValueError(f"abbreviation {name!r} is reserved for the mix")
    if len({n.upper() for n in names}) != len(names):
        raise ValueError(f"abbreviations must be distinct, got {names}")

    stems = render(arr, sample_rate)
    stored = {role: quantize(stem, subtype) for role, stem in stems.items()}
    mix = quantize(mixdown(stored), subtype)
    if SUBTYPES[subtype][0] <= 24:
        # 16- and 24-bit grid values are exact in float32, which write_bwf encodes faster.
        stored = {role: data.astype(np.float32) for role, data in stored.items()}
        mix = mix.astype(np.float32)

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    tref = round(start_tc_seconds * sample_rate)
    paths: list[Path] = []
    items = [(p.role, n, stored[p.role]) for p, n in zip(arr.parts, names, strict=True)]
    items.append(("mix", _MIX_ABBREVIATION, mix))
    for role, name, data in items:
        path = out / f"{arr.cue}_{name}.wav"
        what = f"mix of {len(stems)} stems" if role == "mix" else f"{role} stem"
        write_bwf(
            path,
            data,
            sample_rate,
            subtype=subtype,
            time_reference=tref,
            description=f"{arr.cue} {what}"[:256],
            originator="stemvault",
            originator_reference=f"{arr.cue}_{name}"[:32],
            ixml=_ixml(arr.cue, name, role),
        )
        paths.append(path)
    return paths

def _ixml(cue: str, abbreviation: str, role: str) -> str:
    name = escape(f"{cue}_{abbreviation}")
    tracks = "".join(
        f"<TRACK><CHANNEL_INDEX>{i}</CHANNEL_INDEX><INTERLEAVE_INDEX>{i}</INTERLEAVE_INDEX>"
        f"<NAME>{escape(abbreviation)} {side}</NAME><FUNCTION>{side}</FUNCTION></TRACK>"
        for i, side in ((1, "L"), (2, "R"))
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        "<BWFXML><IXML_VERSION>2.10</IXML_VERSION>"
        f"<PROJECT>stemvault</PROJECT><SCENE>{escape(cue)}</SCENE><TAKE>1</TAKE>"
        f"<NOTE>{escape(role)}</NOTE><FILE_SET><FAMILY_NAME>{name}</FAMILY_NAME></FILE_SET>"
        f"<TRACK_LIST><TRACK_COUNT>2</TRACK_COUNT>{tracks}</TRACK_LIST></BWFXML>"
    )
