"""Playback: stems streamed from their files, mixed live, A/B between versions, rendered to WAV.

Public surface:
    StemSpec, StemSet                  (audio.playback.source) stem files on one timeline
    Engine, Status, MODES              (audio.playback.engine) commands from any thread, block mixing
    render(engine, path, ...)          (audio.playback.render) the same mix, to a file
    audio.playback.output              sounddevice/PortAudio, imported lazily (import it yourself)
"""

from __future__ import annotations

from audio.playback.engine import MODES, Engine, Status
from audio.playback.render import render
from audio.playback.source import StemSet, StemSpec

__all__ = ["MODES", "Engine", "Status", "StemSet", "StemSpec", "render"]
