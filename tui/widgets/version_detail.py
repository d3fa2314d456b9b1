"""The detail pane of one version: summary, delta, notes, approval, files."""

from __future__ import annotations

import io

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from vcs.manifest import Manifest
from vcs.models import Version

__all__ = ["VersionDetail"]


def _t(s: str | None, style: str = "") -> Text:
    # User text is data: Text() never parses markup, and control characters are made visible.
    clean = "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape").decode()
                    for c in (s or "").replace("\n", " ⏎ "))
    return Text(clean, style=style)


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
        out.append(f"{v.cue} v{v.version}", style="bold")
        out.append(f"  {'tweak' if v.change == 'tweak' else 'new version'}  {v.date[:16].replace('T', ' ')}  ")
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
            out.append(f" {a.date[:10]}{' (signed)' if a.signed else ''} ", style="green")
            out.append_text(_t(a.message))
            out.append("\n")
        for n in v.notes:
            out.append(f"{n.tc} ", style="cyan")
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
            length = f"{frames / sr:.1f}s" if frames and sr else "?"
            table.add_row(_t(s.file), _t(s.role), s.kind, str(sr or ""), str(m.get("bit_depth") or ""),
                          str(m.get("channels") or ""), length)
        self._set(Group(out, table))
