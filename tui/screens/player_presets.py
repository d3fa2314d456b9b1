"""The player's audition presets and where its sound goes: a part of ``PlayerScreen``.

``p`` cycles the audition presets (none, mono, laptop, phone, small-room, theater:
``audio.playback.presets``), ``P`` turns the chosen one off and on; the header names it once one
was chosen, and the render command shown without a sound card carries ``--preset``. ``_via``
is the last line's "sound goes via the forwarded sound server …" when ``PULSE_SERVER`` names a
TCP server (``ssh -R``: docs/editor.md, "Forwarding your sound server").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text

from tui.screens.player_layout import render_command
from vcs.playsession import PRESET_NAMES, next_preset

if TYPE_CHECKING:
    from vcs.models import Version

__all__ = ["PresetControls"]


class PresetControls:
    """Mixed into ``PlayerScreen`` (which has the engine, the message line and the header)."""

    preset: str | None = None  # the audition preset heard (None: none, or bypassed)
    preset_chosen: str | None = None  # what P turns back on
    a: Version
    b: Version | None
    mode: str
    match: bool
    no_sound: str | None
    output: Any  # the sound card or the stream (PlayerOutput)

    if TYPE_CHECKING:
        @property
        def engine(self) -> Any: ...
        def _settle(self) -> None: ...
        def _say(self, text: str) -> None: ...
        def _tick(self, force: bool = False) -> None: ...

    def _preset_to(self, engine: Any) -> None:
        """Hand the preset chosen while the files opened to the engine."""
        if self.preset is not None:
            engine.set_preset(self.preset)

    def _preset_label(self, t: Text) -> None:
        """The header's part: the preset, once one was chosen (``off`` when bypassed)."""
        if self.preset_chosen is not None:
            t.append(f"   preset {self.preset or 'off'}", "bold" if self.preset else "dim")

    def _set_preset(self, name: str | None) -> None:
        self.preset = name
        if name is not None:
            self.preset_chosen = name
        if self.engine is not None:
            self.engine.set_preset(name)
            self._settle()
        if self.no_sound is not None:  # the render command follows what would be heard
            self.no_sound = self.no_sound.split(" render it instead: ")[0] + " render it instead: " + \
                render_command(self.a, self.b, self.mode, self.match, preset=self.preset)
            self._say(self.no_sound)
        self._tick(force=True)

    def action_preset(self) -> None:
        """The next audition preset: none → mono → laptop → phone → small-room → theater → none."""
        self._set_preset(next_preset(self.preset))

    def action_bypass(self) -> None:
        """The chosen audition preset off, or back on (mono when none was chosen yet)."""
        self._set_preset(None if self.preset else self.preset_chosen or PRESET_NAMES[0])

    def _via(self) -> str:
        """Where the sound goes when PULSE_SERVER names a TCP server (forwarded with ``ssh -R``)."""
        from audio.playback.output import sound_server

        srv = sound_server()
        latency = getattr(self.output, "latency", None)  # a sound card's; the stream has none
        if srv is None or latency is None:
            return ""
        return f"sound goes via {srv.describe()}, output latency {latency * 1000:.0f} ms"
