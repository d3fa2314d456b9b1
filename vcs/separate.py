"""A stem set separated from a finished mix, committed as a version that says so.

Public surface:
    SeparateResult, separate_mix(mix, cue, *, vault, to, model, model_repo, ...) -> SeparateResult
    model_folder(vault, given) -> Path   where the weights are looked for

The separation itself is audio.separate (samples and an ONNX model). Here: where the weights are
(``--model-repo DIR``, else ``[separate] model_repo`` in stemvault.toml, relative to the vault),
the names of the files (the vault's rule: ``1M07_DRUMS.wav`` ... ``1M07_RESIDUAL.wav``, the mix
kept as ``1M07_MIX.<ext>``), and where they go: ``--to DIR`` only writes them; otherwise they are
written into this process's staging folder (vcs.txn.staging_dir) and committed through the
normal commit path (vcs.commit.commit_version), whose checks run the null test on them — a
digital null, by construction.

Nothing half-written is ever left under a stem's name: each file is written unnamed (an
``O_TMPFILE`` in its folder) and given its name only when complete, so a Ctrl-C or a SIGKILL
during the separation leaves no file behind; a kill during the commit is undone by the commit's
journal, and the staging folder of a dead process is swept by the next command that writes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audio.errors import SeparationError
from audio.separate import MixFacts, Model, Separation, check_mix, load_model, separate
from vcs import txn
from vcs.errors import UsageError, cannot_write
from vcs.naming import normalize_cue

if TYPE_CHECKING:  # without importing the commit machinery at module import
    from vcs.commit import CommitResult
    from vcs.vault import Vault

__all__ = ["SeparateResult", "model_folder", "separate_mix"]

DEFAULT_MODEL = "htdemucs"


@dataclass
class SeparateResult:
    """What ``separate_mix`` did.

    Attributes:
        files: source name (and ``residual``, ``mix``) → the file name written.
        provenance: the facts recorded with the version (the manifest's ``[provenance]``).
        separation: what the separation measured (residual level, clipped samples...).
        folder: where the files are (``--to``), or None when they were committed.
        commit: the commit's result, or None with ``--to``.
    """

    files: dict[str, str]
    provenance: dict[str, Any]
    separation: Separation
    folder: Path | None = None
    commit: CommitResult | None = None


def model_folder(vault: Vault | None, given: Path | None) -> Path:
    """``given`` (``--model-repo``), else the vault's ``[separate] model_repo`` (relative to the
    vault's folder: it may live in the vault, through LFS).

    Raises:
        SeparationError: neither says where the weights are.
    """
    if given is not None:
        return Path(given).expanduser()
    if vault is not None and vault.config.model_repo.strip():
        p = Path(vault.config.model_repo.strip()).expanduser()
        return p if p.is_absolute() else vault.root / p
    raise SeparationError("no model folder: pass --model-repo DIR (a folder holding htdemucs.onnx), or set "
                          "[separate] model_repo = \"DIR\" in stemvault.toml")


def _names(cue: str, sources: tuple[str, ...]) -> dict[str, str]:
    names = {s: f"{cue}_{s.upper()}.wav" for s in sources}
    names["residual"] = f"{cue}_RESIDUAL.wav"
    names["mix"] = f"{cue}_MIX.wav"
    return names


def _keeps_bytes(facts: MixFacts, has_bext: bool) -> bool:
    """A 16- or 24-bit PCM BWF is kept byte for byte as the set's mix; any other mix (FLAC, AIFF,
    32-bit float on the 24-bit grid, a WAV without a bext chunk) is written as a BWF of the very
    same samples, so that the set has one format, one bit depth and one start timecode (the
    checks ask for it)."""
    return has_bext and facts.format in ("WAV", "WAVEX") and facts.subtype in ("PCM_16", "PCM_24")


class _Unnamed:
    """Files written without a name in ``folder`` and named only when complete (``publish``).

    An ``O_TMPFILE`` has no name until it is linked: a process killed before that leaves nothing.
    Where the file system cannot make one, a hidden ``.NAME.partial-PID`` is used and removed on
    any exception (a SIGKILL there leaves it: said in docs/composer.md).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.fds: dict[str, int] = {}
        self.partial: dict[str, Path] = {}

    def path(self, name: str) -> str:
        """A path to open for writing the file that becomes ``folder/name``."""
        try:
            fd = os.open(self.folder, os.O_TMPFILE | os.O_WRONLY, 0o644)
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
                raise
            p = self.folder / f".{name}.partial-{os.getpid()}"
            self.partial[name] = p
            return str(p)
        self.fds[name] = fd
        return f"/proc/self/fd/{fd}"

    def copy(self, src: Path, name: str) -> None:
        with open(src, "rb") as f, open(self.path(name), "wb") as out:
            shutil.copyfileobj(f, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())

    def publish(self) -> None:
        if self.fds:
            # linkat(AT_SYMLINK_FOLLOW) through /proc gives the unnamed file a name; a dir fd is
            # passed so that Python calls linkat, not link (which would not follow the symlink)
            proc = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
            try:
                for name, fd in self.fds.items():
                    os.link(str(fd), self.folder / name, src_dir_fd=proc, follow_symlinks=True)
            finally:
                os.close(proc)
        for name, p in self.partial.items():
            os.replace(p, self.folder / name)
        self.partial.clear()

    def close(self) -> None:
        for fd in self.fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds.clear()
        for p in self.partial.values():
            with contextlib.suppress(OSError):
                p.unlink()
        self.partial.clear()


@contextlib.contextmanager
def _unnamed(folder: Path) -> Iterator[_Unnamed]:
    u = _Unnamed(folder)
    try:
        yield u
    finally:
        u.close()


def separate_mix(mix: Path, cue: str, *, vault: Vault | None = None, to: Path | None = None,
                 model: str = DEFAULT_MODEL, model_repo: Path | None = None, overlap: float = 0.25,
                 shifts: int = 0,
                 summary: str = "", minor: bool = False, allow_errors: str | None = None,
                 progress: Callable[[float], None] | None = None,
                 cancel: threading.Event | None = None) -> SeparateResult:
    """Separate ``mix`` into the model's stems plus a residual; write them to ``to``, or commit
    them with the mix as a new version of ``cue`` in ``vault`` (with ``to``, ``vault`` only says
    where the weights are: ``[separate] model_repo``).

    Raises:
        SeparationError: no runtime, no weights (one line: which file to put where), a mix that
            cannot be separated (lossy, silent, shorter than 1 s, more than 2 channels, finer
            than 24 bits), a residual that does not fit in 24 bits.
        UnreadableAudio: the mix is not audio.
        UsageError: ``to`` would overwrite files; the cue folder holds uncommitted changes.
        ChecksRefused, GitFailed...: as ``commit_version``.
    """
    cue = normalize_cue(cue)
    if vault is None and to is None:
        raise UsageError("separate writes into a vault, or only to a folder with --to DIR")
    if not 0.0 <= overlap <= 0.5:
        raise UsageError(f"--overlap {overlap}: a share of the segment from 0 to 0.5 (Demucs uses 0.25)")
    if not 0 <= shifts <= 20:
        raise UsageError(f"--shifts {shifts}: 0 (one run, the default) to 20 runs averaged")
    mix = Path(mix).expanduser()
    if not mix.is_file():
        raise UsageError(f"{mix}: no such file (or not a file): name the mix to separate (a WAV, FLAC or AIFF)")
    net = load_model(model_folder(vault, model_repo), model)  # first: a missing model says so at once
    facts = check_mix(mix)
    if to is None and vault is not None:
        from vcs.guards import preflight

        preflight(vault, cue)  # before minutes of separation, what the commit would refuse anyway
    from audio.analysis import bwf_metadata
    from audio.probe import hash_file

    mix_sha, _ = hash_file(mix)
    bext = bwf_metadata(mix).get("time_reference")
    tref = int(bext or 0)
    keep = _keeps_bytes(facts, bext is not None)
    names = _names(cue, net.sources)
    if to is not None:
        folder = Path(to).expanduser()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError(f"cannot create {folder} ({e.strerror}): name a folder you can write") from None
        there = sorted(n for n in names.values() if (folder / n).exists())
        if there:
            raise UsageError(f"{folder} already holds {', '.join(there)}: choose an empty folder (nothing was written)")
        sep = _write(mix, net, folder, names, tref, overlap, shifts, facts, keep, progress, cancel)
        return SeparateResult(files=names, provenance=_provenance(net, mix, mix_sha, sep, names, facts, keep),
                              separation=sep, folder=folder)
    assert vault is not None
    staging = txn.staging_dir(vault)
    folder = staging / "separated"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise cannot_write(e, vault.root) from None
    try:
        sep = _write(mix, net, folder, names, tref, overlap, shifts, facts, keep, progress, cancel)
        prov = _provenance(net, mix, mix_sha, sep, names, facts, keep)
        from vcs.commit import commit_version

        first = summary or f"separated from {mix.name} by {net.name}"
        r = commit_version(vault, cue, folder, summary=first, minor=minor, mix=names["mix"],
                           allow_errors=allow_errors, cancel=cancel, provenance=prov)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # only this process's (commit_version does the same)
    return SeparateResult(files=names, provenance=prov, separation=sep, commit=r)


def _write(mix: Path, net: Model, folder: Path, names: dict[str, str], tref: int, overlap: float,
           shifts: int, facts: MixFacts, keep: bool, progress: Callable[[float], None] | None,
           cancel: threading.Event | None) -> Separation:
    with _unnamed(folder) as files:
        outputs: dict[str, str | Path] = {n: files.path(names[n]) for n in (*net.sources, "residual")}
        if not keep:
            outputs["mix"] = files.path(names["mix"])
        sep = separate(mix, net, outputs, overlap=overlap, shifts=shifts, time_reference=tref,
                       bits=16 if facts.subtype == "PCM_16" else 24,
                       description=f"separated from {mix.name[:200]} by {net.name}", progress=progress,
                       cancel=cancel)
        if keep:
            files.copy(mix, names["mix"])
        files.publish()
    return sep


def _provenance(net: Model, mix: Path, mix_sha: str, sep: Separation, names: dict[str, str],
                facts: MixFacts, keep: bool) -> dict[str, Any]:
    """What the version records about how its stems were made (docs/manifest.md)."""
    from importlib.metadata import version

    prov: dict[str, Any] = {
        "kind": "separated",
        "method": "demucs (onnx)",
        "model": net.name,
        "model_file": ", ".join(net.files),
        "model_sha256": net.sha256,
        "runtime": net.runtime,
        "stemvault": version("stemvault"),
        "mix_file": mix.name,
        "mix_sha256": mix_sha,
        "mix_subtype": facts.subtype,
        "mix_kept": "bytes" if keep else "samples (re-encoded as PCM)",
        "sources": list(sep.sources),
        "model_rate": 44100,
        "shifts": sep.shifts,
        "overlap": sep.overlap,
        "segment_s": sep.segment_s,
        "residual_file": names["residual"],
        "residual_db": sep.residual_db,
        "residual_peak_dbfs": sep.residual_peak_dbfs,
    }
    if len(net.files) > 1:  # a bag of specialists: each file's hash ("model_sha256" is of these)
        prov["model_files_sha256"] = dict(net.files)
    clipped = {k: v for k, v in sep.clipped.items() if v}
    if clipped:
        prov["clipped_samples"] = clipped
    return prov
