"""One stem of the player/mixer as one line: name, role, mute/solo, gain, waveform, level meter.

Public surface:
    FLOOR_DB, TOP_DB            the fixed dBFS scale of the waveform and the meter (-60..0 dBFS)
    Curve                       a stem's level curve from its committed analysis record
    wave_cells(curve, frames, width) -> dB per character cell (the loudest hop in the cell)
    meter(peak) -> Text         a block meter of a linear peak, with its dBFS
    StemRow                     the widget; the player sets its fields and calls ``refresh``

The waveform is drawn here on one fixed scale (not Textual's ``Sparkline``, which rescales each
plot to its own range), from the records, so it shows without the audio. A minimal drawing on
purpose: one block character per cell (▁…█); the history screen's waveform widget can replace
it when both are on one branch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from audio.envelope import finest_curve
from tui.text import literal

__all__ = ["FLOOR_DB", "TOP_DB", "Curve", "StemRow", "meter", "wave_cells"]

FLOOR_DB = -60.0
TOP_DB = 0.0
BLOCKS = " ▁▂▃▄▅▆▇█"
METER_CELLS = 8

NAME_W, ROLE_W, GAIN_W = 10, 8, 5
FIXED_W = 1 + NAME_W + 1 + ROLE_W + 1 + 3 + 1 + GAIN_W + 2 + 2 + METER_CELLS + 4  # around the waveform

WAVE = Style(color="cyan")
REGION = Style(color="black", bgcolor="yellow")
NOTE = Style(color="magenta", bold=True)
PLAYHEAD = Style(color="white", bgcolor="blue", bold=True)
METER_ON = Style(color="green")
METER_HOT = Style(color="red", bold=True)


@dataclass(frozen=True, eq=False)  # compared by identity: one curve per record
class Curve:
    """A level curve on the timeline: ``db`` (dBFS, ``-inf`` silence), one value per ``hop``
    frames, starting ``offset`` frames after the timeline's start."""

    hop: int
    db: np.ndarray
    offset: int = 0

    @classmethod
    def from_record(cls, record: dict[str, Any] | None, offset: int = 0) -> Curve | None:
        """The finest curve of an analysis record (None: no record, or none in it)."""
        got = finest_curve(record) if record else None
        if got is None or got[0] <= 0:
            return None
        return cls(int(got[0]), got[1], offset)


def wave_cells(curve: Curve | None, frames: int, width: int) -> np.ndarray:
    """dB per cell for ``width`` cells spanning ``frames`` timeline frames (``-inf``: nothing)."""
    out = np.full(max(0, width), -np.inf)
    if curve is None or frames <= 0 or width <= 0 or not len(curve.db):
        return out
    edges = np.linspace(0, frames, width + 1)
    for i in range(width):
        lo = int((edges[i] - curve.offset) // curve.hop)
        hi = math.ceil((edges[i + 1] - curve.offset) / curve.hop)
        lo, hi = max(lo, 0), min(max(hi, lo + 1), len(curve.db))
        if lo < hi:
            out[i] = float(np.max(curve.db[lo:hi]))
    return out


def _glyph(db: float) -> str:
    if not math.isfinite(db):
        return " "
    level = (db - FLOOR_DB) / (TOP_DB - FLOOR_DB)
    return BLOCKS[max(1, min(8, round(level * 8)))] if level > 0 else BLOCKS[1]


def meter(peak: float | None, *, idle: bool = False) -> Text:
    """``▮▮▮▮▯▯▯▯ -24``: a linear peak on the fixed dBFS scale; ``None``: nothing heard (an
    empty meter, dim when ``idle``: nothing plays)."""
    if peak is None:
        return Text("▯" * METER_CELLS + "    ", style="dim" if idle else "")
    db = 20 * math.log10(peak) if peak > 0 else -math.inf
    n = 0 if not math.isfinite(db) else max(0, min(METER_CELLS, round((db - FLOOR_DB) / (TOP_DB - FLOOR_DB) * METER_CELLS)))
    label = "  -∞" if not math.isfinite(db) or db < -99 else f"{db:4.0f}"
    return Text.assemble(("▮" * n, METER_HOT if db >= -1.0 else METER_ON), "▯" * (METER_CELLS - n), label)


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class _State:
    mute: bool = False
    solo: bool = False
    gain_db: float = 0.0
    heard: bool = True  # the stem is in the version heard now
    peak: float | None = None
    curve: Curve | None = None
    frames: int = 0
    playhead: int = 0
    notes: list[int] = field(default_factory=list)
    regions: list[tuple[int, int]] = field(default_factory=list)


class StemRow(Widget, can_focus=True):
    """One stem: ``M S  -3.0  ▁▂▅█▇▅│▂▁  ▮▮▮▮▯▯▯▯ -24``; the player owns the state."""

    DEFAULT_CSS = """
    StemRow { height: 1; width: 1fr; }
    StemRow:focus { background: $boost; text-style: bold; }
    StemRow.-silent { color: $text-muted; }
    """

    def __init__(self, stem: str, role: str, *, label: str | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.stem = stem
        self.role = role
        self.label = label if label is not None else stem.rsplit(".", 1)[0]
        self.state = _State()
        self._cells: tuple[int, int, int, np.ndarray] | None = None  # (id(curve), frames, width, dB)

    def update_state(self, **changes: Any) -> None:
        """Set fields of the row's state (mute, solo, gain_db, heard, peak, curve, frames,
        playhead, notes, regions) and redraw when one changed."""
        changed = False
        for k, v in changes.items():
            old = getattr(self.state, k)
            if old is not v and (isinstance(v, Curve) or old != v):
                setattr(self.state, k, v)
                changed = True
        if changed:
            self.set_class(not self.state.heard or self.state.mute, "-silent")
            self.refresh()

    def wave_width(self) -> int:
        return max(8, self.size.width - FIXED_W)

    def _levels(self, width: int) -> np.ndarray:
        s = self.state
        key = (id(s.curve), s.frames, width)
        if self._cells is None or self._cells[:3] != key:
            self._cells = (*key, wave_cells(s.curve, s.frames, width))
        return self._cells[3]

    def render(self) -> Text:
        s = self.state
        w = self.wave_width()
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(" ")
        line.append_text(literal(_fit(self.label, NAME_W).ljust(NAME_W)))
        line.append(" ")
        line.append_text(literal(_fit(self.role, ROLE_W).ljust(ROLE_W), "italic"))
        line.append(" ")
        line.append("M" if s.mute else "·", "bold red" if s.mute else "")
        line.append(" ")
        line.append("S" if s.solo else "·", "bold yellow" if s.solo else "")
        line.append(" ")
        line.append(f"{s.gain_db:+.1f}".replace("+0.0", " 0.0").rjust(GAIN_W))
        line.append("  ")
        levels = self._levels(w)
        frames = max(1, s.frames)
        cell = np.zeros(w, dtype=np.int8)  # 0 wave, 1 region, 2 note, 3 playhead
        for a, b in s.regions:
            lo, hi = int(a * w // frames), math.ceil(b * w / frames)
            cell[max(0, lo):max(lo + 1, min(w, hi))] = 1
        for n in s.notes:
            cell[min(w - 1, max(0, n * w // frames))] = 2
        ph = min(w - 1, max(0, s.playhead * w // frames))
        for i in range(w):
            if i == ph:
                line.append("│", PLAYHEAD)
            else:
                g = _glyph(float(levels[i]))
                line.append("▴" if cell[i] == 2 and g == " " else g, (WAVE, REGION, NOTE, NOTE)[cell[i]])
        line.append("  ")
        line.append_text(meter(s.peak if s.heard and not s.mute else None, idle=s.peak is None))
        return line
