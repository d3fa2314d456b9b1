"""End to end, as a new user would (issue 11): the real `stemvault` command on the demo vault, in a
tmux pane of 80x24, driven with send-keys and read with capture-pane — once directly and once over
a real `ssh -t` session to an sshd started on 127.0.0.1 with throwaway keys.

The command is `python -m tui.cli` (what the `stemvault` script runs) with this checkout first on
PYTHONPATH, so the code under test is the code that runs. Each user flow is one function taking
the terminal (``open_vault``, ``toggle_help``, ``open_cue``, ``reach_diff_with_region``,
``add_note``, ``quit_clean``), so a test reads as the steps a user takes. Waits poll the screen until the expected text appears (tests/tmux.py), never a fixed
sleep. Skips, with the reason, when tmux (or for the SSH test, sshd) is not installed: ``./dev test``
as root installs both.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from tests.sshd import Sshd, running_sshd
from tests.tmux import CLEAN_MODES, DEBRIS, PROMPT, Terminal

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
DEMO_SECONDS = "8"
SUBJECT = re.compile(r"^(?P<cue>\S+) v(?P<ver>\S+) \((?:tweak|new version)\): (?P<summary>.*)$")
EXITED = re.compile(r"^EXITED (\d+)\s*$", re.M)


def _skip(why: str) -> NoReturn:
    """Skip where tmux or sshd is missing; in CI as root (where ./dev test installs them) the
    end-to-end path is a requirement, so a missing program fails instead of hiding."""
    if os.environ.get("CI") == "true" and os.geteuid() == 0:
        pytest.fail(f"CI must run the end-to-end tests: {why}")
    pytest.skip(why)


# --- the vault ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    cue: str
    version: str
    summary: str


@pytest.fixture(scope="session")
def _demo_built(_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo vault, built once by the real command (`stemvault demo PATH --no-tui`)."""
    path = tmp_path_factory.mktemp("e2e") / "demo"
    r = subprocess.run([PYTHON, "-m", "tui.cli", "demo", str(path), "--no-tui", "--seconds", DEMO_SECONDS],
                       env=_env(_home), capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return path


@pytest.fixture
def demo(_demo_built: Path, tmp_path: Path) -> Path:
    """A copy of the demo vault for one test (a test may write to it)."""
    path = tmp_path / "demo"
    shutil.copytree(_demo_built, path, symlinks=True)
    return path


def versions_of(vault: Path) -> list[Row]:
    """The versions the demo committed, newest first, read from git itself (the commit subjects
    `CUE vVER (kind): summary`), not from stemvault."""
    out = subprocess.run(["git", "-C", str(vault), "log", "--format=%s"], capture_output=True, text=True,
                         check=True).stdout
    return [Row(m["cue"], m["ver"], m["summary"]) for m in map(SUBJECT.match, out.splitlines()) if m]


def _env(home: Path) -> dict[str, str]:
    """All the app needs, and nothing of the caller's shell: a login on a fresh machine."""
    return {"HOME": str(home), "PATH": f"{Path(PYTHON).parent}:/usr/local/bin:/usr/bin:/bin",
            "PYTHONPATH": str(ROOT), "GIT_CONFIG_NOSYSTEM": "1", "LC_ALL": "C.UTF-8"}


def launch_line(vault: Path, home: Path) -> str:
    """The shell line a user types: the app in the vault, then its exit status."""
    env = " ".join(f"{k}={v}" for k, v in _env(home).items())
    return f"cd {vault} && env {env} {PYTHON} -m tui.cli; echo EXITED $?"


# --- the flows (one function each) -------------------------------------------------------------


def latest(rows: list[Row]) -> list[Row]:
    """Each cue's newest version (``rows`` are newest first)."""
    seen: dict[str, Row] = {}
    for r in rows:
        seen.setdefault(r.cue, r)
    return list(seen.values())


def open_vault(term: Terminal, line: str, rows: list[Row]) -> str:
    """Starts the app with ``line`` and waits for the vault screen: a row for each cue with its
    newest version's number on it; nothing but text on the screen."""
    term.run(line)
    want = [re.compile(rf"(?<!\S){re.escape(r.cue)}\s.*(?<![\d.]){re.escape(r.version)}(?![\d.])")
            for r in latest(rows)]

    def drawn(screen: str) -> bool:
        lines = screen.splitlines()[:-1]  # not the footer
        return all(any(w.search(ln) for ln in lines) for w in want)

    screen = term.wait_for(drawn, what="a row for each cue: " + ", ".join(f"{r.cue} {r.version}" for r in latest(rows)))
    assert not DEBRIS.search(screen), screen
    return screen


def _footer_keys(screen: str) -> list[tuple[str, str]]:
    """The (key, description) pairs the footer (the last line) shows, e.g. ("r", "Reload")."""
    footer = screen.splitlines()[-1].split("▏")[0]
    return [(k, d) for k, d in re.findall(r"(\S+) ([A-Z][a-z]+)", footer) if d != "Keys"]


def _help_open(screen: str) -> bool:
    # One of the screen's keys (as its footer shows them) listed above the footer: the help.
    lines = screen.splitlines()[:-1]
    return any(re.search(rf"(?<!\S){re.escape(k)}\s+{d}\b", ln) for k, d in _footer_keys(screen) for ln in lines)


def toggle_help(term: Terminal, *, close_with: str = "question_mark") -> None:
    """`?` lists the keys of the screen; ``close_with`` closes the list again."""
    term.keys("?")
    term.wait_for(_help_open, what="the keys of the vault screen (help)")
    term.keys("?" if close_with == "question_mark" else close_with)
    term.wait_for(lambda s: not _help_open(s), what=f"help closed by {close_with}", timeout=5)


def quit_clean(term: Terminal) -> None:
    """`q` quits with status 0 and leaves the terminal as it was: the prompt back, no alternate
    screen, no mouse reporting, the cursor shown, the line discipline cooked with echo, and no
    escape-sequence debris on the screen."""
    term.keys("q")
    screen = term.wait_for(lambda s: EXITED.search(s) is not None and s.rstrip().endswith(PROMPT.rstrip()),
                           what="EXITED and the prompt")
    assert EXITED.search(screen)[1] == "0", screen  # type: ignore[index]
    assert term.modes() == CLEAN_MODES
    term.run("echo MODES: $(stty -a | tr ' ;' '\\n\\n' | grep -x -e -icanon -e -echo -e icanon -e echo | sort)")
    screen = term.wait_for(lambda s: re.search(r"^MODES:", s, re.M) is not None, what="stty's modes")
    assert re.search(r"^MODES: echo icanon\s*$", screen, re.M), screen
    assert not DEBRIS.search(term.history()), term.history()


def open_cue(term: Terminal, cue: str, newest: Row, before: Row | None, cues: list[str]) -> str:
    """On the vault screen (the cursor on its first row), Down to ``cue``'s row and Enter: its
    history, the newest version highlighted and the diff pane comparing it with the one before.
    ``cues``: every cue of the vault (to find the rows' order on the screen)."""
    screen = term.screen()
    where = {c: next(i for i, ln in enumerate(screen.splitlines()) if re.match(rf"^\s*{re.escape(c)}\s", ln))
             for c in cues}
    term.keys(*["Down"] * sum(1 for c in cues if where[c] < where[cue]), "Enter")
    title = rf"^\s*{re.escape(newest.version)} against {re.escape(before.version)}\b" if before else \
        rf"^\s*{re.escape(newest.version)} \(first version\)"
    return term.wait_for(lambda s: re.search(title, s, re.M) is not None,
                         what=f"the history of {cue}: {newest.version} against {before.version if before else '-'}")


_SGR = re.compile(r"\x1b\[([0-9;]*)m")


def backgrounds(line: str) -> list[tuple[str, str | None]]:
    """Each character of a `capture-pane -e` line with its background colour (None: default)."""
    out: list[tuple[str, str | None]] = []
    bg: str | None = None
    pos = 0
    for m in _SGR.finditer(line + "\x1b[m"):
        out += [(ch, bg) for ch in line[pos:m.start()]]
        pos = m.end()
        params = m[1].split(";") if m[1] else ["0"]
        i = 0
        while i < len(params):
            p = params[i]
            if p in ("", "0", "49"):
                bg = None
            elif p in ("38", "48") and i + 1 < len(params):
                n = 3 if params[i + 1] == "5" else 5  # 5;n or 2;r;g;b
                if p == "48":
                    bg = ";".join(params[i + 1:i + n])
                i += n - 1
            elif p.isdigit() and (40 <= int(p) <= 47 or 100 <= int(p) <= 107):
                bg = p
            i += 1
    return out


def highlighted_cells(term: Terminal, stem: str) -> tuple[list[int], list[int]]:
    """On the diff pane's row of ``stem``: (the columns of its waveform, the waveform columns
    drawn on a background other than the row's own — the highlighted region)."""
    screen = term.capture_escapes()
    line = next(ln for ln in screen.splitlines() if re.match(rf"^\s*{re.escape(stem)}\s", _SGR.sub("", ln)))
    cells = backgrounds(line)
    wave = [i for i, (ch, _) in enumerate(cells) if ch in WAVE_CHARS]
    row_bg = max({bg for _, bg in cells}, key=lambda b: sum(1 for _, x in cells if x == b))
    return wave, [i for i in wave if cells[i][1] != row_bg]


WAVE_CHARS = set("▁▂▃▄▅▆▇█▴")


def reach_diff_with_region(term: Terminal, stem: str, start_s: float, end_s: float, unchanged: list[str]) -> str:
    """The diff pane's row of ``stem`` says `changed START–END` with timecodes around the span
    ``start_s``–``end_s`` (seconds of the cue's timeline) and its waveform is highlighted there
    only: a run inside the wave, not all of it; the rows of ``unchanged`` stems are not lit.
    Returns the region's start timecode as shown."""
    pattern = re.compile(rf"^\s*{re.escape(stem)}\s.*changed (\d\d:\d\d:\d\d:\d\d)–(\d\d:\d\d:\d\d:\d\d)", re.M)
    screen = term.wait_for(lambda s: pattern.search(s) is not None, what=f"{stem}'s changed region")
    m = pattern.search(screen)
    assert m is not None
    first, last = (_seconds(tc) for tc in m.groups())
    assert first <= start_s + 0.5 and last >= end_s - 0.5, (m.groups(), start_s, end_s)
    wave, lit = highlighted_cells(term, stem)
    assert lit, f"{stem}: no highlighted cell\n{screen}"
    assert lit == list(range(lit[0], lit[-1] + 1)), f"{stem}: the highlight is not one run: {lit}"
    assert wave[0] < lit[0] and lit[-1] < wave[-1], f"{stem}: all of the wave is lit, not a region"
    for other in unchanged:
        assert not highlighted_cells(term, other)[1], f"{other} is unchanged but lit\n{screen}"
    return m[1]


def _seconds(tc: str) -> float:
    h, mi, se, fr = (int(x) for x in tc.split(":"))
    return h * 3600 + mi * 60 + se + fr / 24  # the demo vault runs at 24 fps


def add_note(term: Terminal, ref: str, text: str) -> None:
    """`n` opens the note dialog on ``ref`` (timecode prefilled), the text typed, Enter writes it;
    the dialog closes and the note is in the diff pane."""
    term.keys("n")
    term.wait_for(f"Note on {ref}", what="the note dialog")
    term.type(text)
    term.keys("Enter")
    term.wait_for(lambda s: f"Note on {ref}" not in s and text in s, what="the note in the pane")


# --- the tests ---------------------------------------------------------------------------------


@pytest.fixture
def term() -> Iterator[Terminal]:
    """An 80x24 tmux pane with a bare shell."""
    if shutil.which("tmux") is None:
        _skip("tmux is not installed (apt-get install tmux; `./dev test` as root installs it)")
    t = Terminal(80, 24)
    try:
        yield t
    finally:
        t.close()


def test_open_the_demo_vault_see_every_cue_help_and_quit_clean(term: Terminal, demo: Path, home: Path) -> None:
    rows = versions_of(demo)
    assert {r.cue for r in rows} == {"1M01", "1M03", "2M14A"} and len(rows) == 6  # how the demo is made
    open_vault(term, launch_line(demo, home), rows)
    toggle_help(term)
    quit_clean(term)


def test_help_closes_with_escape(term: Terminal, demo: Path, home: Path) -> None:
    open_vault(term, launch_line(demo, home), versions_of(demo))
    toggle_help(term, close_with="Escape")
    quit_clean(term)


def test_open_a_cue_reach_a_highlighted_region_add_a_note_and_quit(term: Terminal, demo: Path, home: Path) -> None:
    """1M03 v2.0 rewrote the strings over 0.3–0.55 of the cue and kept v1.1's brass edit
    (tui/commands/demo.py story()): against 1.1, STR shows one lit region there, BRS none."""
    from tui.commands.demo import _STARTS, story

    seconds = float(DEMO_SECONDS)
    step = next(s for s in story(seconds) if s.summary == "choir added, strings rewritten in the middle")
    edit = next(e for e in step.arrangement.edits if e.role == "strings")
    rows = [r for r in versions_of(demo) if r.cue == "1M03"]
    open_vault(term, launch_line(demo, home), versions_of(demo))
    open_cue(term, "1M03", rows[0], rows[1], sorted({r.cue for r in versions_of(demo)}))
    tc = reach_diff_with_region(term, "STR", _STARTS["1M03"] + edit.start_s, _STARTS["1M03"] + edit.end_s,
                                unchanged=["BASS", "BRS", "DRM", "PAD"])
    add_note(term, f"1M03@{rows[0].version}", "e2e: the alley needs more strings")
    term.keys("Escape")  # back to the vault screen
    term.wait_for(lambda s: re.search(r"^\s*2M14A\s", s, re.M) is not None, what="the vault screen")
    quit_clean(term)
    log = subprocess.run([PYTHON, "-m", "tui.cli", "-C", str(demo), "log", "--json"], env=_env(home),
                         capture_output=True, text=True, check=True).stdout
    notes = [n for v in json.loads(log) if v["cue"] == "1M03" and v["version"] == rows[0].version
             for n in v["notes"] if n["text"] == "e2e: the alley needs more strings"]
    assert [n["tc"] for n in notes] == [tc], notes  # at the region's start, as prefilled


# --- over SSH ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """A real sshd on 127.0.0.1 (tests/sshd.py), stopped at the end of the session."""
    with running_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


def test_over_ssh_open_the_demo_vault_and_quit_clean(term: Terminal, sshd: Sshd, demo: Path, home: Path) -> None:
    """The pane runs `ssh -t ... 'cd VAULT && env HOME=... PATH=... python -m tui.cli'`: the app
    draws through the remote pty and sshd, and quitting restores both ends."""
    env = " ".join(f"{k}={v}" for k, v in _env(home).items())
    remote = f"cd {demo} && exec env {env} {PYTHON} -m tui.cli"
    rows = versions_of(demo)
    open_vault(term, sshd.command(remote) + "; echo EXITED $?", rows)
    toggle_help(term)
    quit_clean(term)
