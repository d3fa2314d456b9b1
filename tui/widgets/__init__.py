"""The TUI's widgets, one per module."""

from tui.widgets.note_list import NoteList
from tui.widgets.stem_row import StemRow
from tui.widgets.waveform import WaveData, Waveform

__all__ = ["NoteList", "StemRow", "WaveData", "Waveform"]
