"""The player/mixer: a version's stems as rows (or two versions' in A/B), one playhead.

``PlayerScreen(vault, a, b=None)`` opens the same play session ``stemvault play`` opens
(``vcs.playsession.prepare_play``) in a worker, with a sound card when there is one. Without
one (an SSH session, no PortAudio) the screen still browses and seeks, and says once, in one
line, why it cannot play and the render command to use instead. Without the audio in this clone
(a lazy clone) the rows still show from the committed records, and the screen says which files
are missing and how to fetch them.

Engine commands are sent from the UI thread (the engine applies them at its next block); the
playhead and meters are read on a timer. Without a sound card nothing runs the engine's blocks,
so each command is applied at once (``Engine.settle``) and the position moves without sound.

The output is a choice (``o``): the sound card, or the live stream (tui/screens/player_output.py).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.timer import Timer
from textual.widgets import Footer, Input, Static

from audio.errors import AudioError, NoAudioDevice
from audio.timecode import FrameRate, Timecode, parse_frame_rate, parse_timecode
from tui.screens.player_layout import PlayerLayout, read_layout, render_command, why_no_sound
from tui.screens.player_output import PlayerOutput
from tui.screens.player_presets import PresetControls
from tui.text import literal
from tui.widgets.note_list import NoteList
from tui.widgets.stem_row import StemRow
from vcs.errors import AudioMissing, VaultError
from vcs.models import Note, Version, note_order
from vcs.naming import short_name
from vcs.playsession import PlaySession, parse_position, prepare_play
from vcs.vault import Vault

if TYPE_CHECKING:
    from audio.playback.output import Output
    from audio.playback.stream import Pump

__all__ = ["PlayerScreen"]

SEEK_S = 5.0
GAIN_STEP_DB = 1.0
REFRESH_HZ = 15
MODE_NAMES = {"a": "A", "b": "B", "diff": "diff"}


class _Rows(VerticalScroll, inherit_bindings=False):
    """The stem rows: scrolls to the focused row, leaves the arrow keys to the player."""


class PlayerScreen(PresetControls, PlayerOutput):
    """Stems of ``a`` (and ``b``) as mixer rows, a shared playhead, A/B/difference (and presets)."""

    BINDINGS = [
        Binding("space", "play_pause", "Play"),
        Binding("left", "seek(-1)", "Seek", key_display="←/→"),
        Binding("right", "seek(1)", "Seek", show=False),
        Binding("a", "mode('a')", "A", show=False),
        Binding("b", "mode('b')", "B", show=False),
        Binding("d", "mode('diff')", "A/B/Diff", key_display="a b d"),
        Binding("l", "match", "Match"),
        Binding("m", "mute", "Mute"),
        Binding("s", "solo", "Solo"),
        Binding("plus,equals_sign", "gain(1)", "Gain", key_display="+/-", show=False),
        Binding("minus", "gain(-1)", "Gain", show=False),
        Binding("n", "note", "Note"),
        Binding("left_square_bracket", "jump(-1)", "Jump", key_display="[ ]"),
        Binding("right_square_bracket", "jump(1)", "Jump", show=False),
        Binding("g", "goto", "Go to", show=False),
        Binding("p", "preset", "Next audition preset", show=False),
        Binding("P", "bypass", "Audition preset off/on", show=False),
        Binding("o", "output", "Output: device / stream", show=False),
        Binding("down,j", "row(1)", "Down", show=False),
        Binding("up,k", "row(-1)", "Up", show=False),
        Binding("escape,q", "back", "Back"),
    ]

    def __init__(self, vault: Vault, a: Version, b: Version | None = None) -> None:
        super().__init__()
        self.vault = vault
        self.a = a
        self.b = b
        self.browse: PlayerLayout | None = None
        self.session: PlaySession | None = None
        self.output = None
        self.server = None  # streaming: the HTTP server of the stream
        self.mode = "a"
        self.match = False
        self.position = 0  # frames from the timeline's start, when no engine runs
        self.mix: dict[str, list[Any]] = {}  # name -> [mute, solo, gain dB]: what the rows show
        self.notes: dict[str, list[Note]] = {"a": list(a.notes), "b": list(b.notes) if b else []}
        self.no_sound: str | None = None
        self.missing: str | None = None
        self._prompt_for: str | None = None  # "goto" or "note" while the prompt is open
        self._gone = False
        self._timer: Timer | None = None
        self._shown: tuple[Any, ...] = ()

    # ----- building --------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="player-header")
        yield _Rows(id="player-rows", can_focus=False)
        yield NoteList(id="player-notes")
        yield Static(id="player-message")
        yield Input(id="player-prompt")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#player-prompt", Input).display = False
        self.query_one("#player-header", Static).update(self._header())
        self.query_one("#player-message", Static).update(literal(f"opening {self._what()}…", "italic"))
        self._timer = self.set_interval(1 / REFRESH_HZ, self._tick)
        self.open_session()

    def _what(self) -> str:
        return self.a.ref + (f" against {self.b.ref}" if self.b else "")

    @work(thread=True, exclusive=True, exit_on_error=False, group="player-open")
    def open_session(self) -> None:
        """Read the manifests and records (the rows), then open the session and a sound card."""
        try:
            layout = read_layout(self.vault, self.a, self.b)
        except (VaultError, AudioError) as e:
            self.app.call_from_thread(self._say, f"error: {e}")
            return
        except Exception as e:  # a failure reaches the user; the app goes on
            self.app.call_from_thread(self._say, f"error: cannot read {self._what()}: {e}")
            return
        self.app.call_from_thread(self._show_layout, layout)
        try:
            session = prepare_play(self.vault, self.a.ref, vs=self.b.ref if self.b else None)
        except AudioMissing as e:
            self.app.call_from_thread(self._audio_missing, str(e))
            return
        except (VaultError, AudioError) as e:
            self.app.call_from_thread(self._audio_missing, f"cannot play {self._what()}: {e}")
            return
        out: Output | None = None
        why: str | None = None
        try:
            from audio.playback.output import open_output

            out = open_output(session.engine)
            out.start()
        except NoAudioDevice as e:
            why = why_no_sound(e)
        except Exception as e:  # PortAudio can fail in many ways: say it, browse on
            why = f"the audio device failed ({e})"
        if why is not None and out is not None:
            out.stop()
            out = None
        try:
            self.app.call_from_thread(self._ready, session, out, why)
        except BaseException:  # the app closed meanwhile: nobody will stop them
            self._stop(session, out)
            raise

    def _show_layout(self, layout: PlayerLayout) -> None:
        if self._gone:
            return
        self.browse = layout
        self.mix = {n: [m, s, 0.0] for n, (m, s) in layout.defaults.items()}
        rows = self.query_one("#player-rows", _Rows)
        rows.remove_children()
        widgets = [StemRow(n, layout.roles[n], label=short_name(n, self.a.cue)) for n in layout.names]
        rows.mount_all(widgets)
        if widgets:
            widgets[0].focus()
        self.query_one("#player-message", Static).update(
            literal(f"opening the audio of {self._what()}…", "italic"))
        if layout.warning:
            self.notify(layout.warning, severity="warning", markup=False)
        self._tick(force=True)

    def _ready(self, session: PlaySession, out: Output | None, why: str | None) -> None:
        if self._gone:  # the screen left while the files were opening
            self._stop(session, out)
            return
        self.session, self.output = session, out
        e = session.engine
        # What was set while the files opened (the rows start from the manifests' defaults,
        # as the engine does): the engine takes it over. A stem left out (silent, not in this
        # clone) is not in the engine.
        for name, (mute, solo, gain) in self.mix.items():
            with contextlib.suppress(AudioError):
                e.set_mute(name, mute)
                e.set_solo(name, solo)
                if gain:
                    e.set_gain(name, gain)
        if self.match:
            try:
                e.set_match(True)
            except AudioError as err:
                self.match = False
                self.notify(str(err), severity="warning", markup=False)
        e.seek(self.position)
        e.switch(self.mode)  # type: ignore[arg-type]
        self._preset_to(e)
        self._settle()
        if why is not None:
            self.no_sound = (f"cannot play here: {why} — o streams it, or render it instead: "
                             f"{render_command(self.a, self.b, self.mode, self.match, preset=self.preset)}")
        self._say(self.no_sound or self._via())
        self._tick(force=True)

    def _audio_missing(self, text: str) -> None:
        if self._gone:
            return
        self.missing = text
        self._say(text)

    def _say(self, text: str) -> None:
        """The message line (one line of text read as data)."""
        self.query_one("#player-message", Static).update(literal(text, "bold" if text else ""))

    # ----- leaving ---------------------------------------------------------------------------
    @staticmethod
    def _stop(session: PlaySession | None, out: Output | Pump | None) -> None:
        if session is not None:
            session.engine.pause()
        if out is not None:
            out.stop()
        if session is not None:
            session.close()

    def on_unmount(self) -> None:
        self._gone = True
        self._close_server()
        self._stop(self.session, self.output)
        self.session = self.output = None

    def action_back(self) -> None:
        if self._prompt_for is not None:
            self._close_prompt()
            return
        self._gone = True
        self._close_server()
        self._stop(self.session, self.output)
        self.session = self.output = None
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()
        else:
            self.app.exit()

    # ----- the timeline ----------------------------------------------------------------------
    @property
    def engine(self) -> Any:
        return self.session.engine if self.session is not None else None

    def _frames(self) -> tuple[int, int, int]:
        """(sample rate, start, frames) of the timeline: the engine's, or the manifests'."""
        e = self.engine
        if e is not None:
            return e.sample_rate, e.start, e.frames
        if self.browse is not None:
            return self.browse.sample_rate, self.browse.start, self.browse.frames
        return 48000, 0, 0

    def _pos(self) -> int:
        e = self.engine
        return int(e.status.position) if e is not None else self.position

    def _rate(self) -> FrameRate:
        if self.session is not None:
            return self.session.rate
        if self.browse is not None:
            return self.browse.rate
        fr = self.vault.config.frame_rate
        return fr if isinstance(fr, FrameRate) else parse_frame_rate(fr)

    def tc(self, frame: int) -> str:
        sr, start, _ = self._frames()
        return str(Timecode.from_samples(start + frame, sr, self._rate()))

    def _settle(self) -> None:
        """Without a sound card nothing runs the engine's blocks: apply the commands now."""
        if self.output is None and self.engine is not None:
            self.engine.settle()

    def _heard(self) -> str:
        """The side whose stems, notes and meters are shown: B in B mode, else A."""
        return "b" if self.mode == "b" and self.b is not None else "a"

    # ----- drawing ---------------------------------------------------------------------------
    def _header(self) -> Text:
        e = self.engine
        st = e.status if e is not None else None
        glyph = "▶" if st is not None and st.playing else ("■" if st is not None and st.ended else "‖")
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(f" {glyph} ")
        t.append_text(literal(self.a.cue, "bold"))
        t.append("  ")
        parts = [("a", f"A {self.a.version}")]
        if self.b is not None:
            parts += [("b", f"B {self.b.version}"), ("diff", "diff")]
        for i, (k, label) in enumerate(parts):
            if i:
                t.append(" │ ", "dim")
            t.append_text(literal(label, "bold reverse" if k == self.mode else "dim"))
        _, _, frames = self._frames()
        t.append(f"   {self.tc(min(self._pos(), frames))} / {self.tc(frames)}")
        self._preset_label(t)  # before the rest: at 80 columns in A/B it would be cut off
        if self.server is not None:
            t.append("   ⇢ stream", "bold")
        if self.b is not None:
            t.append(f"   match loudness {'on' if self.match else 'off'}", "bold" if self.match else "")
        return t

    def _note_frames(self, side: str) -> list[tuple[int, Note]]:
        sr, start, _ = self._frames()
        out = []
        for n in sorted(self.notes[side], key=note_order):
            try:
                out.append((parse_timecode(n.tc, self._rate()).samples(sr) - start, n))
            except AudioError:
                continue
        return out

    def _tick(self, force: bool = False) -> None:
        """Refresh the header, the rows' playhead and meters and the notes (15 times a second)."""
        e = self.engine
        st = e.status if e is not None else None
        pos = self._pos()
        side = self._heard()
        key = (pos, self.mode, self.match, self.preset, st, len(self.notes["a"]), len(self.notes["b"]), self.browse is None,
               tuple(tuple(v) for v in self.mix.values()))
        if key == self._shown and not force:
            return
        self._shown = key
        self.query_one("#player-header", Static).update(self._header())
        lay = self.browse
        if lay is None:
            return
        _, _, frames = self._frames()
        notes = self._note_frames(side)
        meters = st.meters if st is not None and st.playing else {}
        for row in self.query(StemRow):
            m, s, g = self.mix.get(row.stem, [False, False, 0.0])
            heard = row.stem in lay.present[side]
            row.update_state(mute=m, solo=s, gain_db=g, heard=heard, frames=frames, playhead=pos,
                             curve=lay.curves[side].get(row.stem),
                             peak=meters.get(row.stem, 0.0) if st is not None and st.playing else None,
                             notes=[f for f, n in notes if n.stem in (None, row.stem)],
                             regions=lay.regions.get(row.stem, []) if self.b is not None else [])
        self.query_one("#player-notes", NoteList).show(self._note_frames(side), pos, self.a.cue)

    # ----- transport -------------------------------------------------------------------------
    def _no_play(self) -> bool:
        """True (and say why) when nothing can play here."""
        if self.output is not None and self.session is not None:
            return False
        self.app.bell()
        self._say(self.no_sound or self.missing or f"opening the audio of {self._what()}…")
        return True

    def action_play_pause(self) -> None:
        if self._no_play():
            return
        assert self.session is not None and self.output is not None
        e = self.session.engine
        st = e.status
        if not st.playing:
            if self.output.finished.is_set():  # the stream stopped at the end: a fresh one
                self.reopen_output()
                return
            if st.ended or e.position >= e.frames:
                e.seek(0)
            e.play()
        else:
            e.pause()

    def _seek_to(self, frame: int) -> None:
        _, _, frames = self._frames()
        frame = max(0, min(int(frame), frames))
        self.position = frame
        if self.engine is not None:
            self.engine.seek(frame)
            self._settle()
        self._tick(force=True)

    def action_seek(self, direction: int) -> None:
        sr, _, _ = self._frames()
        self._seek_to(self._pos() + direction * round(SEEK_S * sr))

    def _targets(self) -> list[int]:
        """Where ``[``/``]`` jump: the notes of what is heard and the changed regions' starts."""
        out = {f for f, _ in self._note_frames(self._heard())}
        if self.browse is not None and self.b is not None:
            out |= {a for spans in self.browse.regions.values() for a, _ in spans}
        return sorted(out)

    def action_jump(self, direction: int) -> None:
        pos = self._pos()
        sr, _, _ = self._frames()
        slack = sr // 4 if self.engine is not None and self.engine.status.playing else 0
        targets = self._targets()
        if direction > 0:
            nxt = [t for t in targets if t > pos]
        else:
            nxt = [t for t in targets if t < pos - slack][-1:]
        if not nxt:
            self.app.bell()
            return
        self._seek_to(nxt[0])

    def action_mode(self, mode: str) -> None:
        if mode != "a" and self.b is None:
            self.app.bell()
            self.notify(f"{MODE_NAMES[mode]} needs a second version: mark one with Space in the history, "
                        "then play", markup=False)
            return
        self.mode = mode
        if self.engine is not None:
            self.engine.switch(mode)
            self._settle()
        if self.no_sound is not None:  # the render command follows what would be heard
            self.no_sound = self.no_sound.split(" render it instead: ")[0] + " render it instead: " + \
                render_command(self.a, self.b, self.mode, self.match, preset=self.preset)
            self._say(self.no_sound)
        self._tick(force=True)

    def action_match(self) -> None:
        if self.b is None:
            self.app.bell()
            self.notify("loudness matching needs a second version (A/B)", markup=False)
            return
        on = not self.match
        if self.engine is not None:
            try:
                self.engine.set_match(on)
            except AudioError as e:
                self.notify(str(e), severity="warning", markup=False)
                return
            self._settle()
        self.match = on
        self._tick(force=True)

    # ----- the mixer -------------------------------------------------------------------------
    def _row(self) -> StemRow | None:
        f = self.focused
        if isinstance(f, StemRow):
            return f
        rows = list(self.query(StemRow))
        return rows[0] if rows else None

    def action_row(self, step: int) -> None:
        rows = list(self.query(StemRow))
        if not rows:
            return
        cur = self._row()
        i = rows.index(cur) if cur in rows else 0
        rows[max(0, min(len(rows) - 1, i + step))].focus()

    def _control(self, what: str, value: Any) -> bool:
        row = self._row()
        if row is None:
            return False
        e = self.engine
        if e is not None:
            try:
                {"mute": e.set_mute, "solo": e.set_solo, "gain": e.set_gain}[what](row.stem, value)
            except AudioError:
                self.notify(f"{row.stem} is not in this clone (it was silent when the player opened): "
                            "fetch the audio, then open the player again", severity="warning", markup=False)
                return False
            self._settle()
        self.mix[row.stem][{"mute": 0, "solo": 1, "gain": 2}[what]] = value
        self._tick(force=True)
        return True

    def action_mute(self) -> None:
        row = self._row()
        if row is not None:
            self._control("mute", not self.mix[row.stem][0])

    def action_solo(self) -> None:
        row = self._row()
        if row is not None:
            self._control("solo", not self.mix[row.stem][1])

    def action_gain(self, step: int) -> None:
        row = self._row()
        if row is not None:
            g = max(-60.0, min(12.0, self.mix[row.stem][2] + step * GAIN_STEP_DB))
            self._control("gain", g)

    # ----- notes and the prompt --------------------------------------------------------------
    def action_note(self) -> None:
        side = self._heard()
        version = self.b if side == "b" and self.b is not None else self.a
        row = self._row()
        stem = row.stem if row is not None and self.browse and row.stem in self.browse.present[side] else None
        tc = self.tc(self._pos())
        try:
            from tui.screens.note import NoteDialog  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            self._note_args = (version, tc, stem)
            where = f"{version.ref} at {tc}" + (f" on {stem}" if stem else "")
            self._open_prompt("note", f"note on {where} (Enter writes it, Esc cancels)")
            return
        self.app.push_screen(NoteDialog(self.vault, version, tc, stem),
                             lambda note: self._noted(version, note))

    def action_goto(self) -> None:
        self._open_prompt("goto", "go to a timecode HH:MM:SS:FF or seconds (Enter goes, Esc cancels)")

    def _open_prompt(self, purpose: str, placeholder: str) -> None:
        p = self.query_one("#player-prompt", Input)
        self._prompt_for = purpose
        self._prompt_back = self.focused
        p.value = ""
        p.placeholder = placeholder
        p.border_title = literal(placeholder.split(" (", 1)[0])  # stays while typing; vault text: never markup
        p.display = True
        p.focus()

    def _close_prompt(self) -> None:
        p = self.query_one("#player-prompt", Input)
        p.display = False
        self._prompt_for = None
        back = getattr(self, "_prompt_back", None)
        if back is not None and back.is_attached:
            back.focus()
        else:
            self.action_row(0)

    @on(Input.Submitted, "#player-prompt")
    def _submitted(self, event: Input.Submitted) -> None:
        purpose, text = self._prompt_for, event.value
        if purpose == "goto":
            sr, start, frames = self._frames()
            try:
                pos = parse_position(text, rate=self._rate(), sample_rate=sr, start=start, frames=frames,
                                     what="go to")
            except AudioError as e:
                self.notify(str(e), severity="warning", markup=False)
                return
            self._close_prompt()
            self._seek_to(pos)
        elif purpose == "note":
            version, tc, stem = self._note_args
            self._close_prompt()
            self.write_note(version, tc, text, stem)

    @work(thread=True, exclusive=False, exit_on_error=False, group="player-note")
    def write_note(self, version: Version, tc: str, text: str, stem: str | None) -> None:
        from vcs.review import add_note

        try:
            note = add_note(self.vault, version, tc, text, stem=stem)
        except VaultError as e:
            self.app.call_from_thread(self.notify, f"error: {e}", severity="error", markup=False)
            return
        except Exception as e:  # said, never a traceback
            self.app.call_from_thread(self.notify, f"error: the note was not written: {e}", severity="error",
                                      markup=False)
            return
        self.app.call_from_thread(self._noted, version, note)

    def _noted(self, version: Version, note: Note | None) -> None:
        if note is None or self._gone:
            return
        for side, v in (("a", self.a), ("b", self.b)):
            if v is not None and v.commit == version.commit:
                self.notes[side].append(note)
        self._tick(force=True)

