"""The audio files of a version: where each one is on disk, or which ones this clone lacks.

Public surface:
    AudioFile (dataclass), version_audio(vault, version, manifest=None, *, kinds=None) -> list[AudioFile]
    local_audio(vault, version, manifest, names) -> (list[AudioFile], absent names)   never raises
    versions_audio(vault, [(version, manifest, names), ...]) -> list[list[AudioFile]]
        several versions at once: one AudioMissing naming every missing file of all of them
    missing_audio(vault, version, manifest=None) -> list[str]

The working folder holds only the latest version; every version's audio is in the LFS store,
addressed by the manifest's sha256 (= the LFS oid). A clone made without the audio
(``GIT_LFS_SKIP_SMUDGE=1``) has the manifests but not the objects: then ``version_audio`` raises
``AudioMissing`` naming the files and the command that fetches them. Used by ``play`` (and by
whatever else needs a version's samples: an exact diff, an export).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vcs import git
from vcs.errors import AudioMissing
from vcs.lfs import object_path
from vcs.manifest import Manifest, StemEntry

if TYPE_CHECKING:
    from vcs.models import Version
    from vcs.vault import Vault

__all__ = ["AudioFile", "local_audio", "missing_audio", "version_audio", "versions_audio"]


@dataclass(frozen=True)
class AudioFile:
    """One audio file of a version, found in the LFS store.

    Attributes:
        name: the file name in the cue folder (``1M03_STR.wav``).
        path: where its bytes are (the LFS object; read it, never write it).
        entry: the manifest's entry (role, kind, default mute/solo, measured facts).
    """

    name: str
    path: Path
    entry: StemEntry

    @property
    def time_reference(self) -> int | None:
        t = self.entry.measured.get("time_reference")
        return None if t is None else int(t)


def _is_audio(e: StemEntry) -> bool:
    return bool(e.sha256) and e.kind != "tempo" and "sample_rate" in e.measured


def missing_audio(vault: Vault, v: Version, manifest: Manifest | None = None) -> list[str]:
    """File names of ``v``'s audio whose LFS objects this clone lacks."""
    m = manifest or vault.manifest_at(v)
    return [e.file for e in m.stems if _is_audio(e) and not object_path(vault.git_dir, e.sha256).is_file()]


def fetch_hint(vault: Vault, v: Version, names: list[str]) -> str:
    """The command that brings ``names`` of ``v`` into this clone."""
    include = ",".join(f"cues/{v.cue}/{n}" for n in names)
    if git.rev_parse("HEAD", cwd=vault.root) == v.commit:
        return f"git lfs pull --include '{include}'"
    return f"git lfs fetch origin {v.commit} --include '{include}'"


def version_audio(vault: Vault, v: Version, manifest: Manifest | None = None, *,
                  kinds: tuple[str, ...] | None = None, names: list[str] | None = None) -> list[AudioFile]:
    """The audio files of ``v`` (of the given manifest ``kinds``, or only ``names``), in manifest order.

    Raises:
        AudioMissing: when any of them is not in this clone's LFS store; the message names the
            files and the command to fetch them.
    """
    m = manifest or vault.manifest_at(v)
    wanted = [e for e in m.stems if _is_audio(e) and (kinds is None or e.kind in kinds)
              and (names is None or e.file in names)]
    missing = [e.file for e in wanted if not object_path(vault.git_dir, e.sha256).is_file()]
    if missing:
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        raise AudioMissing(
            f"the audio of {v.ref} is not in this clone ({len(missing)} of {len(wanted)} files missing: "
            f"{shown}): fetch it with {fetch_hint(vault, v, missing)}", missing)
    return [AudioFile(e.file, object_path(vault.git_dir, e.sha256), e) for e in wanted]


def local_audio(vault: Vault, v: Version, manifest: Manifest, names: list[str]) -> tuple[list[AudioFile], list[str]]:
    """The audio files ``names`` of ``v`` that this clone holds, and the names it lacks (both in
    manifest order); for files a command can do without (a muted stem)."""
    here, absent = [], []
    for e in manifest.stems:
        if _is_audio(e) and e.file in names:
            p = object_path(vault.git_dir, e.sha256)
            if p.is_file():
                here.append(AudioFile(e.file, p, e))
            else:
                absent.append(e.file)
    return here, absent


def versions_audio(vault: Vault, wanted: list[tuple[Version, Manifest, list[str]]]) -> list[list[AudioFile]]:
    """``version_audio`` for several versions at once (``names`` of each), in the order given.

    Raises:
        AudioMissing: naming every missing file of every version (``CUE@VER FILE``) and, per
            version, the command that fetches its files — one message, not one per version.
    """
    out: list[list[AudioFile]] = []
    lacking: list[tuple[Version, list[str]]] = []
    total = 0
    for v, m, names in wanted:
        here, absent = local_audio(vault, v, m, names)
        total += len(here) + len(absent)
        out.append(here)
        if absent:
            lacking.append((v, absent))
    if lacking:
        every = [f"{v.ref} {n}" for v, ns in lacking for n in ns]
        shown = ", ".join(every[:8]) + (f" and {len(every) - 8} more" if len(every) > 8 else "")
        how = "; ".join(fetch_hint(vault, v, ns) for v, ns in lacking)
        raise AudioMissing(f"the audio is not in this clone ({len(every)} of {total} files missing: {shown}): "
                           f"fetch it with {how}", [n for _, ns in lacking for n in ns])
    return out
