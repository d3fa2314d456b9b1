"""The note and approve dialogs on a real vault, driven by keys (Textual pilot) in a tiny host app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Select

from tests.helpers import CUE, Runner, write_set
from tests.tui_host import HOSTILE, Host, settle, text_of
from tui.screens.approve import ApproveDialog
from tui.screens.note import NoteDialog
from vcs.vault import Vault


@pytest.fixture
def committed(vault: Path, sv: Runner, tmp_path: Path) -> Path:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first pass")
    return vault


def _version(vault: Path, ref: str = f"{CUE}@1.0") -> Any:
    v = Vault.find(vault)
    try:
        return v.resolve(ref)
    finally:
        v.close()


async def test_note_dialog_writes_the_note_with_stem(committed: Path, sv: Runner) -> None:
    version = _version(committed)
    app = Host(committed, lambda v: NoteDialog(v, version, "00:00:01:00", stem=f"{CUE}_BRS.wav"))
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = app.screen
        select = dialog.query_one("#note-stem", Select)
        await settle(pilot, lambda: select.value == f"{CUE}_BRS.wav")
        tc = dialog.query_one("#note-tc", Input)
        assert tc.value == "00:00:01:00"
        tc.value = "00:00:01:12"
        dialog.query_one("#note-text", Input).focus()
        await pilot.press(*"brass early", "enter")
        await settle(pilot, lambda: bool(app.results))
    note = app.results[0]
    assert (note.tc, note.stem, note.text) == ("00:00:01:12", f"{CUE}_BRS.wav", "brass early")
    [entry] = sv.ok("-C", committed, "log", "--json").json()
    [logged] = entry["notes"]
    assert (logged["tc"], logged["stem"], logged["text"]) == ("00:00:01:12", f"{CUE}_BRS.wav", "brass early")


async def test_note_outside_the_cue_says_why_and_writes_nothing(committed: Path, sv: Runner) -> None:
    version = _version(committed)
    app = Host(committed, lambda v: NoteDialog(v, version, "00:00:09:00"))
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = app.screen
        await pilot.press(*"too late", "enter")
        await settle(pilot, lambda: "after the cue ends" in text_of(dialog, "#note-error"))
        line = text_of(dialog, "#note-error")
        assert line.startswith("error: timecode 00:00:09:00 is after the cue ends")
        assert "\n" not in line and "Traceback" not in line
        assert app.screen is dialog  # still open: the user can fix the timecode
        await pilot.press("escape")
        await settle(pilot, lambda: app.results == [None])
    [entry] = sv.ok("-C", committed, "log", "--json").json()
    assert entry["notes"] == []


async def test_note_hostile_text_is_stored_byte_exact_and_shown_literally(committed: Path, sv: Runner) -> None:
    version = _version(committed)
    app = Host(committed, lambda v: NoteDialog(v, version, HOSTILE))
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = app.screen
        # a hostile "timecode" is refused, quoted literally in the error line; the app goes on
        await pilot.press("x", "enter")
        await settle(pilot, lambda: "error:" in text_of(dialog, "#note-error"))
        shown = text_of(dialog, "#note-error")
        assert "[@click=app.quit]" in shown and "\x1b" not in shown and "\\x1b" in shown
        assert app.is_running and app.screen is dialog
        dialog.query_one("#note-tc", Input).value = "00:00:00:12"
        dialog.query_one("#note-text", Input).value = HOSTILE
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: bool(app.results))
    assert app.results[0].text == HOSTILE
    [entry] = sv.ok("-C", committed, "log", "--json").json()
    assert entry["notes"][0]["text"] == HOSTILE


async def test_approve_dialog_shows_what_and_approves(committed: Path, sv: Runner) -> None:
    sv.ok("-C", committed, "note", f"{CUE}@1.0", "00:00:01:00", "brass early")
    version = _version(committed)
    app = Host(committed, lambda v: ApproveDialog(v, version))
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = app.screen
        await settle(pilot, lambda: "checksums" in text_of(dialog, "#approve-what"))
        what = text_of(dialog, "#approve-what")
        # write_set makes 4 stems and a mix: 5 files, each with its sha256
        assert "cue 1M03  version 1.0" in what
        assert "files: 5, 5 sha256 checksums" in what
        assert "open notes: 1" in what
        assert dialog.query_one("#approve-sign").value is False  # no tag.gpgSign in this HOME
        await pilot.press(*"ok to mix", "enter")
        await settle(pilot, lambda: bool(app.results))
    assert app.results[0].message == "ok to mix" and app.results[0].signed is False
    [entry] = sv.ok("-C", committed, "log", "--json").json()
    assert entry["approved"]["message"] == "ok to mix"


async def test_approving_an_approved_version_says_so(committed: Path, sv: Runner) -> None:
    sv.ok("-C", committed, "approve", f"{CUE}@1.0", "-m", "first")
    version = _version(committed)
    app = Host(committed, lambda v: ApproveDialog(v, version))
    async with app.run_test(size=(80, 24)) as pilot:
        dialog = app.screen
        assert "already approved by Ada Composer" in text_of(dialog, "#approve-what")
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: "error:" in text_of(dialog, "#approve-error"))
        assert "1M03@1.0 is already approved (tag 1M03/v1.0/approved)" in text_of(dialog, "#approve-error")
        await pilot.press("escape")
        await settle(pilot, lambda: app.results == [None])
    [entry] = sv.ok("-C", committed, "log", "--json").json()
    assert entry["approved"]["message"] == "first"
