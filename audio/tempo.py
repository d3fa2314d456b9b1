"""A cue's tempo map (a standard MIDI file from the DAW): seconds ↔ bar|beat.

Public surface:
    TempoMap.from_midi(data) -> TempoMap      (raises BadTempoMap, one line, never a traceback)
    TempoMap.seconds_of(position) -> Fraction  seconds after the map's time zero
    TempoMap.position_at(seconds) -> BarBeat   the bar|beat|ticks of an instant
    TempoMap.position_of_span(a, b) -> BarBeat | None   the bar|beat a span of time (a frame) names
    BarBeat, parse_bar_beat(text) -> BarBeat   ``17|3``, ``17|3|240``, ``17.3``, ``17.3.240``

This module knows MIDI and seconds only: where the map's time zero lies on the film's timecode
is the vault's business (``vcs.review``: the cue's start timecode) — unless the file carries an
SMPTE offset other than 00:00:00:00 (``TempoMap.zero_seconds``): the map's zero is then that
timecode, as the DAW session that wrote it placed bar 1 there.

How positions are counted, as DAWs count them: bars from 1, beats from 1, a beat being the
meter's note value (a quarter in 4/4, an eighth in 6/8); ticks are 960 to a quarter note
(Pro Tools' count), so an eighth-note beat has 480. Tempo (``set_tempo``) and meter
(``time_signature``) changes from every track are honoured; a meter change starts a new bar
(a partial bar before it still counts as a bar). A file with no tempo or meter event is read
as MIDI specifies: 120 bpm, 4/4 from the start. Arithmetic is exact (fractions), so a beat
converted to seconds and back is the same beat.
"""

from __future__ import annotations

import bisect
import io
import math
import re
from dataclasses import dataclass
from fractions import Fraction

from audio.errors import AudioError, BadTempoMap  # BadTempoMap re-exported: its home is errors
from audio.timecode import parse_frame_rate, parse_timecode

__all__ = ["DISPLAY_TICKS_PER_QUARTER", "BadTempoMap", "BarBeat", "TempoMap", "parse_bar_beat"]

DISPLAY_TICKS_PER_QUARTER = 960
_DEFAULT_TEMPO = 500_000  # µs per quarter note: 120 bpm (the MIDI default)


@dataclass(frozen=True, order=True)
class BarBeat:
    """A musical position: ``bar`` and ``beat`` from 1, ``ticks`` (960 to a quarter) into the beat."""

    bar: int
    beat: int
    ticks: int = 0

    def __str__(self) -> str:
        return f"{self.bar}|{self.beat}" if self.ticks == 0 else f"{self.bar}|{self.beat}|{self.ticks:03d}"


_BAR_BEAT = re.compile(r"^(\d{1,5})([|.])(\d{1,3})(?:\2(\d{1,5}))?$")


def parse_bar_beat(text: str) -> BarBeat:
    """``17|3`` (bar 17, beat 3), ``17|3|240`` (and 240 ticks), or the same with dots (``17.3``).

    Raises:
        BadTempoMap: when the text is not such a position.
    """
    m = _BAR_BEAT.match(text.strip()) if isinstance(text, str) else None
    if not m or int(m.group(1)) < 1 or int(m.group(3)) < 1:
        raise BadTempoMap(f"position {text!r} does not parse: write BAR|BEAT (17|3, quoted in a shell), "
                          "BAR|BEAT|TICKS (17|3|240) or BAR.BEAT (17.3); bars and beats count from 1")
    return BarBeat(int(m.group(1)), int(m.group(3)), int(m.group(4) or 0))


@dataclass(frozen=True)
class _Meter:
    tick: int  # where it starts, in the file's ticks
    bar: int  # the number of the bar it starts
    num: int
    den: int


class TempoMap:
    """Tempo and meter changes of a MIDI file, in its ticks (``ppq`` to a quarter note)."""

    def __init__(self, ppq: int, tempos: list[tuple[int, int]], meters: list[tuple[int, int, int]],
                 zero_seconds: Fraction | None = None) -> None:
        """``tempos``: (tick, µs per quarter); ``meters``: (tick, numerator, denominator);
        ``zero_seconds``: the instant (seconds since midnight) of the map's time zero, from the
        file's SMPTE offset, or None when it has none (or 00:00:00:00): the cue's start then."""
        self.ppq = ppq
        self.zero_seconds = zero_seconds
        by_tick: dict[int, int] = {0: _DEFAULT_TEMPO}
        for tick, us in sorted(tempos, key=lambda t: t[0]):  # stable: the last event at a tick wins
            by_tick[tick] = us
        self._tempo_ticks = sorted(by_tick)
        self._tempo_us = [by_tick[t] for t in self._tempo_ticks]
        self._tempo_secs: list[Fraction] = [Fraction(0)]
        for i in range(1, len(self._tempo_ticks)):
            span = self._tempo_ticks[i] - self._tempo_ticks[i - 1]
            self._tempo_secs.append(self._tempo_secs[-1] + Fraction(span * self._tempo_us[i - 1], ppq * 1_000_000))
        sig: dict[int, tuple[int, int]] = {0: (4, 4)}
        for tick, num, den in sorted(meters, key=lambda m: m[0]):
            sig[tick] = (num, den)
        self._meters: list[_Meter] = []
        for tick in sorted(sig):
            num, den = sig[tick]
            if self._meters:
                prev = self._meters[-1]
                bar = prev.bar + math.ceil(Fraction(tick - prev.tick) / self._bar_len(prev))
            else:
                bar = 1
            self._meters.append(_Meter(tick, bar, num, den))
        self._meter_ticks = [m.tick for m in self._meters]

    @classmethod
    def from_midi(cls, data: bytes) -> TempoMap:
        """Read a standard MIDI file's tempo and meter events.

        Raises:
            BadTempoMap: empty, truncated or not a MIDI file; SMPTE time division; a zero tempo or
                an impossible meter.
        """
        import mido

        if not data:
            raise BadTempoMap("the tempo map is empty (0 bytes): export it again from the DAW")
        try:
            # mido raises EOFError, OSError, ValueError, KeyError, IndexError... on broken files;
            # every one of them means "not a MIDI file we can read" here.
            mid = mido.MidiFile(file=io.BytesIO(data))
            tracks = [list(t) for t in mid.tracks]
        except Exception as e:  # see above: every failure of the parser is one case for us
            detail = str(e).strip() or type(e).__name__
            raise BadTempoMap(f"the tempo map is not a readable MIDI file ({detail}): export it again "
                              "from the DAW") from None
        ppq = mid.ticks_per_beat
        if not isinstance(ppq, int) or ppq <= 0 or ppq >= 0x8000:
            raise BadTempoMap("the tempo map counts SMPTE frames, not beats: export it with "
                              "ticks per quarter note")
        tempos: list[tuple[int, int]] = []
        meters: list[tuple[int, int, int]] = []
        zero: Fraction | None = None
        for track in tracks:
            tick = 0
            for msg in track:
                tick += msg.time
                if msg.type == "smpte_offset" and zero is None:
                    zero = _smpte_seconds(msg)
                elif msg.type == "set_tempo":
                    if msg.tempo <= 0:
                        raise BadTempoMap(f"the tempo map has a tempo of 0 at tick {tick}: export it again")
                    tempos.append((tick, msg.tempo))
                elif msg.type == "time_signature":
                    if msg.numerator < 1 or msg.denominator < 1:
                        raise BadTempoMap(f"the tempo map has a meter of {msg.numerator}/{msg.denominator} "
                                          f"at tick {tick}: export it again")
                    meters.append((tick, msg.numerator, msg.denominator))
        return cls(ppq, tempos, meters, zero or None)

    # ----- ticks <-> seconds ---------------------------------------------------------------------
    def _seconds_at_tick(self, tick: Fraction) -> Fraction:
        i = max(bisect.bisect_right(self._tempo_ticks, tick) - 1, 0)
        return self._tempo_secs[i] + (tick - self._tempo_ticks[i]) * Fraction(self._tempo_us[i], self.ppq * 1_000_000)

    def _tick_at_seconds(self, seconds: Fraction) -> Fraction:
        i = max(bisect.bisect_right(self._tempo_secs, seconds) - 1, 0)
        return self._tempo_ticks[i] + (seconds - self._tempo_secs[i]) * Fraction(self.ppq * 1_000_000, self._tempo_us[i])

    # ----- ticks <-> bar|beat --------------------------------------------------------------------
    def _bar_len(self, m: _Meter) -> Fraction:
        return Fraction(m.num * self.ppq * 4, m.den)

    def _beat_len(self, m: _Meter) -> Fraction:
        return Fraction(self.ppq * 4, m.den)

    def _position_of_tick(self, tick: Fraction) -> tuple[BarBeat, Fraction, Fraction]:
        """The position of ``tick`` (≥ 0) to the nearest display tick, the tick its beat started,
        and where the next beat starts.

        Nearest, not floor: a MIDI tempo is whole microseconds (90 bpm is 666667 µs a beat), so
        a beat converted to a time and back can land a hair before itself; it must still read
        as that beat, not as 959 ticks into the one before.
        """
        tick = Fraction(round(tick * DISPLAY_TICKS_PER_QUARTER / self.ppq) * self.ppq, DISPLAY_TICKS_PER_QUARTER)
        i = bisect.bisect_right(self._meter_ticks, tick) - 1
        m = self._meters[i]
        off = tick - m.tick
        bars = math.floor(off / self._bar_len(m))
        within = off - bars * self._bar_len(m)
        beat = math.floor(within / self._beat_len(m))
        rem = within - beat * self._beat_len(m)
        start = tick - rem
        nxt = start + self._beat_len(m)
        if i + 1 < len(self._meters):
            nxt = min(nxt, Fraction(self._meters[i + 1].tick))  # a meter change starts a new bar
        ticks = round(rem * DISPLAY_TICKS_PER_QUARTER / self.ppq)
        return BarBeat(m.bar + bars, beat + 1, ticks), start, nxt

    def _tick_of(self, pos: BarBeat) -> Fraction:
        i = max(j for j, m in enumerate(self._meters) if m.bar <= pos.bar)
        m = self._meters[i]
        if pos.beat > m.num:
            raise BadTempoMap(f"bar {pos.bar} has {m.num} beats ({m.num}/{m.den}): there is no beat {pos.beat}")
        per_beat = DISPLAY_TICKS_PER_QUARTER * 4 // m.den
        if pos.ticks >= per_beat:
            raise BadTempoMap(f"a beat in {m.num}/{m.den} has {per_beat} ticks (0–{per_beat - 1}): "
                              f"{pos.ticks} is too many")
        tick = (m.tick + (pos.bar - m.bar) * self._bar_len(m) + (pos.beat - 1) * self._beat_len(m)
                + Fraction(pos.ticks * self.ppq, DISPLAY_TICKS_PER_QUARTER))
        if i + 1 < len(self._meters) and tick >= self._meters[i + 1].tick:
            raise BadTempoMap(f"bar {pos.bar} ends before beat {pos.beat} (the meter changes to "
                              f"{self._meters[i + 1].num}/{self._meters[i + 1].den} at bar {self._meters[i + 1].bar})")
        return tick

    # ----- public --------------------------------------------------------------------------------
    def seconds_of(self, pos: BarBeat) -> Fraction:
        """Seconds after the map's time zero where ``pos`` starts.

        Raises:
            BadTempoMap: a beat (or ticks) the bar's meter does not have.
        """
        return self._seconds_at_tick(self._tick_of(pos))

    def position_at(self, seconds: Fraction | float) -> BarBeat:
        """The bar|beat|ticks of the instant ``seconds`` (≥ 0) after the map's time zero (to the nearest tick)."""
        return self._position_of_tick(self._tick_at_seconds(Fraction(seconds)))[0]

    def position_of_span(self, a: Fraction | float, b: Fraction | float) -> BarBeat | None:
        """The position a span of time [a, b) names, such as one frame of timecode.

        A beat that starts inside the span is that beat (a note at the frame that holds beat
        17|3 shows ``17|3``, however the frame and the beat line up); otherwise the position of
        the span's start. None when the span ends before time zero.
        """
        a, b = Fraction(a), Fraction(b)
        if b <= 0:
            return None
        if a <= 0:
            return BarBeat(1, 1)
        pos, _, nxt = self._position_of_tick(self._tick_at_seconds(a))
        if pos.ticks == 0:
            return pos
        if self._seconds_at_tick(nxt) < b:
            return self._position_of_tick(nxt)[0]
        return pos


# A MIDI file's SMPTE offset names its rate by one of four codes; 29.97 is drop-frame 30.
_SMPTE_RATES = {24: "24", 25: "25", 29.97: "29.97df", 30: "30"}


def _smpte_seconds(msg: object) -> Fraction:
    """Seconds since midnight of an ``smpte_offset`` meta message (frames and 1/100 subframes
    at the rate it names)."""
    fps = getattr(msg, "frame_rate", 24)
    rate = parse_frame_rate(_SMPTE_RATES.get(fps, "24"))
    h, m, s, f = (int(getattr(msg, k, 0)) for k in ("hours", "minutes", "seconds", "frames"))
    sep = ";" if rate.drop else ":"
    try:
        t = parse_timecode(f"{h:02d}:{m:02d}:{s:02d}{sep}{f:02d}", rate)
    except AudioError as e:
        raise BadTempoMap(f"the tempo map's SMPTE offset {h:02d}:{m:02d}:{s:02d}:{f:02d} is not a "
                          f"timecode at {fps} fps ({e}): export it again") from None
    return (t.frames + Fraction(int(getattr(msg, "sub_frames", 0)), 100)) / rate.rate
