"""The set-level fields of two manifests that differ (frame rate, mix, check counts, extras), in words.

Public surface:
    manifest_fields(a, b) -> [FieldChange]   (``tempo map``, ``check warnings``...)
"""

from __future__ import annotations

import math
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
