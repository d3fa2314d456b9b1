"""The TUI's widgets, one per module."""

from tui.widgets.stem_row import StemRow

__all__ = ["StemRow"]
