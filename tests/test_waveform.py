"""The waveform widget: drawn from analysis records on a fixed dBFS scale, changed regions lit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from textual.app import App, ComposeResult

from audio.analysis import analyze_file
from tests.helpers import CUE, Runner
from tui.widgets.waveform import BLOCKS, FLOOR_DB, WaveData, Waveform, draw
from vcs.diff import diff_versions
from vcs.records import load_record
from vcs.vault import Vault

SR = 8000
SECONDS = 60


def _tone(loud_span: tuple[float, float] | None, quiet: float = 0.05, loud: float = 0.5) -> np.ndarray:
    """A 440 Hz tone at ``quiet`` amplitude, at ``loud`` within ``loud_span`` (seconds)."""
    t = np.arange(SR * SECONDS) / SR
    amp = np.full_like(t, quiet)
    if loud_span:
        amp[(t >= loud_span[0]) & (t < loud_span[1])] = loud
    return amp * np.sin(2 * np.pi * 440 * t)


def _bars(data: WaveData, width: int) -> list[int]:
    return [BLOCKS.index(ch) for ch in draw(data, width)[0].plain]


def test_a_louder_span_draws_taller_cells_on_a_fixed_scale(tmp_path: Path) -> None:
    sf.write(tmp_path / "a.wav", _tone((30, 40)), SR, subtype="PCM_24")
    sf.write(tmp_path / "b.wav", _tone((30, 40)) * 0.5, SR, subtype="PCM_24")  # 6 dB quieter
    a = WaveData.from_record(analyze_file(tmp_path / "a.wav"))
    b = WaveData.from_record(analyze_file(tmp_path / "b.wav"))
    assert a is not None and b is not None
    bars = _bars(a, 60)  # one cell per second
    inside, outside = bars[31:39], bars[:29] + bars[41:]
    assert min(inside) > max(outside)
    # The fixed scale: a sine of amplitude x is x/sqrt(2) RMS; -60..0 dBFS in 8 eighths.
    def expected(x: float) -> int:
        return round((20 * np.log10(x / np.sqrt(2)) - FLOOR_DB) / -FLOOR_DB * 8)
    assert set(inside) == {expected(0.5)} and set(outside) == {expected(0.05)}
    # The same shape 6 dB quieter is drawn lower, not rescaled to fill the cell.
    quieter = _bars(b, 60)
    assert set(quieter[31:39]) == {expected(0.25)} and expected(0.25) < expected(0.5)
    # Two rows: twice the resolution, the same scale (the top row holds only what is above half).
    two = draw(a, 60, 2)
    assert len(two) == 2 and all(len(line.plain) == 60 for line in two)


async def test_the_changed_region_lights_the_cells_of_its_span(vault: Path, sv: Runner, tmp_path: Path) -> None:
    for name, span in (("v1", None), ("v2", (30, 40))):
        (tmp_path / name).mkdir()
        sf.write(tmp_path / name / f"{CUE}_STR.wav", _tone(span), SR, subtype="PCM_24")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "louder in the middle")
    v = Vault.find(vault)
    try:
        new, old = v.versions(CUE)
        d = diff_versions(v, old, new)
        (stem,) = d.stems
        record = load_record(v, v.manifest_at(new).stems[0].sha256)
    finally:
        v.close()
    assert stem.status == "changed" and stem.regions
    data = WaveData.from_record(record)
    assert data is not None and abs(data.duration_s - SECONDS) < 1e-6

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield Waveform(data, id="wave")

    app = Host()
    async with app.run_test(size=(60, 3)) as pilot:
        wave = app.query_one(Waveform)
        wave.show(data, regions=[(r.start_s, r.end_s) for r in stem.regions], notes=[5.0])
        await pilot.pause()
        assert wave.size.width == 60
        lit = list(np.flatnonzero(wave.highlighted()))
        # The change was written at 30-40 s: one cell per second, allowing the detection's
        # one-block granularity at each edge.
        assert set(range(31, 39)) <= set(lit) <= set(range(29, 41))
        line = wave.lines()[0]
        styled = {i for i in range(60) if line.get_style_at_offset(app.console, i).bgcolor is not None}
        assert styled == set(lit)
        assert line.get_style_at_offset(app.console, 5).color.name == "magenta"  # the note at 5 s
        # Resizes with its width: the same span at half the cells.
        await pilot.resize_terminal(30, 3)
        await pilot.pause()
        half = list(np.flatnonzero(wave.highlighted()))
        assert wave.size.width == 30 and set(range(16, 19)) <= set(half) <= set(range(14, 21))
        wave.set_playhead(15.0)
        await pilot.pause()
        assert wave.lines()[0].plain[7] in "│┃"


def test_a_short_file_on_a_wide_row_leaves_no_gaps(tmp_path: Path) -> None:
    """2 s of steady tone is 40 level windows: drawn on 100 cells, every cell shows the tone."""
    t = np.arange(SR * 2) / SR
    sf.write(tmp_path / "short.wav", 0.5 * np.sin(2 * np.pi * 440 * t), SR, subtype="PCM_24")
    data = WaveData.from_record(analyze_file(tmp_path / "short.wav"))
    assert data is not None
    bars = _bars(data, 100)
    assert min(bars) > 0 and len(set(bars)) == 1
