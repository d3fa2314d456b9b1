"""Committing a new version of a cue from an export folder.

Public surface:
    SourceFile, scan_source(path, config) -> list[SourceFile] (probed and hashed)
    CommitResult, commit_version(vault, cue, source, ...) -> CommitResult

The order of work keeps a failure harmless: everything about the source folder is read and
judged before the vault is touched; then, under the vault lock and with a journal (vcs.txn),
changed files are copied in, the manifest written, the folder staged, every audio file checked
to be an LFS pointer carrying the hash we measured, and only then committed.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audio.errors import AudioError
from audio.probe import Probe, hash_file, is_audio_name, probe
from audio.timecode import parse_timecode
from vcs import git, txn
from vcs.config import Config
from vcs.errors import GitFailed, SourceError, UsageError, VaultError
from vcs.lfs import object_path, parse_pointer
from vcs.manifest import MANIFEST_NAME, Manifest, StemEntry
from vcs.models import Note, Version, sanitize_line
from vcs.naming import VersionNumber, infer_role, normalize_cue
from vcs.vault import CUES_DIR, Vault

__all__ = ["CommitResult", "SourceFile", "commit_version", "parse_note_arg", "scan_source"]

TEMPO_NAMES = ("tempo.mid", "tempo.midi")


@dataclass
class SourceFile:
    """One file of an export folder, read once: its header facts and its hash."""

    path: Path
    name: str
    probe: Probe | None  # None for a tempo map
    sha256: str
    size: int

    @property
    def is_audio(self) -> bool:
        return self.probe is not None


@dataclass
class CommitResult:
    version: Version
    manifest: Manifest
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    new_lfs_objects: int = 0


def _pause(point: str) -> None:
    """A test seam: tests kill the process while it waits here (see tests/test_interrupt.py)."""
    if os.environ.get("STEMVAULT_TEST_PAUSE") == point:
        marker = os.environ.get("STEMVAULT_TEST_PAUSE_FILE")
        if marker:
            Path(marker).write_text(str(os.getpid()))
        time.sleep(float(os.environ.get("STEMVAULT_TEST_PAUSE_S", "60")))


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


def _bad_name(name: str) -> str | None:
    if any(not c.isprintable() for c in name):
        return "has control characters in its name"
    if name.startswith("-"):
        return "starts with '-'"
    return None


def scan_source(source: Path, *, workers: int = 2) -> tuple[list[SourceFile], list[str]]:
    """Probe and hash the files of an export folder (each file read once), in parallel.

    Returns:
        The audio files and tempo map, and the names of files that were ignored.

    Raises:
        SourceError: when the folder is missing, empty, holds no audio, or a file is unreadable.
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

    def read(p: Path) -> SourceFile:
        pr = probe(p) if is_audio_name(p.name) else None
        sha, size = hash_file(p)
        return SourceFile(p, p.name, pr, sha, size)

    errors: list[str] = []
    files: list[SourceFile] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for p, fut in [(p, pool.submit(read, p)) for p in wanted]:
            try:
                files.append(fut.result())
            except AudioError as e:
                errors.append(str(e))
            except OSError as e:
                errors.append(f"{p.name}: cannot read it ({e.strerror})")
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise SourceError(errors[0] + more)
    return files, ignored


def _choose_mix(files: list[SourceFile], mix: str | None, config: Config) -> tuple[str | None, str]:
    names = [f.name for f in files if f.is_audio]
    if mix:
        m = Path(mix).name
        if m not in names:
            raise UsageError(f"--mix {mix}: no such audio file in the source folder")
        return m, "--mix"
    hits = [n for n in names
            if any(fnmatch.fnmatch(n.lower(), pat.lower()) for pat in config.mix_patterns)]
    if len(hits) > 1:
        raise UsageError(f"several files look like the mix ({', '.join(hits)}): say which with --mix FILE")
    return (hits[0], "name rule") if hits else (None, "")


def _measured(f: SourceFile) -> dict[str, Any]:
    assert f.probe is not None
    m: dict[str, Any] = {
        "format": f.probe.format, "subtype": f.probe.subtype,
        "sample_rate": f.probe.sample_rate, "bit_depth": f.probe.bit_depth,
        "channels": f.probe.channels, "layout": f.probe.layout, "frames": f.probe.frames,
        "duration_s": round(f.probe.duration_s, 6),
    }
    m["lossy"] = f.probe.lossy
    m["sha256"] = f.sha256
    m["size"] = f.size
    return m


def _token(name: str, cue: str) -> str:
    stem = name.rsplit(".", 1)[0]
    if stem.upper().startswith(cue.upper()):
        stem = stem[len(cue):].lstrip("_-")
    return stem or name


def delta_line(cue: str, added: list[str], removed: list[str], changed: list[str]) -> str:
    """The compact delta of a version (``~STR +CHOIR -PAD``); regions come with the diff issue."""
    parts = [f"~{_token(n, cue)}" for n in changed] + [f"+{_token(n, cue)}" for n in added]
    parts += [f"-{_token(n, cue)}" for n in removed]
    return " ".join(parts) or "="


def _message(cue: str, number: VersionNumber, change: str, summary: str, notes: list[Note],
             delta: str, counts: dict[str, int]) -> str:
    first = sanitize_line(summary.split("\n", 1)[0]) if summary else "(no summary)"
    lines = [f"{cue} v{number} ({'tweak' if change == 'tweak' else 'new version'}): {first}", ""]
    if "\n" in summary.strip():
        lines += ["    " + sanitize_line(s) for s in summary.strip().split("\n")[1:]] + [""]
    lines.append(f"    Delta: {sanitize_line(delta)}")
    if notes:
        lines.append("    Notes:")
        lines += [f"      {n.tc}  {sanitize_line(n.text)}" for n in notes]
    lines += [
        "",
        f"Stemvault-Cue: {cue}",
        f"Stemvault-Version: {number}",
        f"Stemvault-Change: {change}",
        f"Stemvault-Summary: {json.dumps(summary, ensure_ascii=True)}",
        f"Stemvault-Delta: {json.dumps(delta, ensure_ascii=True)}",
        f"Stemvault-Files: {json.dumps(counts, sort_keys=True)}",
    ]
    lines += [f"Stemvault-Note: {n.to_json_line()}" for n in notes]
    return "\n".join(lines) + "\n"


def _previous_manifest(vault: Vault, cue: str, prev: Version | None) -> tuple[Manifest | None, str | None]:
    """The manifest to build on: the working copy when it parses (it carries hand edits)."""
    path = vault.cue_dir(cue) / MANIFEST_NAME
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
            m = Manifest.from_toml(text)
            if m.cue == cue:
                return m, text
        except (OSError, UnicodeDecodeError, VaultError):
            pass
    if prev is not None:
        m = vault.manifest_at(prev)
        return m, m.to_toml()
    return None, None


def _copy_in(src: Path, dest: Path, incoming: Path) -> None:
    """Copy ``src`` to ``dest`` through a temp file so ``dest`` is never half-written."""
    incoming.mkdir(parents=True, exist_ok=True)
    tmp = incoming / f"{os.getpid()}-{dest.name}"
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
) -> CommitResult:
    """Make a new version of ``cue`` from the export folder ``source``.

    Raises:
        UsageError, SourceError: for bad input; the vault and the source are left as they were.
        GitFailed: when git itself fails (the vault is rolled back).
    """
    cue = normalize_cue(cue)
    git.require_tools(vault.root)
    note_objs = [parse_note_arg(n, vault.config) for n in notes or []]
    who = vault.identity()
    source = Path(source).expanduser()
    files, ignored = scan_source(source)
    mix_name, mix_from = _choose_mix(files, mix, vault.config)

    with vault.writing():
        history = vault.versions(cue)
        prev = history[0] if history else None
        prev_manifest, prev_text = _previous_manifest(vault, cue, prev)
        number = prev.version.next(minor=minor) if prev else VersionNumber(1, 0)
        change = "tweak" if (prev and minor) else "new"

        old = {s.file: s for s in prev_manifest.stems} if prev_manifest else {}
        by_name = {f.name: f for f in files}
        order = [n for n in old if n in by_name] + [f.name for f in files if f.name not in old]
        stems: list[StemEntry] = []
        added, changed, unchanged = [], [], []
        for name in order:
            f = by_name[name]
            o = old.get(name)
            entry = StemEntry(file=name, **(o.descriptive() if o else {}))
            if f.is_audio:
                entry.measured = _measured(f)
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
            elif o.sha256 == f.sha256:
                unchanged.append(name)
            else:
                changed.append(name)
        removed = [n for n in old if n not in by_name]
        manifest = Manifest(cue=cue, version=str(number), frame_rate=vault.config.frame_rate.name,
                            stems=stems, mix=mix_name, mix_from=mix_from)
        text = manifest.to_toml(prev_text)
        if prev and not (added or removed or changed) and prev_text is not None:
            same = Manifest.from_toml(prev_text)
            same.version = manifest.version
            if same.to_toml(prev_text) == text and not note_objs:
                raise UsageError(f"nothing changed since {cue}@{prev.version}: no new version made")

        cue_rel = f"{CUES_DIR}/{cue}"
        cue_dir = vault.cue_dir(cue)
        delta = delta_line(cue, added, removed, changed)
        counts = {"added": len(added), "removed": len(removed), "changed": len(changed),
                  "unchanged": len(unchanged)}
        message = _message(cue, number, change, summary, note_objs, delta, counts)
        incoming = vault.git_dir / "stemvault" / "incoming"
        old_head = git.head(vault.root)
        user_manifest = (cue_dir / MANIFEST_NAME).read_text(encoding="utf-8") \
            if (cue_dir / MANIFEST_NAME).is_file() else None
        txn.begin(vault, old_head=old_head, paths=[cue_rel], manifest_path=f"{cue_rel}/{MANIFEST_NAME}",
                  manifest_text=user_manifest)
        try:
            cue_dir.mkdir(parents=True, exist_ok=True)
            audio_shas = {by_name[n].sha256 for n in order if by_name[n].is_audio}
            preexisting = {h for h in audio_shas if object_path(vault.git_dir, h).exists()}
            for name in order:
                dest = cue_dir / name
                f = by_name[name]
                if name in unchanged and dest.is_file() and dest.stat().st_size == f.size:
                    continue
                _copy_in(f.path, dest, incoming)
            for de in os.scandir(cue_dir):
                if de.name != MANIFEST_NAME and de.name not in by_name and de.is_file():
                    os.unlink(de.path)
            (cue_dir / MANIFEST_NAME).write_text(text, encoding="utf-8")
            _pause("after-copy")
            git.run("add", "-A", "--", cue_rel, cwd=vault.root)
            _pause("after-add")
            _check_staged(vault, cue_rel, manifest)
            git.run("commit", "-q", "--no-verify", "--cleanup=verbatim", "-F", "-",
                    "--author", f"{who[0]} <{who[1]}>", cwd=vault.root, input=message.encode())
            _pause("after-commit")
        except BaseException:
            # Put the folder back now rather than at the next command (a KeyboardInterrupt
            # included); a SIGKILL skips this and the journal does it later.
            if git.head(vault.root) == old_head:
                txn.rollback(vault, {"paths": [cue_rel], "manifest_path": f"{cue_rel}/{MANIFEST_NAME}",
                                     "manifest_text": user_manifest})
            txn.end(vault)
            raise
        txn.end(vault)
        shutil.rmtree(incoming, ignore_errors=True)

    version = vault.resolve(f"{cue}@{number}")
    return CommitResult(version=version, manifest=manifest, added=added, removed=removed,
                        changed=changed, unchanged=unchanged, ignored=ignored,
                        new_lfs_objects=len(audio_shas - preexisting))


def _check_staged(vault: Vault, cue_rel: str, manifest: Manifest) -> None:
    """Every audio file staged must be an LFS pointer to exactly the content we measured."""
    out = git.run("ls-files", "-s", "-z", "--", cue_rel, cwd=vault.root).stdout
    staged: dict[str, str] = {}
    for rec in git.iter_z(out):
        meta, path = rec.split("\t", 1)
        staged[path.rsplit("/", 1)[-1]] = meta.split()[1]
    for e in manifest.stems:
        if e.kind == "tempo":
            continue
        oid = staged.get(e.file)
        if oid is None:
            raise GitFailed(["add", e.file], 1, f"{e.file} was not staged")
        ptr = parse_pointer(vault.objects.read(oid))
        if ptr is None:
            raise UsageError(
                f"{e.file} would be stored in git itself, not in git-lfs: the vault's LFS setup is "
                "broken; run `git lfs install --local` in the vault and check .gitattributes"
            )
        if ptr.oid != e.sha256 or ptr.size != e.size:
            raise SourceError(f"{e.file} changed while it was being committed (is the export still "
                              "running?): commit again when it has finished")
