"""The commit screen on a real vault, driven by keys (Textual pilot) in a tiny host app."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from textual.widgets import DataTable, Input

from tests.helpers import CUE, Runner, git, write_set
from tests.tui_host import Host, settle, text_of
from tui.screens.commit import CommitScreen, complete_path
from vcs.commit import CommitResult

EIGHT = {f"S{i}": 110.0 * (i + 1) for i in range(8)}


def clip(folder: Path, name: str = f"{CUE}_STR.wav") -> None:
    """Full-scale runs one second in: a `clipping` error (tests/test_checks.py)."""
    x, sr = sf.read(folder / name, always_2d=True)
    x[sr:sr + 10] = 1.0
    sf.write(folder / name, x, sr, subtype="PCM_24")


def incoming(vault: Path) -> list[Path]:
    root = vault / ".git" / "stemvault" / "incoming"
    return list(root.iterdir()) if root.exists() else []


def rows(screen: Any) -> list[list[str]]:
    table = screen.query_one("#commit-findings", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


class GatedCommit(CommitScreen):
    """The commit screen whose analysis, once a file is partly read, waits for ``go``: the test
    decides when the worker goes on (no timing)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reached = threading.Event()
        self.go = threading.Event()

    def _progress(self, run: int) -> Callable[[str, float], None]:
        report = super()._progress(run)

        def gated(name: str, share: float) -> None:
            report(name, share)
            if 0 < share < 1 and not self.reached.is_set():
                self.reached.set()
                assert self.go.wait(60), "the test never let the analysis go on"

        return gated


async def test_commit_with_a_blocking_finding_then_a_clean_one(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "bad")
    clip(tmp_path / "bad")
    write_set(tmp_path / "good")
    head = git(vault, "rev-parse", "HEAD")
    app = Host(vault, lambda v: CommitScreen(v, cue=CUE))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        screen.query_one("#commit-source", Input).value = str(tmp_path / "bad")
        await pilot.press("ctrl+r")  # check
        await settle(pilot, lambda: "errors" in text_of(screen, "#commit-status"))
        found = [(r[0], r[1], r[2], f.message) for r, f in zip(rows(screen), screen.findings, strict=True)]
        assert ("error", "clipping", "", f"{CUE}_STR.wav clips: 2 runs of 3+ samples at full scale") in found
        cut = [r[3] for r in rows(screen) if r[3].endswith("…")]
        assert cut and all(len(c) < 80 for c in cut)  # long messages end with "…" in the table
        # the clip one second in is where the stems stop summing to the mix
        assert ["error", "null-test", "00:00:01:00"] in [r[:3] for r in rows(screen)]
        assert "a commit would be refused" in text_of(screen, "#commit-status")
        assert set(screen.bars) == {f"{CUE}_{r}.wav" for r in ("STR", "BRS", "PERC", "PAD", "MIX")}
        assert all(b.percentage == 1 for b in screen.bars.values())
        await pilot.press("ctrl+s")  # commit: refused, the findings listed
        await settle(pilot, lambda: "error:" in text_of(screen, "#commit-status"))
        assert text_of(screen, "#commit-status").startswith("error: not committed: ")
        assert "clipping" in [r[1] for r in rows(screen)]
        assert git(vault, "rev-parse", "HEAD") == head and incoming(vault) == []
        screen.query_one("#commit-source", Input).value = str(tmp_path / "good")
        screen.query_one("#commit-summary", Input).value = "first pass"
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: bool(app.results))
    result = app.results[0]
    assert isinstance(result, CommitResult) and result.version.ref == f"{CUE}@1.0"
    [entry] = sv.ok("-C", vault, "log", "--json").json()
    assert (entry["version"], entry["summary"]) == ("1.0", "first pass")
    assert incoming(vault) == []


async def test_tweak_and_notes_are_committed(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    write_set(tmp_path / "v2", gains={"BRS": 0.5})
    app = Host(vault, lambda v: CommitScreen(v, cue=CUE))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        screen.query_one("#commit-source", Input).value = str(tmp_path / "v2")
        screen.query_one("#commit-tweak").value = True
        screen.query_one("#commit-notes").text = "00:00:01:00 brass softer\n"
        await pilot.press("ctrl+s")
        await settle(pilot, lambda: bool(app.results))
    entry = sv.ok("-C", vault, "log", "--json").json()[0]
    assert (entry["version"], entry["change"]) == ("1.1", "tweak")
    assert [(n["tc"], n["text"]) for n in entry["notes"]] == [("00:00:01:00", "brass softer")]


async def test_esc_while_the_analysis_runs_commits_nothing(vault: Path, sv: Runner, tmp_path: Path) -> None:
    # 8 stems x 20 s and their mix: the analysis runs in worker processes (audio/_pool.py); at
    # half level the mix does not clip, so without the cancel this export would be committed
    write_set(tmp_path / "big", seconds=20.0, roles=EIGHT, gains=dict.fromkeys(EIGHT, 0.5))
    head = git(vault, "rev-parse", "HEAD")
    app = Host(vault, lambda v: GatedCommit(v, cue=CUE))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, GatedCommit)
        screen.query_one("#commit-source", Input).value = str(tmp_path / "big")
        await pilot.press("ctrl+s")
        await settle(pilot, screen.reached.is_set)
        await pilot.press("escape")
        await settle(pilot, lambda: "cancelling" in text_of(screen, "#commit-status"))
        screen.go.set()
        await settle(pilot, lambda: bool(app.results))
    assert app.results == [None]
    assert git(vault, "rev-parse", "HEAD") == head
    assert git(vault, "status", "--porcelain") == ""
    assert incoming(vault) == []
    assert sv.ok("-C", vault, "log", "--json").json() == []


async def test_keys_work_while_the_analysis_runs(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "src", seconds=3.0)
    app = Host(vault, lambda v: GatedCommit(v, cue=CUE))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, GatedCommit)
        screen.query_one("#commit-source", Input).value = str(tmp_path / "src")
        await pilot.press("ctrl+s")
        await settle(pilot, screen.reached.is_set)
        # the worker is held mid-analysis: the UI still moves focus, takes typing, draws progress
        await pilot.press("tab")
        assert app.focused is screen.query_one("#commit-cue", Input)
        screen.query_one("#commit-summary", Input).focus()
        await pilot.press(*"typed while busy")
        assert screen.query_one("#commit-summary", Input).value == "typed while busy"
        await settle(pilot, lambda: len(screen.bars) == 5)
        assert not screen.go.is_set() and screen.busy
        screen.go.set()
        await settle(pilot, lambda: bool(app.results))
    assert [e["version"] for e in sv.ok("-C", vault, "log", "--json").json()] == ["1.0"]


async def test_esc_when_idle_leaves_at_once(vault: Path) -> None:
    app = Host(vault, lambda v: CommitScreen(v))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+s")  # no folder: said, nothing run
        assert text_of(app.screen, "#commit-status") == "error: give the export folder first"
        await pilot.press("escape")
        await settle(pilot, lambda: app.results == [None])


def test_path_completion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "exports" / "1M03_v2").mkdir(parents=True)
    (tmp_path / "exports" / "1M03_v1").mkdir()
    (tmp_path / "exports" / "1M03.txt").write_text("")
    (tmp_path / "exports" / ".hidden").mkdir()
    assert complete_path(f"{tmp_path}/exp") == f"{tmp_path}/exports/"
    assert complete_path(f"{tmp_path}/exports/1M") == f"{tmp_path}/exports/1M03_v1/"
    assert complete_path(f"{tmp_path}/exports/1M03.") == f"{tmp_path}/exports/1M03.txt"
    assert complete_path(f"{tmp_path}/exports/.h") == f"{tmp_path}/exports/.hidden/"
    assert complete_path(f"{tmp_path}/exports/zz") is None
    assert complete_path(f"{tmp_path}/nowhere/x") is None
    monkeypatch.chdir(tmp_path)
    assert complete_path("ex") == "exports/"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert complete_path("~/exports/1M03_v") == "~/exports/1M03_v1/"


async def test_path_completion_in_the_input(vault: Path, tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    app = Host(vault, lambda v: CommitScreen(v))
    async with app.run_test(size=(80, 24)) as pilot:
        source = app.screen.query_one("#commit-source", Input)
        source.value = f"{tmp_path}/exp"
        source.cursor_position = len(source.value)
        await settle(pilot, lambda: source._suggestion == f"{tmp_path}/exports/")
        await pilot.press("right")  # takes the suggestion
        assert source.value == f"{tmp_path}/exports/"


async def test_a_bad_cue_name_is_said_in_one_line(vault: Path, tmp_path: Path) -> None:
    write_set(tmp_path / "src")
    app = Host(vault, lambda v: CommitScreen(v, cue="../etc"))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        screen.query_one("#commit-source", Input).value = str(tmp_path / "src")
        await pilot.press("ctrl+r")
        await settle(pilot, lambda: "error:" in text_of(screen, "#commit-status"))
        assert "\n" not in text_of(screen, "#commit-status").strip() and not screen.bars
