"""The set-level fields of two manifests that differ (frame rate, mix, check counts, extras), in words.

Public surface:
    manifest_fields(a, b) -> [FieldChange]   (``tempo map``, ``check warnings``...)
"""

from __future__ import annotations

from typing import Any

from vcs.diffmodel import FieldChange
from vcs.manifest import Manifest

__all__ = ["manifest_fields"]


def set_fields(m: Manifest) -> dict[str, Any]:
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


def manifest_fields(ma: Manifest, mb: Manifest) -> list[FieldChange]:
    """Set-level fields that differ, in words (``tempo map``, ``check warnings``), via deepdiff."""
    sa, sb = set_fields(ma), set_fields(mb)
    if sa == sb:
        return []
    # Imported here, when fields differ: it costs ~80-160 ms, which a diff pays once per process
    # (measured against the flat-dict look-alike it replaces: +0.1 ms per in-process diff once
    # imported; a `stemvault diff` whose set-level fields differ starts ~110 ms slower).
    from deepdiff import DeepDiff

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


def _plainify(v: Any) -> Any:
    if v is None or isinstance(v, str | int | float | bool):
        return v
    if isinstance(v, dict):
        return {str(k): _plainify(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plainify(x) for x in v]
    return str(v)
