"""The player's output (tui/screens/player.py): the sound card, or the live stream — ``o``.

``PlayerOutput`` is the base of ``PlayerScreen``: opening, re-opening and switching what the
engine plays to. The stream is ``stemvault play --stream``'s: ``audio.playback.stream``'s pump
runs the engine at real time (on past the cue's end, so Space plays again), ``vcs.playserver``
serves it on 127.0.0.1 under a random token. Streaming, the message line shows the stream's URL
and the laptop's ``ssh -L`` line goes to the clipboard (OSC 52); every key of the player acts on
what the laptop hears. Opening and closing run in workers or threads, never on the UI thread.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from textual import work
from textual.screen import Screen

from audio.errors import AudioError
from tui.screens.player_layout import render_command, why_no_sound
from vcs.errors import VaultError
from vcs.models import Version

if TYPE_CHECKING:
    from audio.playback.output import Output
    from audio.playback.stream import Pump
    from vcs.playserver import PlayServer
    from vcs.playsession import PlaySession

__all__ = ["PlayerOutput"]


class PlayerOutput(Screen[None]):
    """What the player plays to; ``PlayerScreen`` sets the attributes and draws."""

    a: Version
    b: Version | None
    mode: str
    match: bool
    preset: str | None  # the audition preset (PresetControls)
    session: PlaySession | None
    output: Output | Pump | None
    server: PlayServer | None  # streaming: the HTTP server of the stream
    no_sound: str | None
    missing: str | None
    _gone: bool

    def _say(self, text: str) -> None:
        raise NotImplementedError

    def _tick(self, force: bool = False) -> None:
        raise NotImplementedError

    def _what(self) -> str:
        raise NotImplementedError

    def _via(self) -> str:
        raise NotImplementedError

    def _close_server(self) -> None:
        """Stop the stream's server (its listeners' requests end) off the UI thread."""
        server, self.server = self.server, None
        if server is not None:
            threading.Thread(target=server.close, name="stemvault-http-close").start()

    @work(thread=True, exclusive=True, exit_on_error=False, group="player-output")
    def reopen_output(self) -> None:
        session, old = self.session, self.output
        if session is None:
            return
        try:
            from audio.playback.output import open_output

            if old is not None:
                old.stop()
            out = open_output(session.engine)
            out.start()
        except Exception as e:  # NoAudioDevice and PortAudio's own failures: said, browse on
            self.app.call_from_thread(self._lost_output, why_no_sound(e))
            return
        self.app.call_from_thread(self._restart, out)

    def _restart(self, out: Output) -> None:
        if self._gone or self.session is None:
            out.stop()
            return
        self.output = out
        e = self.session.engine
        if e.position >= e.frames:
            e.seek(0)
        e.play()

    def _lost_output(self, why: str) -> None:
        self.output = None
        self.no_sound = (f"cannot play here: {why} — o streams it, or render it instead: "
                         f"{render_command(self.a, self.b, self.mode, self.match, preset=self.preset)}")
        self._say(self.no_sound)

    # ----- the output: the sound card or the stream --------------------------------------------
    def action_output(self) -> None:
        """Switch the output: device ↔ stream (what plays goes on, from the same position)."""
        if self.session is None:
            self.app.bell()
            self._say(self.missing or f"opening the audio of {self._what()}…")
            return
        streaming = self.server is not None
        self._close_server()
        old, self.output = self.output, None
        self._say("opening the sound card…" if streaming else "opening the stream…")
        self.change_output(old, not streaming)

    @work(thread=True, exclusive=True, exit_on_error=False, group="player-output")
    def change_output(self, old: Output | Pump | None, stream: bool) -> None:
        session = self.session
        if old is not None:
            old.stop()
        if session is None:
            return
        if not stream:
            try:
                from audio.playback.output import open_output

                out = open_output(session.engine)
                out.start()
            except Exception as e:  # NoAudioDevice and PortAudio's own failures: said, browse on
                self.app.call_from_thread(self._lost_output, why_no_sound(e))
                return
            self.app.call_from_thread(self._device_back, out)
            return
        from audio.playback.stream import Pump
        from vcs.playserver import PlayServer, session_status, session_what

        first = len(session.engine.applied)
        pump = Pump(session.engine, stop_at_end=False)
        try:
            server = PlayServer(pump=pump, what=session_what(session.info),
                                status=lambda: session_status(session, first))
        except (VaultError, AudioError, OSError) as e:
            self.app.call_from_thread(self._lost_output, f"cannot stream ({e})")
            return
        server.start()
        pump.start()
        try:
            self.app.call_from_thread(self._streaming, pump, server)
        except BaseException:  # the app closed meanwhile
            server.close()
            raise

    def _device_back(self, out: Output) -> None:
        if self._gone or self.session is None:
            out.stop()
            return
        self.output = out
        self.no_sound = None
        self._say(self._via())  # a forwarded sound server named again, as when the player opened
        self._tick(force=True)

    def _streaming(self, pump: Pump, server: PlayServer) -> None:
        if self._gone or self.session is None:
            threading.Thread(target=server.close, name="stemvault-http-close").start()
            return
        self.output, self.server = pump, server
        self.no_sound = None
        self._say(f"streaming {server.stream_url} (o: the sound card)")
        line = server.ssh_line()
        self.app.copy_to_clipboard(line)
        self.notify(f"on your laptop: {line} (copied), then open the stream URL in mpv, ffplay, VLC "
                    f"or a browser: {server.page_url}", markup=False, timeout=20)
        self._tick(force=True)
