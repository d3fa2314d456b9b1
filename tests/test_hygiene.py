"""The core never imports the UI; sounddevice is imported only when playing."""

from __future__ import annotations

import subprocess
import sys


def test_vcs_and_audio_do_not_import_textual_or_rich() -> None:
    code = ("import sys, vcs.vault, vcs.commit, vcs.verify, vcs.review, vcs.checking, audio.probe, audio.timecode, "
            "audio.loudness, audio.analysis, audio.checks, audio.synth, audio.bwf; "
            "bad = [m for m in ('textual', 'rich', 'tui', 'sounddevice') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_core_sources_never_name_the_ui() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for pkg in ("vcs", "audio"):
        for f in (root / pkg).rglob("*.py"):
            text = f.read_text()
            assert "import textual" not in text and "from textual" not in text, f
            assert "from tui" not in text and "import tui" not in text, f


def test_the_command_line_starts_without_the_heavy_modules() -> None:
    """`stemvault --help`, `log`, `diff`: scipy (1.5-2 s), the analysis, playback, numpy,
    soundfile and tomlkit are imported by the commands that use them, not at start."""
    heavy = ("scipy", "numpy", "soundfile", "tomlkit", "deepdiff", "git", "textual", "audio.analysis",
             "audio.loudness", "audio.playback", "vcs.diff", "vcs.checking", "vcs.commit")
    code = (f"import sys, tui.cli; bad = [m for m in {heavy!r} if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_play_start_in_choices_are_the_engine_modes() -> None:
    from audio.playback.engine import MODES
    from tui.commands.play import START_IN

    assert tuple(START_IN) == tuple(MODES)
