"""The TUI on a real vault, driven by keys (Textual pilot)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from tests.helpers import CUE, Runner, write_set
from tui.app import make_app
from tui.widgets.version_detail import VersionDetail


async def _settle(pilot, app, cond, tries: int = 100) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        await pilot.pause(0.05)
        if cond():
            return
    raise AssertionError("the TUI never got there")


async def test_vault_screen_lists_versions_and_shows_details(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first pass")
    write_set(tmp_path / "v2", gains={"BRS": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "[red]softer[/] brass", "--minor")
    sv.ok("-C", vault, "note", f"{CUE}@1.0", "00:00:01:00", "[b]not bold[/b]")
    sv.ok("-C", vault, "approve", f"{CUE}@1.1")
    app = make_app(vault)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one("#versions", DataTable)
        await _settle(pilot, app, lambda: table.row_count == 2)
        assert [str(c) for c in table.get_row_at(0)][:3] == ["1M03", "1.1", "tweak"]
        assert str(table.get_row_at(0)[6]) == "[red]softer[/] brass"  # user text shown as typed
        assert str(table.get_row_at(0)[5]) == "✓"
        detail = app.screen.query_one(VersionDetail)
        await _settle(pilot, app, lambda: "1M03_STR.wav" in detail.plain_text)
        await pilot.press("down")
        await _settle(pilot, app, lambda: "not bold" in detail.plain_text)
        assert "[b]not bold[/b]" in detail.plain_text
        await pilot.press("question_mark")
        await pilot.press("q")
    assert app.return_code in (0, None)


async def test_tui_on_an_empty_vault(vault: Path) -> None:
    app = make_app(vault)
    async with app.run_test(size=(80, 24)) as pilot:
        detail = app.screen.query_one(VersionDetail)
        await _settle(pilot, app, lambda: "No versions yet" in detail.plain_text)
