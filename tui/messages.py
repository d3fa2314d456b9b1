"""Messages that cross screens and widgets."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from vcs.manifest import Manifest
from vcs.models import Version
from vcs.outside import OutsideChange


@dataclass
class HistoryLoaded(Message):
    """The vault's versions were read (in a worker thread).

    Attributes:
        versions: every version of every cue, newest first.
        outside: cues whose files were changed with plain git after their latest version.
    """

    versions: list[Version]
    outside: dict[str, OutsideChange] = field(default_factory=dict)


@dataclass
class ManifestLoaded(Message):
    """One version's manifest was read.

    Attributes:
        version: the version.
        manifest: its manifest.
    """

    version: Version
    manifest: Manifest


@dataclass
class LoadFailed(Message):
    """Reading the vault failed; ``error`` is the one-line reason shown to the user."""

    error: str


@dataclass
class OpenCue(Message):
    """Open a cue's history screen (the vault screen asks; the app, which knows the screens, does).

    Attributes:
        cue: the cue.
        select: the version to select (``"2.0"``), or None for the latest.
    """

    cue: str
    select: str | None = None
