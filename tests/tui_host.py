"""A tiny host app for testing one screen alone on a real vault (Textual pilot)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App
from textual.screen import Screen
from textual.widgets import Static

from vcs.vault import Vault

TCSS = Path(__file__).resolve().parent.parent / "tui" / "app.tcss"
HOSTILE = "[@click=app.quit]quit[/] [b]bold\x1b]0;pwned\x07 \u202eevil\u202c \x1b[2J"


class Host(App[None]):
    """Pushes one screen made by ``make(vault)`` on a vault opened once; keeps what it dismisses with."""

    CSS_PATH = str(TCSS)

    def __init__(self, vault_path: Path, make: Callable[[Vault], Screen[Any]]) -> None:
        super().__init__()
        self.vault = Vault.find(vault_path)
        self.make = make
        self.results: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(self.make(self.vault), callback=self.results.append)

    def on_unmount(self) -> None:
        self.vault.close()


async def settle(pilot: Any, cond: Callable[[], bool], tries: int = 1200) -> None:
    for _ in range(tries):
        await pilot.pause(0.05)
        if cond():
            return
    raise AssertionError(f"the TUI never got there (on {pilot.app.screen!r}, status: {_status(pilot)})")


def text_of(screen: Screen[Any], selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


def _status(pilot: Any) -> str:
    found = pilot.app.screen.query("#commit-status, .dialog-error")
    return " | ".join(str(w.render()) for w in found)
