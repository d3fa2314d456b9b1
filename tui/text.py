"""Text read from a vault, made safe to draw: the TUI's one way to show user text.

Everything read from git — manifests, notes, trailers, tags, authors, file names — is untrusted.
A string handed to a Textual or Rich widget is parsed as markup (``[@click=app.quit]`` becomes a
live action, ``[b]`` a style) and its control characters reach the terminal (``\\x1b]0;...``
retitles it, ``\\x1b[2J`` clears it). ``literal`` builds a ``rich.text.Text`` instead: no markup
is ever parsed, and control characters are shown escaped (``\\x1b``), as ``tui.output.plain``
shows them on the command line.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from tui.output import plain

__all__ = ["cut", "literal"]


def literal(value: Any, style: str = "") -> Text:
    """``value`` (any object; None is empty) as text drawn exactly as written, never as markup."""
    return Text(plain(None if value is None else str(value)), style=style)


def cut(text: Text, width: int) -> Text:
    """``text`` on one line in at most ``width`` cells, ending with "…" when it was longer."""
    out = text.copy()
    out.no_wrap = True
    if out.cell_len > width:
        out.truncate(max(1, width), overflow="ellipsis")
    return out
