"""The playback engine: one or two versions of a cue, mixed block by block, driven by commands.

Public surface:
    Engine(a, b=None, *, loudness=(None, None), crossfade_s=0.01)
    commands (any thread): play, pause, toggle, seek, seek_by, set_gain, set_mute, set_solo,
        switch, set_loop, stop_at, set_match, set_preset
    process(n) -> (n, channels) float32     the audio thread (a PortAudio callback, or render)
    status -> Status                         position, mode, meters... (a snapshot, any thread)
    resolve(key) -> stem names               a file name or a role
    stem_matches(key, name, role) -> bool    the rule ``resolve`` applies (for callers that decide
                                             what to open before an engine exists)

Commands go through a queue and take effect at the start of the next block ``process`` makes,
so from any thread a command is heard within one block. Versions A and B share one timeline
(aligned by start timecode) and are mixed in lockstep, every block, so that switching A ↔ B ↔
difference happens at the same sample position with a short equal-power crossfade. Difference
mode plays A − B (without loudness matching: what changed, sample for sample).

The output goes through an audition preset (``audio.playback.presets``: mono, laptop, phone,
small-room, theater; none by default), the last stage of ``process``, so the sound card, a render
and a stream hear the same filter; switching presets crossfades, bypass is bit for bit the mix.

Nothing the listener does clicks: besides the A/B crossfade, a jump in what plays — a seek, a
loop wrapping round, a gain, mute, solo or loudness-match change while playing — is declicked
with the same equal-power crossfade, from what the engine would have played without the change
(rendered ahead, a "ghost") to what it plays now.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from audio.errors import PlaybackError
from audio.playback.presets import PRESETS, PresetStage, design
from audio.playback.source import StemSet

__all__ = ["MODES", "Applied", "Engine", "Mode", "Status", "stem_matches"]

Mode = Literal["a", "b", "diff"]
MODES: tuple[Mode, ...] = ("a", "b", "diff")
# Commands after which the output would jump: crossfaded from what would have played.
_JUMPS = frozenset({"seek", "gain", "mute", "solo", "match", "match off"})


def stem_matches(key: str, name: str, role: str | None) -> bool:
    """Whether ``key`` names the stem ``name``: its file name (with or without extension), the
    part after the cue (``STR`` for ``1M03_STR.wav``), or its role — case-insensitively."""
    k = key.strip().lower()
    base = name.rsplit(".", 1)[0].lower()
    token = base.split("_", 1)[1] if "_" in base else base  # 1M03_STR.wav → str
    return k in (name.lower(), base, token) or bool(role and k == role.lower())


@dataclass(frozen=True)
class Status:
    """What the UI shows: a snapshot taken after each block.

    Attributes:
        position: frames from the start of the timeline (the earliest start of A and B).
        start: the timeline's start in samples since midnight (BWF TimeReference).
        meters: each audible stem's peak (linear, after its gain) in the last block.
    """

    position: int = 0
    playing: bool = False
    ended: bool = False
    mode: Mode = "a"
    loop: tuple[int, int] | None = None
    match: bool = False
    sample_rate: int = 48000
    start: int = 0
    frames: int = 0
    meters: dict[str, float] = field(default_factory=dict)
    preset: str | None = None


@dataclass(frozen=True)
class Applied:
    """A command as the engine applied it: when it was asked for and when it took effect."""

    name: str
    asked_at: int
    applied_at: int


class _Side:
    """One version's stems and their controls."""

    def __init__(self, stems: StemSet, defaults: list[tuple[bool, bool]] | None = None) -> None:
        self.stems = stems
        n = len(stems)
        self.gain_db = np.zeros(n)
        d = defaults or [(False, False)] * n
        self.mute = np.array([m for m, _ in d], dtype=bool)
        self.solo = np.array([s for _, s in d], dtype=bool)
        self.gains = np.ones(n, dtype=np.float32)
        self.update()

    def index(self, names: set[str]) -> np.ndarray:
        return np.array([nm in names for nm in self.stems.names], dtype=bool)

    def update(self) -> None:
        g = 10.0 ** (self.gain_db / 20.0)
        audible = ~self.mute & (self.solo if self.solo.any() else True)
        self.gains = (g * audible).astype(np.float32)


class Engine:
    """Mixes version A (and B) block by block; see the module docstring."""

    def __init__(self, a: StemSet, b: StemSet | None = None, *,
                 defaults: tuple[list[tuple[bool, bool]] | None, list[tuple[bool, bool]] | None] = (None, None),
                 loudness: tuple[float | None, float | None] = (None, None), crossfade_s: float = 0.01) -> None:
        if b is not None and b.sample_rate != a.sample_rate:
            raise PlaybackError(f"A plays at {a.sample_rate} Hz and B at {b.sample_rate} Hz: A/B needs one rate")
        if b is not None and b.channels != a.channels:
            raise PlaybackError(f"A has {a.channels} channels and B {b.channels}: A/B needs one layout")
        if b is not None and a.start != b.start:  # one timeline, from the earlier start
            if a.start < b.start:
                b.shift(b.start - a.start)
            else:
                a.shift(a.start - b.start)
        self.sides = [_Side(a, defaults[0])] + ([_Side(b, defaults[1])] if b is not None else [])
        self.sample_rate = a.sample_rate
        self.channels = a.channels
        self.start = a.start
        self.frames = max(s.stems.frames for s in self.sides)
        self.loudness = loudness
        self.xfade_len = max(1, round(crossfade_s * self.sample_rate))
        self._queue: queue.SimpleQueue[tuple[str, Callable[[], None], int]] = queue.SimpleQueue()
        self._pos = 0
        self._playing = False
        self._ended = False
        self._mode: Mode = "a"
        self._from: Mode = "a"
        self._xfade_left = 0  # samples of crossfade still to play
        self._ghost: np.ndarray | None = None  # what would have played, faded out after a jump
        self._ghost_at = 0
        self._loop: tuple[int, int] | None = None
        self._stop: int | None = None  # end here instead of at the cue's end
        self._match = False
        self._match_gain = 1.0
        self.applied: list[Applied] = []  # for tests, benchmarks and the UI's log
        self._lock = threading.Lock()
        self._status = Status(sample_rate=self.sample_rate, start=self.start, frames=self.frames)
        self._scratch: dict[int, list[np.ndarray]] = {}
        self._preset = PresetStage(self.sample_rate, self.channels)

    # ----- commands (any thread) -------------------------------------------------------------
    def _ask(self, name: str, fn: Callable[[], None]) -> None:
        self._queue.put((name, fn, self._pos))

    def play(self) -> None:
        def go() -> None:
            self._playing = True
            self._ended = False
        self._ask("play", go)

    def pause(self) -> None:
        self._ask("pause", lambda: setattr(self, "_playing", False))

    def toggle(self) -> None:
        self._ask("toggle", lambda: setattr(self, "_playing", not self._playing))

    def seek(self, frames: int) -> None:
        """Go to ``frames`` from the timeline start (clamped to the cue)."""
        target = max(0, min(int(frames), self.frames))

        def go() -> None:
            self._pos = target
            self._ended = False
        self._ask("seek", go)

    def seek_by(self, frames: int) -> None:
        def go() -> None:
            self._pos = max(0, min(self._pos + int(frames), self.frames))
            self._ended = False
        self._ask("seek", go)

    def resolve(self, key: str) -> set[str]:
        """The stem names ``key`` names: a file name (with or without extension), the part of the
        name after the cue (``STR`` for ``1M03_STR.wav``), or a role (``strings``).

        Raises:
            PlaybackError: when no stem of A (or B) matches.
        """
        out: set[str] = set()
        for s in self.sides:
            for name, role in zip(s.stems.names, s.stems.roles, strict=True):
                if stem_matches(key, name, role):
                    out.add(name)
        if not out:
            known = sorted({n for s in self.sides for n in s.stems.names})
            raise PlaybackError(f"no stem named {key!r} (stems: {', '.join(known)}; or a role)")
        return out

    def _control(self, name: str, key: str, fn: Callable[[_Side, np.ndarray], None]) -> None:
        names = self.resolve(key)

        def go() -> None:
            for s in self.sides:
                fn(s, s.index(names))
                s.update()
        self._ask(name, go)

    def set_gain(self, key: str, db: float) -> None:
        if not math.isfinite(db):
            raise PlaybackError(f"gain {db} dB for {key} is not a number")
        self._control("gain", key, lambda s, i: s.gain_db.__setitem__(i, db))

    def set_mute(self, key: str, on: bool = True) -> None:
        self._control("mute", key, lambda s, i: s.mute.__setitem__(i, on))

    def set_solo(self, key: str, on: bool = True) -> None:
        self._control("solo", key, lambda s, i: s.solo.__setitem__(i, on))

    def switch(self, mode: Mode) -> None:
        """Play A, B or the difference A − B, from the next block, through a short crossfade."""
        if mode not in MODES:
            raise PlaybackError(f"unknown mode {mode!r}: use a, b or diff")
        if mode != "a" and len(self.sides) < 2:
            raise PlaybackError(f"{'B' if mode == 'b' else 'the difference'} needs a second version (--vs)")

        def go() -> None:
            if mode == self._mode:
                return
            self._from = self._mode if self._xfade_left == 0 else self._from
            self._mode = mode
            self._xfade_left = self.xfade_len
        self._ask(f"switch {mode}", go)

    def set_loop(self, start: int | None, end: int | None = None) -> None:
        """Loop frames ``[start, end)``; ``None`` stops looping."""
        if start is None:
            self._ask("loop off", lambda: setattr(self, "_loop", None))
            return
        e = self.frames if end is None else int(end)
        if not 0 <= start < e <= self.frames:
            raise PlaybackError(f"loop {start}–{e} is not inside the cue (0–{self.frames} frames)")
        self._ask("loop", lambda: setattr(self, "_loop", (int(start), e)))

    def stop_at(self, frame: int | None) -> None:
        """End playback at timeline ``frame`` (``None``: at the cue's end)."""
        self._ask("stop at", lambda: setattr(self, "_stop", None if frame is None else int(frame)))

    def match_gain_db(self) -> float:
        """The gain that brings B to A's integrated loudness.

        Raises:
            PlaybackError: without B, or when a version's loudness is unknown.
        """
        la, lb = self.loudness
        if len(self.sides) < 2:
            raise PlaybackError("loudness matching needs a second version (--vs)")
        if la is None or lb is None:
            which = " and ".join(w for w, x in (("A", la), ("B", lb)) if x is None)
            raise PlaybackError(f"loudness matching needs the integrated loudness of both mixes; "
                                f"it is unknown for {which} (a version without a mix file)")
        return la - lb

    def set_match(self, on: bool) -> None:
        g = 10.0 ** (self.match_gain_db() / 20.0) if on else 1.0

        def go() -> None:
            self._match = on
            self._match_gain = g
        self._ask("match" if on else "match off", go)

    def set_preset(self, name: str | None) -> None:
        """Hear the output through audition preset ``name`` (``None``: bypass), from the next
        block, crossfaded. The filter is designed here, in the caller's thread.

        Raises:
            PlaybackError: for a name that is not a preset.
        """
        if name is not None and name not in PRESETS:
            raise PlaybackError(f"unknown preset {name!r}: use one of {', '.join(PRESETS)} (or none)")
        filt = None if name is None else design(name, self.sample_rate, self.channels)
        if filt is not None:
            filt.run(np.zeros((self.channels, 1)))  # loads the filter kernel here, not in the audio thread
        self._ask("preset" if name else "preset off", lambda: self._preset.set(name, filt=filt))

    def settle(self) -> None:
        """Apply the commands given so far, at once and without crossfade (before playing, or
        where no audio device runs ``process``); ``status`` then shows them (meters silent)."""
        with self._lock:
            self._drain(declick=False)
            self._xfade_left = 0
            self._from = self._mode
            self._ghost = None
            self._preset.settle()
            self._status = Status(position=self._pos, playing=self._playing, ended=self._ended,
                                  mode=self._mode, loop=self._loop, match=self._match,
                                  sample_rate=self.sample_rate, start=self.start, frames=self.frames,
                                  preset=self._preset.name)

    # ----- the audio thread ------------------------------------------------------------------
    @property
    def status(self) -> Status:
        return self._status

    @property
    def position(self) -> int:
        return self._pos

    def _drain(self, *, declick: bool = True) -> None:
        ghosted = False
        while True:
            try:
                name, fn, asked = self._queue.get_nowait()
            except queue.Empty:
                return
            if declick and not ghosted and self._playing and name in _JUMPS:
                self._capture_ghost()
                ghosted = True
            fn()
            self.applied.append(Applied(name, asked, self._pos))

    def _capture_ghost(self) -> None:
        """Render (without moving) the next crossfade's worth of what plays now."""
        k = self.xfade_len
        ba = np.zeros((k, self.channels), dtype=np.float32)
        side_a = self.sides[0]
        side_a.stems.mix(self._pos, k, side_a.gains, ba)
        bb: np.ndarray | None = None
        if len(self.sides) > 1:
            bb = np.zeros_like(ba)
            self.sides[1].stems.mix(self._pos, k, self.sides[1].gains, bb)
        ghost = np.empty_like(ba)
        self._signal(self._mode, ba, bb, ghost)
        self._ghost, self._ghost_at = ghost, 0

    def _bufs(self, n: int) -> list[np.ndarray]:
        b = self._scratch.get(n)
        if b is None:
            b = [np.zeros((n, self.channels), dtype=np.float32) for _ in range(3)]
            self._scratch[n] = b
        return b

    def _signal(self, mode: Mode, a: np.ndarray, b: np.ndarray | None, out: np.ndarray) -> None:
        if mode == "a" or b is None:
            out[:] = a
        elif mode == "b":
            np.multiply(b, np.float32(self._match_gain), out=out)
        else:
            np.subtract(a, b, out=out)

    def process(self, n: int) -> np.ndarray:
        """The next ``n`` frames of output (silence when paused or past the end)."""
        with self._lock:
            self._drain()
            out = np.zeros((n, self.channels), dtype=np.float32)
            meters: dict[str, float] = {}
            done = 0
            while self._playing and done < n:
                end = self._loop[1] if self._loop else (self._stop or self.frames)
                if self._pos >= end:
                    if self._loop:
                        self._capture_ghost()  # what follows the loop's end, faded out
                        self._pos = self._loop[0]
                        continue
                    self._playing = False
                    self._ended = True
                    break
                m = min(n - done, end - self._pos)
                self._segment(out[done:done + m], meters)
                self._pos += m
                done += m
            self._status = Status(position=self._pos, playing=self._playing, ended=self._ended,
                                  mode=self._mode, loop=self._loop, match=self._match,
                                  sample_rate=self.sample_rate, start=self.start, frames=self.frames,
                                  meters=meters, preset=self._preset.name)
            return self._preset.process(out)

    def _segment(self, out: np.ndarray, meters: dict[str, float]) -> None:
        m = len(out)
        ba, bb, tmp = self._bufs(m)
        side_a = self.sides[0]
        pa = side_a.stems.mix(self._pos, m, side_a.gains, ba)
        b: np.ndarray | None = None
        pb = None
        if len(self.sides) > 1:
            side_b = self.sides[1]
            pb = side_b.stems.mix(self._pos, m, side_b.gains, bb)
            b = bb
        shown = (side_a, pa) if self._mode != "b" or pb is None else (self.sides[1], pb)
        levels = (shown[1] * np.abs(shown[0].gains)).tolist()
        if meters:  # a second segment in one block (a loop wrapped): keep the larger peak
            levels = [max(x, meters.get(nm, 0.0)) for nm, x in zip(shown[0].stems.names, levels, strict=True)]
        meters.update(zip(shown[0].stems.names, levels, strict=True))
        self._signal(self._mode, ba, b, out)
        if self._xfade_left:
            k = min(m, self._xfade_left)
            done = self.xfade_len - self._xfade_left
            t = (np.arange(done, done + k, dtype=np.float64) + 0.5) / self.xfade_len * (math.pi / 2)
            self._signal(self._from, ba[:k], None if b is None else b[:k], tmp[:k])
            out[:k] = (out[:k] * np.sin(t)[:, None] + tmp[:k] * np.cos(t)[:, None]).astype(np.float32)
            self._xfade_left -= k
        if self._ghost is not None:
            g0 = self._ghost_at
            k = min(m, len(self._ghost) - g0)
            t = (np.arange(g0, g0 + k, dtype=np.float64) + 0.5) / len(self._ghost) * (math.pi / 2)
            out[:k] = (out[:k] * np.sin(t)[:, None] + self._ghost[g0:g0 + k] * np.cos(t)[:, None]
                       ).astype(np.float32)
            self._ghost_at += k
            if self._ghost_at >= len(self._ghost):
                self._ghost = None

    def close(self) -> None:
        for s in self.sides:
            s.stems.close()
