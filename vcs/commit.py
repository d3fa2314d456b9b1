"""Committing a new version of a cue from an export folder.

Public surface:
    CommitResult, commit_version(vault, cue, source, ...) -> CommitResult, parse_note_arg
    re-exported: SourceFile, list_source, read_source (vcs.source: reading the export);
    ChecksRefused (vcs.errors: the checks found errors and no --allow-errors reason was given)

The order of work keeps a failure harmless: everything about the source folder is read (once:
hash, samples, measurements, checks — vcs.source, audio.analysis) and judged before the vault
is touched, and what would stop the commit is asked first (vcs.guards); then, under the vault
lock and with a journal (vcs.txn), changed files are copied in, the manifest written, the folder
staged, every audio file checked to be an LFS pointer carrying the hash we measured, and only
then committed.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audio.analysis import same_content
from audio.checks import Finding, start_tc
from audio.errors import AudioError
from audio.timecode import FrameRate, parse_timecode
from vcs import git, statcache, txn
from vcs._testseam import pause as _pause
from vcs.config import Config
from vcs.errors import (
    ChecksRefused,
    UsageError,
    VaultError,
    cannot_write,
)
from vcs.guards import check_staged, disk_full, guard_cue_folder, preflight, previous_manifest
from vcs.lfs import object_path
from vcs.manifest import MANIFEST_NAME, Manifest, StemEntry
from vcs.models import Note, Version
from vcs.naming import VersionNumber, infer_role, normalize_cue, short_name
from vcs.outside import OutsideChange, changed_outside
from vcs.records import ANALYSIS_DIR, load_record, record_relpath, save_record
from vcs.review import check_in_span, version_span
from vcs.source import SourceFile, check_cancel, list_source, read_source
from vcs.text import visible
from vcs.trust import require_role
from vcs.vault import CUES_DIR, Vault

__all__ = ["ChecksRefused", "CommitResult", "SourceFile", "commit_version", "list_source", "parse_note_arg",
           "read_source"]


@dataclass
class CommitResult:
    version: Version
    manifest: Manifest
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    meta_only: list[str] = field(default_factory=list)  # of ``changed``: the same samples, a real header change
    reexported: list[str] = field(default_factory=list)  # of ``unchanged``: other bytes, the vault's file kept
    ignored: list[str] = field(default_factory=list)
    renamed: list[list[str]] = field(default_factory=list)  # [old, new]: the delta's OLD>NEW
    new_lfs_objects: int = 0  # audio content no earlier version of the cue holds
    findings: list[Finding] = field(default_factory=list)
    null_test: dict[str, Any] | None = None
    analyzed: list[str] = field(default_factory=list)  # files measured now (the rest were known)
    replaced_outside: OutsideChange | None = None  # a plain-git change this version puts right


def parse_note_arg(text: str, config: Config) -> Note:
    """``'01:00:12:05 brass enters early'`` → Note, the timecode checked at the vault's rate."""
    tc, _, body = text.strip().partition(" ")
    if not body.strip():
        raise UsageError(f"note {text!r} needs a timecode and a text: --note '01:00:12:05 brass enters early'")
    try:
        t = parse_timecode(tc, config.frame_rate)
    except AudioError as e:
        raise UsageError(str(e)) from None
    return Note(tc=str(t), text=body.strip(), source="commit")


def _measured(f: SourceFile, rate: FrameRate) -> dict[str, Any]:
    assert f.probe is not None
    rec = f.record or {}
    loud = rec.get("loudness") or {}
    m: dict[str, Any] = {
        "format": f.probe.format, "subtype": f.probe.subtype,
        "sample_rate": f.probe.sample_rate, "bit_depth": f.probe.bit_depth,
        "channels": f.probe.channels, "layout": rec.get("layout", f.probe.layout),
        "frames": f.probe.frames, "duration_s": round(f.probe.duration_s, 6),
        "lossy": f.probe.lossy,
        "time_reference": f.time_reference,
        "start_tc": start_tc(f.time_reference, f.probe.sample_rate, rate),
        "integrated_lufs": _round(loud.get("integrated_lufs")),
        "lra_lu": _round(loud.get("lra_lu")),
        "true_peak_dbtp": _round(loud.get("true_peak_dbtp")),
        "sample_peak_dbfs": _round(rec.get("sample_peak_dbfs")),
        "sha256": f.sha256,
        "size": f.size,
        "analysis": record_relpath(f.sha256) if f.record else None,
    }
    return m


def _round(x: float | None) -> float | None:
    return None if x is None else round(float(x), 2)


def delta_line(cue: str, added: list[str], removed: list[str], changed: list[str]) -> str:
    """The plain delta (``~STR +CHOIR -PAD``): the first version's, where there is nothing to diff."""
    parts = [f"~{short_name(n, cue)}" for n in changed] + [f"+{short_name(n, cue)}" for n in added]
    parts += [f"-{short_name(n, cue)}" for n in removed]
    return " ".join(parts) or "="


def _diff_against(vault: Vault, prev: Manifest, new: Manifest, files: list[SourceFile]) -> Any:
    """The diff (a vcs.diff.VersionDiff) of ``new`` against ``prev``: its delta and renames."""
    from vcs.diff import diff_manifests, vault_records

    fresh = {f.sha256: f.record for f in files if f.record}
    old = vault_records(vault)
    return diff_manifests(prev, new, old, lambda sha: fresh.get(sha) or old(sha),
                          frame_rate=vault.config.frame_rate)


def _message(cue: str, number: VersionNumber, change: str, summary: str, notes: list[Note],
             delta: str, counts: dict[str, int], checks: dict[str, Any]) -> str:
    first = visible(summary.split("\n", 1)[0]) if summary else "(no summary)"
    lines = [f"{cue} v{number} ({'tweak' if change == 'tweak' else 'new version'}): {first}", ""]
    if checks.get("allowed"):
        lines += [f"    Committed with {checks['errors']} check errors: {visible(checks['allowed'])}", ""]
    if "\n" in summary.strip():
        lines += ["    " + visible(s) for s in summary.strip().split("\n")[1:]] + [""]
    lines.append(f"    Delta: {visible(delta)}")
    if notes:
        lines.append("    Notes:")
        lines += [f"      {n.tc}  {visible(n.text)}" for n in notes]
    lines += [
        "",
        f"Stemvault-Cue: {cue}",
        f"Stemvault-Version: {number}",
        f"Stemvault-Change: {change}",
        f"Stemvault-Summary: {json.dumps(summary, ensure_ascii=True)}",
        f"Stemvault-Delta: {json.dumps(delta, ensure_ascii=True)}",
        f"Stemvault-Files: {json.dumps(counts, sort_keys=True)}",
        f"Stemvault-Checks: {json.dumps(checks, sort_keys=True, ensure_ascii=True)}",
    ]
    lines += [f"Stemvault-Note: {n.to_json_line()}" for n in notes]
    return "\n".join(lines) + "\n"


def _copy_in(src: Path, dest: Path, incoming: Path, copied: Path | None = None) -> None:
    """Copy ``src`` to ``dest`` through a temp file so ``dest`` is never half-written; with
    ``copied`` (the copy the analysis wrote while reading ``src``), just move that in."""
    if copied is not None:
        try:
            os.replace(copied, dest)
            return
        except FileNotFoundError:
            pass  # swept away (a recovery under the lock): copy after all
    incoming.mkdir(parents=True, exist_ok=True)
    tmp = incoming / dest.name
    shutil.copyfile(src, tmp)  # sendfile: in-kernel, no Python buffers
    os.replace(tmp, dest)


def commit_version(
    vault: Vault,
    cue: str,
    source: Path,
    *,
    summary: str = "",
    notes: list[str] | None = None,
    minor: bool = False,
    mix: str | None = None,
    allow_errors: str | None = None,
    progress: Callable[[str, float], None] | None = None,
    cancel: threading.Event | None = None,
    provenance: dict[str, Any] | None = None,
) -> CommitResult:
    """Make a new version of ``cue`` from the export folder ``source``.

    ``provenance`` (``stemvault separate``: ``{"kind": "separated", "model": ...}``) is recorded as
    the manifest's ``[provenance]`` table and the ``Stemvault-Provenance`` trailer.

    ``progress`` is called with each file's name and the share of it analyzed (0.0 to 1.0);
    ``cancel``, once set, stops the commit at the next check — between files and blocks of the
    analysis, before the vault lock is taken, and last before git commits (the vault is rolled
    back) — with Cancelled: nothing committed, this process's staging folder removed.

    Raises:
        Cancelled: ``cancel`` was set before the version was committed.
        UsageError, SourceError: for bad input; the vault and the source are left as they were.
        ChecksRefused: the checks found errors and ``allow_errors`` gives no reason.
        GitFailed: when git itself fails (the vault is rolled back).
    """
    cue = normalize_cue(cue)
    git.require_tools(vault.root)
    note_objs = [parse_note_arg(n, vault.config) for n in notes or []]
    who = vault.identity()
    require_role(vault.config, "composers", who[1], "commit versions")  # [roles] composers, when listed
    source = Path(source).expanduser()
    if allow_errors is not None and not allow_errors.strip():
        raise UsageError("--allow-errors needs a reason, e.g. --allow-errors 'temp mix, stems to follow'")
    # The analysis writes its copies into a folder of this process's own (nothing of the vault
    # changes before the checks pass and the lock is held; another process's recovery leaves
    # it alone: vcs.txn.staging_dir); what is left of it goes at the end.
    staging = txn.staging_dir(vault)
    try:  # before reading the export: a vault that cannot be written says so at once
        staging.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise cannot_write(e, vault.root) from None
    try:
        return _commit(vault, cue, source, staging / "read", summary=summary, note_objs=note_objs, who=who,
                       minor=minor, mix=mix, allow_errors=allow_errors, progress=progress, cancel=cancel,
                       provenance=provenance)
    except (OSError, VaultError) as e:
        full = disk_full(vault, e, cue, source)
        if full is None:
            raise
        raise full from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _commit(vault: Vault, cue: str, source: Path, copies: Path, *, summary: str, note_objs: list[Note],
            who: tuple[str, str], minor: bool, mix: str | None, allow_errors: str | None,
            progress: Callable[[str, float], None] | None = None, cancel: threading.Event | None = None,
            provenance: dict[str, Any] | None = None) -> CommitResult:
    preflight(vault, cue)
    files, ignored, report, mix_name, mix_from = read_source(vault, source, cue=cue, mix=mix, copies=copies,
                                                             progress=progress, cancel=cancel)
    errors = [f for f in report.findings if f.severity == "error"]
    if errors and allow_errors is None:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ChecksRefused(f"not committed: {errors[0].message}{more}; fix the export, or commit anyway "
                            "with --allow-errors 'reason'", report.findings)

    check_cancel(cancel)
    with vault.writing():
        guard_cue_folder(vault, cue, {f.name for f in files})
        history = vault.versions(cue)
        prev = history[0] if history else None
        # A plain-git commit after the latest version (vcs.outside): the export is committed
        # over it, and the files it changed are copied in even where the export equals `prev`.
        outside = changed_outside(vault, prev) if prev else None
        replaced = set(outside.files) if outside else set()
        prev_manifest, prev_text = previous_manifest(vault, cue, prev)
        number = prev.version.next(minor=minor) if prev else VersionNumber(1, 0)
        change = "tweak" if (prev and minor) else "new"

        old = {s.file: s for s in prev_manifest.stems} if prev_manifest else {}
        by_name = {f.name: f for f in files}
        order = [n for n in old if n in by_name] + [f.name for f in files if f.name not in old]
        stems: list[StemEntry] = []
        added, changed, unchanged, meta_only = [], [], [], []
        # A re-export of the same audio (only volatile header fields restamped) keeps the vault's
        # file: its name -> the vault's copy of the bytes (see _reexport).
        cue_dir = vault.cue_dir(cue)
        kept: dict[str, Path] = {}
        for name in order:
            f = by_name[name]
            o = old.get(name)
            how = _reexport(vault, cue_dir, o, f) if o is not None else None
            if name in replaced and how == cue_dir / name:
                # the working copy holds the plain-git change: the vault's bytes come from LFS
                obj = object_path(vault.git_dir, o.sha256) if o is not None else None
                how = obj if obj is not None and obj.is_file() else None
            entry = StemEntry(file=name, **(o.descriptive() if o else {}))
            if f.is_audio:
                entry.measured = _measured(f, vault.config.frame_rate)
                if isinstance(how, Path) and o is not None:
                    kept[name] = how
                    entry.measured.update(sha256=o.sha256, size=o.size, analysis=o.measured.get("analysis"))
                if not o:
                    entry.role = infer_role(name, cue) or ""
            else:
                entry.kind, entry.role = "tempo", entry.role or "tempo"
                entry.measured = {"sha256": f.sha256, "size": f.size}
            if name == mix_name:
                entry.kind, entry.role = "mix", entry.role or "mix"
            elif entry.kind == "mix":
                entry.kind = "stem"
            stems.append(entry)
            if o is None:
                added.append(name)
            elif o.sha256 == f.sha256 or name in kept:
                unchanged.append(name)
            else:
                changed.append(name)
                if how == "metadata":
                    meta_only.append(name)
        removed = [n for n in old if n not in by_name]
        checks: dict[str, Any] = {
            "errors": len(errors), "warnings": sum(f.severity == "warning" for f in report.findings),
            "null_test_residual_db": (report.analysis.null_test or {}).get("residual_db"),
        }
        if mix_name and report.analysis.null_test is None:  # said, so no one reads "no residual" as a pass
            checks["null_test_skipped"] = report.null_test_doc()["reason"]
        if allow_errors:
            checks["allowed_errors"] = allow_errors
        manifest = Manifest(cue=cue, version=str(number), frame_rate=vault.config.frame_rate.name,
                            stems=stems, mix=mix_name, mix_from=mix_from,
                            extra={"checks": checks, "finding": [f.to_dict() for f in report.findings]})
        if provenance:
            manifest.extra["provenance"] = provenance
        for n in note_objs:  # a --note lies within the new version, as `note` requires
            check_in_span(parse_timecode(n.tc, vault.config.frame_rate),
                          version_span(manifest, vault.config.frame_rate), f"{cue}@{number}")
        text = manifest.to_toml(prev_text)
        if prev and outside is None and not (added or removed or changed) and prev_text is not None:
            same = Manifest.from_toml(prev_text)
            same.version = manifest.version
            if same.to_toml(prev_text) == text and not note_objs:
                raise UsageError(f"nothing changed since {cue}@{prev.version}: no new version made")

        cue_rel = f"{CUES_DIR}/{cue}"
        renamed: list[list[str]] = []
        if prev_manifest:
            vdiff = _diff_against(vault, prev_manifest, manifest, files)
            delta = vdiff.delta
            renamed = _take_renames(vdiff, added, removed, changed)
        else:
            delta = delta_line(cue, added, removed, changed)
        counts = {"added": len(added), "removed": len(removed), "changed": len(changed),
                  "unchanged": len(unchanged), "renamed": len(renamed)}
        message = _message(cue, number, change, summary, note_objs, delta, counts,
                           {"errors": len(errors), "warnings": checks["warnings"], "allowed": allow_errors})
        if provenance:  # how the stems were made (a separation), read back by vcs.vault into Version
            message += f"Stemvault-Provenance: {json.dumps(provenance, sort_keys=True, ensure_ascii=True)}\n"
        if outside:  # the last paragraph is the trailers: one more records what this version replaced
            message += f"Stemvault-Replaces: {json.dumps(_replaces(outside), ensure_ascii=True)}\n"
        incoming = txn.staging_dir(vault) / "copy"  # this process's: see commit_version
        old_head = git.head(vault.root)
        mrel = f"{cue_rel}/{MANIFEST_NAME}"
        user_manifest = (cue_dir / MANIFEST_NAME).read_text(encoding="utf-8") \
            if (cue_dir / MANIFEST_NAME).is_file() else None
        # What the commit writes and removes, set aside first so that a rollback puts back the
        # very files (vcs.txn): never a checkout, never a clean.
        def left_in_place(n: str) -> bool:  # the working folder's file is already the one to commit
            dest = cue_dir / n
            if n in replaced:  # it holds the plain-git change
                return False
            if n in kept:
                return kept[n] == dest
            return n in unchanged and dest.is_file() and dest.stat().st_size == by_name[n].size

        in_place = {n for n in order if left_in_place(n)}
        writes = [n for n in order if n not in in_place]
        tracked = [t[len(cue_rel) + 1:] for t in git.ls_files(f"{cue_rel}/", cwd=vault.root)]
        deletes = sorted(set(tracked) - {*by_name, MANIFEST_NAME})  # never an ignored file (guard_cue_folder)
        touched = [f"{cue_rel}/{n}" for n in (*writes, *deletes, MANIFEST_NAME)]
        records = [record_relpath(f.sha256) for f in files if f.record and f.name not in kept]
        created = [r for r in (*touched, *records) if not os.path.lexists(vault.root / r)]
        audio_shas = {old[n].sha256 if n in kept else by_name[n].sha256 for n in order if by_name[n].is_audio}
        absent = sorted(h for h in audio_shas if not object_path(vault.git_dir, h).exists())
        started = time.time()
        txn.begin(vault, old_head=old_head, paths=[cue_rel, ANALYSIS_DIR], manifest_path=mrel,
                  manifest_text=user_manifest, touched=touched, created=created, objects=absent)
        try:
            cue_dir.mkdir(parents=True, exist_ok=True)
            new_paths = set(created)
            for name in writes:
                f = by_name[name]
                copied = copies / name
                rel = f"{cue_rel}/{name}"
                txn.set_aside(vault, rel, planned_absent=rel in new_paths)
                if name in kept:  # a re-export: the vault's bytes, not the restamped ones
                    _copy_in(kept[name], cue_dir / name, incoming)
                else:
                    _copy_in(f.path, cue_dir / name, incoming,
                             copied if f.record is not None and copied.is_file() else None)
            for name in deletes:
                txn.set_aside(vault, f"{cue_rel}/{name}")
            txn.set_aside(vault, mrel, planned_absent=mrel in new_paths)
            (cue_dir / MANIFEST_NAME).write_text(text, encoding="utf-8")
            for f in files:
                if f.record and f.name not in kept:  # a kept file's record is the vault's
                    save_record(vault, f.record)
            _pause("after-copy")
            # Files left in place are staged too: one changed there by hand (never committed)
            # then differs from the version and check_staged refuses, naming it; nothing is lost.
            git.add(*touched, *records, *(f"{cue_rel}/{n}" for n in sorted(in_place)),
                    cwd=vault.root, all_changes=True, literal=True)
            _pause("after-add")
            check_staged(vault, cue_rel, manifest, outside, in_place)
            check_cancel(cancel)  # the last moment: the rollback below puts the folder back
            git.commit(message, cwd=vault.root, author=who, verbatim=True, hooks=False)
            _pause("after-commit")
        except BaseException:
            # Put the folder back now rather than at the next command (a KeyboardInterrupt
            # included); a SIGKILL skips this and the journal does it later.
            if git.head(vault.root) == old_head:
                txn.rollback(vault, {"paths": [cue_rel, ANALYSIS_DIR], "manifest_path": mrel,
                                     "manifest_text": user_manifest, "touched": touched, "created": created,
                                     "objects": absent, "started": started})
            txn.finish(vault)
            raise
        txn.finish(vault)
        shutil.rmtree(incoming, ignore_errors=True)  # only this process's
        # Kept files are left out: their bytes are not the vault's, and their record is not saved.
        statcache.remember(vault, [(f.path, f.sha256) for f in files if f.probe is not None and f.name not in kept])

    version = vault.resolve(f"{cue}@{number}")
    return CommitResult(version=version, manifest=manifest, added=added, removed=removed,
                        changed=changed, unchanged=unchanged, meta_only=meta_only, reexported=sorted(kept),
                        ignored=ignored, renamed=renamed,
                        new_lfs_objects=len(audio_shas - _referenced(vault, history)), findings=report.findings,
                        null_test=report.null_test_doc(),
                        analyzed=sorted(n for n, r in report.analysis.records.items() if r is not None),
                        replaced_outside=outside)


def _reexport(vault: Vault, cue_dir: Path, o: StemEntry, f: SourceFile) -> Path | str | None:
    """How a file of the export compares with the same-named file ``o`` of the vault when their
    bytes differ: a Path when it is a re-export of the same content (the same samples and the
    same significant header facts, audio.analysis.same_content: only volatile fields such as
    the bext description or origination date differ) and the vault's bytes are at hand there
    (the working copy, else the local LFS object) — the vault keeps its file; ``"metadata"``
    for the same samples with a real header change; None otherwise (other audio, or records
    that cannot tell)."""
    if not f.is_audio or o.sha256 == f.sha256 or not o.sha256 or o.kind == "tempo":
        return None
    how = same_content(load_record(vault, o.sha256), f.record)
    if how != "same":
        return how
    dest = cue_dir / o.file
    try:
        if dest.is_file() and not dest.is_symlink() and dest.stat().st_size == o.size:
            return dest  # check_staged checks that it holds the vault's bytes
    except OSError:
        pass
    obj = object_path(vault.git_dir, o.sha256)
    return obj if obj.is_file() else None  # without the vault's bytes here, store the new ones


def _replaces(outside: OutsideChange) -> dict[str, Any]:
    return {"after": outside.after, "files": outside.files, "commits": [c.commit for c in outside.commits]}


def _referenced(vault: Vault, history: list[Version]) -> set[str]:
    """The content (sha256 = LFS oid) the earlier versions of a cue hold."""
    out: set[str] = set()
    for v in history:
        try:
            out |= {s.sha256 for s in vault.manifest_at(v).stems if s.sha256}
        except VaultError:
            continue
    return out


def _take_renames(d: Any, added: list[str], removed: list[str], changed: list[str]) -> list[list[str]]:
    """The renames the delta shows (``OLD>NEW``), as [old, new] pairs, taken out of ``added`` and
    ``removed`` (in place); a renamed file whose audio changed is also listed in ``changed``."""
    pairs: list[list[str]] = []
    for f in [*d.stems, *([d.mix] if d.mix else [])]:
        if not f.renamed_from or f.renamed_from not in removed or f.name not in added:
            continue
        pairs.append([f.renamed_from, f.name])
        removed.remove(f.renamed_from)
        added.remove(f.name)
        if f.status != "renamed":
            changed.append(f.name)
    return pairs


