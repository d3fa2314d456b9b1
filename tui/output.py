"""Printing for the command line: JSON documents on stdout, and user text made terminal-safe."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import click

from vcs.text import visible

__all__ = ["emit_json", "plain", "secho"]


def _clean(o: Any) -> Any:
    """NaN and ±inf are not JSON: undefined values are null."""
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    return o


def emit_json(data: Any) -> None:
    """One JSON document on stdout (user text inside stays byte-exact, JSON-escaped)."""
    sys.stdout.write(json.dumps(_clean(data), ensure_ascii=False, indent=2, allow_nan=False) + "\n")


def plain(text: str | None) -> str:
    """User text for a terminal: control characters shown escaped, never executed
    (vcs.text.visible, the one escaper: the TUI and git messages use it too)."""
    return visible(text)


def secho(text: str = "", **style: Any) -> None:
    click.secho(text, **style)
