"""Which file of one version is which file of the other (a diff's first step).

Public surface:
    match(a, b, cue_a, cue_b, records_a, records_b) -> (pairs (a, b, how), removed, added)
    fingerprints(record) -> the record's 1 s block fingerprints, or None

Files are matched by name (by name without the cue prefix across cues), then by content (same
sha256 or same PCM: a rename), then by a role found once on each side.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vcs.diffmodel import Records
from vcs.manifest import StemEntry
from vcs.naming import short_name

__all__ = ["fingerprints", "match"]



def fingerprints(rec: dict[str, Any] | None) -> list[str] | None:
    try:
        return list(rec["fingerprints"]["hashes"]) if rec else None
    except (KeyError, TypeError):
        return None


def match(ea: list[StemEntry], eb: list[StemEntry], cue_a: str, cue_b: str,
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
                fp = fingerprints(rec(e.sha256)) if e.sha256 else None
                return (tuple(fp), e.measured.get("frames")) if fp else None
            return key
        take(pcm(rec_a), pcm(rec_b), "content")
    take(lambda e: e.role, lambda e: e.role, "role", unique=True)
    return pairs, left, right
