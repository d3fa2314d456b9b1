"""The delta notation: a version's changes on one line (docs/delta-notation.md).

Public surface:
    delta_notation(diff) -> str   e.g. ``~STR 01:00:33–01:00:41 -1.8LU +CHOIR -PAD 3 meta-only``
"""

from __future__ import annotations

import math
import re

from vcs.diffmodel import FileDiff, Region, VersionDiff
from vcs.naming import short_name

__all__ = ["delta_notation"]

_MAX_DELTA = 140


def _mmss(seconds: float, *, up: bool = False) -> str:
    s = math.ceil(seconds - 1e-9) if up else math.floor(seconds + 1e-9)
    return f"{s // 60:02d}:{s % 60:02d}" if s < 3600 else f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _signed(x: float, unit: str, nd: int = 1) -> str:
    return f"{x:+.{nd}f}{unit}"


def _token(f: FileDiff, cue: str, old_cue: str) -> tuple[str, str]:
    """(short token, details) of one file in the delta notation."""
    name = short_name(f.name, cue)
    if f.status == "added":
        return f"+{name}", ""
    if f.status == "removed":
        return f"-{short_name(f.name, old_cue)}", ""
    head = name
    if f.renamed_from:
        head = f"{short_name(f.renamed_from, old_cue)}>{name}"
    if f.status == "renamed":
        return head, ""
    parts: list[str] = []
    if f.status == "metadata":
        parts.append("meta")
    elif f.status == "moved" and f.shift_samples is not None and f.sample_rate:
        ms = 1000 * f.shift_samples / f.sample_rate
        parts.append(f"moved{ms:+.0f}ms" if abs(ms) >= 10 else f"moved{ms:+.1f}ms")
    elif f.whole:
        parts.append("all")
    elif f.regions:
        parts.append(_region_spans(f))
    if f.length_delta_s and abs(f.length_delta_s) >= 0.05:
        parts.append("tail" + _signed(f.length_delta_s, "s"))
    if f.status in ("changed", "moved") and f.loudness_delta_lu is not None and abs(f.loudness_delta_lu) >= 0.1:
        parts.append(_signed(f.loudness_delta_lu, "LU"))
    return f"~{head}", " ".join(parts)


def _tc_second(tc: str, *, up: bool = False) -> str:
    """A timecode to the second: ``03:04:18:06`` → ``03:04:18``, or ``03:04:19`` with ``up``
    (the end of a region: rounded up when it is not on a whole second)."""
    try:
        hh, mm, ss, ff = (int(x) for x in re.split(r"[:;.]", tc))
    except ValueError:
        return tc
    secs = hh * 3600 + mm * 60 + ss + (1 if up and ff else 0)
    secs %= 24 * 3600
    return f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"


def _region_spans(f: FileDiff) -> str:
    """The changed regions of a delta token: timecode to the second (``03:04:18–03:04:24``),
    or, for a file without a start timecode, time from its start marked ``t+`` (``t+00:08–00:14``)."""
    if f.timecode:
        def span(a: Region, b: Region) -> str:
            return f"{_tc_second(a.start_tc)}–{_tc_second(b.end_tc, up=True)}"
        mark = ""
    else:
        def span(a: Region, b: Region) -> str:
            return f"{_mmss(a.start_s)}–{_mmss(b.end_s, up=True)}"
        mark = "t+"
    rs = f.regions
    if len(rs) <= 2:
        return mark + ",".join(span(r, r) for r in rs)
    return f"{len(rs)}x{mark}{span(rs[0], rs[-1])}"


def _meta_only(f: FileDiff) -> bool:
    """A header-only change (the same samples) of a file that kept its name: folded into the
    delta's ``N meta-only`` count rather than a token of its own."""
    return f.status == "metadata" and not f.renamed_from


def delta_notation(d: VersionDiff) -> str:
    """The version's one-line delta (docs/delta-notation.md), e.g.
    ``~STR 01:00:33–01:00:41 -1.8LU +CHOIR -PAD 3 meta-only``."""
    cue = d.b.get("cue", d.cue)
    old_cue = d.a.get("cue", cue)
    files = [f for f in d.stems if f.status != "unchanged"]
    if d.mix and d.mix.status != "unchanged":
        files.insert(len([f for f in files if f.status not in ("added", "removed")]), d.mix)
    rank = {"added": 1, "removed": 2}
    files.sort(key=lambda f: rank.get(f.status, 0))
    meta = sum(_meta_only(f) for f in files)
    files = [f for f in files if not _meta_only(f)]
    toks = [_token(f, cue, old_cue) for f in files]
    folded = f" {meta} meta-only" if meta else ""  # always shown: it stands for several files
    if not toks:
        return folded.strip() or "="
    full = " ".join(f"{h} {x}".strip() for h, x in toks)
    if len(full) + len(folded) <= _MAX_DELTA:
        return full + folded
    # Too long for one line: details for the first ones, then names only, then a count.
    out: list[str] = []
    for i, (h, x) in enumerate(toks):
        piece = f"{h} {x}".strip()
        rest = len(toks) - i - 1
        tail = (f" (+{rest} more)" if rest else "") + folded
        if len(" ".join([*out, piece])) + len(tail) <= _MAX_DELTA:
            out.append(piece)
        elif len(" ".join([*out, h])) + len(tail) <= _MAX_DELTA:
            out.append(h)
        else:
            out.append(f"(+{rest + 1} more)")
            break
    return " ".join(out) + folded
