"""Snapshots of the vault and history screens at 80x24 and 160x48, on a deterministic vault
(fixed authors and dates; no clock or spinner on screen). Update with --snapshot-update and look."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import CUE, SR, Runner, tone, write_set
from tui.app import make_app
from tui.screens.history import HistoryScreen

SECONDS = 8.0


@pytest.fixture
def fixed_vault(vault: Path, sv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    def at(day: int) -> None:
        stamp = f"2026-11-{day:02d}T10:00:00+00:00"
        monkeypatch.setenv("GIT_AUTHOR_DATE", stamp)
        monkeypatch.setenv("GIT_COMMITTER_DATE", stamp)

    at(1)
    write_set(tmp_path / "v1", seconds=SECONDS, mix=False)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first pass")
    at(2)
    write_set(tmp_path / "w1", cue="2M01", seconds=2.0, mix=False)
    sv.ok("-C", vault, "commit", "2M01", tmp_path / "w1", "-m", "the chase begins")
    at(3)
    write_set(tmp_path / "v2", seconds=SECONDS, mix=False)
    strings = tone(220.0, SECONDS)
    t = np.arange(len(strings)) / SR
    strings[(t >= 2.0) & (t < 4.0)] *= 3.0
    sf.write(tmp_path / "v2" / f"{CUE}_STR.wav", strings, SR, subtype="PCM_24")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "strings swell at 2 s")
    at(4)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Eli Brandt")
    sv.ok("-C", vault, "note", f"{CUE}@2.0", "00:00:03:00", "strings too loud under dialogue", "--stem", "STR")
    return vault


async def _open_history(pilot: Any) -> None:
    app = pilot.app
    for _ in range(200):
        await pilot.pause(0.05)
        if getattr(app, "cues", None):
            break
    await pilot.press("enter")
    for _ in range(200):
        await pilot.pause(0.05)
        s = app.screen
        if isinstance(s, HistoryScreen) and s.pane is not None and s.query(".stem-row"):
            break
    await pilot.pause(0.3)


async def _vault_loaded(pilot: Any) -> None:
    for _ in range(200):
        await pilot.pause(0.05)
        if getattr(pilot.app, "cues", None):
            break
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_vault_screen_snapshot(fixed_vault: Path, snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(fixed_vault), terminal_size=size, run_before=_vault_loaded)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_history_screen_snapshot(fixed_vault: Path, snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(fixed_vault), terminal_size=size, run_before=_open_history)
