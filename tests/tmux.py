"""A terminal for end-to-end tests: a private tmux server with one pane, driven like a user would.

``Terminal`` starts ``bash`` (no rc files, a known prompt) in an 80x24 pane of a tmux server of its
own (its socket in a fresh temp folder, so the user's tmux is never touched), types with
``send-keys`` and reads with ``capture-pane``. Reading polls until the expected text is on screen
or a deadline passes; the failure shows the last screen. Used by tests/test_tui_e2e.py and by the
TUI benchmark (tig's first screen).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PROMPT = "e2e$ "
# What a TUI must leave behind: no alternate screen, no mouse reporting, the cursor shown, the
# keypad in normal mode. tmux keeps these as per-pane flags (tmux(1), FORMATS).
CLEAN_MODES = {"alternate_on": "0", "mouse_any_flag": "0", "mouse_sgr_flag": "0",
               "mouse_button_flag": "0", "mouse_all_flag": "0", "mouse_standard_flag": "0",
               "cursor_flag": "1", "keypad_cursor_flag": "0"}
# Escape-sequence debris a TUI can leave on the shell's line: ESC itself (capture-pane -p prints
# text only, so a raw ESC means one was written as text), or the printable tails of CSI / mouse
# reports echoed back after the app stopped reading them (e.g. "[<35;12;4M", "[?1049h", "0;1;2c").
DEBRIS = re.compile(r"\x1b|\[<\d+;\d+;\d+[mM]|\[\?\d+[hl]|\[\d+;\d+R|\d+;\d+;\d+c")


class Terminal:
    """One tmux pane of ``width`` x ``height`` running a bare bash."""

    def __init__(self, width: int = 80, height: int = 24, env: dict[str, str] | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="sv-tmux-"))  # short: a socket path has a size limit
        self.socket = self.dir / "sock"
        self.width, self.height = width, height
        shell_env = {"PS1": PROMPT, "LC_ALL": "C.UTF-8", "TERM": "xterm-256color", **(env or {})}
        exports = " ".join(f"{k}={_quote(v)}" for k, v in shell_env.items())
        # tmux's own config is skipped (-f /dev/null); the pane's shell starts with only the
        # environment given here, so the tests see what a fresh login with these variables sees.
        self._tmux("-f", "/dev/null", "new-session", "-d", "-x", str(width), "-y", str(height),
                   "-s", "e2e", f"env -i {exports} bash --norc --noprofile")
        self.wait_for(lambda s: s.rstrip().endswith(PROMPT.rstrip()), what="the shell prompt")

    def _tmux(self, *args: str) -> str:
        r = subprocess.run(["tmux", "-S", str(self.socket), *args], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def type(self, text: str) -> None:
        """Types ``text`` literally (no key names), without Enter."""
        self._tmux("send-keys", "-t", "e2e", "-l", "--", text)

    def run(self, command: str) -> None:
        """Types a shell command line and Enter."""
        self.type(command)
        self.keys("Enter")

    def keys(self, *names: str) -> None:
        """Presses keys by tmux name: "q", "Enter", "Escape", "Tab", "Down", "C-c", "?"..."""
        for name in names:
            self._tmux("send-keys", "-t", "e2e", "--", name)

    def screen(self) -> str:
        """What the pane shows now, as text (no attributes), lines joined with newlines."""
        return self._tmux("capture-pane", "-p", "-t", "e2e")

    def capture_escapes(self) -> str:
        """What the pane shows now, with its colours and attributes as SGR escape sequences."""
        return self._tmux("capture-pane", "-p", "-e", "-t", "e2e")

    def history(self) -> str:
        """The pane's scrollback and screen, as text."""
        return self._tmux("capture-pane", "-p", "-S", "-", "-t", "e2e")

    def modes(self) -> dict[str, str]:
        """The pane's terminal modes (see CLEAN_MODES)."""
        fmt = "\t".join(f"#{{{k}}}" for k in CLEAN_MODES)
        return dict(zip(CLEAN_MODES, self._tmux("display-message", "-p", "-t", "e2e", fmt).rstrip("\n").split("\t"),
                        strict=True))

    def wait_for(self, want: str | Callable[[str], bool], *, timeout: float = 20.0, what: str = "") -> str:
        """Polls the screen until ``want`` (a text on it, or a test of it) holds; returns the
        screen. Past ``timeout`` seconds: AssertionError with the last screen shown."""
        test = (lambda s: want in s) if isinstance(want, str) else want
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen()
            if test(s):
                return s
            if time.monotonic() > deadline:
                label = what or repr(want)
                raise AssertionError(f"not on screen after {timeout:.0f} s: {label}\n--- screen ---\n{s}--- end ---")
            time.sleep(0.05)

    def wait_gone(self, text: str, *, timeout: float = 20.0) -> str:
        """Polls until ``text`` is no longer on the screen."""
        return self.wait_for(lambda s: text not in s, timeout=timeout, what=f"{text!r} gone")

    def close(self) -> None:
        subprocess.run(["tmux", "-S", str(self.socket), "kill-server"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"
