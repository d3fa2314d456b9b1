"""The one test seam in production code: a point where a test can hold a process (to kill it).

``pause(point)`` does nothing unless the environment asks for it, so in normal use it costs one
dictionary lookup. tests/test_interrupt.py sets:

    STEMVAULT_TEST_PAUSE=<point>       the point to stop at (``after-copy``, ``after-add``,
                                       ``after-commit`` in ``vcs.commit``;
                                       ``export-after-copy`` in ``vcs.delivery``)
    STEMVAULT_TEST_PAUSE_FILE=<path>   written with the process id once it waits there; creating
                                       ``<path>.go`` lets it go on (no timing guesses)
    STEMVAULT_TEST_PAUSE_S=<seconds>   the longest it waits (default 60)

New seams go here, named, documented in CONTRIBUTING.md ("The test seam"); nothing else in
``tui``, ``vcs`` or ``audio`` reads a ``STEMVAULT_TEST_*`` variable.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["pause"]


def pause(point: str) -> None:
    """Wait here when ``STEMVAULT_TEST_PAUSE`` names ``point`` (see the module docstring)."""
    if os.environ.get("STEMVAULT_TEST_PAUSE") != point:
        return
    marker = os.environ.get("STEMVAULT_TEST_PAUSE_FILE")
    if marker:
        Path(marker).write_text(str(os.getpid()))
    release = Path(f"{marker}.go") if marker else None
    deadline = time.monotonic() + float(os.environ.get("STEMVAULT_TEST_PAUSE_S", "60"))
    while time.monotonic() < deadline and not (release and release.exists()):
        time.sleep(0.02)
