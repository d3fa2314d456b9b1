"""Reading an export folder for a commit: which files, their hashes and measurements, once.

Public surface:
    TEMPO_NAMES, SourceFile, list_source(path), read_source(vault, path, cue=, mix=, ...),
    check_cancel(event)

Each file is read once (hash, samples, measurements, checks: audio.analysis through
vcs.checking); files already known to the vault (the stat cache, or the same bytes as the
latest version's file of that name) are only decoded for the null test.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audio.analysis import FileSpec
from audio.probe import Probe, hash_file, is_audio_name
from vcs import statcache
from vcs.checking import CheckReport, choose_mix, run_checks
from vcs.errors import (
    Cancelled,
    SourceError,
    VaultError,
)
from vcs.exportdir import entry_problem
from vcs.records import load_record
from vcs.vault import Vault

__all__ = ["TEMPO_NAMES", "SourceFile", "check_cancel", "list_source", "read_source"]

TEMPO_NAMES = ("tempo.mid", "tempo.midi")


@dataclass
class SourceFile:
    """One file of an export folder, read once: its header facts and its hash."""

    path: Path
    name: str
    probe: Probe | None  # None for a tempo map
    sha256: str
    size: int
    record: dict[str, Any] | None = None  # the analysis record
    time_reference: int | None = None  # BWF start, samples since midnight

    @property
    def is_audio(self) -> bool:
        return self.probe is not None


def _bad_name(name: str) -> str | None:
    if any(not c.isprintable() for c in name):
        return "has control characters in its name"
    if name.startswith("-"):
        return "starts with '-'"
    return None


def list_source(source: Path) -> tuple[list[Path], list[str]]:
    """The audio files and tempo map of an export folder, and the names of files ignored.

    Raises:
        SourceError: when the folder is missing, empty, holds no audio, or a name is unusable.
    """
    if not source.exists():
        raise SourceError(f"{source}: no such folder")
    if not source.is_dir():
        raise SourceError(f"{source} is not a folder: give the folder your stems were exported to")
    try:
        entries = sorted(os.scandir(source), key=lambda e: e.name)
    except OSError as err:
        raise SourceError(f"{source}: cannot read it ({err.strerror})") from None
    wanted: list[Path] = []
    ignored: list[str] = []
    for e in entries:
        if e.name.startswith("."):
            continue
        problem = entry_problem(e, wanted=is_audio_name(e.name) or e.name.lower() in TEMPO_NAMES)
        if problem:
            raise SourceError(problem)
        if not e.is_file():
            ignored.append(e.name + "/")
            continue
        if is_audio_name(e.name) or e.name.lower() in TEMPO_NAMES:
            why = _bad_name(e.name)
            if why:
                raise SourceError(f"{e.name!r} {why}: rename it and commit again")
            wanted.append(Path(e.path))
        else:
            ignored.append(e.name)
    if not entries:
        raise SourceError(f"{source} is empty: export the stems there first")
    if not any(is_audio_name(p.name) for p in wanted):
        raise SourceError(f"{source} holds no audio files (.wav, .bwf, .aif, .flac, ...): "
                          "is it the right folder?")
    return wanted, ignored


def read_source(vault: Vault, source: Path, *, cue: str, mix: str | None, copies: Path | None = None,
                progress: Callable[[str, float], None] | None = None, cancel: threading.Event | None = None,
                ) -> tuple[list[SourceFile], list[str], CheckReport, str | None, str]:
    """Read an export folder once: hash, measure and check every file.

    Files whose content already has an analysis record in the vault are only decoded for the
    null test, not measured again. They are known through the stat cache (same path, size,
    mtime and inode as when they were last committed) or, for a full re-export (every file
    written anew, most of them the same), by content: a file with the name and size of one of
    the cue's latest version is hashed first (sha256 alone costs a fraction of an analysis), and
    taken as known when its hash matches. With ``copies`` (a private folder), every file that
    is measured is also written there, from the same read (``FileSpec.copy_to``): the copy the
    commit moves into the work tree without reading the file again.

    ``progress`` (file name, share read) and ``cancel`` (raises Cancelled once set, checked
    between files and blocks): see ``run_checks``.
    """
    check_cancel(cancel)
    wanted, ignored = list_source(source)
    audio = [p for p in wanted if is_audio_name(p.name)]
    mix_name, mix_from = choose_mix([p.name for p in audio], mix, vault.config.mix_patterns)
    cache = statcache.load(vault)
    skip: set[str] = set()
    known: dict[str, dict[str, Any]] = {}
    expected: dict[str, str] = {}
    for p in audio:
        sha = statcache.lookup(cache, p)
        rec = load_record(vault, sha) if sha else None
        if sha and rec:
            skip.add(p.name)
            known[p.name] = rec
            expected[p.name] = sha
    for name, (sha, rec) in _same_as_before(vault, cue, [p for p in audio if p.name not in skip]).items():
        skip.add(name)
        known[name] = rec
        expected[name] = sha
    if copies is not None:
        copies.mkdir(parents=True, exist_ok=True)
    specs = [FileSpec(p, p.name, None if copies is None or p.name in skip else copies / p.name) for p in audio]
    check_cancel(cancel)
    report = run_checks(specs, config=vault.config, rate=vault.config.frame_rate, cue=cue, mix=mix_name,
                        skip=skip, known=known, progress=progress, cancel=cancel)
    stale = [n for n, sha in expected.items() if report.analysis.sha256[n] != sha]
    if stale:  # changed in place without a new mtime: measure everything afresh
        report = run_checks(specs, config=vault.config, rate=vault.config.frame_rate, cue=cue, mix=mix_name,
                            progress=progress, cancel=cancel)
        known = {}
    files: list[SourceFile] = []
    for p in audio:
        a = report.analysis
        rec = a.records.get(p.name) or known.get(p.name)
        files.append(SourceFile(p, p.name, a.probes[p.name], a.sha256[p.name], a.probes[p.name].size,
                                rec, report.time_refs.get(p.name)))
    for p in wanted:
        if not is_audio_name(p.name):
            check_cancel(cancel)
            sha, size = hash_file(p)
            files.append(SourceFile(p, p.name, None, sha, size))
    files.sort(key=lambda f: f.name)
    return files, ignored, report, mix_name, mix_from


def check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled: nothing was committed")


def _same_as_before(vault: Vault, cue: str, paths: list[Path]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Files of ``paths`` whose bytes are those of the same-named file of the cue's latest
    version (its analysis record in hand): name -> (sha256, record)."""
    try:
        history = vault.versions(cue, details=False)
        old = {s.file: s for s in vault.manifest_at(history[0]).stems} if history else {}
    except VaultError:
        return {}
    candidates = []
    for p in paths:
        o = old.get(p.name)
        try:
            if o is not None and o.sha256 and o.size == p.stat().st_size:
                candidates.append((p, o.sha256))
        except OSError:
            continue  # the analysis reports it
    if not candidates:
        return {}

    def same(item: tuple[Path, str]) -> tuple[str, str, dict[str, Any]] | None:
        p, want = item
        try:
            sha, _ = hash_file(p)
        except OSError:
            return None
        rec = load_record(vault, sha) if sha == want else None
        return (p.name, sha, rec) if rec else None

    # hashlib releases the GIL: two threads hash two files at once
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        hits = [h for h in pool.map(same, candidates) if h is not None]
    return {name: (sha, rec) for name, sha, rec in hits}


