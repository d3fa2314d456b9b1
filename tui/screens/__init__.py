"""The app's screens, one per file."""

from tui.screens.approve import ApproveDialog
from tui.screens.commit import CommitScreen
from tui.screens.note import NoteDialog
from tui.screens.player import PlayerScreen

__all__ = ["ApproveDialog", "CommitScreen", "NoteDialog", "PlayerScreen"]
