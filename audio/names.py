"""File names of a stem set: the one rule for taking the cue's prefix off a name.

Public surface:
    without_cue(stem, cue, separators="_- ") -> str
"""

from __future__ import annotations

__all__ = ["without_cue"]


def without_cue(stem: str, cue: str | None, separators: str = "_- ") -> str:
    """``stem`` (a file name without its extension) without the cue's name in front (any case)
    and the ``separators`` after it: ``1M03_STR`` → ``STR``. Unchanged when it does not start
    with the cue (or there is no cue); empty when it is only the cue."""
    if not cue or stem[:len(cue)].upper() != cue.upper():
        return stem
    return stem[len(cue):].lstrip(separators)
