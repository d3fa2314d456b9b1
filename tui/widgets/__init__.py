"""The TUI's widgets, one per module."""

from tui.widgets.version_detail import VersionDetail
from tui.widgets.waveform import WaveData, Waveform

__all__ = ["VersionDetail", "WaveData", "Waveform"]
