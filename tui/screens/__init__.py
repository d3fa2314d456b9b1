"""The TUI's screens, one per module."""

from tui.screens.help import HelpScreen
from tui.screens.history import HistoryScreen
from tui.screens.vault import VaultScreen

__all__ = ["HelpScreen", "HistoryScreen", "VaultScreen"]
