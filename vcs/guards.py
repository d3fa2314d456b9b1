"""What stops a commit before it writes, and what it says: files git does not hold in the cue
folder, stems changed there by hand, a manifest edit that does not parse, a full disk, a staged
file that is not what was measured.

Every refusal is one line naming the files and what to do; nothing in the vault changes.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from vcs import git
from vcs.errors import (
    DiskFull,
    GitFailed,
    SourceError,
    UsageError,
    VaultError,
)
from vcs.lfs import parse_pointer
from vcs.manifest import MANIFEST_NAME, Manifest
from vcs.models import Version
from vcs.outside import OutsideChange, working_file_differs
from vcs.source import list_source
from vcs.vault import CUES_DIR, Vault

__all__ = ["check_staged", "disk_full", "guard_cue_folder", "preflight", "previous_manifest"]


def previous_manifest(vault: Vault, cue: str, prev: Version | None) -> tuple[Manifest | None, str | None]:
    """The manifest to build on: the working copy (it carries hand edits), else ``prev``'s.

    Raises:
        UsageError: the working copy does not parse, or names another cue: the commit would
            overwrite the hand edit, so it stops and says where the edit is wrong.
    """
    path = vault.cue_dir(cue) / MANIFEST_NAME
    rel = f"{CUES_DIR}/{cue}/{MANIFEST_NAME}"

    def undo() -> str:
        if git.rev_parse(f"HEAD:{rel}", cwd=vault.root):
            return f"fix your edit, or undo it with `git checkout -- {rel}`"
        return f"fix your edit, or remove {rel}"

    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{rel} is not UTF-8 text: {undo()}; then commit again") from None
        except OSError as e:
            raise UsageError(f"{rel}: cannot read it ({e.strerror})") from None
        try:
            m = Manifest.from_toml(text)
        except VaultError as e:
            cause = e.__context__  # the parser's own words: what is wrong, at which line and column
            why = f"does not parse ({cause})" if cause is not None and "line" in str(cause) else \
                f"is not a manifest ({str(e).removeprefix(MANIFEST_NAME + ': ')})"
            raise UsageError(f"{rel} (edited by hand) {why}: {undo()}; then commit again "
                             "(nothing was changed)") from None
        if m.cue != cue:
            raise UsageError(f"{rel} names cue {m.cue!r}, not {cue}: {undo()}; then commit again "
                             "(nothing was changed)")
        return m, text
    if prev is not None:
        m = vault.manifest_at(prev)
        return m, m.to_toml()
    return None, None


def preflight(vault: Vault, cue: str) -> None:
    """Refuse early, before the long read, what the commit would refuse under the lock: files git
    does not hold in the cue folder, a manifest edit that does not parse. What looks wrong while
    another commit is writing (its new files are not tracked yet) is asked again under the lock."""
    try:
        guard_cue_folder(vault, cue)
        previous_manifest(vault, cue, None)
    except UsageError:
        with vault.writing():
            guard_cue_folder(vault, cue)
            previous_manifest(vault, cue, None)


def guard_cue_folder(vault: Vault, cue: str, export: set[str] | None = None) -> None:
    """Refuse when the cue folder holds what git does not: files it does not track, or tracked
    files changed there by hand (their change is in no version). The commit would overwrite or
    remove them, and git has no copy to bring them back. Files the repository ignores
    (``.DS_Store``) are left alone — the commit never touches them — unless the export has a
    file of that name (``export``: known under the lock), which would overwrite them.

    Raises:
        UsageError: naming them (the working manifest excepted: it is read as the hand edits
            of the next version, and kept on a rollback).
    """
    rel = f"{CUES_DIR}/{cue}"
    if not vault.cue_dir(cue).is_dir():
        return
    manifest = f"{rel}/{MANIFEST_NAME}"

    def short(paths: list[str]) -> list[str]:
        return sorted(p[len(rel) + 1:] for p in paths if p != manifest)

    names = short(git.ls_files(f"{rel}/", cwd=vault.root, untracked=True, ignored=False))
    if export:
        names += [n for n in short(git.ls_files(f"{rel}/", cwd=vault.root, untracked=True))
                  if n in export and n not in names]
    if names:
        raise UsageError(
            f"{rel} holds {_count(names, 'file')} that {'is' if len(names) == 1 else 'are'} not part of any "
            f"version ({_some(names)}): a commit would overwrite or delete {_them(names)}, and git has no "
            f"copy; move {_them(names)} out of {rel} (audio you want in this version goes into the export "
            "folder), then commit again (nothing was changed)")
    # Changed by hand (in the working folder, or staged with git add): git status runs the LFS
    # clean filter on what changed, so "M" is a real change of content, not of a timestamp.
    # Where the filter could not run (git-lfs not set up), the file's own hash decides.
    edited = short([path for code, path in git.status_readonly(f"{rel}/", cwd=vault.root)
                    if set(code) & {"M", "T", "A", "R", "C"} and working_file_differs(vault, path)])
    if edited:
        raise UsageError(
            f"{_count(edited, 'file')} in {rel} {'was' if len(edited) == 1 else 'were'} changed in the working "
            f"folder and no version holds that change ({_some(edited)}): a commit would overwrite "
            f"{_them(edited)}; keep {_them(edited)} elsewhere, or put the version's "
            f"{'file' if len(edited) == 1 else 'files'} back with `git checkout -- {rel}/{edited[0]}"
            f"{' …' if len(edited) > 1 else ''}`, then commit again (nothing was changed)")


def _count(names: list[str], what: str) -> str:
    return f"{len(names)} {what}{'' if len(names) == 1 else 's'}"


def _them(names: list[str]) -> str:
    return "it" if len(names) == 1 else "them"


def _some(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _mount_point(path: Path) -> Path:
    p = path.resolve()
    while not p.exists() and p != p.parent:
        p = p.parent
    while not os.path.ismount(p) and p != p.parent:
        p = p.parent
    return p


def _mb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def disk_full(vault: Vault, err: BaseException, cue: str, source: Path) -> DiskFull | None:
    """``err`` as a DiskFull saying where and what to do, when it is a full disk (or quota)."""
    where = vault.git_dir
    if isinstance(err, OSError):
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            return None
        if err.filename:
            where = Path(os.fsdecode(err.filename))
    else:
        text = (err.stderr if isinstance(err, GitFailed) else str(err)).lower()
        if "no space left on device" not in text and "disk quota exceeded" not in text:
            return None
    mount = _mount_point(where)
    try:
        free = f"{_mb(shutil.disk_usage(mount).free)} free"
    except OSError:
        free = "no room left"
    try:
        size = f"; this export is {_mb(sum(p.stat().st_size for p in list_source(source)[0]))}"
    except (OSError, VaultError):
        size = ""
    return DiskFull(f"the disk is full: {mount} (where the vault is) has {free}; {cue} was not committed and "
                    f"the vault is as it was. Free some space there (a commit needs up to twice the size of "
                    f"the files that changed{size}) and commit again")


def check_staged(vault: Vault, cue_rel: str, manifest: Manifest, outside: OutsideChange | None = None,
                  kept: set[str] | None = None) -> None:
    """Every audio file staged must be an LFS pointer to exactly the content we measured.

    When it is not, the message names the cause: a plain-git commit after the latest version
    (``outside``), a file of the working folder left in place (``kept``: not copied from the
    export, as it was the same) that was changed there, or the export still being written."""
    staged = {path.rsplit("/", 1)[-1]: oid for path, oid in git.staged(cue_rel, cwd=vault.root).items()}
    for e in manifest.stems:
        if e.kind == "tempo":
            continue
        oid = staged.get(e.file)
        if oid is None:
            raise VaultError(f"{cue_rel}/{e.file} went missing while it was being committed (another program "
                             "working in the vault's folder?): nothing was committed; commit again")
        ptr = parse_pointer(vault.objects.read(oid))
        if ptr is None:
            raise UsageError(
                f"{e.file} would be stored in git itself, not in git-lfs: the vault's LFS setup is "
                "broken; run `git lfs install --local` in the vault and check .gitattributes"
            )
        if ptr.oid != e.sha256 or ptr.size != e.size:
            _staged_cause(cue_rel, e.file, outside, kept or set())
            raise SourceError(f"{e.file} changed while it was being committed (is the export still "
                              "running?): commit again when it has finished")


def _staged_cause(cue_rel: str, name: str, outside: OutsideChange | None, kept: set[str]) -> None:
    """Raise the real cause when the staged ``name`` is what the vault held, not the export's."""
    if outside is not None and name in outside.files:
        raise VaultError(f"{cue_rel}/{name} was changed outside stemvault {outside.by()}, and that file, "
                         "not the export's, "
                         "was staged: nothing was committed; undo that commit (`git revert`) or commit "
                         "again")
    if name in kept:
        raise VaultError(f"{cue_rel}/{name} in the vault's working folder, not the export's file, was "
                         "staged (it was changed there by hand?): nothing was committed; restore it "
                         f"with `git checkout -- {cue_rel}/{name}` and commit again")
