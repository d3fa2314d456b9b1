"""Analysis records built for versions that lack them (``stemvault analyze``), and committed.

Public surface:
    AnalyzeResult
    build_missing_records(vault, versions) -> AnalyzeResult
    local_audio(vault, entry) -> the file's LFS object in this clone, or None
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vcs.records import load_record

if TYPE_CHECKING:
    from vcs.manifest import StemEntry
    from vcs.models import Version
    from vcs.vault import Vault

__all__ = ["AnalyzeResult", "build_missing_records", "local_audio"]


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
    p = local_audio(vault, e)
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
            git.add(*paths, cwd=vault.root)
            refs = sorted({b.split(" ", 1)[0] for b in out.built})
            msg = (f"Analysis records for {', '.join(refs[:6])}{' …' if len(refs) > 6 else ''} "
                   f"({len(records)} files)\n\nBuilt by `stemvault analyze` from the audio of this clone, so that "
                   "diffs of these versions work without it.\n")
            git.commit(msg, *paths, cwd=vault.root, author=who, hooks=False)
        except BaseException:
            if git.head(vault.root) == old_head:
                txn.rollback(vault, {"paths": [record_relpath(r["sha256"]) for r in records]})
            txn.end(vault)
            raise
        txn.end(vault)
    out.commit = git.head(vault.root)
    return out


def local_audio(vault: Vault, e: StemEntry) -> Path | None:
    from vcs.lfs import object_path

    p = object_path(vault.git_dir, e.sha256)
    return p if p.is_file() else None
