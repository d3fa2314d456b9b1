"""The TUI's widgets, one per module."""

from tui.widgets.note_list import NoteList
from tui.widgets.stem_row import StemRow

__all__ = ["NoteList", "StemRow"]
