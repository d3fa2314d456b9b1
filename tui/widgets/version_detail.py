"""The detail pane of one version: summary, delta, notes, approval, files."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from tui.text import literal
from vcs.manifest import Manifest
from vcs.models import Version

__all__ = ["VersionDetail"]


def _t(s: Any, style: str = "") -> Text:
    # Vault text is data: literal() never parses markup and shows control characters escaped.
    return literal(s, style)


class VersionDetail(Static):
    """Shows one version. Call ``show(version, manifest)``, or ``message(text)``."""

    DEFAULT_CSS = """
    VersionDetail { padding: 0 1; }
    """

    plain_text: str = ""
    """What the pane shows, as plain text (for tests and copy/paste)."""

    def _set(self, renderable: RenderableType) -> None:
        console = Console(width=200, record=True, file=io.StringIO())
        console.print(renderable)
        self.plain_text = console.export_text()
        self.update(renderable)

    def message(self, text: str) -> None:
        self._set(_t(text))

    def show(self, v: Version, manifest: Manifest | None) -> None:
        out = Text()
        out.append_text(_t(f"{v.cue} v{v.version}", "bold"))
        out.append_text(_t(f"  {'tweak' if v.change == 'tweak' else 'new version'}  "
                           f"{v.date[:16].replace('T', ' ')}  "))
        out.append_text(_t(v.author, "italic"))
        out.append("\n")
        out.append_text(_t(v.summary))
        out.append("\n")
        if v.delta:
            out.append("delta: ", style="dim")
            out.append_text(_t(v.delta))
            out.append("\n")
        if v.approval:
            a = v.approval
            out.append("✓ approved by ", style="green")
            out.append_text(_t(a.by, "green"))
            out.append_text(_t(f" {a.date[:10]}{' (signed)' if a.signed else ''} ", "green"))
            out.append_text(_t(a.message))
            out.append("\n")
        for n in v.notes:
            if n.damaged:
                out.append(f"damaged note ({n.damaged}: ", style="red")
                out.append_text(_t(n.tc, "red"))
                out.append(") ", style="red")
            else:
                out.append_text(_t(f"{n.tc} ", "cyan"))
            if n.stem:
                out.append_text(_t(f"[{n.stem}] ", "magenta"))
            out.append_text(_t(n.text))
            out.append_text(_t(f" — {n.author}" if n.author else "", "dim"))
            out.append("\n")
        if manifest is None:
            self._set(out)
            return
        table = Table(box=None, pad_edge=False, show_header=True, header_style="dim")
        for col in ("file", "role", "kind", "rate", "bits", "ch", "length"):
            table.add_column(col, no_wrap=True)
        for s in manifest.stems:
            m = s.measured
            frames, sr = m.get("frames"), m.get("sample_rate")
            try:
                length = f"{frames / sr:.1f}s" if frames and sr else "?"
            except (TypeError, ZeroDivisionError):  # a hand-edited measured table
                length = "?"
            # Every cell a Text: a str cell is markup to a Rich table (a manifest's `kind` ran actions).
            table.add_row(_t(s.file), _t(s.role), _t(s.kind), _t(sr or ""), _t(m.get("bit_depth") or ""),
                          _t(m.get("channels") or ""), _t(length))
        self._set(Group(out, table))
