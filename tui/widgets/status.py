"""The status line at the top of every screen: vault, branch, cue and version, local audio."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.text import literal

__all__ = ["StatusLine"]


class StatusLine(Static):
    """``stemvault · VAULT · CUE@VER · BRANCH · audio N/M local``; every part is vault text,
    so drawn with ``literal`` (never markup). Set the parts with ``set(...)``."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $primary-background; color: $text; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("stemvault", id=id)
        self.parts: dict[str, str | None] = {"vault": None, "where": None, "branch": None, "audio": None}

    def set(self, **parts: str | None) -> None:
        """Update some of ``vault``, ``where`` (cue or version), ``branch``, ``audio``."""
        self.parts.update(parts)
        line = Text("stemvault", style="bold", no_wrap=True, overflow="ellipsis")
        for key in ("vault", "where", "branch", "audio"):
            value = self.parts.get(key)
            if value:
                line.append(" · ", style="dim")
                line.append_text(literal(value))
        self.update(line)

    @property
    def plain(self) -> str:
        line = "stemvault"
        for key in ("vault", "where", "branch", "audio"):
            if self.parts.get(key):
                line += f" · {self.parts[key]}"
        return line
