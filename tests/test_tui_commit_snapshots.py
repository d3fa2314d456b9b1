"""Snapshots of the commit screen after a check with findings, at 80x24 and 160x48."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input

from tests.helpers import CUE, write_set
from tests.test_tui_commit import clip
from tests.tui_host import Host, settle, text_of
from tui.screens.commit import CommitScreen


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_commit_screen_after_a_check(vault: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     snap_compare: Any, size: tuple[int, int]) -> None:
    write_set(tmp_path / "export")
    clip(tmp_path / "export")
    monkeypatch.chdir(tmp_path)  # the folder typed relative: the same text on every run

    async def check(pilot: Any) -> None:
        screen = pilot.app.screen
        screen.query_one("#commit-source", Input).value = "export"
        screen.query_one("#commit-summary", Input).value = "brass [b]louder[/b] at the hit"
        await pilot.press("ctrl+r")
        await settle(pilot, lambda: "errors" in text_of(screen, "#commit-status"))
        screen.query_one("#commit-findings", DataTable).focus()
        await pilot.pause()

    assert snap_compare(Host(vault, lambda v: CommitScreen(v, cue=CUE)), terminal_size=size, run_before=check)
