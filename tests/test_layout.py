"""One channel-layout rule (audio/layout.py, docs/manifest.md): from the WAVE_FORMAT_EXTENSIBLE
mask when the file has one, else mono / stereo / "Nch" — a count is not a layout."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio.analysis import analyze_file, same_content
from audio.probe import probe
from audio.riff import chunks
from tests.helpers import SR, Runner


def _write(path: Path, channels: int, mask: int | None) -> Path:
    """A WAV of ``channels`` channels: plain WAVE_FORMAT_PCM (no mask) or extensible with ``mask``."""
    t = np.arange(SR // 2) / SR
    x = np.stack([0.1 * np.sin(2 * np.pi * (200 + 50 * c) * t) for c in range(channels)], axis=1)
    sf.write(path, x, SR, format="WAV" if mask is None else "WAVEX", subtype="PCM_24")
    if mask is not None:
        b = bytearray(path.read_bytes())
        with open(path, "rb") as f:
            fmt = next(c for c in chunks(f) if c.id == b"fmt ")
        b[fmt.offset + 20:fmt.offset + 24] = struct.pack("<I", mask)  # dwChannelMask
        path.write_bytes(bytes(b))
    return path


@pytest.mark.parametrize(("channels", "mask", "layout"), [
    (3, None, "3ch"), (4, None, "4ch"), (6, None, "6ch"),          # a count is not a layout
    (3, 0x7, "LCR"), (4, 0x33, "quad"), (6, 0x3F, "5.1"), (6, 0x60F, "5.1"),  # the mask says so
    (5, 0x37, "5.0"), (8, 0x63F, "7.1"), (12, 0x2D63F, "7.1.4"), (10, 0x563F, "7.1.2"),
    (10, 0x5063F, "10ch mask 0x5063F"),  # 0x40000 is no speaker: not 7.1.2 (the old table said it was)
    (1, 0x4, "mono"), (2, 0x3, "stereo"),
    (3, 0x0, "3ch"),                                               # a mask of 0: no positions
    (3, 0x3, "3ch mask 0x3"),                                      # positions 2 of 3 channels
    (4, 0x107, "LCRS"), (4, 0x603, "4ch mask 0x603"),              # not in the table: the mask itself
    (1, None, "mono"), (2, None, "stereo"),
])
def test_the_probe_and_the_analysis_name_a_layout_alike(tmp_path: Path, channels: int, mask: int | None,
                                                        layout: str) -> None:
    p = _write(tmp_path / "x.wav", channels, mask)
    assert sf.info(str(p)).channels == channels
    assert probe(p).layout == layout
    assert analyze_file(p)["layout"] == layout


def test_the_layout_reaches_check_json(tmp_path: Path, sv: Runner) -> None:
    folder = tmp_path / "s"
    folder.mkdir()
    _write(folder / "1M03_ROOM.wav", 3, None)
    _write(folder / "1M03_LCR.wav", 3, 0x7)
    doc = sv("check", folder, "--json").json()
    assert {f["file"]: f["layout"] for f in doc["files"]} == {"1M03_ROOM.wav": "3ch", "1M03_LCR.wav": "LCR"}


def test_a_record_named_by_the_old_rule_is_the_same_header(tmp_path: Path) -> None:
    """Six unmarked channels were called "5.1" before the rule; a re-export of the same samples
    is still the same content, not a header change."""
    new = analyze_file(_write(tmp_path / "x.wav", 6, None))
    assert new["layout"] == "6ch"
    old = {**new, "layout": "5.1"}
    assert same_content(old, new) == "same"
    assert same_content({**new, "channel_mask": 0x3F}, new) == "metadata"  # a mask is a real change
