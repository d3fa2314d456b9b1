"""The history screen (versions and the diff pane), help, the palette and `stemvault tui`, driven
by keys on real vaults (Textual pilot)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import CUE, SR, Runner, tone, write_set
from tui.app import make_app
from tui.screens.help import HelpScreen
from tui.screens.history import DiffPane, HistoryScreen, StemRow
from tui.widgets.waveform import Waveform

SECONDS = 8.0


async def _settle(pilot, cond, tries: int = 200) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        await pilot.pause(0.05)
        if cond():
            return
    raise AssertionError("the TUI never got there")


def make_history(vault: Path, sv: Runner, tmp_path: Path) -> None:
    """1M03: 1.0; 2.0 with STR louder in 2-4 s; 3.0 with BRS 6 dB down everywhere and a note."""
    write_set(tmp_path / "v1", seconds=SECONDS, mix=False)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first pass")
    write_set(tmp_path / "v2", seconds=SECONDS, mix=False)
    strings = tone(220.0, SECONDS)
    t = np.arange(len(strings)) / SR
    strings[(t >= 2.0) & (t < 4.0)] *= 3.0
    sf.write(tmp_path / "v2" / f"{CUE}_STR.wav", strings, SR, subtype="PCM_24")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "strings swell at 2 s")
    write_set(tmp_path / "v3", seconds=SECONDS, gains={"BRS": 0.5}, mix=False)
    sf.write(tmp_path / "v3" / f"{CUE}_STR.wav", strings, SR, subtype="PCM_24")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v3", "-m", "softer brass")
    sv.ok("-C", vault, "note", f"{CUE}@3.0", "00:00:05:00", "brass too soft here", "--stem", "BRS")


def _rows(screen: HistoryScreen) -> dict[str, StemRow]:
    from vcs.naming import short_name

    return {short_name(r.file_name, CUE): r for r in screen.query(StemRow)}


def _shown(screen: HistoryScreen) -> tuple[str, str | None] | None:
    p = screen.pane
    return None if p is None else (str(p.version.version), None if p.base is None else str(p.base.version))


async def test_open_a_cue_move_through_versions_and_mark_one(vault: Path, sv: Runner, tmp_path: Path) -> None:
    make_history(vault, sv, tmp_path)
    app = make_app(vault)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot, lambda: app.cues == [CUE])
        await pilot.press("enter")
        await _settle(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.pane is not None)
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        assert [str(v.version) for v in screen.versions] == ["3.0", "2.0", "1.0"]  # newest first
        assert _shown(screen) == ("3.0", "2.0")
        await _settle(pilot, lambda: set(_rows(screen)) >= {"STR", "BRS"})
        rows = _rows(screen)
        assert rows["BRS"].file_diff is not None and rows["BRS"].file_diff.status == "changed"
        assert rows["STR"].file_diff is not None and rows["STR"].file_diff.status == "unchanged"
        assert rows["BRS"].file_diff.loudness_delta_lu == pytest.approx(-6.0, abs=0.3)
        # The note (at 5 s, on BRS) is listed and marked on BRS's waveform only.
        assert rows["BRS"].query_one(Waveform).notes == [pytest.approx(5.0)]
        assert rows["STR"].query_one(Waveform).notes == []
        assert "brass too soft here" in screen.query_one(DiffPane).lines_text()
        assert "audio 4/4 local" in screen.query_one("#status").plain
        # j: the pane follows the cursor — 2.0 against 1.0, STR changed in 2-4 s, lit there.
        await pilot.press("j")
        await _settle(pilot, lambda: _shown(screen) == ("2.0", "1.0") and "STR" in _rows(screen))
        await pilot.pause(0.1)
        rows = _rows(screen)
        strings = rows["STR"].file_diff
        assert strings is not None and strings.status == "changed"
        (region,) = strings.regions
        assert region.start_s == pytest.approx(2.0, abs=1.0) and region.end_s == pytest.approx(4.0, abs=1.0)
        wave = rows["STR"].query_one(Waveform)
        lit = np.flatnonzero(wave.highlighted())
        w = wave.size.width
        assert w > 20 and len(lit)
        # The cells lit are those of the span the change was written in (2-4 s of 8 s).
        assert lit[0] / w == pytest.approx(2.0 / SECONDS, abs=1.5 / SECONDS)
        assert (lit[-1] + 1) / w == pytest.approx(4.0 / SECONDS, abs=1.5 / SECONDS)
        assert rows["BRS"].file_diff is not None and rows["BRS"].file_diff.status == "unchanged"
        # Space on 1.0 marks it; back on 3.0 the pane compares 3.0 against 1.0.
        await pilot.press("j", "space")
        assert screen.marked is not None and str(screen.marked.version) == "1.0"
        await pilot.press("k", "k")
        await _settle(pilot, lambda: _shown(screen) == ("3.0", "1.0") and "STR" in _rows(screen))
        await pilot.pause(0.1)
        rows = _rows(screen)
        status = {n: r.file_diff.status for n, r in rows.items() if r.file_diff}
        assert status["STR"] == status["BRS"] == "changed" and status["PAD"] == "unchanged"
        # Tab moves focus to the pane and back; Esc goes back to the vault screen.
        await pilot.press("tab")
        assert isinstance(app.focused, DiffPane)
        await pilot.press("shift+tab")
        await pilot.press("escape")
        await _settle(pilot, lambda: not isinstance(app.screen, HistoryScreen))


async def test_moving_fast_drops_stale_results(vault: Path, sv: Runner, tmp_path: Path) -> None:
    make_history(vault, sv, tmp_path)
    app = make_app(vault, start=f"{CUE}@3.0")
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.pane is not None)
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        await pilot.press("j", "j", "k", "j")  # ends on 1.0 (the first version: nothing to compare)
        await _settle(pilot, lambda: _shown(screen) == ("1.0", None))
        await pilot.pause(0.5)
        assert _shown(screen) == ("1.0", None)
        assert "first version" in str(screen.query_one("#pane-title").render())


async def test_start_on_a_version_and_help_and_palette(vault: Path, sv: Runner, tmp_path: Path) -> None:
    make_history(vault, sv, tmp_path)
    app = make_app(vault, start=f"{CUE}@2.0")
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.pane is not None)
        assert _shown(app.screen) == ("2.0", "1.0")  # type: ignore[arg-type]
        # ? lists this screen's keys; Esc closes it.
        await pilot.press("question_mark")
        await _settle(pilot, lambda: isinstance(app.screen, HelpScreen))
        keys = dict(app.screen.keys)  # type: ignore[attr-defined]
        assert {"Mark", "Play", "Note", "Approve", "Commit", "Back"} <= set(keys.values())
        await pilot.press("escape")
        await _settle(pilot, lambda: isinstance(app.screen, HistoryScreen))
        # The palette finds the verbs by fuzzy search.
        from textual.command import CommandPalette

        for query, expected in (("note", "Note"), ("aprv", "Approve"), ("play", "Play"), ("1m03", f"Open cue {CUE}")):
            await pilot.press("ctrl+p")
            await _settle(pilot, lambda: isinstance(app.screen, CommandPalette))
            await pilot.press(*query)
            palette = app.screen
            await _settle(pilot, lambda e=expected, p=palette: e in _palette_texts(p))  # type: ignore[misc]
            await pilot.press("escape")
            await _settle(pilot, lambda: isinstance(app.screen, HistoryScreen))
        # The keys open their screens: p the player (A/B with nothing marked: A alone), Esc back.
        from tui.screens.player import PlayerScreen

        await pilot.press("p")
        await _settle(pilot, lambda: isinstance(app.screen, PlayerScreen))
        assert str(app.screen.a.version) == "2.0" and app.screen.b is None  # type: ignore[attr-defined]
        await pilot.press("escape")
        await _settle(pilot, lambda: isinstance(app.screen, HistoryScreen))
        assert app.is_running


def _palette_texts(palette) -> list[str]:  # type: ignore[no-untyped-def]
    from textual.widgets import OptionList

    try:
        options = palette.query_one(OptionList)
    except Exception:
        return []
    out = []
    for i in range(options.option_count):
        prompt = options.get_option_at_index(i).prompt
        out.append((prompt.plain if hasattr(prompt, "plain") else str(prompt)).split("\n")[0])
    return out


def test_tui_verb_needs_a_terminal_and_a_known_cue(vault: Path, sv: Runner, tmp_path: Path) -> None:
    r = sv("-C", vault, "tui", "9M99")
    assert r.code == 2 and r.err.startswith("error: ") and "terminal" in r.err


async def test_history_keys_open_the_note_approve_and_commit_screens(vault: Path, sv: Runner,
                                                                     tmp_path: Path) -> None:
    """n, A and c on the history screen open the note dialog (its timecode where the version
    first changed, inside the cue), the approve dialog and the commit screen; Esc comes back."""
    from tui.screens.approve import ApproveDialog
    from tui.screens.commit import CommitScreen
    from tui.screens.note import NoteDialog

    make_history(vault, sv, tmp_path)
    app = make_app(vault, start=f"{CUE}@2.0")
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.pane is not None)
        history = app.screen
        first = next(f.regions[0] for _, f, _ in history.pane.files if f is not None and f.regions)  # type: ignore[union-attr]
        for key, kind in (("n", NoteDialog), ("A", ApproveDialog), ("c", CommitScreen)):
            await pilot.press(key)
            await _settle(pilot, lambda k=kind: isinstance(app.screen, k))  # type: ignore[misc]
            if kind is NoteDialog:
                assert app.screen.tc == first.start_tc  # type: ignore[attr-defined]
            await pilot.press("escape")
            await _settle(pilot, lambda: app.screen is history)
        assert app.is_running
