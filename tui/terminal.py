"""The raw terminal for commands that take single keys while they run (``stemvault play``).

``cbreak_keys(on_key, stop)``: while the block runs and stdin is a terminal, stdin is in cbreak
mode (keys arrive unbuffered, unechoed; Ctrl-C arrives as ``"\\x03"`` when the terminal passes it)
and a thread hands each key read (one ``os.read``, so an arrow key is its escape sequence,
``"\\x1b[C"``) to ``on_key`` until ``stop`` is set. The terminal is restored on the way out, even
when the block raises. When stdin is not a terminal it does nothing.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator

__all__ = ["ARROW_LEFT", "ARROW_RIGHT", "NO_TERMINAL", "cbreak_keys", "has_terminal"]

# Why the TUI does not start: a script, or `ssh host stemvault` without -t. A TUI there would
# write escape codes into the pipe and wait for keys that never come.
NO_TERMINAL = ("the TUI needs a terminal (stdin and stdout are not one): use `ssh -t HOST stemvault`, "
               "or a verb such as `stemvault log`")


def has_terminal() -> bool:
    """Whether a full-screen app can run here: stdin and stdout are both a terminal."""
    return sys.stdin.isatty() and sys.stdout.isatty()

ARROW_RIGHT = "\x1b[C"
ARROW_LEFT = "\x1b[D"


@contextlib.contextmanager
def cbreak_keys(on_key: Callable[[str], None], stop: threading.Event) -> Iterator[None]:
    """Call ``on_key(key)`` for each key pressed while the block runs (see the module docstring);
    ``stop`` is set when the block ends."""
    if not sys.stdin.isatty():
        yield
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)

    def read() -> None:
        import os
        import select

        while not stop.is_set():
            r, _, _ = select.select([fd], [], [], 0.1)
            if not r:
                continue
            on_key(os.read(fd, 8).decode("latin-1"))

    tty.setcbreak(fd)
    t = threading.Thread(target=read, daemon=True)
    t.start()
    try:
        yield
    finally:
        stop.set()
        t.join(1)
        termios.tcsetattr(fd, termios.TCSADRAIN, old)
