"""Text read from a vault, made visible: the one escaper for everything stemvault shows.

Notes, summaries, names, trailers and tags come from anyone who can push. Shown on a terminal, in
the TUI or in a git message written for people, their control characters must be seen, never
acted on: ``\\x1b[2J`` is printed as those characters and does not clear the screen. The exact
text travels elsewhere (JSON, trailers) byte for byte.
"""

from __future__ import annotations

__all__ = ["visible"]


def visible(text: str | None) -> str:
    """``text`` on one line with every control or other unprintable character written as its
    escape (``\\x1b``, ``\\u202e``); a newline becomes `` ⏎ ``; None is empty."""
    if text is None:
        return ""
    out = []
    for c in text:
        if c == "\n":
            out.append(" ⏎ ")
        elif c.isprintable() or c == " ":
            out.append(c)
        else:
            out.append(c.encode("unicode_escape").decode("ascii"))
    return "".join(out)
