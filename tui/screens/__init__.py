"""The app's screens, one per file.

Loaded when first named (PEP 562): the app starts on the vault screen without importing the
commit screen's analysis or the player's engine (numpy, scipy's kernel) — a third of a second on
the first screen (docs/performance.md, TUI).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ApproveDialog", "CommitScreen", "HelpScreen", "HistoryScreen", "NoteDialog", "PlayerScreen",
           "VaultScreen"]

_WHERE = {"ApproveDialog": "approve", "CommitScreen": "commit", "HelpScreen": "help",
          "HistoryScreen": "history", "NoteDialog": "note", "PlayerScreen": "player", "VaultScreen": "vault"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"tui.screens.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'tui.screens' has no attribute {name!r}")
