"""The history screen of one cue: versions newest first, and below them the diff pane.

The pane compares the highlighted version with the previous one, or with the version marked
with Space: per stem its waveform (from the committed analysis records, no audio needed) with
the changed regions lit, what changed in words, loudness and true-peak deltas; the manifest's
changes; the version's notes in timecode order, marked on the waveforms. The diff runs in a
worker (vcs.diff.diff_versions, records only); a result for a row the cursor has left is dropped.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from audio.errors import AudioError, BadTimecode
from audio.timecode import FrameRate, parse_frame_rate, parse_timecode
from tui.output import plain
from tui.text import cut, literal
from tui.widgets.status import StatusLine
from tui.widgets.waveform import WaveData, Waveform
from vcs import git
from vcs.analyze import local_audio
from vcs.diff import FileDiff, VersionDiff, diff_versions
from vcs.errors import VaultError
from vcs.manifest import Manifest, StemEntry
from vcs.models import Note, Version
from vcs.naming import short_name
from vcs.records import load_record
from vcs.review import version_span
from vcs.trust import signature_words
from vcs.vault import Vault

__all__ = ["DiffPane", "HistoryScreen", "PaneData", "StemRow", "words"]

VWIDTHS = {"mark": 1, "ver": 6, "date": 10, "by": 12, "notes": 5, "ok": 2}
_VPADDING = 2 * len(VWIDTHS) + 2 + 2


@dataclass
class PaneData:
    """What the diff pane shows for one (version, base) pair, computed in a worker.

    Attributes:
        version: the highlighted version (B).
        base: what it is compared with (A): the previous version or the marked one; None for
            a cue's first version.
        diff: the diff (None for a first version, or when it failed).
        files: per file of B (and the removed ones of A): (name, its FileDiff or None, its curve).
        note_s: per note of B (same order as ``version.notes``): seconds from the files' start.
        audio_local: (files whose audio is in this clone, files).
        error: why there is no diff (one line), or None.
    """

    version: Version
    base: Version | None
    diff: VersionDiff | None = None
    files: list[tuple[str, FileDiff | None, WaveData | None]] = field(default_factory=list)
    note_s: list[float | None] = field(default_factory=list)
    audio_local: tuple[int, int] = (0, 0)
    error: str | None = None
    start_tc: str | None = None  # where the version starts (its span's first timecode)


def _note_seconds(notes: list[Note], entry: StemEntry | None, rate_name: str | FrameRate) -> list[float | None]:
    """Where each note falls in the files, in seconds from their start (None: not a timecode)."""
    try:
        rate = rate_name if isinstance(rate_name, FrameRate) else parse_frame_rate(rate_name or "24")
    except BadTimecode:
        rate = parse_frame_rate("24")
    start = 0.0
    if entry is not None:
        tref = entry.measured.get("time_reference")
        sr = int(entry.measured.get("sample_rate") or 48000)
        start = int(tref) / sr if tref is not None else 0.0
    out: list[float | None] = []
    for n in notes:
        try:
            out.append(float(parse_timecode(n.tc, rate).seconds) - start)
        except (BadTimecode, ValueError):
            out.append(None)
    return out


def compute_pane(vault: Vault, v: Version, base: Version | None) -> PaneData:
    """The diff pane's data (blocking: run it in a worker)."""
    data = PaneData(v, base)
    m: Manifest = vault.manifest_at(v)
    entries = list(m.stems)
    data.audio_local = (sum(1 for e in entries if local_audio(vault, e) is not None), len(entries))
    curves: dict[str, WaveData | None] = {e.file: WaveData.from_record(load_record(vault, e.sha256, v.commit))
                                          for e in entries}
    rate = m.frame_rate or vault.config.frame_rate
    data.note_s = _note_seconds(v.notes, entries[0] if entries else None, rate)
    with contextlib.suppress(BadTimecode, ValueError):
        span = version_span(m, rate if isinstance(rate, FrameRate) else parse_frame_rate(rate))
        data.start_tc = str(span[0]) if span else None
    if base is None:
        data.files = [(e.file, None, curves[e.file]) for e in entries]
        return data
    try:
        d = diff_versions(vault, base, v)
    except (VaultError, AudioError) as e:
        data.error = str(e)
        data.files = [(e.file, None, curves[e.file]) for e in entries]
        return data
    data.diff = d
    for f in d.files():
        curve = curves.get(f.name)
        if f.status == "removed":
            old = next((e for e in vault.manifest_at(base).stems if e.file == f.name), None)
            curve = WaveData.from_record(load_record(vault, old.sha256, base.commit)) if old else None
        data.files.append((f.name, f, curve))
    return data


def words(f: FileDiff) -> str:
    """One file's change in a few words for the pane's narrow status column (the command line's
    ``diff`` says more): status, regions in timecode, loudness and true-peak deltas."""
    if f.status in ("added", "removed"):
        return f.status
    if f.status == "unchanged":
        return "="
    bits: list[str] = []
    if f.renamed_from:
        bits.append(f"renamed from {f.renamed_from}")
    if f.status == "metadata":
        bits.append("metadata only")
    elif f.status == "moved":
        ms = 1000 * (f.shift_samples or 0) / (f.sample_rate or 48000)
        bits.append(f"moved {ms:+.1f} ms")
    elif f.status == "changed":
        if f.kind == "tempo":
            bits.append("tempo map changed")
        elif f.whole or not f.regions:
            bits.append("changed everywhere" if f.whole else "changed")
        else:
            spans = [f"{r.start_tc}–{r.end_tc}" for r in f.regions[:2]]
            more = f" +{len(f.regions) - 2}" if len(f.regions) > 2 else ""
            bits.append("changed " + ", ".join(spans) + more)
    if f.loudness_delta_lu:
        bits.append(f"{f.loudness_delta_lu:+.1f} LU")
    if f.true_peak_delta_db:
        bits.append(f"TP {f.true_peak_delta_db:+.1f} dB")
    return " ".join(bits)


class StemRow(Horizontal):
    """One file in the diff pane: name, waveform with changed regions and notes, what changed."""

    def __init__(self, cue: str, name: str, f: FileDiff | None, curve: WaveData | None,
                 notes: list[float], status_width: int) -> None:
        super().__init__(classes="stem-row")
        self.file_name = name
        self.file_diff = f
        self.curve = curve
        self.note_marks = notes
        self.status_text = literal(words(f)) if f is not None else Text("")
        if f is not None and f.status == "unchanged":
            self.status_text = Text("=", style="dim")
        self._cue = cue
        self._status_width = status_width

    def compose(self) -> ComposeResult:
        yield Static(cut(literal(short_name(self.file_name, self._cue), "bold"), 8), classes="stem-name")
        wave = Waveform(self.curve, classes="stem-wave")
        regions = [(r.start_s, r.end_s) for r in self.file_diff.regions] if self.file_diff else []
        if self.file_diff is not None and self.file_diff.whole and self.curve is not None:
            regions = [(0.0, self.curve.duration_s)]
        wave.regions = regions
        wave.notes = list(self.note_marks)
        yield wave
        yield Static(cut(self.status_text, self._status_width), classes="stem-status")


class DiffPane(VerticalScroll):
    """The diff pane (focusable, scrolls): title, one StemRow per file, manifest changes, notes."""

    data: PaneData | None = None

    def lines_text(self) -> str:
        """What the pane says, as plain text (for tests)."""
        out = []
        for w in self.query(Static):
            r = w.render()
            out.append(r.plain if isinstance(r, Text) else str(r))
        return "\n".join(out)


class HistoryScreen(Screen[None]):
    """One cue's versions (newest first) above, the diff pane below."""

    HELP_TITLE = "history of a cue"
    AUTO_FOCUS = "#versions"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("q", "back", "Back", show=False),
        Binding("space", "mark", "Mark"),
        Binding("p", "play", "Play"),
        Binding("n", "note", "Note"),
        Binding("A", "approve", "Approve", key_display="A"),
        Binding("c", "commit", "Commit"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("r", "reload", "Reload", show=False),
    ]

    def __init__(self, vault: Vault, cue: str, select: str | None = None) -> None:
        super().__init__()
        self.vault = vault
        self.cue = cue
        self.select = select
        self.versions: list[Version] = []
        self.marked: Version | None = None
        self.pane: PaneData | None = None  # what the pane shows now
        self._want: tuple[str, str | None] | None = None  # (version, base) commits the pane should show

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        table: DataTable[Text] = DataTable(id="versions", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(id="pane-title")
        yield DiffPane(id="pane")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#versions", DataTable)
        for key, width in VWIDTHS.items():
            table.add_column({"mark": "", "ok": "✓"}.get(key, key), width=width, key=key)
        table.add_column("delta", width=self._delta_width(), key="delta")
        self.query_one(StatusLine).set(vault=self.vault.config.name, where=self.cue)
        self.load_versions()

    def _delta_width(self) -> int:
        return max(10, (self.size.width or 80) - sum(VWIDTHS.values()) - _VPADDING)

    # ----- the version list ----------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="versions")
    def load_versions(self) -> None:
        try:
            versions = self.vault.versions(self.cue)
            branch = git.current_branch(self.vault.root)
        except VaultError as e:
            self.app.call_from_thread(self._failed, str(e))
            return
        self.app.call_from_thread(self.query_one(StatusLine).set, branch=branch)
        self.app.call_from_thread(self._show_versions, versions)

    def _failed(self, error: str) -> None:
        self.notify(plain(error), title="Could not read the vault", severity="error", markup=False)

    def _show_versions(self, versions: list[Version]) -> None:
        current = self.current
        self.versions = versions
        if self.marked is not None:
            self.marked = next((v for v in versions if v.commit == self.marked.commit), None)
        self._fill()
        table = self.query_one("#versions", DataTable)
        want = self.select if current is None else str(current.version)
        self.select = None
        row = next((i for i, v in enumerate(versions) if str(v.version) == want), 0)
        if versions:
            table.move_cursor(row=row)
            self._request()
        else:
            self.query_one("#pane-title", Static).update(Text(f"{self.cue} has no versions yet"))

    def row_cells(self, v: Version, delta_width: int) -> list[Text]:
        mark = Text("●", style="bold magenta") if self.marked is v else Text("")
        ok = Text("✓", style="green") if v.approval else Text("✗", style="red") if v.void_approval else Text("")
        line = literal(v.delta or (v.summary.splitlines()[0] if v.summary else ""))
        return [mark, cut(literal(v.version, "bold"), VWIDTHS["ver"]), literal(v.date[:10]),
                cut(literal(v.author), VWIDTHS["by"]), Text(str(len(v.notes)) if v.notes else ""), ok,
                cut(line, delta_width)]

    def _fill(self) -> None:
        table = self.query_one("#versions", DataTable)
        keep = table.cursor_row
        table.clear()
        width = self._delta_width()
        for i, v in enumerate(self.versions):
            table.add_row(*self.row_cells(v, width), key=str(i))
        if self.versions:
            table.move_cursor(row=min(max(keep, 0), len(self.versions) - 1))

    def on_resize(self) -> None:
        if self.versions:
            from textual.widgets.data_table import ColumnKey

            self.query_one("#versions", DataTable).columns[ColumnKey("delta")].width = self._delta_width()
            self._fill()
        if self.pane is not None:
            self._draw(self.pane)

    @property
    def current(self) -> Version | None:
        """The highlighted version."""
        table = self.query_one("#versions", DataTable)
        if not self.versions or not 0 <= table.cursor_row < len(self.versions):
            return None
        return self.versions[table.cursor_row]

    def base_of(self, v: Version) -> Version | None:
        """What ``v`` is compared with: the marked version, else the one before it."""
        if self.marked is not None and self.marked is not v:
            return self.marked
        i = self.versions.index(v)
        return self.versions[i + 1] if i + 1 < len(self.versions) else None

    @on(DataTable.RowHighlighted, "#versions")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._request()

    def action_cursor_down(self) -> None:
        self.query_one("#versions", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#versions", DataTable).action_cursor_up()

    def action_reload(self) -> None:
        self.load_versions()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_mark(self) -> None:
        """Space: mark the highlighted version (the pane compares against it); again: unmark."""
        v = self.current
        if v is None:
            return
        self.marked = None if self.marked is v else v
        self._fill()
        self._request()

    def mark_version(self, version: str) -> None:
        """Mark the version named ``version`` (the palette's "Diff with …")."""
        v = next((x for x in self.versions if str(x.version) == version), None)
        if v is not None:
            self.marked = v
            self._fill()
            self._request()

    def action_diff_with(self) -> None:
        self.notify("Space marks the highlighted version: the pane then compares against it "
                    "(or ctrl+p, \"Diff with\")", markup=False)

    # ----- the diff pane ---------------------------------------------------------------------
    def _request(self) -> None:
        v = self.current
        if v is None:
            return
        base = self.base_of(v)
        want = (v.commit, base.commit if base else None)
        if want == self._want:
            return
        self._want = want
        title = Text()
        title.append_text(literal(v.version, "bold"))
        title.append(" against " if base else " (first version)", style="dim")
        if base:
            title.append_text(literal(base.version, "bold magenta" if base is self.marked else "bold"))
        title.append(" · ", style="dim")
        title.append_text(literal(v.summary.splitlines()[0] if v.summary else ""))
        self.query_one("#pane-title", Static).update(cut(title, max(20, self.size.width - 2)))
        self.compute(v, base, want)

    @work(thread=True, exclusive=True, exit_on_error=False, group="diff")
    def compute(self, v: Version, base: Version | None, want: tuple[str, str | None]) -> None:
        try:
            data = compute_pane(self.vault, v, base)
        except (VaultError, AudioError) as e:
            data = PaneData(v, base, error=str(e))
        except Exception as e:  # a bug: said, and the app goes on
            data = PaneData(v, base, error=f"unexpected {type(e).__name__}: {e}")
        self.app.call_from_thread(self._arrived, want, data)

    def _arrived(self, want: tuple[str, str | None], data: PaneData) -> None:
        if want != self._want:
            return  # the cursor (or the mark) has moved on: a stale result
        self.pane = data
        self.query_one(DiffPane).data = data
        local, total = data.audio_local
        self.query_one(StatusLine).set(where=data.version.ref, audio=f"audio {local}/{total} local")
        self._draw(data)

    def _draw(self, data: PaneData) -> None:
        pane = self.query_one(DiffPane)
        with self.app.batch_update():
            pane.remove_children()
            status_width = max(16, min(64, (self.size.width or 80) * 2 // 5))
            rows: list[Static | StemRow] = []
            if data.error:
                rows.append(Static(literal("! " + data.error, "bold red"), classes="pane-line"))
            v = data.version
            if (made := v.provenance_line()) is not None:  # stemvault separate: never taken for an export
                rows.append(Static(literal(made, "magenta"), classes="pane-line provenance"))
            for name, f, curve in data.files:
                stem = short_name(name, v.cue)
                marks = [s for n, s in zip(v.notes, data.note_s, strict=False)
                         if s is not None and (not n.stem or n.stem in (stem, name))]
                rows.append(StemRow(v.cue, name, f, curve, marks, status_width))
            if data.diff is not None:
                for c in data.diff.manifest:
                    rows.append(Static(literal(f"manifest: {c.field} {c.old!s} → {c.new!s}"),
                                       classes="pane-line"))
                for f in data.diff.files():
                    for c in f.fields:
                        if c.field in ("role", "instrument", "kind", "mute", "solo", "notes"):
                            rows.append(Static(literal(f"{f.name}: {c.field} {c.old!s} → {c.new!s}"),
                                               classes="pane-line"))
            for n in v.notes:
                line = Text()
                line.append_text(literal(n.tc, "bold"))
                if n.stem:
                    line.append(" [", style="dim")
                    # A file of this version by its short name (STR); anything else as written.
                    files = {name for name, _, _ in data.files}
                    line.append_text(literal(short_name(n.stem, v.cue) if n.stem in files else n.stem))
                    line.append("]", style="dim")
                line.append(" ")
                line.append_text(literal(n.text))
                if n.author:
                    line.append(" — ", style="dim")
                    line.append_text(literal(n.author, "italic"))
                if n.damaged:
                    line.append_text(literal(f" (damaged: {n.damaged})", "yellow"))
                rows.append(Static(cut(line, max(20, (self.size.width or 80) - 2)), classes="pane-line note"))
            if v.approval:
                line = Text("✓ approved by ", style="green")
                line.append_text(literal(v.approval.by, "green"))
                line.append_text(literal(f" {v.approval.date[:10]}"))
                if v.approval.signed:
                    line.append_text(literal(f" · {signature_words(v.approval)}",
                                             "green" if v.approval.verified else "yellow"))
                rows.append(Static(line, classes="pane-line"))
            elif v.void_approval:
                line = Text("✗ not approved: ", style="bold red")
                line.append_text(literal(f"{v.void_approval.tag} by {v.void_approval.by} does not count "
                                         f"({v.void_approval.why})", "red"))
                rows.append(Static(line, classes="pane-line"))
            pane.mount_all(rows)

    # ----- hooks: screens other modules provide -------------------------------------------------
    def _refresh_after(self, _result: object = None) -> None:
        self._want = None
        self.load_versions()

    # The screens these keys open are imported when a key asks: the app starts without them.
    def action_play(self) -> None:
        from tui.screens.player import PlayerScreen

        v = self.current
        if v is not None:
            self.app.push_screen(PlayerScreen(self.vault, v, self.marked if self.marked is not v else None))

    def action_note(self) -> None:
        from tui.screens.note import NoteDialog

        v = self.current
        if v is None:
            return
        tc = None  # the first changed region, else where the version starts
        if self.pane is not None and self.pane.version is v:
            first = next((f.regions[0] for _, f, _ in self.pane.files if f is not None and f.regions), None)
            tc = first.start_tc if first else self.pane.start_tc
        self.app.push_screen(NoteDialog(self.vault, v, tc or "00:00:00:00", None), self._refresh_after)

    def action_approve(self) -> None:
        from tui.screens.approve import ApproveDialog

        v = self.current
        if v is not None:
            self.app.push_screen(ApproveDialog(self.vault, v), self._refresh_after)

    def action_commit(self) -> None:
        from tui.screens.commit import CommitScreen

        self.app.push_screen(CommitScreen(self.vault, self.cue), self._refresh_after)
