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
        super().__init__(f"git {' '.join(args[:3])} failed ({returncode}): {last}")


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
