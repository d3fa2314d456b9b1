"""The vault screen: every version of every cue, and the selected version's detail."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header

from tui.messages import HistoryLoaded, LoadFailed, ManifestLoaded
from tui.output import plain
from tui.text import literal
from tui.widgets.version_detail import VersionDetail
from vcs.errors import VaultError
from vcs.models import Version
from vcs.outside import changed_outside_of
from vcs.text import visible
from vcs.vault import Vault

__all__ = ["VaultScreen"]


class VaultScreen(Screen[None]):
    """Cues and versions (newest first) with approval state; Enter/selection shows a version."""

    BINDINGS = [
        Binding("r", "reload", "Reload"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, vault_path: Path) -> None:
        super().__init__()
        self.vault_path = vault_path
        self.versions: list[Version] = []

    def compose(self) -> ComposeResult:
        yield Header()
        table: DataTable[Text] = DataTable(id="versions", cursor_type="row", zebra_stripes=True)
        yield table
        with VerticalScroll(id="detail-scroll"):
            yield VersionDetail(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#versions", DataTable)
        table.add_columns("cue", "ver", "kind", "date", "by", "approved", "summary")
        self.title = "stemvault"
        self.sub_title = str(self.vault_path)
        self.load_history()

    def action_reload(self) -> None:
        self.load_history()

    @work(thread=True, exclusive=True, exit_on_error=False, group="history")
    def load_history(self) -> None:
        try:
            vault = Vault.find(self.vault_path)
            try:
                versions = vault.versions()
                outside = changed_outside_of(vault, versions)
            finally:
                vault.close()
        except VaultError as e:
            self.post_message(LoadFailed(str(e)))
            return
        self.post_message(HistoryLoaded(versions, outside))

    @on(HistoryLoaded)
    def show_history(self, message: HistoryLoaded) -> None:
        self.versions = message.versions
        table = self.query_one("#versions", DataTable)
        table.clear()
        for i, v in enumerate(self.versions):
            # Every cell a Text: a str cell is markup to a DataTable, and all of it came from git.
            table.add_row(
                literal(v.cue), literal(v.version), Text("tweak" if v.change == "tweak" else "new"),
                literal(v.date[:10]), literal(v.author), Text("✓" if v.approval else ""),
                literal(v.summary.splitlines()[0] if v.summary else ""), key=str(i))
        self._mark_outside(message)
        if not self.versions:
            self.query_one(VersionDetail).message(
                "No versions yet. Commit one: stemvault commit CUE FOLDER -m 'first pass'")
        else:
            self.select(0)

    def _mark_outside(self, message: HistoryLoaded) -> None:
        """A cue changed with plain git after its latest version: marked on that row (the
        approval column), and said once in a notification (user text: no markup)."""
        table = self.query_one("#versions", DataTable)
        for cue, change in sorted(message.outside.items()):
            row = next(i for i, v in enumerate(self.versions) if v.cue == cue)
            mark = ("✓ " if self.versions[row].approval else "") + "! changed outside"
            table.update_cell_at(Coordinate(row, 5), Text(mark, style="bold yellow"), update_width=True)
            self.notify(visible(change.describe()) + ": run `stemvault verify`",
                        title=f"{visible(cue)} changed outside stemvault",
                        severity="warning", markup=False)

    @on(LoadFailed)
    def show_error(self, message: LoadFailed) -> None:
        # The error may quote the vault's text (a manifest, a name): never markup.
        self.notify(plain(message.error), title="Could not read the vault", severity="error", markup=False)

    @on(DataTable.RowHighlighted, "#versions")
    def row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.select(int(event.row_key.value))

    def select(self, index: int) -> None:
        v = self.versions[index]
        self.query_one(VersionDetail).show(v, None)
        self.load_manifest(v)

    @work(thread=True, exclusive=True, exit_on_error=False, group="manifest")
    def load_manifest(self, v: Version) -> None:
        try:
            vault = Vault.find(self.vault_path)
            try:
                m = vault.manifest_at(v)
            finally:
                vault.close()
        except VaultError as e:
            self.post_message(LoadFailed(str(e)))
            return
        self.post_message(ManifestLoaded(v, m))

    @on(ManifestLoaded)
    def show_manifest(self, message: ManifestLoaded) -> None:
        self.query_one(VersionDetail).show(message.version, message.manifest)
