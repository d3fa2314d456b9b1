"""Analysis records in the vault: ``.stemvault/analysis/<sha[:2]>/<sha>.json``, plain git blobs.

Public surface:
    record_relpath(sha), load_record(vault, sha, commit=None), save_record(vault, record) -> relpath

Records are content-addressed: the same audio has one record, written once, whatever version or
cue it appears in. They are small (about 25 KB for a 5-minute stem) and committed with the
version, so a clone without the audio can still browse, diff and draw waveforms.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vcs.paths import VaultPaths

__all__ = ["ANALYSIS_DIR", "load_record", "record_relpath", "save_record"]

ANALYSIS_DIR = ".stemvault/analysis"


def record_relpath(sha: str) -> str:
    return f"{ANALYSIS_DIR}/{sha[:2]}/{sha}.json"


def load_record(vault: VaultPaths, sha: str, commit: str | None = None) -> dict[str, Any] | None:
    """The record of content ``sha``: from the working folder, else from ``commit`` (or HEAD)."""
    rel = record_relpath(sha)
    path = vault.root / rel
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        return data
    except (OSError, ValueError):
        pass
    # Through the vault's cat-file process, by name: no rev-parse subprocess per record.
    raw = vault.objects.read_rev(f"{commit or 'HEAD'}:{rel}")
    if raw is None:
        return None
    try:
        rec: dict[str, Any] = json.loads(raw)
        return rec
    except ValueError:
        return None


def save_record(vault: VaultPaths, record: dict[str, Any]) -> str:
    """Write ``record`` unless it is there already; return its path relative to the vault."""
    rel = record_relpath(record["sha256"])
    path = vault.root / rel
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n")
        os.replace(tmp, path)
    return rel
