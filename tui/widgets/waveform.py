"""A stem's waveform overview, drawn from its committed analysis record (no audio needed).

Public surface:
    FLOOR_DB, TOP_DB        the fixed dBFS scale every waveform is drawn on (-60..0 dBFS)
    WaveData                a record's level curve: ``WaveData.from_record(record)`` (or None)
    cell_levels(data, width) -> dB per character cell (the loudest hop in the cell's span)
    span_cells(spans, duration_s, width) -> bool per cell: the cell overlaps one of the spans
    draw(data, width, height, *, regions, notes, playhead) -> rich ``Text`` lines
    Waveform                the widget: ``show(data, regions=..., notes=..., playhead=...)``

Why not Textual's ``Sparkline``: it scales each plot to its own minimum and maximum, so a stem
6 dB quieter looks the same. Here every waveform uses one fixed scale (``FLOOR_DB``..``TOP_DB``),
so two versions and two stems compare by eye. The curve is the record's level curve (RMS per
50 ms, 0.5 dB steps, down to -127 dB); a record without one falls back to the overview's peaks
(int8: nothing below about -42 dBFS).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from audio.envelope import decode_levels

__all__ = ["FLOOR_DB", "TOP_DB", "WaveData", "Waveform", "cell_levels", "draw", "span_cells"]

FLOOR_DB = -60.0
TOP_DB = 0.0
BLOCKS = " ▁▂▃▄▅▆▇█"  # 0..8 eighths of a cell

REGION_STYLE = Style(color="black", bgcolor="yellow")
NOTE_STYLE = Style(color="magenta", bold=True)
PLAYHEAD_STYLE = Style(color="white", bgcolor="blue", bold=True)
WAVE_STYLE = Style(color="cyan")


@dataclass(frozen=True)
class WaveData:
    """A level curve in dBFS (``-inf`` = digital silence), one value every ``hop_s`` seconds.

    Attributes:
        hop_s: seconds per value.
        db: the curve, dBFS.
        duration_s: the file's length in seconds.
    """

    hop_s: float
    db: np.ndarray
    duration_s: float

    @classmethod
    def from_record(cls, record: dict[str, Any] | None) -> WaveData | None:
        """The curve of an analysis record (vcs.records.load_record), or None (no record, or a
        damaged one)."""
        if not record:
            return None
        try:
            sr = int(record["sample_rate"])
            duration = int(record["frames"]) / sr
            if record.get("levels"):
                return cls(float(record["levels"]["window_s"]), decode_levels(record), duration)
            ov = record["overview"]
            from audio.analysis import decode_overview  # only for records without a level curve

            lo, hi = decode_overview(record)
            peak = np.maximum(np.abs(lo), np.abs(hi))
            with np.errstate(divide="ignore"):
                db = 20 * np.log10(peak)
            return cls(int(ov["frames_per_column"]) / sr, db, duration)
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            return None


def cell_levels(data: WaveData, width: int) -> np.ndarray:
    """dBFS per cell of a ``width``-cell row spanning the whole file: the loudest value of the
    hops from the one holding the cell's start to the one before the next cell's (so a cell
    narrower than a hop shows that hop, not a gap; ``-inf`` where all is silence)."""
    n = len(data.db)
    if width <= 0 or n == 0 or data.duration_s <= 0 or data.hop_s <= 0:
        return np.full(max(width, 0), -np.inf)
    cell_start = np.arange(width) * (data.duration_s / width)
    first = np.minimum((cell_start / data.hop_s).astype(np.int64), n - 1)
    # reduceat: the max of db[first[i]:first[i+1]], or db[first[i]] when the next cell starts
    # in the same hop.
    out: np.ndarray = np.maximum.reduceat(data.db, first)
    return out


def span_cells(spans: Iterable[tuple[float, float]], duration_s: float, width: int) -> np.ndarray:
    """Per cell: does it overlap one of ``spans`` (seconds from the file's start)?"""
    out = np.zeros(max(width, 0), dtype=bool)
    if width <= 0 or duration_s <= 0:
        return out
    per = duration_s / width
    for start, end in spans:
        first = max(0, math.floor(start / per))
        last = min(width - 1, max(first, math.ceil(end / per) - 1))
        if first < width:
            out[first:last + 1] = True
    return out


def _point_cell(t: float, duration_s: float, width: int) -> int | None:
    if duration_s <= 0 or width <= 0 or t < 0 or t > duration_s:
        return None
    return min(width - 1, int(t / duration_s * width))


def _eighths(db: np.ndarray, height: int) -> np.ndarray:
    """Bar heights in eighths of a cell on the fixed scale (0 = at or below the floor)."""
    frac = (np.nan_to_num(db, neginf=FLOOR_DB) - FLOOR_DB) / (TOP_DB - FLOOR_DB)
    return np.clip(np.round(frac * 8 * height), 0, 8 * height).astype(np.int64)


def draw(data: WaveData | None, width: int, height: int = 1, *,
         regions: Sequence[tuple[float, float]] = (), notes: Sequence[float] = (),
         playhead: float | None = None) -> list[Text]:
    """The waveform as ``height`` lines of ``width`` cells: bars on the fixed dBFS scale, cells
    in a changed region highlighted, note cells marked, the playhead drawn as a bar."""
    if data is None or width <= 0:
        return [Text(" " * max(width, 0)) for _ in range(height)]
    bars = _eighths(cell_levels(data, width), height)
    hot = span_cells(regions, data.duration_s, width)
    marked = np.zeros(width, dtype=bool)
    for t in notes:
        c = _point_cell(t, data.duration_s, width)
        if c is not None:
            marked[c] = True
    head = None if playhead is None else _point_cell(playhead, data.duration_s, width)
    lines = []
    for y in range(height):
        row_base = (height - 1 - y) * 8
        line = Text(no_wrap=True, overflow="crop")
        for x in range(width):
            fill = int(min(8, max(0, bars[x] - row_base)))
            ch = BLOCKS[fill]
            style = WAVE_STYLE
            if marked[x]:
                style = NOTE_STYLE
                if y == height - 1 and fill == 0:
                    ch = "▴"
            if hot[x]:
                style = style + REGION_STYLE
            if head == x:
                ch, style = ("│" if fill < 8 else "┃"), PLAYHEAD_STYLE
            line.append(ch, style)
        lines.append(line)
    return lines


class Waveform(Widget):
    """A waveform overview on the fixed dBFS scale; resizes with its width.

    Call ``show(data, regions=..., notes=..., playhead=...)``; ``playhead`` alone can be moved
    with ``set_playhead``. The state it draws is kept on the widget (``data``, ``regions``,
    ``notes``, ``playhead``) so tests and other widgets can read it.
    """

    DEFAULT_CSS = """
    Waveform { height: 1; width: 1fr; }
    """

    def __init__(self, data: WaveData | None = None, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.data = data
        self.regions: list[tuple[float, float]] = []
        self.notes: list[float] = []
        self.playhead: float | None = None

    def show(self, data: WaveData | None, *, regions: Sequence[tuple[float, float]] = (),
             notes: Sequence[float] = (), playhead: float | None = None) -> None:
        self.data = data
        self.regions = list(regions)
        self.notes = list(notes)
        self.playhead = playhead
        self.refresh()

    def set_playhead(self, seconds: float | None) -> None:
        self.playhead = seconds
        self.refresh()

    def lines(self, width: int | None = None) -> list[Text]:
        """What the widget draws at ``width`` (default: its current width)."""
        w = self.size.width if width is None else width
        return draw(self.data, w, max(1, self.size.height or 1), regions=self.regions, notes=self.notes,
                    playhead=self.playhead)

    def highlighted(self, width: int | None = None) -> np.ndarray:
        """Per cell at ``width``: is it inside a changed region?"""
        w = self.size.width if width is None else width
        return span_cells(self.regions, self.data.duration_s if self.data else 0.0, w)

    def render(self) -> Text:
        out = Text(no_wrap=True, overflow="crop")
        for i, line in enumerate(self.lines()):
            if i:
                out.append("\n")
            out.append_text(line)
        return out
