"""Benchmark (issue 11, the TUI): launch to the first screen drawn, and a key press on the history
list to the diff pane updated, on a vault with a long history; `tig`'s first screen on the same
repository as the peer, in the same run.

The vault: STEMVAULT_BENCH_TUI_CUES (50) cues × STEMVAULT_BENCH_TUI_VERSIONS (20) versions ×
STEMVAULT_BENCH_TUI_STEMS (12: 11 stems and their mix) stereo 48 kHz/24-bit files of
STEMVAULT_BENCH_TUI_SECONDS (3) s — the history is what matters, not the audio. Built once through
the real commit (`vcs.commit.commit_version`: checks, analysis records, LFS, manifest) and kept in
tests/bench/out; an interrupted build resumes where it stopped (each commit is read back from
git). The versions are committed round-robin over the cues, as a film's history is; each changes
one stem (a 0.5 s region at half level, its place moving from version to version) and the mix,
so every diff has a highlighted region; one version in four is a new version, the others tweaks;
one in five carries a note.

Timed:
- ``launch_pilot``: a fresh Python process (imports included) from its start to the vault
  screen's rows drawn, in Textual's headless pilot (``App.run_test(size=(80, 24))``); median of
  STEMVAULT_BENCH_TUI_LAUNCHES (7).
- ``launch_tmux`` and ``tig_tmux``: the real command and `tig` in the same 80x24 tmux pane, from
  the Enter that starts them to the first row of data (stemvault: a cue with a version number;
  tig: the newest commit) on screen
  (capture-pane polled every 10 ms), interleaved; medians of the same count. The ratio to tig is
  taken between these two, measured the same way.
- ``diff_pane``: in one app, the history screen of a cue open, `j`/`k` pressed on the version
  list, each press timed to the diff pane's rows mounted for the newly highlighted version; median
  of STEMVAULT_BENCH_TUI_PRESSES (40), 50 ms apart.
The 1-minute load average is reported before and after: the machine may be shared.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tests.bench.common import OUT, SR, median, report

CUES = int(os.environ.get("STEMVAULT_BENCH_TUI_CUES", "50"))
VERSIONS = int(os.environ.get("STEMVAULT_BENCH_TUI_VERSIONS", "20"))
STEMS_PER_SET = int(os.environ.get("STEMVAULT_BENCH_TUI_STEMS", "12"))
STEM_SECONDS = float(os.environ.get("STEMVAULT_BENCH_TUI_SECONDS", "3"))
LAUNCHES = int(os.environ.get("STEMVAULT_BENCH_TUI_LAUNCHES", "7"))
PRESSES = int(os.environ.get("STEMVAULT_BENCH_TUI_PRESSES", "40"))
ROOT = Path(__file__).resolve().parents[2]
ROLES = ["STR", "BRS", "WW", "PERC", "DRM", "BASS", "SYN", "PAD", "KEYS", "GTR", "CHOIR", "VOX", "FX", "HARP"]
GENERATOR = 1  # in the cached vault's name: a vault made by an older generator is not reused
SUBJECT = re.compile(r"^(?P<cue>\S+) v(?P<ver>\S+) \((?:tweak|new version)\): (?P<summary>.*)$")


def cue_name(c: int) -> str:
    return f"{1 + c // 20}M{1 + c % 20:02d}"


def stem_files(cue: str) -> list[str]:
    return [*(f"{cue}_{ROLES[i % len(ROLES)]}{'' if i < len(ROLES) else i}.wav" for i in range(STEMS_PER_SET - 1)),
            f"{cue}_MIX.wav"]


def _first_set(folder: Path, cue: str, seed: int) -> None:
    """Tones with a little noise (a different pitch per stem), on the 24-bit grid; the mix is their
    exact sum, so the checks accept the set."""
    n = int(STEM_SECONDS * SR)
    t = np.arange(n) / SR
    names = stem_files(cue)
    mix = np.zeros((n, 2))
    for i, name in enumerate(names[:-1]):
        rng = np.random.default_rng(seed * 100 + i)
        x = 0.02 * np.sin(2 * np.pi * 55.0 * (i + 2) * t)[:, None] * np.array([1.0, 0.8])
        x = x * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t + i))[:, None] + rng.standard_normal((n, 2)) * 0.001
        x = np.floor(x * 2**23) / 2**23
        sf.write(folder / name, x, SR, subtype="PCM_24")
        mix += x
    sf.write(folder / names[-1], mix, SR, subtype="PCM_24")


def _next_set(folder: Path, cue: str, k: int) -> str:
    """Version k (k >= 1) from version k-1's files: stem k mod 11 at half level over 0.5 s (the
    place moves with k), the mix rebuilt as the exact sum. Returns the summary."""
    names = stem_files(cue)
    i = (k - 1) % (len(names) - 1)
    x, _ = sf.read(folder / names[i], dtype="float64", always_2d=True)
    n = len(x)
    start = int((0.25 + 0.5 * (k % 4)) * SR) % max(1, n - SR // 2)
    x[start:start + SR // 2] = np.floor(x[start:start + SR // 2] * 0.5 * 2**23) / 2**23
    sf.write(folder / names[i], x, SR, subtype="PCM_24")
    mix = sum(sf.read(folder / nm, dtype="float64", always_2d=True)[0] for nm in names[:-1])
    sf.write(folder / names[-1], mix, SR, subtype="PCM_24")
    role = names[i].removeprefix(f"{cue}_").removesuffix(".wav")
    return f"{role} softer at {start / SR:.2f} s (pass {k + 1})"


def _committed(vault: Path) -> dict[str, int]:
    out = subprocess.run(["git", "-C", str(vault), "log", "--format=%s"], capture_output=True, text=True,
                         check=True).stdout
    counts: dict[str, int] = {}
    for m in map(SUBJECT.match, out.splitlines()):
        if m:
            counts[m["cue"]] = counts.get(m["cue"], 0) + 1
    return counts


def bench_vault() -> Path:
    """The cached vault (built, or its build resumed, here)."""
    from tui.cli import main
    from vcs.commit import commit_version
    from vcs.vault import Vault

    vault = OUT / f"tui-vault-{CUES}x{VERSIONS}x{STEMS_PER_SET}-{STEM_SECONDS:g}s-g{GENERATOR}"
    done = vault / ".git" / "stemvault-bench-complete"
    if done.exists():
        return vault
    if not (vault / ".git").exists():
        shutil.rmtree(vault, ignore_errors=True)
        OUT.mkdir(parents=True, exist_ok=True)
        assert main(["init", str(vault)]) == 0
    counts = _committed(vault)
    v = Vault.find(vault)
    started = time.perf_counter()
    made = 0
    try:
        for k in range(VERSIONS):
            for c in range(CUES):
                cue = cue_name(c)
                if counts.get(cue, 0) > k:
                    continue
                with tempfile.TemporaryDirectory(prefix="sv-bench-tui-") as tmp:
                    src = Path(tmp)
                    if k == 0:
                        _first_set(src, cue, c)
                        summary = "first pass"
                    else:  # the cue's files as last committed (the vault's working tree) + one change
                        for name in stem_files(cue):
                            shutil.copyfile(vault / "cues" / cue / name, src / name)
                        summary = _next_set(src, cue, k)
                    notes = [f"00:00:0{k % 3}:00 listen from here, pass {k + 1}"] if k % 5 == 4 else []
                    commit_version(v, cue, src, summary=summary, notes=notes, minor=k % 4 != 0,
                                   allow_errors="bench")
                made += 1
                if made % 50 == 0:
                    print(f"bench vault: {made} versions in {time.perf_counter() - started:.0f} s", flush=True)
    finally:
        v.close()
    done.write_text("ok")
    return vault


# --- timing ------------------------------------------------------------------------------------

_LAUNCH = """
import asyncio, sys, time
from pathlib import Path
from tui.app import make_app
from textual.widgets import DataTable

async def main() -> None:
    app = make_app(Path(sys.argv[1]))
    async with app.run_test(size=(80, 24)) as pilot:
        deadline = time.monotonic() + 60
        while not any(t.row_count for t in app.screen.query(DataTable)):
            if time.monotonic() > deadline:
                sys.exit("no rows on the first screen after 60 s")
            await asyncio.sleep(0.002)
        await pilot.pause()  # the rows drawn
        print(time.time())

asyncio.run(main())
"""


def launch_pilot(vault: Path, env: dict[str, str]) -> float:
    """Seconds from a new Python process's start to the vault screen's rows drawn (pilot)."""
    t0 = time.time()
    r = subprocess.run([sys.executable, "-c", _LAUNCH, str(vault)], env=env, capture_output=True, text=True,
                       check=True, cwd=vault)
    return float(r.stdout.strip().splitlines()[-1]) - t0


def _until(term: object, test: object, timeout: float = 30.0) -> float:
    """Polls the pane every 10 ms until ``test(screen)``; the time it first held."""
    from tests.tmux import Terminal

    assert isinstance(term, Terminal) and callable(test)
    deadline = time.monotonic() + timeout
    while True:
        s = term.screen()
        now = time.perf_counter()
        if test(s):
            return now
        if time.monotonic() > deadline:
            raise AssertionError(f"not drawn in {timeout} s:\n{s}")
        time.sleep(0.01)


def in_tmux(term: object, line: str, drawn: object) -> float:
    """Types ``line`` (ending in `echo DONE-$((1+1))`), then times Enter → ``drawn(screen)``; quits with q and waits for the prompt."""
    from tests.tmux import PROMPT, Terminal

    assert isinstance(term, Terminal)
    term.run("clear")
    term.wait_for(lambda s: s.strip() == PROMPT.strip())
    term.type(line)
    t0 = time.perf_counter()
    term.keys("Enter")
    t1 = _until(term, drawn)
    term.keys("q")
    term.wait_for(lambda s: re.search(r"^DONE-2$", s, re.M) is not None, what="the command's end")
    return t1 - t0


async def _diff_presses(vault: Path, cue: str) -> list[float]:
    """Seconds from each `j`/`k` on the history list to the diff pane's rows mounted for the
    version the cursor moved to (the history screen of issue 11: ``versions``, ``current`` the
    highlighted one, ``pane`` the data drawn). The key goes in as the terminal driver delivers
    it (what ``pilot.press`` does, without its waits for idle, which cost ~90 ms here)."""
    from textual import events

    from tui.app import StemvaultApp

    app = StemvaultApp(vault, start=cue)  # opens on the cue's history
    times: list[float] = []
    async with app.run_test(size=(80, 24)):
        deadline = time.monotonic() + 60
        while not _drawn(app.screen, getattr(app.screen, "current", None)):
            assert time.monotonic() < deadline, "the history screen's first diff did not come"
            await asyncio.sleep(0.005)
        screen: Any = app.screen
        for i in range(PRESSES):
            down = (i // (VERSIONS - 1)) % 2 == 0  # down the list, then back up
            row = screen.versions.index(screen.current)
            want = screen.versions[row + (1 if down else -1)]
            key = events.Key("j" if down else "k", "j" if down else "k")
            key.set_sender(app)
            t0 = time.perf_counter()
            app._driver.send_message(key)  # type: ignore[union-attr]
            while not _drawn(screen, want):
                assert time.perf_counter() - t0 < 30, "the diff pane did not follow the cursor"
                await asyncio.sleep(0.0005)
            times.append(time.perf_counter() - t0)
            await asyncio.sleep(0.05)  # as a user between presses: the screen settles
    return times


def _drawn(screen: Any, version: object) -> bool:
    """Does the history screen's diff pane show ``version``, its rows mounted?"""
    pane = getattr(screen, "pane", None)
    if version is None or pane is None or pane.version is not version:
        return False
    rows = [w for w in screen.query("StemRow")]
    want = {(name, id(f)) for name, f, _ in pane.files}
    return len(rows) == len(want) and all(r.is_mounted and (r.file_name, id(r.file_diff)) in want for r in rows)


@pytest.mark.timeout(0)  # building the vault once takes many minutes
def test_bench_tui() -> None:
    from tests.tmux import Terminal

    if shutil.which("tmux") is None or shutil.which("tig") is None:
        pytest.skip("the TUI bench needs tmux and tig (apt-get install tmux tig; ./dev bench does it as root)")
    vault = bench_vault()
    subprocess.run(["git", "-C", str(vault), "gc", "--auto", "--quiet"], check=False)
    newest = SUBJECT.match(subprocess.run(["git", "-C", str(vault), "log", "-1", "--format=%s"],
                                          capture_output=True, text=True, check=True).stdout.strip())
    assert newest is not None
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    load = [os.getloadavg()[0]]
    rows: dict[str, list[float]] = {"launch_pilot": [], "launch_tmux": [], "tig_tmux": []}
    home = os.environ.get("HOME", "/root")
    shell_env = {"HOME": home, "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
                 "PYTHONPATH": str(ROOT)}
    cue, ver = newest["cue"], newest["ver"]  # tig's first screen: the newest commit

    cue_row = re.compile(r"(?<!\S)\d+M\d\d\s.*(?<![\d.])\d+\.\d+(?![\d.])")

    def stemvault_drawn(s: str) -> bool:  # a cue and a version number on one line: the data is in
        return any(cue_row.search(ln) for ln in s.splitlines()[:-1])

    def tig_drawn(s: str) -> bool:  # the newest commit's subject (tig shows "CUE vVER (...): ...")
        return f"{cue} v{ver}" in s

    with Terminal(80, 24, env=shell_env) as term:
        launch_pilot(vault, env)  # warm the page cache, as the runs after it find it
        in_tmux(term, f"cd {vault} && tig; echo DONE-$((1+1))", tig_drawn)
        for _ in range(LAUNCHES):  # interleaved: a burst of load hits every side alike
            rows["launch_pilot"].append(launch_pilot(vault, env))
            rows["launch_tmux"].append(in_tmux(
                term, f"cd {vault} && {sys.executable} -m tui.cli; echo DONE-$((1+1))", stemvault_drawn))
            rows["tig_tmux"].append(in_tmux(term, f"cd {vault} && tig; echo DONE-$((1+1))", tig_drawn))
    out: dict[str, object] = {}
    rows["diff_pane"] = asyncio.run(_diff_presses(vault, cue))
    load.append(os.getloadavg()[0])
    med = {k: round(median(x) * 1000, 1) for k, x in rows.items()}
    out.update({
        "stems": STEMS_PER_SET, "seconds": STEM_SECONDS, "reps": LAUNCHES,  # this bench's sizes, not common's
        "vault": {"cues": CUES, "versions_per_cue": VERSIONS, "files_per_set": STEMS_PER_SET,
                  "seconds": STEM_SECONDS, "commits": int(subprocess.run(
                      ["git", "-C", str(vault), "rev-list", "--count", "HEAD"], capture_output=True, text=True,
                      check=True).stdout)},
        "tig": subprocess.run(["tig", "--version"], capture_output=True, text=True).stdout.splitlines()[0],
        "loadavg_1min_before_after": [round(x, 2) for x in load],
        "median_ms": med,
        "ratio_launch_tmux_vs_tig": round(med["launch_tmux"] / med["tig_tmux"], 2),
        "targets": {"first_screen_le_1000ms": med["launch_pilot"] <= 1000,
                    "diff_pane_le_100ms": (med["diff_pane"] <= 100) if "diff_pane" in med else None},
        "runs_ms": {k: [round(t * 1000, 1) for t in x] for k, x in rows.items()},
    })
    report("tui", out)
    print(json.dumps(med))
