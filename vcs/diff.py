"""What changed between two versions: in which file, where in time, by how much — without the audio.

Public surface:
    Region, FieldChange, FileDiff, VersionDiff (dataclasses; ``to_dict()`` is the ``--json`` form)
    diff_versions(vault, a, b, *, exact=False) -> VersionDiff
    diff_manifests(ma, mb, records_a, records_b, *, frame_rate) -> VersionDiff
    delta_notation(diff) -> str          the one-line delta of docs/delta-notation.md
    RecordsMissing                       a changed file has no analysis record (exit 2)

Everything comes from the manifests and the analysis records (git blobs), so a clone without
the audio diffs the same. Files are matched by name (by name without the cue prefix across
cues), then by content (same sha256 or same PCM: a rename), then by a role found once on each
side. Where the audio changed, the 1 s block fingerprints of the records say which blocks differ;
contiguous changed blocks make a region. When (nearly) every block differs, the records' fine
envelopes (RMS every 5 ms) are cross-correlated to tell a stem moved in time from one rewritten.
With ``exact=True`` (the audio in this clone), the samples themselves refine regions to the
first and last differing sample, give each region's residual level, and a move to the sample.
"""

from __future__ import annotations

import base64
import math
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from audio.errors import BadTimecode
from audio.timecode import FrameRate, Timecode, parse_frame_rate
from vcs.errors import VaultError
from vcs.manifest import DESCRIPTIVE, Manifest, StemEntry
from vcs.records import load_record

if TYPE_CHECKING:
    from vcs.models import Version
    from vcs.vault import Vault

__all__ = ["FieldChange", "FileDiff", "RecordsMissing", "Region", "VersionDiff", "delta_notation",
           "diff_manifests", "diff_versions", "short_name"]

Records = Callable[[str], "dict[str, Any] | None"]

STATUSES = ("added", "removed", "changed", "moved", "renamed", "metadata", "unchanged")
FORMAT_FIELDS = ("format", "subtype", "sample_rate", "bit_depth", "channels", "layout", "start_tc")
# A move is claimed only when the envelopes, once aligned, agree this well (dB, 0.5 dB steps).
_AGREE_DB = 1.0
_AGREE_FRACTION = 0.9
_MAX_SHIFT_S = 5.0
_MIN_SHIFT_HOPS = 0.5  # below half a 5 ms hop the envelope cannot tell a move from a change
# ... and the fit at the shift must beat the fit unshifted this much (see _shift_is_specific).
_SPECIFIC_RATIO = 0.5
_NULL_PASS_DB = -60.0


class RecordsMissing(VaultError):
    """Files whose audio changed have no analysis record: the diff cannot say where."""

    def __init__(self, message: str, files: list[str]) -> None:
        self.files = files
        super().__init__(message)


@dataclass
class Region:
    """A span of a file whose audio differs, in seconds from the file's start and in timecode.

    ``residual_db`` (exact diffs only): the level of A−B in the span, dB relative to A there.
    """

    start_s: float
    end_s: float
    start_tc: str
    end_tc: str
    residual_db: float | None = None
    exact: bool = False

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"start_s": round(self.start_s, 6), "end_s": round(self.end_s, 6),
                             "start_tc": self.start_tc, "end_tc": self.end_tc}
        if self.exact:
            d["residual_db"] = None if self.residual_db is None else round(self.residual_db, 1)
        return d


@dataclass
class FieldChange:
    field: str
    old: Any
    new: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new}


@dataclass
class FileDiff:
    """One file (a stem, the mix, a tempo map) across the two versions.

    Attributes:
        status: one of STATUSES. ``metadata``: same PCM, different bytes (a header change).
            ``renamed``: same audio under another name; a renamed file whose audio changed
            has status ``changed`` and ``renamed_from`` set.
        matched_by: "name", "content" or "role" (None for added/removed files).
        whole: the audio differs everywhere (no region is meaningful).
        shift_samples: how far B is moved against A (positive: later), when ``moved``.
        shift_exact: the shift was measured on the samples, not estimated from the records.
        tail_delta_s: B's length minus A's (a longer or shorter tail).
        no_record: the audio differs but a record is missing, so where is unknown.
        timecode: B has a start timecode (bext), so its regions' ``*_tc`` are timecode; without
            one they count from 00:00:00:00 at the file's start, and the delta marks them ``t+``.
    """

    name: str
    status: str
    kind: str = "stem"
    renamed_from: str | None = None
    matched_by: str | None = None
    regions: list[Region] = field(default_factory=list)
    whole: bool = False
    shift_samples: int | None = None
    shift_exact: bool = False
    shift_estimable: bool = True
    loudness_delta_lu: float | None = None
    true_peak_delta_db: float | None = None
    lra_delta_lu: float | None = None
    length_delta_s: float | None = None
    sample_rate: int | None = None
    fields: list[FieldChange] = field(default_factory=list)
    residual_db: float | None = None
    no_record: bool = False
    timecode: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "status": self.status, "kind": self.kind,
            "renamed_from": self.renamed_from, "matched_by": self.matched_by,
            "regions": [r.to_dict() for r in self.regions], "whole": self.whole,
            "shift_samples": self.shift_samples, "shift_exact": self.shift_exact,
            "shift_ms": None if self.shift_samples is None or not self.sample_rate
            else round(1000 * self.shift_samples / self.sample_rate, 3),
            "loudness_delta_lu": self.loudness_delta_lu, "true_peak_delta_db": self.true_peak_delta_db,
            "lra_delta_lu": self.lra_delta_lu, "length_delta_s": self.length_delta_s,
            "fields": [f.to_dict() for f in self.fields], "residual_db": self.residual_db,
            "no_record": self.no_record,
        }


@dataclass
class VersionDiff:
    """Two versions compared: per file, the mix, the manifest's set-level fields, the null tests."""

    a: dict[str, str]
    b: dict[str, str]
    stems: list[FileDiff]
    mix: FileDiff | None
    manifest: list[FieldChange]
    null_test: dict[str, Any]  # a, b: residual dB (None: perfect or no mix); a_passes, b_passes
    null_limit_db: float = _NULL_PASS_DB
    exact: bool = False
    cue: str = ""
    delta: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "exact": self.exact,
                "stems": [s.to_dict() for s in self.stems],
                "mix": self.mix.to_dict() if self.mix else None,
                "manifest": [f.to_dict() for f in self.manifest],
                "null_test": {**self.null_test, "limit_db": self.null_limit_db},
                "delta": self.delta}

    def files(self) -> list[FileDiff]:
        return self.stems + ([self.mix] if self.mix else [])


# ----- matching ---------------------------------------------------------------------------------

def short_name(name: str, cue: str) -> str:
    """A file name without the cue prefix and the extension: ``1M03_STR.wav`` → ``STR``."""
    stem = name.rsplit(".", 1)[0]
    if cue and stem.upper().startswith(cue.upper()):
        stem = stem[len(cue):].lstrip("_-")
    return stem or name


def _fingerprints(rec: dict[str, Any] | None) -> list[str] | None:
    try:
        return list(rec["fingerprints"]["hashes"]) if rec else None
    except (KeyError, TypeError):
        return None


def _match(ea: list[StemEntry], eb: list[StemEntry], cue_a: str, cue_b: str,
           rec_a: Records, rec_b: Records) -> tuple[list[tuple[StemEntry, StemEntry, str]], list[StemEntry],
                                                    list[StemEntry]]:
    """Pairs (a, b, how), then unmatched a (removed), unmatched b (added)."""
    left = list(ea)
    right = list(eb)
    pairs: list[tuple[StemEntry, StemEntry, str]] = []

    def take(key_a: Callable[[StemEntry], Any], key_b: Callable[[StemEntry], Any], how: str,
             unique: bool = False) -> None:
        index: dict[Any, list[StemEntry]] = {}
        for e in right:
            k = key_b(e)
            if k:
                index.setdefault(k, []).append(e)
        counts: dict[Any, int] = {}
        for e in left:
            k = key_a(e)
            if k:
                counts[k] = counts.get(k, 0) + 1
        for e in list(left):
            k = key_a(e)
            cands = index.get(k) if k else None
            if not cands or (unique and (len(cands) != 1 or counts[k] != 1)):
                continue
            other = cands.pop(0)
            right.remove(other)
            left.remove(e)
            pairs.append((e, other, how))

    take(lambda e: e.file, lambda e: e.file, "name")
    if cue_a.upper() != cue_b.upper():
        take(lambda e: short_name(e.file, cue_a).upper(), lambda e: short_name(e.file, cue_b).upper(), "name")
    take(lambda e: e.sha256, lambda e: e.sha256, "content")
    if left and right:  # the same PCM under another name and header
        def pcm(rec: Records) -> Callable[[StemEntry], Any]:
            def key(e: StemEntry) -> Any:
                fp = _fingerprints(rec(e.sha256)) if e.sha256 else None
                return (tuple(fp), e.measured.get("frames")) if fp else None
            return key
        take(pcm(rec_a), pcm(rec_b), "content")
    take(lambda e: e.role, lambda e: e.role, "role", unique=True)
    return pairs, left, right


# ----- audio comparison from records -------------------------------------------------------------

def _delta(a: Any, b: Any, nd: int = 1) -> float | None:
    if a is None or b is None:
        return None
    try:
        return round(float(b) - float(a), nd)
    except (TypeError, ValueError):
        return None


# The record's curves are decoded here, not with audio.analysis's helpers: importing that module
# costs scipy (~1.7 s of `stemvault diff`'s start) for a base64 + zlib step. The format is the
# one audio.analysis writes (uint8 codes: 0 = digital silence, else dB = code / 2 - 127.5);
# tests/test_diff.py checks that both decoders agree on a real record.

_CODE_DB: np.ndarray | None = None


def _decode_codes(codes: np.ndarray) -> np.ndarray:
    """uint8 codes to dB through a 256-entry table (the same float64 values as computing each)."""
    global _CODE_DB
    if _CODE_DB is None:
        table = np.arange(256, dtype=np.float64) / 2 - 127.5
        table[0] = -np.inf
        _CODE_DB = table
    out: np.ndarray = _CODE_DB[codes]
    return out


def _decode_envelope(rec: dict[str, Any]) -> tuple[int, np.ndarray] | None:
    """The fine envelope (hop frames, dB per hop), or None (analysis version 1 has none)."""
    env = rec.get("envelope")
    if not env:
        return None
    raw = np.frombuffer(zlib.decompress(base64.b64decode(env["db"])), dtype=np.uint8)
    return int(env["hop_frames"]), _decode_codes(raw)


def _decode_levels(rec: dict[str, Any]) -> np.ndarray:
    """The 50 ms level curve in dB (-inf for digital silence)."""
    return _decode_codes(np.frombuffer(base64.b64decode(rec["levels"]["db"]), dtype=np.uint8))


def _envelope(rec: dict[str, Any]) -> tuple[int, np.ndarray] | None:
    """The finest level curve the record holds: (frames per hop, dB with -inf for silence)."""
    try:
        env = _decode_envelope(rec)
        if env is not None:
            return env
        lv = rec.get("levels")
        if not lv:
            return None
        hop = max(1, round(float(lv["window_s"]) * int(rec["sample_rate"])))
        return hop, _decode_levels(rec)
    except (KeyError, TypeError, ValueError, OSError, zlib.error):
        return None  # a damaged record (binascii.Error is a ValueError) reads as none


class _Curves:
    """Each side's envelope, decoded at most once and only when asked for (base64 + zlib of
    tens of KB per 5-minute stem: only files whose audio changed everywhere, or at an edge,
    need it)."""

    def __init__(self, ra: dict[str, Any], rb: dict[str, Any]) -> None:
        self._recs = (ra, rb)
        self._done: dict[int, tuple[int, np.ndarray] | None] = {}

    def side(self, i: int) -> tuple[int, np.ndarray] | None:
        if i not in self._done:
            self._done[i] = _envelope(self._recs[i])
        return self._done[i]

    @property
    def a(self) -> tuple[int, np.ndarray] | None:
        return self.side(0)

    @property
    def b(self) -> tuple[int, np.ndarray] | None:
        return self.side(1)


def _block_silent(env: tuple[int, np.ndarray] | None, block_frames: int, n_blocks: int) -> np.ndarray:
    """Per 1 s block: is it digital silence (every envelope hop -inf)?"""
    out = np.zeros(n_blocks, dtype=bool)
    if env is None:
        return out
    hop, db = env
    per = max(1, block_frames // hop)
    # Per block, whether any hop is finite: one pass (the last block may be partial, and blocks
    # past the curve's end hold no hop: not silent).
    finite = np.isfinite(db[:n_blocks * per])
    full = len(finite) // per
    out[:full] = ~finite[:full * per].reshape(full, per).any(axis=1)
    if full < n_blocks and len(finite) > full * per:
        out[full] = not finite[full * per:].any()
    return out


def _smooth_db(db: np.ndarray, width: int) -> np.ndarray:
    """The level curve averaged (as power) over ``width`` hops, in dB (-inf = silence)."""
    p = np.where(np.isfinite(db), np.power(10.0, db / 10), 0.0)
    if width > 1:
        p = np.convolve(p, np.ones(width) / width, mode="same")
    with np.errstate(divide="ignore"):
        out: np.ndarray = 10 * np.log10(p)
    return out


def _fast_len(n: int) -> int:
    """The smallest 2^i 3^j 5^k >= n: FFT sizes numpy transforms quickly (61440 for a 5-minute
    envelope, a third faster than the next power of two)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def _xcorr_peak(a: np.ndarray, b: np.ndarray, max_lag: int) -> float:
    """The lag k (fractional, parabolic) maximising sum a[i] * b[i + k], |k| <= max_lag."""
    # Only lags up to max_lag (+1 for the parabola) are read: the circular correlation is free of
    # wrap-around there once size >= max(len) + max_lag + 2, about half the full length's size.
    size = _fast_len(max(len(a), len(b)) + max_lag + 2)
    corr = np.fft.irfft(np.conj(np.fft.rfft(a, size)) * np.fft.rfft(b, size), size)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    vals = np.concatenate([corr[:max_lag + 1], corr[size - max_lag:]])
    k = int(lags[int(np.argmax(vals))])
    c0, cm, cp = corr[k % size], corr[(k - 1) % size], corr[(k + 1) % size]
    den = cm - 2 * c0 + cp
    frac = 0.5 * (cm - cp) / den if den < 0 else 0.0
    return k + max(-0.5, min(0.5, float(frac)))


def _estimate_shift(ra: dict[str, Any], ea: tuple[int, np.ndarray] | None,
                    eb: tuple[int, np.ndarray] | None) -> tuple[float, int] | None:
    """(shift of B against A in frames, hop frames) from the envelopes, or None when the aligned
    envelopes do not agree (the audio changed, it did not move).

    The shift comes from cross-correlating the onsets (rises of the dB curve above a floor 60 dB
    under the loudest hop): sharp peaks, where the levels themselves correlate broadly and the
    5 ms RMS of low notes ripples with their phase. The claim is checked on the levels averaged
    over 20 ms and aligned by the (fractional) shift: most hops must agree within 1 dB.
    """
    if ea is None or eb is None or ea[0] != eb[0]:
        return None
    hop = ea[0]
    fa, fb = ea[1], eb[1]
    top = max(float(np.max(fa[np.isfinite(fa)], initial=-200.0)), float(np.max(fb[np.isfinite(fb)], initial=-200.0)))
    if top <= -200.0:
        return None
    floor = top - 60.0

    def lifted(x: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.maximum(np.nan_to_num(x, neginf=floor), floor) - floor
        return out

    a, b = lifted(fa), lifted(fb)
    onset_a = np.maximum(0.0, np.diff(a, prepend=a[:1]))
    onset_b = np.maximum(0.0, np.diff(b, prepend=b[:1]))
    sr = int(ra.get("sample_rate") or 48000)
    max_lag = int(min(_MAX_SHIFT_S * sr / hop, max(1, min(len(a), len(b)) // 4)))
    shift = _xcorr_peak(onset_a, onset_b, max_lag)
    if abs(shift) < _MIN_SHIFT_HOPS:
        return None
    width = max(1, round(0.02 * sr / hop))
    sa, sb = lifted(_smooth_db(fa, width)), lifted(_smooth_db(fb, width))
    at = np.interp(np.arange(len(sa)) + shift, np.arange(len(sb)), sb, left=np.nan, right=np.nan)
    ok = np.isfinite(at) & ((sa > 0) | (at > 0))
    if ok.sum() < 10:
        return None
    agree = float(np.mean(np.abs(sa[ok] - at[ok]) <= _AGREE_DB))
    if agree < _AGREE_FRACTION:
        return None
    if not _shift_is_specific(sa, sb, shift):
        return None
    return shift * hop, hop


def _aligned_error(sa: np.ndarray, sb: np.ndarray, shift: float) -> float | None:
    """Mean |A - B shifted by ``shift`` hops| in dB over the hops where either sounds."""
    at = np.interp(np.arange(len(sa)) + shift, np.arange(len(sb)), sb, left=np.nan, right=np.nan)
    ok = np.isfinite(at) & ((sa > 0) | (at > 0))
    if ok.sum() < 10:
        return None
    return float(np.mean(np.abs(sa[ok] - at[ok])))


def _shift_is_specific(sa: np.ndarray, sb: np.ndarray, shift: float) -> bool:
    """Whether the envelopes confirm a move by ``shift`` hops: aligned by it they must fit far
    better than not moved at all. A steady sound (a held pad) fits itself at any shift, so two
    different renders of it agree whatever the shift the onsets pick: that is no evidence of a
    move, and none is claimed (issue 9, finding 12). A true move of music fits to the
    quantization of the record (measured: a tenth of the error unshifted, or less, from 2 hops
    on); a re-render of a held chord fits shifted as well as unshifted."""
    moved = _aligned_error(sa, sb, shift)
    still = _aligned_error(sa, sb, 0.0)
    if moved is None or still is None:
        return False
    return moved <= _SPECIFIC_RATIO * still


def _compare_audio(d: FileDiff, ea: StemEntry, eb: StemEntry, ra: dict[str, Any] | None,
                   rb: dict[str, Any] | None, *, tc: Callable[[int], str]) -> None:
    """Fill ``d`` (status, regions, shift) for two files whose bytes differ."""
    fa, fb = _fingerprints(ra), _fingerprints(rb)
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
    spans = _runs(changed)
    if not spans:
        d.status = "changed" if frames_a != frames_b else "metadata"
        return
    d.status = "changed"
    silent = _block_silent(curves.a, bf, len(changed))
    loud_same = int(np.sum(~changed & ~silent))
    loud = int(np.sum(~silent))
    if changed.sum() >= 3 and loud_same <= 0.05 * max(1, loud):
        est = _estimate_shift(ra, curves.a, curves.b)
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


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    if not len(mask):
        return []
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


# ----- the whole diff ----------------------------------------------------------------------------

def _tc_fn(e: StemEntry, rate: FrameRate) -> Callable[[int], str]:
    tref = e.measured.get("time_reference")
    sr = int(e.measured.get("sample_rate") or 48000)
    base = int(tref) if tref is not None else 0
    return lambda frame: str(Timecode.from_samples(base + frame, sr, rate))


def _file_diff(ea: StemEntry | None, eb: StemEntry | None, how: str | None, rec_a: Records, rec_b: Records,
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
    _compare_audio(d, ea, eb, rec_a(ea.sha256), rec_b(eb.sha256), tc=_tc_fn(eb, rate))
    if d.status == "metadata" and d.renamed_from:
        d.status = "renamed"
    return d


def _set_fields(m: Manifest) -> dict[str, Any]:
    d: dict[str, Any] = {"frame_rate": m.frame_rate, "mix": m.mix or "", "mix_from": m.mix_from}
    checks = m.extra.get("checks") or {}
    if checks.get("allowed_errors"):
        d["allowed_errors"] = checks["allowed_errors"]
    d["check errors"] = checks.get("errors", 0)
    d["check warnings"] = checks.get("warnings", 0)
    for k, v in m.extra.items():
        if k not in ("checks", "finding"):
            d[k] = v
    return d


def _manifest_fields(ma: Manifest, mb: Manifest) -> list[FieldChange]:
    """Set-level fields that differ, in words (``tempo map``, ``check warnings``), via deepdiff."""
    sa, sb = _set_fields(ma), _set_fields(mb)
    if sa == sb:
        return []
    plain = _plain_fields(sa, sb)
    if plain is not None:
        return plain
    from deepdiff import DeepDiff  # only for nested changes: it costs ~80 ms to import

    out: list[FieldChange] = []
    tree = DeepDiff(sa, sb, view="tree", verbose_level=2)
    for kind in ("values_changed", "type_changes", "dictionary_item_added", "dictionary_item_removed",
                 "iterable_item_added", "iterable_item_removed"):
        for level in tree.get(kind, []):
            path = level.path(output_format="list")
            name = " ".join(str(p) for p in path).replace("_", " ") or "manifest"
            old = None if kind.endswith("_added") else level.t1
            new = None if kind.endswith("_removed") else level.t2
            out.append(FieldChange(name, _plainify(old), _plainify(new)))
    return out


_SCALARS = (str, int, float, bool, type(None))


def _plain_fields(sa: dict[str, Any], sb: dict[str, Any]) -> list[FieldChange] | None:
    """What DeepDiff says of two flat dicts, without it: values changed, types changed, keys
    added, keys removed, in its order. None where DeepDiff's own rules would matter: a nested
    value that differs, a NaN, or so few common keys that it reports the whole dict instead."""
    common = [k for k in sb if k in sa]
    union = len(sa) + len(sb) - len(common)
    if union > 1 and len(common) / union < 0.5:
        return None
    values, types = [], []
    for k in common:
        x, y = sa[k], sb[k]
        if not isinstance(x, _SCALARS) or not isinstance(y, _SCALARS):
            if x != y:
                return None
            continue
        if (isinstance(x, float) and math.isnan(x)) or (isinstance(y, float) and math.isnan(y)):
            return None
        if type(x) is not type(y):
            types.append(k)
        elif x != y:
            values.append(k)
    added = [k for k in sb if k not in sa]
    removed = [k for k in sa if k not in sb]
    if any(not isinstance(d[k], _SCALARS) for d, ks in ((sb, added), (sa, removed)) for k in ks):
        return None
    out = [FieldChange(str(k).replace("_", " "), _plainify(sa[k]), _plainify(sb[k])) for k in values + types]
    out += [FieldChange(str(k).replace("_", " "), None, _plainify(sb[k])) for k in added]
    out += [FieldChange(str(k).replace("_", " "), _plainify(sa[k]), None) for k in removed]
    return out


def _plainify(v: Any) -> Any:
    if v is None or isinstance(v, str | int | float | bool):
        return v
    if isinstance(v, dict):
        return {str(k): _plainify(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plainify(x) for x in v]
    return str(v)


def diff_manifests(ma: Manifest, mb: Manifest, records_a: Records, records_b: Records, *,
                   frame_rate: FrameRate | str | None = None, a: dict[str, str] | None = None,
                   b: dict[str, str] | None = None, null_limit_db: float = _NULL_PASS_DB) -> VersionDiff:
    """Compare two manifests, reading analysis records through ``records_a/_b(sha256)``."""
    rate = frame_rate if isinstance(frame_rate, FrameRate) else _rate(frame_rate or mb.frame_rate)
    mix_a = ma.stem(ma.mix) if ma.mix else None
    mix_b = mb.stem(mb.mix) if mb.mix else None
    sa = [e for e in ma.stems if e is not mix_a]
    sb = [e for e in mb.stems if e is not mix_b]
    pairs, removed, added = _match(sa, sb, ma.cue, mb.cue, records_a, records_b)
    order = {e.file: i for i, e in enumerate(sb)}
    stems = [_file_diff(x, y, how, records_a, records_b, rate) for x, y, how in pairs]
    stems.sort(key=lambda s: order.get(s.name, 0))
    stems += [_file_diff(None, e, None, records_a, records_b, rate) for e in added]
    stems += [_file_diff(e, None, None, records_a, records_b, rate) for e in removed]
    mix = None
    if mix_a or mix_b:
        mix = _file_diff(mix_a, mix_b, "name" if mix_a and mix_b else None, records_a, records_b, rate)
    nt: dict[str, Any] = {}
    for side, m in (("a", ma), ("b", mb)):
        res = (m.extra.get("checks") or {}).get("null_test_residual_db")
        nt[side] = res
        # No residual at all (None) with a mix is a perfect null; without a mix there is no test.
        nt[f"{side}_passes"] = None if not m.mix else (res is None or float(res) <= null_limit_db)
    out = VersionDiff(a=a or {"cue": ma.cue, "version": ma.version}, b=b or {"cue": mb.cue, "version": mb.version},
                      stems=stems, mix=mix, manifest=_manifest_fields(ma, mb), null_test=nt,
                      null_limit_db=null_limit_db, cue=mb.cue)
    out.delta = delta_notation(out)
    return out


def _rate(name: str) -> FrameRate:
    try:
        return parse_frame_rate(name)
    except BadTimecode:
        return parse_frame_rate("24")


def vault_records(vault: Vault, commit: str | None = None) -> Records:
    """Records by sha256: the working folder, HEAD, then ``commit`` (cached)."""
    cache: dict[str, dict[str, Any] | None] = {}

    def get(sha: str) -> dict[str, Any] | None:
        if sha not in cache:
            rec = load_record(vault, sha)
            if rec is None and commit:
                rec = load_record(vault, sha, commit)
            cache[sha] = rec
        return cache[sha]
    return get


def diff_versions(vault: Vault, va: Version, vb: Version, *, exact: bool = False) -> VersionDiff:
    """Compare two versions (of one cue or of two cues) from their manifests and records.

    Raises:
        RecordsMissing: a file whose audio changed has no analysis record (exit 2): the message
            says how to build them (``stemvault analyze``), or what to fetch first.
        AudioMissing: ``exact`` and the audio of a changed file is not in this clone.
    """
    ma, mb = vault.manifest_at(va), vault.manifest_at(vb)
    limit = float(vault.config.checks.get("null_test_max_db", _NULL_PASS_DB))
    d = diff_manifests(ma, mb, vault_records(vault, va.commit), vault_records(vault, vb.commit),
                       frame_rate=vault.config.frame_rate if not mb.frame_rate else None,
                       a={"cue": va.cue, "version": str(va.version)},
                       b={"cue": vb.cue, "version": str(vb.version)}, null_limit_db=limit)
    blind = [f for f in d.files() if f.no_record]
    if blind:
        _records_missing(vault, va, vb, ma, mb, blind)
    if exact:
        _exact(vault, d, va, vb, ma, mb)
        d.exact = True
        d.delta = delta_notation(d)
    return d


def _records_missing(vault: Vault, va: Version, vb: Version, ma: Manifest, mb: Manifest,
                     blind: list[FileDiff]) -> None:
    from vcs.audiofiles import fetch_hint

    lacking: list[tuple[Version, Manifest, str]] = []
    for f in blind:
        eb = mb.stem(f.name)
        ea = ma.stem(f.renamed_from or f.name)
        for v, m, e in ((va, ma, ea), (vb, mb, eb)):
            if e is not None and load_record(vault, e.sha256) is None and load_record(vault, e.sha256, v.commit) is None:
                lacking.append((v, m, e.file))
    names = sorted({f"{v.ref} {n}" for v, _, n in lacking})
    refs = sorted({v.ref for v, _, _ in lacking})
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    fetch = []
    for v in {v.ref: v for v, _, _ in lacking}.values():
        m = ma if v is va else mb
        absent = [n for vv, _, n in lacking if vv is v and m.stem(n) is not None
                  and not _local_audio(vault, m.stem(n))]  # type: ignore[arg-type]
        if absent:
            fetch.append(fetch_hint(vault, v, absent))
    how = f"build them with `stemvault analyze {' '.join(refs)}`"
    if fetch:
        how = f"fetch the audio ({'; '.join(fetch)}), then {how}"
    raise RecordsMissing(f"no analysis record for {shown} (made by an older stemvault or by hand), so "
                         f"the diff cannot say where the audio changed: {how}", [n for _, _, n in lacking])


def _local_audio(vault: Vault, e: StemEntry) -> Path | None:
    from vcs.lfs import object_path

    p = object_path(vault.git_dir, e.sha256)
    return p if p.is_file() else None


# ----- exact: on the samples ---------------------------------------------------------------------

def _exact(vault: Vault, d: VersionDiff, va: Version, vb: Version, ma: Manifest, mb: Manifest) -> None:
    from vcs.audiofiles import version_audio

    todo = [f for f in d.files() if f.status in ("changed", "moved") and f.kind != "tempo"]
    if not todo:
        return
    names_b = [f.name for f in todo]
    names_a = [f.renamed_from or f.name for f in todo]
    mix_a = ma.mix if d.mix else None
    names_a = [mix_a if (f is d.mix and mix_a) else n for f, n in zip(todo, names_a, strict=True)]
    files_a = {x.name: x.path for x in version_audio(vault, va, ma, names=names_a)}
    files_b = {x.name: x.path for x in version_audio(vault, vb, mb, names=names_b)}
    for f, na in zip(todo, names_a, strict=True):
        eb = mb.stem(f.name)
        assert eb is not None
        exact_file(f, files_a[na], files_b[f.name], tc=_tc_fn(eb, _rate(mb.frame_rate)))


_CHUNK = 1 << 16


def _read(sf_file: Any, start: int, n: int) -> np.ndarray:
    """``n`` frames from ``start`` (zeros outside the file), float64 (exact for PCM up to 32 bit)."""
    ch = sf_file.channels
    out = np.zeros((n, ch))
    lo, hi = max(0, start), min(sf_file.frames, start + n)
    if hi > lo:
        sf_file.seek(lo)
        out[lo - start:hi - start] = sf_file.read(hi - lo, dtype="float64", always_2d=True)
    return out


def exact_file(f: FileDiff, path_a: Path, path_b: Path, *, tc: Callable[[int], str]) -> None:
    """Refine ``f`` on the samples of both files: the exact shift of a move (or a move the
    records missed), region bounds to the sample, the residual level per region."""
    import soundfile as sf

    with sf.SoundFile(str(path_a)) as A, sf.SoundFile(str(path_b)) as B:
        if A.samplerate != B.samplerate or A.channels != B.channels:
            return
        sr = A.samplerate
        f.sample_rate = sr
        if f.status == "moved" or f.whole:
            est = f.shift_samples or 0
            lag = _exact_lag(A, B, est, radius=max(2 * 240, abs(est) // 10 + 480) if f.status == "moved" else 480)
            if lag is not None:
                res = _residual(A, B, 0, max(A.frames, B.frames), lag)
                if res is None or res <= -90.0:
                    f.status, f.shift_samples, f.shift_exact, f.whole = "moved", lag, True, False
                    f.regions, f.residual_db = [], res
                    return
            if f.status == "moved":  # the envelopes agreed but the samples do not line up
                f.status, f.shift_samples, f.whole = "changed", None, True
                f.regions = [Region(0.0, B.frames / sr, tc(0), tc(B.frames))]
        regions = []
        total_res = 0.0
        total_ref = 0.0
        for r in f.regions or [Region(0.0, min(A.frames, B.frames) / sr, tc(0), tc(min(A.frames, B.frames)))]:
            lo, hi = round(r.start_s * sr), round(r.end_s * sr)
            first = last = None
            res = ref = 0.0
            pos = lo
            while pos < hi:
                n = min(_CHUNK, hi - pos)
                a, b = _read(A, pos, n), _read(B, pos, n)
                diff = a - b
                res += float(np.sum(diff * diff))
                ref += float(np.sum(a * a))
                rows = np.flatnonzero(np.any(diff != 0, axis=1))
                if len(rows):
                    if first is None:
                        first = pos + int(rows[0])
                    last = pos + int(rows[-1]) + 1
                pos += n
            total_res += res
            total_ref += ref
            if first is None or last is None:
                continue  # identical samples here after all
            rdb = None if res <= 0 else 10 * math.log10(res / ref) if ref > 0 else 0.0
            regions.append(Region(first / sr, last / sr, tc(first), tc(last), rdb, exact=True))
        f.regions = regions
        f.residual_db = None if total_res <= 0 else (10 * math.log10(total_res / total_ref) if total_ref > 0
                                                       else 0.0)


def _mono(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = x.sum(axis=1)
    return out


def _exact_lag(A: Any, B: Any, est: int, radius: int) -> int | None:
    """The integer lag (B = A delayed by lag) near ``est``: cross-correlation of the samples in
    the loudest second of A against B within ``est ± radius`` (bounded memory)."""
    sr = A.samplerate
    n = min(sr, A.frames)
    best_pos, best_e = 0, -1.0
    # Probe a few seconds spread over the file for the loudest one: cheap and bounded.
    for pos in np.linspace(0, max(0, A.frames - n), num=min(12, max(1, A.frames // max(1, n)))).astype(int):
        seg = _read(A, int(pos), n)
        e = float(np.sum(seg * seg))
        if e > best_e:
            best_pos, best_e = int(pos), e
    if best_e <= 0:
        return None
    a = _mono(_read(A, best_pos, n))
    b = _mono(_read(B, best_pos + est - radius, n + 2 * radius))
    size = 1 << (len(a) + len(b) - 1).bit_length()
    corr = np.fft.irfft(np.conj(np.fft.rfft(a, size)) * np.fft.rfft(b, size), size)[:2 * radius + 1]
    return est - radius + int(np.argmax(corr))


def _residual(A: Any, B: Any, lo: int, hi: int, lag: int) -> float | None:
    """dB of A[t] − B[t + lag] against A over [lo, hi) where both exist (None: identical)."""
    res = ref = 0.0
    start = max(lo, -lag)
    end = min(hi, A.frames, B.frames - lag)
    pos = start
    while pos < end:
        n = min(_CHUNK, end - pos)
        a, b = _read(A, pos, n), _read(B, pos + lag, n)
        diff = a - b
        res += float(np.sum(diff * diff))
        ref += float(np.sum(a * a))
        pos += n
    if res <= 0:
        return None
    return 10 * math.log10(res / ref) if ref > 0 else 0.0


# ----- delta notation ----------------------------------------------------------------------------

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


# ----- building missing records ------------------------------------------------------------------

@dataclass
class AnalyzeResult:
    """What ``analyze`` did: records built (``ref file``), files lacking audio, the commit made."""

    built: list[str] = field(default_factory=list)
    present: int = 0
    no_audio: list[str] = field(default_factory=list)
    fetch: list[str] = field(default_factory=list)
    commit: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"built": self.built, "present": self.present, "no_audio": self.no_audio,
                "fetch": self.fetch, "commit": self.commit}


def _audio_for(vault: Vault, v: Version, e: StemEntry) -> Path | None:
    """The bytes of ``e`` at ``v``: its LFS object, else the working folder's file when it is the
    same content (same size; the record's own sha256 is checked after reading)."""
    p = _local_audio(vault, e)
    if p is not None:
        return p
    w = vault.cue_dir(v.cue) / e.file
    try:
        if w.is_file() and w.stat().st_size == e.size:
            return w
    except OSError:
        pass
    return None


def build_missing_records(vault: Vault, versions: list[Version]) -> AnalyzeResult:
    """Analyze every audio file of ``versions`` that has no record, from the audio this clone
    holds, and commit the new records (a commit touching only ``.stemvault/analysis/``, which
    is not a version).

    Raises:
        VaultBusy: another writer holds the vault.
    """
    import os
    import shutil
    import tempfile

    from audio.analysis import analyze_file
    from vcs import git, txn
    from vcs.audiofiles import fetch_hint
    from vcs.records import ANALYSIS_DIR, record_relpath, save_record

    out = AnalyzeResult()
    todo: list[tuple[Version, StemEntry]] = []
    seen: set[str] = set()
    for v in versions:
        for e in vault.manifest_at(v).stems:
            if e.kind == "tempo" or not e.sha256 or "sample_rate" not in e.measured or e.sha256 in seen:
                continue
            seen.add(e.sha256)
            if load_record(vault, e.sha256) is not None or load_record(vault, e.sha256, v.commit) is not None:
                out.present += 1
            else:
                todo.append((v, e))
    if not todo:
        return out
    missing: dict[str, tuple[Version, list[str]]] = {}
    records: list[dict[str, Any]] = []
    tmp = Path(tempfile.mkdtemp(prefix="stemvault-analyze-"))
    try:
        for v, e in todo:
            src = _audio_for(vault, v, e)
            if src is None:
                out.no_audio.append(f"{v.ref} {e.file}")
                missing.setdefault(v.ref, (v, []))[1].append(e.file)
                continue
            # An LFS object has no extension: give the reader the file's own name.
            link = tmp / e.file
            link.unlink(missing_ok=True)
            os.symlink(src.resolve(), link)
            rec = analyze_file(link)
            if rec.get("sha256") != e.sha256:
                out.no_audio.append(f"{v.ref} {e.file}")
                missing.setdefault(v.ref, (v, []))[1].append(e.file)
                continue
            records.append(rec)
            out.built.append(f"{v.ref} {e.file}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out.fetch = [fetch_hint(vault, v, names) for v, names in missing.values()]
    if not records:
        return out
    who = vault.identity()
    with vault.writing():
        old_head = git.head(vault.root)
        txn.begin(vault, old_head=old_head, paths=[ANALYSIS_DIR], manifest_path="", manifest_text=None)
        try:
            paths = [save_record(vault, r) for r in records]
            git.run("add", "--", *paths, cwd=vault.root)
            refs = sorted({b.split(" ", 1)[0] for b in out.built})
            msg = (f"Analysis records for {', '.join(refs[:6])}{' …' if len(refs) > 6 else ''} "
                   f"({len(records)} files)\n\nBuilt by `stemvault analyze` from the audio of this clone, so that "
                   "diffs of these versions work without it.\n")
            git.run("commit", "-q", "--no-verify", "-F", "-", "--author", f"{who[0]} <{who[1]}>", "--",
                    *paths, cwd=vault.root, input=msg.encode())
        except BaseException:
            if git.head(vault.root) == old_head:
                txn.rollback(vault, {"paths": [record_relpath(r["sha256"]) for r in records]})
            txn.end(vault)
            raise
        txn.end(vault)
    out.commit = git.head(vault.root)
    return out
