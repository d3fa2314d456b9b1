"""The Textual app. Small on purpose: screens live in tui/screens, widgets in tui/widgets."""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.binding import Binding

from tui.screens.vault import VaultScreen

__all__ = ["StemvaultApp", "make_app"]


class StemvaultApp(App[None]):
    """stemvault's terminal UI on one vault."""

    CSS_PATH = "app.tcss"
    TITLE = "stemvault"
    BINDINGS = [
        Binding("question_mark", "toggle_help", "Keys", key_display="?"),
        Binding("ctrl+q", "quit", "Quit", show=False),
    ]

    def __init__(self, vault_path: Path) -> None:
        super().__init__()
        self.vault_path = vault_path

    def on_mount(self) -> None:
        self.push_screen(VaultScreen(self.vault_path))

    def action_toggle_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()


def make_app(vault_path: Path) -> StemvaultApp:
    """The app on the vault at ``vault_path``; used by the CLI and by the tests."""
    return StemvaultApp(Path(vault_path))
