"""Everything read from git is untrusted: manifests, notes, trailers, tags and authors carrying
markup, ``[@click=...]`` actions and terminal escape sequences are shown literally — on the
command line with no control byte reaching stdout, in the TUI as text that no click can run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from textual.widgets import DataTable

from tests.helpers import CUE, Runner, git, write_set
from tui.app import make_app
from tui.screens.history import DiffPane, HistoryScreen, StemRow

ESC_TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J"
QUIT = "[@click=app.quit]quit me[/]"
C1 = "\x9b31m"  # CSI as one C1 byte
# A C0/C1 control, DEL, or an ESC anywhere in what a terminal would be sent.
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def _shot(tmp_path: Path) -> str:
    # Relative to the current folder, which the tests set to tmp_path (short enough to show whole).
    return "[@click=app.screenshot('shot.svg','.')]shoot[/]"


def _hostile_vault(vault: Path, sv: Runner, tmp_path: Path) -> str:
    """1M03 v1.0 by stemvault, then v1.1 made with plain git whose manifest, message, author,
    notes and approval tag are hostile; and a commit whose Stemvault-Cue trailer is hostile.
    Returns the commit of v1.1."""
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first pass")
    manifest = vault / "cues" / CUE / "stemset.toml"
    text = manifest.read_text()
    kind = QUIT + ESC_TITLE + _shot(tmp_path)
    text = text.replace('kind = "stem"', f"kind = {json.dumps(kind)}", 1)
    text = text.replace('role = "strings"', f"role = {json.dumps('[b]str[/b]' + CLEAR)}", 1)
    manifest.write_text(text)
    assert json.dumps(kind) in manifest.read_text()
    summary = f"{QUIT} summary {ESC_TITLE}{CLEAR}{C1}\nsecond line {CLEAR}"
    note = {"tc": "01:00:00:12", "text": f"{QUIT} commit note {CLEAR}"}
    message = "\n".join([
        "hand made", "",
        f"Stemvault-Cue: {CUE}",
        "Stemvault-Version: 1.1",
        "Stemvault-Change: tweak",
        f"Stemvault-Summary: {json.dumps(summary)}",
        f"Stemvault-Delta: {json.dumps('~BRS ' + QUIT + CLEAR)}",
        f"Stemvault-Note: {json.dumps(note)}",
    ]) + "\n"
    env = {**os.environ, "GIT_AUTHOR_NAME": f"Eve{CLEAR}[@click=app.quit]eve[/]",
           "GIT_AUTHOR_EMAIL": "eve@example.com"}
    subprocess.run(["git", "commit", "-q", "-a", "-F", "-"], cwd=vault, input=message.encode(),
                   env=env, check=True)
    commit = git(vault, "rev-parse", "HEAD").strip()
    # Review notes in the shared notes ref: one with an escape sequence for a timecode.
    bad_tc = json.dumps({"tc": ESC_TITLE, "text": "bad timecode note", "author": "Mallory"})
    good = json.dumps({"tc": "01:00:01:00", "text": f"{QUIT} review {ESC_TITLE}", "stem": f"[i]x[/i]{CLEAR}",
                       "author": f"Mal{CLEAR}"})
    git(vault, "notes", "--ref=refs/notes/stemvault", "add", "-m", bad_tc + "\n" + good, commit)
    # An approval tag with hostile fields; the approver shown is the tagger (git's header), so
    # that is hostile too.
    meta = {"cue": CUE, "version": "1.1", "by": f"Sup{ESC_TITLE}{QUIT}", "email": "s@x",
            "date": f"2026-01-01{CLEAR}", "message": f"ok {QUIT}{CLEAR}", "commit": commit}
    tag_msg = f"Approved\n\nStemvault-Approval: {json.dumps(meta)}\n"
    subprocess.run(["git", "tag", "-a", "--cleanup=verbatim", "-F", "-", f"{CUE}/v1.1/approved", commit],
                   cwd=vault, input=tag_msg.encode(), check=True,
                   env={**os.environ, "GIT_COMMITTER_NAME": f"Sup{ESC_TITLE}{QUIT}", "GIT_COMMITTER_EMAIL": "s@x"})
    # A version-looking commit whose cue trailer is markup and escapes: not a cue name.
    crafted = (f"crafted\n\nStemvault-Cue: [@click=app.quit]9M99[/]{CLEAR}\nStemvault-Version: 1.0\n"
               f"Stemvault-Summary: {json.dumps('crafted cue')}\n")
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-F", "-"], cwd=vault, input=crafted.encode(),
                   check=True)
    return commit


def test_log_and_show_print_hostile_text_literally(vault: Path, sv: Runner, tmp_path: Path) -> None:
    _hostile_vault(vault, sv, tmp_path)
    log = sv.ok("-C", vault, "log").out
    show = sv.ok("-C", vault, "show", f"{CUE}@1.1").out
    for out in (log, show):
        assert not CONTROL.search(out), repr(CONTROL.search(out))
        assert QUIT in out  # literally
        assert "\\x1b]0;pwned\\x07" in out  # escaped, visible
        assert "crafted cue" not in out and "9M99" not in out  # a cue trailer that is not a cue name
    assert "bad timecode note" in log and "damaged" in log  # a note whose tc is not a timecode
    assert "Eve\\x1b[2J[@click=app.quit]eve[/]" in log
    assert "Sup\\x1b]0;pwned\\x07" + QUIT in log
    assert QUIT + "\\x1b]0;pwned\\x07" + _shot(tmp_path) in show  # the manifest's kind, whole
    assert "[b]str[/b]\\x1b[2J" in show
    # JSON keeps the exact text (escaped by JSON itself).
    doc = sv.ok("-C", vault, "log", "--json").json()
    assert [v["version"] for v in doc] == ["1.1", "1.0"]
    notes = doc[0]["notes"]
    assert [n["tc"] for n in notes] == ["01:00:00:12", "01:00:01:00", ESC_TITLE]  # by timecode, damaged last
    assert [bool(n["damaged"]) for n in notes] == [False, False, True]


async def _settle(pilot, cond, tries: int = 100) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        await pilot.pause(0.05)
        if cond():
            return
    raise AssertionError("the TUI never got there")


RTL = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: would flip the rest of the line on screen


async def test_tui_shows_hostile_text_literally_and_a_click_runs_nothing(
        vault: Path, sv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    commit = _hostile_vault(vault, sv, tmp_path)
    # A review note with a right-to-left override and a 5,000-character line.
    long_note = json.dumps({"tc": "01:00:00:06", "text": f"{RTL}evil{QUIT}" + "y" * 5000, "author": "Rtl"})
    git(vault, "notes", "--ref=refs/notes/stemvault", "append", "-m", long_note, commit)
    app = make_app(vault)
    async with app.run_test(size=(200, 50)) as pilot:
        table = app.screen.query_one("#cues", DataTable)
        await _settle(pilot, lambda: table.row_count == 1)
        row = table.get_row_at(0)
        cells = [c.plain if hasattr(c, "plain") else str(c) for c in row]
        assert cells[0] == CUE and cells[1] == "1.1"
        assert cells[4].startswith("Eve\\x1b[2J")  # cut to its column, escaped, never markup
        assert cells[6] == "~BRS " + QUIT + "\\x1b[2J"  # the delta line, literally
        assert not any(isinstance(c, str) for c in row)  # str cells are markup to a DataTable
        y = table.region.y + 1  # the cue's row (a click on it opens the cue, as Enter does)
        for x in range(0, 160, 2):
            await pilot.click(offset=(x, y))
            assert app.is_running
        if not isinstance(app.screen, HistoryScreen):
            await pilot.press("enter")
        await _settle(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.pane is not None
                      and bool(app.screen.query(".note")))
        screen = app.screen
        vrow = [c.plain for c in screen.query_one("#versions", DataTable).get_row_at(0)]
        assert vrow[3].startswith("Eve\\x1b[2J")
        title = screen.query_one("#pane-title").render()
        assert title.plain.startswith("1.1 against 1.0 · " + QUIT + " summary \\x1b]0;pwned\\x07")  # type: ignore[union-attr]
        shown = screen.query_one(DiffPane).lines_text()
        assert not CONTROL.search(shown.replace("\n", ""))
        assert QUIT + " review \\x1b]0;pwned\\x07" in shown and "[[i]x[/i]\\x1b[2J]" in shown  # note, its stem
        assert "bad timecode note" in shown and "damaged" in shown
        assert "Sup\\x1b]0;pwned\\x07" + QUIT in shown  # the approval's author
        assert QUIT + "\\x1b]0;pwned\\x07" + _shot(tmp_path) in shown  # the manifest's kind, changed
        assert "\\u202e" in shown and RTL not in shown  # the override is shown escaped, never applied
        long_line = next(line for line in shown.split("\n") if "evil" in line)
        assert long_line.endswith("…") and len(long_line) < 210  # a 5,000-character note, cut
        # Click the pane's lines that show "quit me" or "shoot", every 4th cell (were the markup
        # live, a link would be >= 5 cells wide and show without its "@click").
        from textual.widgets import Static

        targets = [w for w in screen.query_one(DiffPane).query(Static)
                   if any(k in str(w.render()) for k in ("quit me", "shoot"))]
        assert len(targets) >= 3  # the kind's change, a review note, the approval
        for w in targets:
            r = w.region
            for x in range(r.x, r.x + min(r.width, len(str(w.render())) + 2), 4):
                await pilot.click(offset=(x, r.y))
                assert app.is_running
        for x in range(0, 190, 4):
            await pilot.click("#pane-title", offset=(x, 0))
        assert app.is_running
        assert not (tmp_path / "shot.svg").exists()
    assert not (tmp_path / "shot.svg").exists()


@pytest.mark.parametrize("field", ["author", "summary"])
def test_log_never_prints_a_control_byte_from_a_plain_commit(vault: Path, sv: Runner, tmp_path: Path,
                                                            field: str) -> None:
    """A version commit whose first line (no Summary trailer) or author carries escapes."""
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    subject = f"title {ESC_TITLE}" if field == "summary" else "title"
    message = f"{subject}\n\nStemvault-Cue: {CUE}\nStemvault-Version: 1.1\n"
    env = {**os.environ, "GIT_AUTHOR_NAME": f"Eve {CLEAR}" if field == "author" else "Eve"}
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-F", "-"], cwd=vault, input=message.encode(),
                   env=env, check=True)
    out = sv.ok("-C", vault, "log").out
    assert not CONTROL.search(out)
    assert ("title \\x1b]0;pwned\\x07" if field == "summary" else "Eve \\x1b[2J") in out


def _plain_git_version(vault: Path, version: str) -> None:
    message = f"hand made\n\nStemvault-Cue: {CUE}\nStemvault-Version: {version}\n"
    subprocess.run(["git", "commit", "-q", "-a", "--allow-empty", "-F", "-"], cwd=vault,
                   input=message.encode(), check=True)


def _edit(doc: Any, how: str) -> None:
    if how == "measured":
        doc["stem"][0]["measured"] = "none"
    elif how == "measured-values":
        doc["stem"][0]["measured"]["sample_rate"] = "fast"
        doc["stem"][0]["measured"]["frames"] = [1]
        doc["stem"][0]["measured"]["integrated_lufs"] = "loud"
    elif how == "cue":
        doc["cue"] = 5
    elif how == "stem":
        doc["stem"] = 5
    elif how == "file":
        doc["stem"][0]["file"] = [1, 2]
    elif how == "extra":
        doc["finding"] = "x"
        doc["checks"] = [1]


@pytest.mark.parametrize("how", ["measured", "measured-values", "cue", "stem", "file", "extra"])
def test_a_manifest_of_the_wrong_shape_is_one_error_line_or_shown(vault: Path, sv: Runner, tmp_path: Path,
                                                                  how: str) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first pass")
    manifest = vault / "cues" / CUE / "stemset.toml"
    doc = tomlkit.parse(manifest.read_text())
    _edit(doc, how)
    manifest.write_text(tomlkit.dumps(doc))
    _plain_git_version(vault, "1.1")
    r = sv("-C", vault, "show", f"{CUE}@1.1")
    assert "Traceback" not in r.err
    if r.code != 0:
        assert r.code == 2
        lines = r.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "stemset.toml" in lines[0], r.err
    sv.ok("-C", vault, "log")


def test_an_approval_tag_whose_cue_is_not_a_cue_name_is_no_approval(vault: Path, sv: Runner,
                                                                     tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first pass")
    commit = git(vault, "rev-parse", "HEAD").strip()
    meta = {"cue": f"{QUIT}{CLEAR}", "version": "1.0", "by": "Sup", "message": "ok", "commit": commit}
    git(vault, "tag", "-a", "--cleanup=verbatim", "-F", "-", f"{CUE}/v1.0/approved", commit,
        input=f"Approved\n\nStemvault-Approval: {json.dumps(meta)}\n".encode())
    assert sv.ok("-C", vault, "log", "--json").json()[0]["approved"] is None
    assert "approved" not in sv.ok("-C", vault, "log").out


async def test_tui_shows_a_hostile_stem_name_literally(vault: Path, sv: Runner, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A stem renamed with plain git to a name full of markup, an RTL override and an escape."""
    monkeypatch.chdir(tmp_path)
    write_set(tmp_path / "v1", mix=False)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first pass")
    bad = f"{CUE}_{RTL}[@click=app.quit]x[b]{CLEAR}" + "z" * 150 + ".wav"  # no "/": a file name
    folder = vault / "cues" / CUE
    git(vault, "mv", f"cues/{CUE}/{CUE}_STR.wav", f"cues/{CUE}/{bad}")
    manifest = folder / "stemset.toml"
    manifest.write_text(manifest.read_text().replace(f'"{CUE}_STR.wav"', json.dumps(bad)))
    message = f"renamed\n\nStemvault-Cue: {CUE}\nStemvault-Version: 1.1\nStemvault-Change: tweak\n"
    subprocess.run(["git", "commit", "-q", "-a", "-F", "-"], cwd=vault, input=message.encode(), check=True)
    app = make_app(vault, start=f"{CUE}@1.1")
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.pane is not None
                      and bool(app.screen.query(StemRow)))
        rows = list(app.screen.query(StemRow))
        (row,) = [r for r in rows if r.file_name == bad]
        assert row.file_diff is not None and row.file_diff.status == "renamed"
        shown = app.screen.query_one(DiffPane).lines_text()
        assert not CONTROL.search(shown.replace("\n", "")) and RTL not in shown
        assert "\n\\u202e[…\n" in shown  # the name, escaped, cut to its column with "…"
        assert "renamed from 1M03_STR.wav" in shown
        for x in range(0, 80, 2):
            await pilot.click(offset=(x, row.region.y))
            assert app.is_running
