"""Errors of the vault: each maps to an exit code and says, in one line, what to do.

Every error ``vcs`` raises on purpose is a ``VaultError`` defined here (modules re-export the
ones they raise); ``exit_code`` is what the CLI exits with (docs/cli.md "Exit codes").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from audio.checks import Finding


class VaultError(Exception):
    """Base of every error the vault raises on purpose. ``exit_code`` is what the CLI exits with."""

    exit_code = 2


class NotAVault(VaultError):
    """The folder is not inside a stemvault vault."""


class UsageError(VaultError):
    """The request itself is wrong: a bad cue name, an unknown version, a bad option value."""


class SourceError(VaultError):
    """The folder or files to commit are missing, empty or unreadable."""


class VaultBusy(VaultError):
    """Another stemvault process holds the vault's lock."""


class ToolMissing(VaultError):
    """git or git-lfs is not installed or too old."""


class GitFailed(VaultError):
    """A git command failed; carries the command, its exit code and stderr."""

    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        self.args_ = args
        self.returncode = returncode
        self.stderr = stderr
        last = stderr.strip().splitlines()[-1] if stderr.strip() else "no message"
        what = f"git {' '.join(args[:3])} failed ({returncode}): {last}"
        advice = git_advice(stderr)
        super().__init__(f"{what} — {advice}" if advice else what)


# What git's own words mean for a stemvault user, and what to do: the first pattern found in
# stderr wins. Matched in lower case; git runs with LC_ALL=C (vcs.git.clean_env).
_GIT_ADVICE = (
    (("no space left on device", "disk quota exceeded"),
     "the disk is full: free some space where the vault is and run this again"),
    (("read-only file system",),
     "the vault is on a read-only file system: work in a writable clone"),
    (("permission denied", "insufficient permission", "unable to create", "cannot open"),
     "stemvault cannot write in the vault's folder: check its owner and permissions "
     "(`ls -ld .git`), or work in a clone of your own"),
    (("smudge filter lfs failed", "clean filter 'lfs' failed", "git-lfs: command not found",
      "git: 'lfs' is not a git command"),
     "git-lfs could not store or restore the audio: check that git-lfs is installed "
     "(`git lfs version`) and set up in the vault (`git lfs install --local`)"),
    (("object file", "is empty", "loose object", "is corrupt", "bad object", "unable to read"),
     "the vault's git repository is damaged: run `git fsck` in it, and restore from a clone or a backup"),
    (("could not read from remote repository", "connection refused", "could not resolve host",
      "connection timed out", "host key verification failed"),
     "the remote could not be reached: check the URL (`git remote -v`), the network and your SSH access"),
    (("not a git repository",),
     "this folder is not a git repository: cd into a vault, or create one with `stemvault init`"),
    (("please tell me who you are", "unable to auto-detect email address"),
     "git does not know who you are: run git config --global user.name 'Your Name' and "
     "git config --global user.email you@example.com"),
)


def git_advice(stderr: str) -> str | None:
    """What to do about a git failure, from its stderr (None when it is not one we know)."""
    low = stderr.lower()
    for patterns, advice in _GIT_ADVICE:
        if any(p in low for p in patterns):
            return advice
    return None


class CheckFailed(VaultError):
    """The content checked has problems (exit code 1)."""

    exit_code = 1


class AudioMissing(VaultError):
    """A version's audio is not in this clone (a lazy clone): names the files and how to fetch them."""

    def __init__(self, message: str, missing: list[str]) -> None:
        self.missing = missing
        super().__init__(message)


class ChecksRefused(CheckFailed):
    """The checks found errors; ``findings`` lists everything they found."""

    def __init__(self, message: str, findings: list[Finding]) -> None:
        super().__init__(message)
        self.findings = findings


class RecordsMissing(VaultError):
    """Files whose audio changed have no analysis record: the diff cannot say where."""

    def __init__(self, message: str, files: list[str]) -> None:
        self.files = files
        super().__init__(message)


class DiskFull(VaultError):
    """The disk the vault is on filled up while writing: nothing was committed."""


class Cancelled(VaultError):
    """The caller cancelled the work (a commit's ``cancel`` event was set): nothing was committed."""

    exit_code = 130


class CannotWrite(VaultError):
    """The vault's folder cannot be written: a read-only file system, permissions, a full disk.
    ``reason``: the system's words (``Read-only file system``)."""

    reason = "cannot write"


def cannot_write(err: OSError, where: object) -> CannotWrite:
    """``err`` (raised writing under ``where``) as the one line a user can act on."""
    import errno

    reason = err.strerror or "cannot write"
    if err.errno == errno.EROFS:
        e = CannotWrite(f"{where} is on a read-only file system: log, show, diff and verify work "
                        "there; to write (commit, note, approve), work in a writable clone (git clone)")
    elif err.errno in (errno.ENOSPC, errno.EDQUOT):
        e = CannotWrite(f"the disk holding {where} is full: free some space there and run this again")
    else:
        e = CannotWrite(f"stemvault cannot write in {where} ({err.strerror or err}): check the owner and "
                        "permissions of the vault's folder (`ls -ld`), or work in a clone of your own")
    e.reason = reason
    return e


class RemoteError(VaultError):
    """Working with a remote failed: it cannot be reached, it is ahead, it holds other content."""
