"""The TUI on a real vault, driven by keys (Textual pilot): the vault screen."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Input, Static

from tests.helpers import CUE, Runner, write_set
from tui.app import make_app
from tui.screens.history import HistoryScreen
from tui.screens.vault import VaultScreen


async def _settle(pilot, app, cond, tries: int = 100) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        await pilot.pause(0.05)
        if cond():
            return
    raise AssertionError("the TUI never got there")


def _cells(table: DataTable, row: int) -> list[str]:  # type: ignore[type-arg]
    return [c.plain if hasattr(c, "plain") else str(c) for c in table.get_row_at(row)]


async def test_vault_screen_lists_cues_and_opens_one(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first pass")
    write_set(tmp_path / "v2", gains={"BRS": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "[red]softer[/] brass", "--minor")
    sv.ok("-C", vault, "note", f"{CUE}@1.1", "00:00:01:00", "[b]not bold[/b]")
    sv.ok("-C", vault, "approve", f"{CUE}@1.1")
    write_set(tmp_path / "w1", cue="2M01")
    sv.ok("-C", vault, "commit", "2M01", tmp_path / "w1", "-m", "other cue")
    app = make_app(vault)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one("#cues", DataTable)
        await _settle(pilot, app, lambda: table.row_count == 2)
        cue, ver, _when, ok, by, notes, delta = _cells(table, 0)
        assert (cue, ver, ok, by, notes) == (CUE, "1.1", "✓", "Ada Composer", "1")
        assert "BRS" in delta  # the delta line of 1.1 (brass changed)
        assert _cells(table, 1)[:2] == ["2M01", "1.0"]
        assert app.cues == [CUE, "2M01"]
        # / filters (an Input); Esc clears.
        await pilot.press("slash")
        await pilot.press(*"2m")
        await _settle(pilot, app, lambda: table.row_count == 1)
        assert _cells(table, 0)[0] == "2M01"
        await pilot.press("escape")
        await _settle(pilot, app, lambda: table.row_count == 2)
        assert not app.screen.query_one("#filter", Input).display
        # Enter opens the highlighted cue's history.
        await pilot.press("enter")
        await _settle(pilot, app, lambda: isinstance(app.screen, HistoryScreen))
        assert isinstance(app.screen, HistoryScreen) and app.screen.cue == CUE
        await pilot.press("escape")
        await _settle(pilot, app, lambda: isinstance(app.screen, VaultScreen))
        await pilot.press("q")
    assert app.return_code in (0, None)


async def test_vault_screen_fits_80_columns_and_cuts_long_text(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "x" * 300)
    app = make_app(vault)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one("#cues", DataTable)
        await _settle(pilot, app, lambda: table.row_count == 1)
        delta = table.get_row_at(0)[6]
        assert delta.plain.endswith("…") and delta.cell_len < 40
        assert table.virtual_size.width <= 80


async def test_tui_on_an_empty_vault(vault: Path) -> None:
    app = make_app(vault)
    async with app.run_test(size=(80, 24)) as pilot:
        msg = app.screen.query_one("#vault-message", Static)
        await _settle(pilot, app, lambda: "No versions yet" in str(msg.render()))


async def test_help_lists_the_screens_own_keys_first(vault: Path, sv: Runner, tmp_path: Path) -> None:
    """At 80x24 the help shows what the screen is for before a table's generic cursor keys."""
    from tui.screens.help import HelpScreen

    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first pass")
    app = make_app(vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot, app, lambda: isinstance(app.screen, VaultScreen) and app.screen.query(DataTable))
        await pilot.press("question_mark")
        await _settle(pilot, app, lambda: isinstance(app.screen, HelpScreen))
        listed = [desc for _, desc in app.screen.keys]  # type: ignore[attr-defined]
        table_keys = [i for i, d in enumerate(listed) if d in ("Cursor up", "Cursor down", "Focus Next")]
        assert listed.index("Filter") < min(table_keys) and listed.index("Quit") < min(table_keys), listed
