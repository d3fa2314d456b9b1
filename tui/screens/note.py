"""The note dialog: write a review note on one version at a timecode (``stemvault note``)."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from tui.text import literal
from vcs.errors import VaultError
from vcs.models import Note, Version
from vcs.review import add_note
from vcs.vault import Vault

__all__ = ["NoteDialog"]


class NoteDialog(ModalScreen[Note | None]):
    """A note on ``version``: timecode (prefilled with ``tc``), stem (optional), text.

    Enter (in the text) or Ctrl+S writes it in a worker and dismisses with the Note written;
    Esc dismisses with None. A note the vault refuses (a timecode outside the cue, an empty
    text) is said in one line and nothing is written.
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "write", "Write note"),
    ]

    def __init__(self, vault: Vault, version: Version, tc: str, stem: str | None = None) -> None:
        super().__init__()
        self.vault = vault
        self.version = version
        self.tc = tc
        self.stem = stem
        self.writing = False

    def compose(self) -> ComposeResult:
        with Vertical(id="note-dialog", classes="dialog"):
            yield Label(Text.assemble("Note on ", literal(self.version.ref, "bold")), classes="dialog-title")
            with Horizontal(classes="dialog-row"):
                yield Label("at   ", classes="dialog-label")
                yield Input(self.tc, placeholder="HH:MM:SS:FF", id="note-tc", compact=True)
            with Horizontal(classes="dialog-row"):
                yield Label("stem ", classes="dialog-label")
                yield Select[str]([], prompt="whole cue (no stem)", allow_blank=True, id="note-stem", compact=True)
            with Horizontal(classes="dialog-row"):
                yield Label("note ", classes="dialog-label")
                yield Input(placeholder="what you heard (Enter writes it, Esc cancels)", id="note-text",
                            compact=True)
            yield Static("", id="note-error", classes="dialog-error")

    def on_mount(self) -> None:
        self.query_one("#note-text", Input).focus()
        self.load_stems()

    @work(thread=True, exclusive=True, exit_on_error=False, group="note-stems")
    def load_stems(self) -> None:
        try:
            files = [s.file for s in self.vault.manifest_at(self.version).stems if s.kind != "tempo"]
        except VaultError as e:
            self.app.call_from_thread(self._error, str(e))
            return
        self.app.call_from_thread(self._stems, files)

    def _stems(self, files: list[str]) -> None:
        select = self.query_one("#note-stem", Select)
        select.set_options([(literal(f), f) for f in files])
        if self.stem in files:
            select.value = self.stem

    def _error(self, text: str) -> None:
        self.writing = False
        self.query_one("#note-error", Static).update(literal(f"error: {text}", "bold"))

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.action_write()

    def action_write(self) -> None:
        if self.writing:
            return
        self.writing = True
        self.query_one("#note-error", Static).update("")
        stem = self.query_one("#note-stem", Select).value
        self.write_note(self.query_one("#note-tc", Input).value.strip(), self.query_one("#note-text", Input).value,
                        stem if isinstance(stem, str) else None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="note-write")
    def write_note(self, tc: str, text: str, stem: str | None) -> None:
        try:
            note = add_note(self.vault, self.version, tc, text, stem=stem)
        except VaultError as e:
            self.app.call_from_thread(self._error, str(e))
            return
        except Exception as e:  # said in the dialog, never a traceback
            self.app.call_from_thread(self._error, f"the note was not written: {e}")
            return
        self.app.call_from_thread(self.dismiss, note)

    def action_cancel(self) -> None:
        self.dismiss(None)
