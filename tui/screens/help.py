"""``?``: the keys of the screen below, in a small modal that Esc (or ``?``, ``q``) closes."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

__all__ = ["HelpScreen"]


class HelpScreen(ModalScreen[None]):
    """Lists ``keys``: (key as shown, what it does) pairs, taken from the screen it covers."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", key_display="?"),
        Binding("q", "dismiss", "Close"),
    ]

    def __init__(self, title: str, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.keys = keys

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, what in self.keys:
            table.add_row(Text(key), Text(what))
        with VerticalScroll(id="help-box"):
            yield Static(Text(f"Keys · {self.title_text}", style="bold"), id="help-title")
            yield Static(table, id="help-keys")
            yield Static(Text("Esc closes · ctrl+p: every command", style="dim"))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
