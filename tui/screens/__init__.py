"""The app's screens, one per file."""

from tui.screens.approve import ApproveDialog
from tui.screens.commit import CommitScreen
from tui.screens.help import HelpScreen
from tui.screens.history import HistoryScreen
from tui.screens.note import NoteDialog
from tui.screens.player import PlayerScreen
from tui.screens.vault import VaultScreen

__all__ = ["ApproveDialog", "CommitScreen", "HelpScreen", "HistoryScreen", "NoteDialog", "PlayerScreen",
           "VaultScreen"]
