"""The vault screen: one row per cue — latest version, approval, last change, delta, notes."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static
from textual.widgets.data_table import ColumnKey

from tui.messages import HistoryLoaded, LoadFailed, OpenCue
from tui.output import plain
from tui.text import cut, literal
from tui.widgets.status import StatusLine
from vcs import git
from vcs.errors import VaultError
from vcs.models import Version
from vcs.outside import changed_outside_of
from vcs.text import visible
from vcs.vault import Vault, _cue_sort_key

__all__ = ["VaultScreen"]

# Fixed widths (cells) so that 80 columns hold every column; the delta takes what is left.
WIDTHS = {"cue": 8, "ver": 5, "when": 10, "ok": 3, "by": 12, "notes": 5}
_PADDING = 2 * len(WIDTHS) + 2 + 2  # each column's cell padding, the delta's, the scrollbar


class VaultScreen(Screen[None]):
    """Every cue of the vault, its latest version first; Enter opens the cue's history."""

    HELP_TITLE = "vault: the cues"
    AUTO_FOCUS = "#cues"
    BINDINGS = [
        Binding("enter", "open", "Open", show=False),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("r", "reload", "Reload"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, vault: Vault) -> None:
        super().__init__()
        self.vault = vault
        self.versions: list[Version] = []
        self.latest: list[Version] = []  # one per cue, in cue order
        self.outside: dict[str, str] = {}  # cue -> what changed outside stemvault (one line)
        self.filter_text = ""
        self.shown: list[str] = []  # the cues in the table, top to bottom

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield Input(placeholder="filter: cue, author, delta… (Esc clears)", id="filter")
        table: DataTable[Text] = DataTable(id="cues", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(id="vault-message")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#cues", DataTable)
        for key, width in WIDTHS.items():
            table.add_column({"ok": "✓", "ver": "ver"}.get(key, key), width=width, key=key)
        table.add_column("delta", width=self._delta_width(), key="delta")
        self.query_one("#filter", Input).display = False
        self.query_one(StatusLine).set(vault=self.vault.config.name)
        self.load_history()

    def _delta_width(self) -> int:
        return max(10, (self.size.width or 80) - sum(WIDTHS.values()) - _PADDING)

    def on_resize(self) -> None:
        if self.latest:
            self._fill()

    def action_reload(self) -> None:
        self.load_history()

    def action_cursor_down(self) -> None:
        self.query_one("#cues", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#cues", DataTable).action_cursor_up()

    @work(thread=True, exclusive=True, exit_on_error=False, group="history")
    def load_history(self) -> None:
        try:
            versions = self.vault.versions()
            outside = changed_outside_of(self.vault, versions)
            branch = git.current_branch(self.vault.root)
        except VaultError as e:
            self.post_message(LoadFailed(str(e)))
            return
        self.app.call_from_thread(self.query_one(StatusLine).set, branch=branch)
        self.post_message(HistoryLoaded(versions, outside))

    @on(HistoryLoaded)
    def show_history(self, message: HistoryLoaded) -> None:
        self.versions = message.versions
        latest: dict[str, Version] = {}
        for v in self.versions:  # newest first: the first of each cue is its latest
            latest.setdefault(v.cue, v)
        self.latest = [latest[c] for c in sorted(latest, key=_cue_sort_key)]
        cues = [v.cue for v in self.latest]
        setattr(self.app, "cues", cues)  # noqa: B010 (the palette's "Open cue …"; a host app may lack it)
        self.outside = {cue: visible(change.describe()) for cue, change in message.outside.items()}
        self._fill()
        for cue, change in sorted(message.outside.items()):
            # Said once, in a notification; the row keeps the mark. User text: no markup.
            self.notify(visible(change.describe()) + ": run `stemvault verify`",
                        title=f"{visible(cue)} changed outside stemvault",
                        severity="warning", markup=False)
        msg = self.query_one("#vault-message", Static)
        if not self.versions:
            msg.update(Text("No versions yet. Commit one: stemvault commit CUE FOLDER -m 'first pass'"))
        else:
            msg.update(Text("Enter opens a cue · / filters · ? keys", style="dim"))

    def row_cells(self, v: Version, delta_width: int) -> list[Text]:
        """One cue's row. Every cell a Text: a str cell is markup to a DataTable, and all of it
        came from git."""
        ok = Text("✓", style="green") if v.approval else Text("✗", style="red") if v.void_approval else Text("")
        line = literal(v.delta or (v.summary.splitlines()[0] if v.summary else ""))
        if v.cue in self.outside:
            ok = Text(("✓ " if v.approval else "") + "!", style="bold yellow")
            line = literal("! changed outside: " + self.outside[v.cue], "yellow")
        return [cut(literal(v.cue, "bold"), WIDTHS["cue"]), cut(literal(v.version), WIDTHS["ver"]),
                literal(v.date[:10]), ok, cut(literal(v.author), WIDTHS["by"]),
                Text(str(len(v.notes)) if v.notes else ""), cut(line, delta_width)]

    def _fill(self) -> None:
        table = self.query_one("#cues", DataTable)
        width = self._delta_width()
        table.columns[ColumnKey("delta")].width = width
        keep = table.cursor_row
        table.clear()
        needle = self.filter_text.lower()
        self.shown = []
        for v in self.latest:
            hay = " ".join([v.cue, str(v.version), v.author, v.delta, v.summary]).lower()
            if needle and needle not in hay:
                continue
            self.shown.append(v.cue)
            table.add_row(*self.row_cells(v, width), key=v.cue)
        if self.shown:
            table.move_cursor(row=min(keep, len(self.shown) - 1))

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display or self.filter_text:
            box.value = ""
            box.display = False
            self.filter_text = ""
            self._fill()
            self.query_one("#cues", DataTable).focus()

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._fill()

    @on(Input.Submitted, "#filter")
    def filter_done(self) -> None:
        self.query_one("#cues", DataTable).focus()

    @on(LoadFailed)
    def show_error(self, message: LoadFailed) -> None:
        # The error may quote the vault's text (a manifest, a name): never markup.
        self.notify(plain(message.error), title="Could not read the vault", severity="error", markup=False)

    @on(DataTable.RowSelected, "#cues")
    def row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self._open(event.row_key.value)

    def action_open(self) -> None:
        table = self.query_one("#cues", DataTable)
        if self.shown and 0 <= table.cursor_row < len(self.shown):
            self._open(self.shown[table.cursor_row])

    def _open(self, cue: str) -> None:
        # The app opens it (tui.app.StemvaultApp.open_cue): screens do not import each other.
        self.post_message(OpenCue(cue))
