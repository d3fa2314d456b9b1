"""The commit screen: an export folder checked and committed as a new version of a cue.

The same work as ``stemvault check`` and ``stemvault commit`` (vcs.commit), in workers: the
analysis reports each file's progress and stops when Esc sets its cancel event; a cancelled
commit commits nothing and leaves no staging folder (vcs.commit.commit_version).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.suggester import Suggester
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Input,
    Label,
    ProgressBar,
    RadioButton,
    RadioSet,
    Static,
    TextArea,
)

from audio.checks import Finding
from tui.output import plain
from tui.text import literal
from vcs.commit import CommitResult, commit_version, read_source
from vcs.errors import Cancelled, ChecksRefused, VaultError
from vcs.naming import normalize_cue
from vcs.vault import Vault

__all__ = ["CommitScreen", "PathSuggester"]

_SEVERITY = {"error": ("error", "bold red"), "warning": ("warn", "yellow"), "info": ("info", "dim")}


class PathSuggester(Suggester):
    """Completes the last part of a path with the first folder (then file) whose name starts
    with it; ``~`` is understood. The folder is listed off the UI thread."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        return await asyncio.to_thread(complete_path, value)


def complete_path(value: str) -> str | None:
    """``value`` completed to the first matching entry of its folder (folders first, with a
    trailing ``/``; hidden ones only when asked for with a ``.``); None when nothing matches."""
    head, sep, prefix = value.rpartition("/")
    folder = Path(os.path.expanduser(head + "/")) if sep else Path(".")
    try:
        entries = sorted(os.scandir(folder), key=lambda e: (not e.is_dir(), e.name))
    except OSError:
        return None
    for e in entries:
        if e.name.startswith(prefix) and (prefix.startswith(".") or not e.name.startswith(".")):
            done = value + e.name[len(prefix):] + ("/" if e.is_dir() else "")
            return done if done != value else None
    return None


@dataclass
class _Progress(Message):
    run: int
    name: str
    share: float


@dataclass
class _Done(Message):
    run: int
    findings: list[Finding] | None
    result: CommitResult | None
    error: str | None
    cancelled: bool = False


class CommitScreen(Screen[CommitResult | None]):
    """Commit an export folder as a new version of ``cue`` (Ctrl+R checks, Ctrl+S commits, Esc
    cancels). Dismisses with the CommitResult, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+r", "check", "Check"),
        Binding("ctrl+s", "commit", "Commit"),
    ]

    def __init__(self, vault: Vault, cue: str | None = None) -> None:
        super().__init__()
        self.vault = vault
        self.cue = cue
        self.run = 0
        self.busy = False
        self.leaving = False
        self.cancel_event = threading.Event()
        self.bars: dict[str, ProgressBar] = {}
        self.findings: list[Finding] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="commit-form"):
            with Horizontal(classes="commit-row"):
                yield Label("Folder ", classes="commit-label")
                yield Input(placeholder="the export folder (→ completes)", suggester=PathSuggester(),
                            id="commit-source", compact=True)
            with Horizontal(classes="commit-row"):
                yield Label("Cue    ", classes="commit-label")
                yield Input(self.cue or "", placeholder="1M03", id="commit-cue", compact=True)
                with RadioSet(id="commit-kind", compact=True):
                    yield RadioButton("new version", value=True, id="commit-new")
                    yield RadioButton("tweak", id="commit-tweak")
            with Horizontal(classes="commit-row"):
                yield Label("Summary", classes="commit-label")
                yield Input(placeholder="what changed, in a line", id="commit-summary", compact=True)
            with Horizontal(id="commit-notes-row"):
                yield Label("Notes  ", classes="commit-label")
                yield TextArea(id="commit-notes", soft_wrap=False, show_line_numbers=False,
                               placeholder="notes, one a line: 01:00:12:05 brass enters early")
            with Horizontal(classes="commit-row"):
                yield Button("Check ^R", id="commit-check-button", compact=True)
                yield Button("Commit ^S", id="commit-button", compact=True, variant="primary")
            yield Static("", id="commit-status")
        with Horizontal(id="commit-results"):
            yield VerticalScroll(id="commit-files")
            with Vertical(id="commit-findings-pane"):
                findings: DataTable[Text] = DataTable(id="commit-findings", cursor_type="row", zebra_stripes=True)
                yield findings
                yield Static("", id="commit-finding-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "commit"
        self.sub_title = str(self.vault.root)
        table = self.query_one("#commit-findings", DataTable)
        table.add_columns("", "code", "at", "finding")
        self.query_one("#commit-source", Input).focus()

    # -- the form ---------------------------------------------------------------------------

    def _status(self, text: Text | str) -> None:
        self.query_one("#commit-status", Static).update(text)

    def _form(self) -> tuple[Path, str, str, list[str], bool] | None:
        source = self.query_one("#commit-source", Input).value.strip()
        cue = self.query_one("#commit-cue", Input).value.strip()
        if not source:
            self._status(literal("error: give the export folder first", "bold red"))
            return None
        if not cue:
            self._status(literal("error: give the cue (e.g. 1M03)", "bold red"))
            return None
        summary = self.query_one("#commit-summary", Input).value
        notes = [n for n in self.query_one("#commit-notes", TextArea).text.splitlines() if n.strip()]
        minor = self.query_one("#commit-tweak", RadioButton).value
        return Path(os.path.expanduser(source)), cue, summary, notes, minor

    def _start(self) -> int:
        self.busy = True
        self.run += 1
        self.cancel_event = threading.Event()
        files = self.query_one("#commit-files", VerticalScroll)
        files.remove_children()
        self.bars = {}
        self._findings([])
        return self.run

    @on(Button.Pressed, "#commit-check-button")
    def action_check(self) -> None:
        if self.busy:
            return
        form = self._form()
        if form is None:
            return
        self._status(Text("checking…"))
        self.check_worker(self._start(), form[0], form[1], self.cancel_event)

    @on(Button.Pressed, "#commit-button")
    def action_commit(self) -> None:
        if self.busy:
            return
        form = self._form()
        if form is None:
            return
        source, cue, summary, notes, minor = form
        self._status(Text("checking and committing…"))
        self.commit_worker(self._start(), source, cue, summary, notes, minor, self.cancel_event)

    def action_cancel(self) -> None:
        """Stop what runs (the worker ends at its next check and cleans up), then leave."""
        self.leaving = True
        if self.busy:
            self.cancel_event.set()
            self._status(Text("cancelling…"))
        else:
            self.dismiss(None)

    def on_unmount(self) -> None:
        self.cancel_event.set()  # the app quits: a running analysis stops at its next block

    # -- the workers ------------------------------------------------------------------------

    def _progress(self, run: int) -> Callable[[str, float], None]:
        def report(name: str, share: float) -> None:
            self.post_message(_Progress(run, name, share))
        return report

    @work(thread=True, exclusive=True, exit_on_error=False, group="commit")
    def check_worker(self, run: int, source: Path, cue: str, cancel: threading.Event) -> None:
        try:
            cue = normalize_cue(cue)
            _, _, report, _, _ = read_source(self.vault, source, cue=cue, mix=None,
                                             progress=self._progress(run), cancel=cancel)
        except Cancelled:
            self.post_message(_Done(run, None, None, None, cancelled=True))
        except VaultError as e:
            self.post_message(_Done(run, None, None, str(e)))
        except Exception as e:  # said on the screen, never a traceback
            self.post_message(_Done(run, None, None, f"the check failed: {e}"))
        else:
            self.post_message(_Done(run, report.findings, None, None))

    @work(thread=True, exclusive=True, exit_on_error=False, group="commit")
    def commit_worker(self, run: int, source: Path, cue: str, summary: str, notes: list[str], minor: bool,
                      cancel: threading.Event) -> None:
        try:
            result = commit_version(self.vault, cue, source, summary=summary, notes=notes, minor=minor,
                                    progress=self._progress(run), cancel=cancel)
        except Cancelled:
            self.post_message(_Done(run, None, None, None, cancelled=True))
        except ChecksRefused as e:
            self.post_message(_Done(run, e.findings, None, str(e)))
        except VaultError as e:
            self.post_message(_Done(run, None, None, str(e)))
        except Exception as e:  # said on the screen, never a traceback
            self.post_message(_Done(run, None, None, f"the commit failed: {e}"))
        else:
            self.post_message(_Done(run, result.findings, result, None))

    @on(_Progress)
    def show_progress(self, m: _Progress) -> None:
        if m.run != self.run:
            return
        bar = self.bars.get(m.name)
        if bar is None:
            bar = ProgressBar(total=1.0, show_eta=False, show_percentage=True, id=None)
            self.bars[m.name] = bar
            self.query_one("#commit-files", VerticalScroll).mount(
                Horizontal(Label(literal(m.name), classes="commit-file-name"), bar, classes="commit-file"))
        bar.update(progress=m.share)

    @on(_Done)
    def done(self, m: _Done) -> None:
        if m.run != self.run:
            return
        self.busy = False
        if m.findings is not None:
            self._findings(m.findings)
        if m.cancelled:
            self._status(Text("cancelled: nothing was committed"))
            if self.leaving:
                self.dismiss(None)
            return
        if m.error is not None:
            self.leaving = False
            self._status(literal(f"error: {m.error}", "bold red"))
            return
        if m.result is not None:
            v = m.result.version
            self.notify(f"committed {plain(v.ref)}: {plain(v.delta)}", markup=False)
            self.dismiss(m.result)
            return
        if self.leaving:
            self.dismiss(None)
            return
        errors = sum(f.severity == "error" for f in m.findings or [])
        warnings = sum(f.severity == "warning" for f in m.findings or [])
        verdict = "ready to commit" if not errors else "a commit would be refused: fix the export first"
        self._status(Text(f"{errors} errors, {warnings} warnings: {verdict}",
                          style="bold red" if errors else ""))

    def _findings(self, findings: list[Finding]) -> None:
        self.findings = findings
        table = self.query_one("#commit-findings", DataTable)
        table.clear()
        # the message cut to the pane (with "…"); the highlighted finding is shown whole below
        room = max(12, table.size.width - 6 - max((len(f.code) for f in findings), default=4)
                   - max((len(f.tc or "") for f in findings), default=0) - 8)
        for f in findings:
            sev, style = _SEVERITY.get(f.severity, (f.severity, ""))
            message = literal(f.message)
            message.truncate(room, overflow="ellipsis")
            table.add_row(Text(sev, style=style), literal(f.code), literal(f.tc or ""), message)
        self._detail(0)

    @on(DataTable.RowHighlighted, "#commit-findings")
    def highlighted(self, m: DataTable.RowHighlighted) -> None:
        self._detail(m.cursor_row)

    def _detail(self, row: int) -> None:
        f = self.findings[row] if 0 <= row < len(self.findings) else None
        self.query_one("#commit-finding-detail", Static).update(
            Text.assemble(literal(f.code, "bold"), " ", literal(f.tc or ""), " ", literal(f.message))
            if f else Text(""))
