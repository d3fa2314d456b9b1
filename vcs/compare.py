"""One file across two versions, compared from the manifests and the analysis records.

Public surface:
    file_diff(a, b, how, records_a, records_b, rate) -> FileDiff
    tc_fn(entry, rate) -> frame -> the timecode of that frame of the file

Where the audio changed, the 1 s block fingerprints of the records say which blocks differ;
contiguous changed blocks make a region. When (nearly) every block differs, the records' fine
envelopes (RMS every 5 ms) are compared (audio.align) to tell a stem moved in time from one
rewritten.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from audio.align import estimate_shift, runs
from audio.envelope import block_silent, finest_curve
from audio.timecode import FrameRate, Timecode
from vcs.diffmodel import FORMAT_FIELDS, FieldChange, FileDiff, Records, Region
from vcs.manifest import DESCRIPTIVE, StemEntry
from vcs.matching import fingerprints

__all__ = ["file_diff", "tc_fn"]


def _delta(a: Any, b: Any, nd: int = 1) -> float | None:
    if a is None or b is None:
        return None
    try:
        return round(float(b) - float(a), nd)
    except (TypeError, ValueError):
        return None


class _Curves:
    """Each side's envelope, decoded at most once and only when asked for (base64 + zlib of
    tens of KB per 5-minute stem: only files whose audio changed everywhere, or at an edge,
    need it)."""

    def __init__(self, ra: dict[str, Any], rb: dict[str, Any]) -> None:
        self._recs = (ra, rb)
        self._done: dict[int, tuple[int, np.ndarray] | None] = {}

    def side(self, i: int) -> tuple[int, np.ndarray] | None:
        if i not in self._done:
            self._done[i] = finest_curve(self._recs[i])
        return self._done[i]

    @property
    def a(self) -> tuple[int, np.ndarray] | None:
        return self.side(0)

    @property
    def b(self) -> tuple[int, np.ndarray] | None:
        return self.side(1)


def _compare_audio(d: FileDiff, ea: StemEntry, eb: StemEntry, ra: dict[str, Any] | None,
                   rb: dict[str, Any] | None, *, tc: Callable[[int], str]) -> None:
    """Fill ``d`` (status, regions, shift) for two files whose bytes differ."""
    fa, fb = fingerprints(ra), fingerprints(rb)
    if ra is None or rb is None or fa is None or fb is None:
        d.status, d.no_record = "changed", True
        return
    assert ra is not None and rb is not None
    frames_a, frames_b = int(ra.get("frames") or 0), int(rb.get("frames") or 0)
    bfa = int(ra["fingerprints"].get("block_frames") or ra.get("sample_rate") or 1)
    bfb = int(rb["fingerprints"].get("block_frames") or rb.get("sample_rate") or 1)
    d.sample_rate = int(rb.get("sample_rate") or 0) or None
    if bfa != bfb or ra.get("channels") != rb.get("channels"):
        d.status, d.whole = "changed", True  # another rate or layout: every sample differs
        return
    if frames_a == frames_b and fa == fb:
        d.status = "metadata"
        return
    bf = bfa
    common = min(frames_a, frames_b)
    n_full = common // bf if frames_a != frames_b else len(fa)
    n_full = min(n_full, len(fa), len(fb))
    changed = np.fromiter((x != y for x, y in zip(fa[:n_full], fb[:n_full], strict=True)), dtype=bool,
                          count=n_full)
    curves = _Curves(ra, rb)
    if frames_a != frames_b and common % bf and n_full < min(len(fa), len(fb)):
        # The block where the shorter file ends is partial in it: compare envelopes there.
        env_a, env_b = curves.a, curves.b
        edge = False
        if env_a is not None and env_b is not None and env_a[0] == env_b[0]:
            hop = env_a[0]
            lo, hi = n_full * bf // hop, common // hop  # whole hops only
            sa, sb = env_a[1][lo:hi], env_b[1][lo:hi]
            edge = bool(len(sa) != len(sb) or np.any(np.abs(np.nan_to_num(sa, neginf=-300.0)
                                                            - np.nan_to_num(sb, neginf=-300.0)) > 0.5))
        else:
            edge = True
        changed = np.append(changed, edge)
    spans = runs(changed)
    if not spans:
        d.status = "changed" if frames_a != frames_b else "metadata"
        return
    d.status = "changed"
    silent = block_silent(curves.a, bf, len(changed))
    loud_same = int(np.sum(~changed & ~silent))
    loud = int(np.sum(~silent))
    if changed.sum() >= 3 and loud_same <= 0.05 * max(1, loud):
        est = estimate_shift(curves.a, curves.b, int(ra.get("sample_rate") or 48000))
        if est is not None:
            d.status, d.shift_samples = "moved", round(est[0])
            return
        # Only the fine envelope (5 ms) can rule out a small move; records of analysis version 1
        # hold 50 ms levels, which see moves of a few windows and miss shorter ones.
        d.shift_estimable = (curves.a is not None and curves.b is not None
                             and bool(ra.get("envelope")) and bool(rb.get("envelope")))
        if loud_same == 0:
            d.whole = True
    sr = int(rb.get("sample_rate") or bf)
    for s, e in spans:
        start, end = s * bf, min(e * bf, common)
        d.regions.append(Region(start / sr, end / sr, tc(start), tc(end)))


def tc_fn(e: StemEntry, rate: FrameRate) -> Callable[[int], str]:
    tref = e.measured.get("time_reference")
    sr = int(e.measured.get("sample_rate") or 48000)
    base = int(tref) if tref is not None else 0
    return lambda frame: str(Timecode.from_samples(base + frame, sr, rate))


def file_diff(ea: StemEntry | None, eb: StemEntry | None, how: str | None, rec_a: Records, rec_b: Records,
               rate: FrameRate) -> FileDiff:
    if ea is None:
        assert eb is not None
        return FileDiff(eb.file, "added", kind=eb.kind)
    if eb is None:
        return FileDiff(ea.file, "removed", kind=ea.kind)
    d = FileDiff(eb.file, "unchanged", kind=eb.kind, matched_by=how,
                 renamed_from=ea.file if ea.file != eb.file else None,
                 timecode=eb.measured.get("time_reference") is not None)
    ma, mb = ea.measured, eb.measured
    d.loudness_delta_lu = _delta(ma.get("integrated_lufs"), mb.get("integrated_lufs"))
    d.true_peak_delta_db = _delta(ma.get("true_peak_dbtp"), mb.get("true_peak_dbtp"))
    d.lra_delta_lu = _delta(ma.get("lra_lu"), mb.get("lra_lu"))
    d.length_delta_s = _delta(ma.get("duration_s"), mb.get("duration_s"), 3)
    d.sample_rate = int(mb.get("sample_rate") or 0) or None
    for k in DESCRIPTIVE:
        if getattr(ea, k) != getattr(eb, k):
            d.fields.append(FieldChange(k, getattr(ea, k), getattr(eb, k)))
    for k in FORMAT_FIELDS:
        if ma.get(k) != mb.get(k):
            d.fields.append(FieldChange(k, ma.get(k), mb.get(k)))
    if ea.sha256 == eb.sha256:
        d.status = "renamed" if d.renamed_from else "unchanged"
        return d
    if ea.kind == "tempo" or eb.kind == "tempo" or "sample_rate" not in mb:
        d.status = "changed"
        return d
    _compare_audio(d, ea, eb, rec_a(ea.sha256), rec_b(eb.sha256), tc=tc_fn(eb, rate))
    if d.status == "metadata" and d.renamed_from:
        d.status = "renamed"
    return d
