"""Screens other modules provide (player, note, approve, commit), looked up when a key asks.

The history screen's ``p``/``n``/``A``/``c`` and the palette's verbs push these screens; until a
module exists, the key says so in a notification instead of failing.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["optional_screen"]


def optional_screen(module: str, name: str) -> Any | None:
    """The class ``name`` of ``tui.screens.<module>``, or None when that module is not there."""
    try:
        mod = importlib.import_module(f"tui.screens.{module}")
    except ModuleNotFoundError as e:
        if e.name != f"tui.screens.{module}":
            raise  # the module is there but broken: a bug, not "not available"
        return None
    return getattr(mod, name, None)
