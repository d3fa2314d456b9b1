"""The TUI's screens, one per module."""

from tui.screens.player import PlayerScreen

__all__ = ["PlayerScreen"]
