"""The notes of the version heard in the player, in timecode order, the one at the playhead marked.

Public surface:
    NoteList (a Static): ``show(notes, position, cue)`` with ``notes`` as (frame, Note) pairs
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.text import literal
from vcs.models import Note
from vcs.naming import short_name

__all__ = ["NoteList"]


class NoteList(Static):
    """``▸ 00:00:08:00 [STR] strings too soft — Ada`` per note; user text always literal."""

    def show(self, notes: list[tuple[int, Note]], position: int, cue: str) -> None:
        """Show ``notes`` ((timeline frame, note), in order); mark the last one at or before
        ``position``."""
        t = Text(no_wrap=True, overflow="ellipsis")
        if not notes:
            t.append(" no notes yet — n writes one at the playhead", "dim")
            self.update(t)
            return
        here = max((i for i, (f, _) in enumerate(notes) if f <= position), default=-1)
        for i, (_, n) in enumerate(notes):
            if i:
                t.append("\n")
            t.append(" ▸ " if i == here else "   ", "bold")
            t.append_text(literal(n.tc, "magenta"))
            if n.stem:
                t.append(" [")
                t.append_text(literal(short_name(n.stem, cue)))
                t.append("]")
            t.append(" ")
            t.append_text(literal(n.text))
            if n.author:
                t.append(" — ", "dim")
                t.append_text(literal(n.author, "dim"))
        self.update(t)
