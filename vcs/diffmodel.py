"""The data of a diff: what changed between two versions, per file and for the set.

Public surface:
    Region, FieldChange, FileDiff, VersionDiff (dataclasses; ``to_dict()`` is the ``--json`` form)
    STATUSES, FORMAT_FIELDS, NULL_PASS_DB
    Records: how a diff reads analysis records (sha256 -> record or None)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FORMAT_FIELDS", "NULL_PASS_DB", "STATUSES", "FieldChange", "FileDiff", "Records", "Region",
           "VersionDiff"]

Records = Callable[[str], "dict[str, Any] | None"]

STATUSES = ("added", "removed", "changed", "moved", "renamed", "metadata", "unchanged")
FORMAT_FIELDS = ("format", "subtype", "sample_rate", "bit_depth", "channels", "layout", "start_tc")
NULL_PASS_DB = -60.0


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
    null_test: dict[str, Any]  # a, b: residual dB (None: perfect or no mix); a_passes, b_passes;
    # a_skipped, b_skipped: why that side's null test did not run (None: it ran, or no mix)
    null_limit_db: float = NULL_PASS_DB
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
