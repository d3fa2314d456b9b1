"""Environment variables stemvault reads (besides git's own), each validated where it is read.

Public surface:
    lock_wait_s() -> float      STEMVAULT_LOCK_WAIT: seconds to wait for another writer (default 30)

A value that does not parse is a one-line UsageError naming the variable, never a traceback
and never a silent default. (STEMVAULT_ANALYSIS_WORKERS is read by ``audio.analysis``.)
"""

from __future__ import annotations

import math
import os

from vcs.errors import UsageError

__all__ = ["lock_wait_s"]


def lock_wait_s() -> float:
    """Seconds a writer waits for the vault's lock: ``STEMVAULT_LOCK_WAIT``, else 30.

    Raises:
        UsageError: when the variable is set to something that is not a number of seconds ≥ 0.
    """
    raw = os.environ.get("STEMVAULT_LOCK_WAIT")
    if raw is None or not raw.strip():
        return 30.0
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"environment variable STEMVAULT_LOCK_WAIT={raw!r} must be a number of seconds "
                         "≥ 0 (how long to wait for another stemvault writing to the vault): fix it, or "
                         "unset it for 30")
    return value
