"""What to play: the public data (``Part``, ``Edit``, ``Arrangement``), keys and chord
progressions, the fixed levels, validation, and the plan a render follows (bars, sections,
chords, voice leading, per-part random streams)."""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

ROLES: tuple[str, ...] = ("pad", "bass", "drums", "melody", "strings", "brass", "choir", "fx")

DEFAULT_ABBREVIATIONS: dict[str, str] = {
    "pad": "PAD",
    "bass": "BASS",
    "drums": "DRM",
    "melody": "MEL",
    "strings": "STR",
    "brass": "BRS",
    "choir": "CHOIR",
    "fx": "FX",
}

#: No stem and no mix rendered by ``render`` peaks above this level.
HEADROOM_DBFS = -1.0

_MIX_ABBREVIATION = "MIX"
_RAMP_S = 0.010

# Fixed levels (dB). They balance the roles against each other and leave headroom for edits;
# they never depend on the rendered audio, so a level edit stays a level change.
_MASTER_DB = -18.0
_ROLE_DB = {
    "pad": -3.0,
    "bass": -4.0,
    "drums": 0.0,
    "melody": -1.0,
    "strings": -3.0,
    "brass": -4.0,
    "choir": -6.0,
    "fx": -3.0,
}
# Reverb send per role: lows stay dry (mud), sustained parts get the most room.
_WET = {
    "pad": 0.55,
    "bass": 0.12,
    "drums": 0.22,
    "melody": 0.45,
    "strings": 0.5,
    "brass": 0.35,
    "choir": 0.6,
    "fx": 0.6,
}

_MODES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "ionian": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "aeolian": (0, 2, 3, 5, 7, 8, 10),
    "natural minor": (0, 2, 3, 5, 7, 8, 10),
    "harmonic minor": (0, 2, 3, 5, 7, 8, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
}
_MODE_ALIASES = {"maj": "major", "min": "minor", "m": "minor", "harmonic": "harmonic minor"}
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {"": 0, "#": 1, "♯": 1, "b": -1, "♭": -1}

# Chord roots as scale degrees, one chord per bar, cycled; the last bar is always the tonic.
_PROGRESSIONS_MINOR = ((0, 5, 2, 6), (0, 3, 5, 4), (0, 5, 3, 6), (0, 6, 5, 6))
_PROGRESSIONS_MAJOR = ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 0, 4), (0, 3, 4, 4))

_CUE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_ABBR_RE = re.compile(r"[A-Za-z0-9]+")
_F32 = np.float32


# --- public data ----------------------------------------------------------------------------


@dataclass
class Part:
    """One stem of the cue.

    Attributes:
        role: One of ``ROLES``: pad, bass, drums, melody, strings, brass, choir, fx.
        gain_db: Level of the whole stem relative to its default balance.
        seed_offset: Changes this part's notes/pattern only (a "rewrite" of the whole part).
    """

    role: str
    gain_db: float = 0.0
    seed_offset: int = 0


@dataclass
class Edit:
    """A change between versions, confined to ``[start_s, end_s]`` (see the module docstring).

    Attributes:
        role: The part it changes.
        start_s: Start of the span, seconds from the start of the file.
        end_s: End of the span; may reach into the tail.
        gain_db: Level change inside the span, with 10 ms ramps inside its edges.
        rewrite: Different notes inside the span: the part rendered with another seed,
            crossfaded in at the edges.
    """

    role: str
    start_s: float
    end_s: float
    gain_db: float = 0.0
    rewrite: bool = False


def _default_parts() -> list[Part]:
    return [Part(role) for role in ("pad", "bass", "drums", "melody", "strings", "fx")]


@dataclass
class Arrangement:
    """Everything that decides the audio of one version of a cue.

    Attributes:
        cue: The cue number, e.g. ``1M03``; used in file names.
        seconds: Length of the music; the files are ``seconds + tail_s`` long.
        tempo_bpm: Quarter notes per minute; bars are 4/4.
        key: ``"<tonic> <mode>"``, e.g. ``"D minor"``, ``"F# dorian"``, ``"Bb major"``; see
            ``parse_key``.
        parts: The stems, at most one per role.
        edits: Changes confined to time spans.
        tail_s: Room after the music for the reverb to decay. The reverb needs about 2.7 s;
            a shorter tail cuts it off (a defect the checks should find).
        seed: Chooses the progression and, with each part's role and ``seed_offset``, the notes.
        shift_samples: role -> samples to delay that stem by (negative: advance).
    """

    cue: str
    seconds: float = 40.0
    tempo_bpm: float = 96.0
    key: str = "D minor"
    parts: list[Part] = field(default_factory=_default_parts)
    edits: list[Edit] = field(default_factory=list)
    tail_s: float = 4.0
    seed: int = 0
    shift_samples: dict[str, int] = field(default_factory=dict)


def parse_key(key: str) -> tuple[int, tuple[int, ...]]:
    """Parse a key name.

    Args:
        key: A tonic (``C``, ``F#``, ``Bb``, ``E♭``...) and a mode: major/ionian,
            minor/aeolian/natural minor, harmonic minor, dorian, phrygian, lydian,
            mixolydian (``maj``, ``min``, ``m`` accepted).

    Returns:
        The tonic's pitch class (C = 0) and the mode's seven intervals in semitones.

    Raises:
        ValueError: The key does not parse.
    """
    match = re.fullmatch(r"\s*([A-Ga-g])([#b♯♭]?)\s*([A-Za-z][A-Za-z ]*?)\s*", str(key))
    if match is None:
        raise ValueError(f"key {key!r} is not '<tonic> <mode>', e.g. 'D minor' or 'F# dorian'")
    letter, accidental, mode = match.groups()
    mode = re.sub(r"\s+", " ", mode.lower())
    mode = _MODE_ALIASES.get(mode, mode)
    if mode not in _MODES:
        known = ", ".join(sorted(set(_MODES) | set(_MODE_ALIASES)))
        raise ValueError(f"unknown mode {mode!r} in key {key!r}; use one of: {known}")
    tonic = (_LETTERS[letter.upper()] + _ACCIDENTALS[accidental]) % 12
    return tonic, _MODES[mode]


def chord_roots(arr: Arrangement) -> list[int]:
    """Return the pitch class (C = 0) of the chord root of every bar of ``arr``.

    Args:
        arr: The arrangement; only its key, tempo, length and seed matter.

    Returns:
        One pitch class per bar; the last is the tonic.
    """
    plan = _make_plan(arr, 48000)
    return [(plan.tonic + plan.scale[r % 7]) % 12 for r in plan.roots]

# --- validation and plan --------------------------------------------------------------------


def _finite(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise ValueError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not (math.isfinite(number) and low <= number <= high):
        raise ValueError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
    return number


def _integer(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return int(value)


def _validate(arr: Arrangement, sample_rate: int) -> None:
    if not isinstance(arr, Arrangement):
        raise ValueError(f"expected an Arrangement, got {type(arr).__name__}")
    if not isinstance(arr.cue, str) or not _CUE_RE.fullmatch(arr.cue):
        raise ValueError(
            f"cue {arr.cue!r} must be letters, digits, '_', '.' or '-' (e.g. 1M03, 4M01-02)"
        )
    rate = _integer("sample_rate", sample_rate)
    if not 22050 <= rate <= 192000:
        raise ValueError(f"sample_rate must be 22050 to 192000 Hz, got {rate}")
    _finite("seconds", arr.seconds, 0.5, 3600.0)
    _finite("tempo_bpm", arr.tempo_bpm, 30.0, 300.0)
    _finite("tail_s", arr.tail_s, 0.0, 60.0)
    _integer("seed", arr.seed)
    parse_key(arr.key)
    if not arr.parts:
        raise ValueError("an arrangement needs at least one part")
    roles: list[str] = []
    for part in arr.parts:
        if not isinstance(part, Part):
            raise ValueError(f"parts must be Part objects, got {part!r}")
        if part.role not in ROLES:
            raise ValueError(f"unknown role {part.role!r}; use one of {', '.join(ROLES)}")
        if part.role in roles:
            raise ValueError(f"role {part.role!r} appears twice; one part per role")
        roles.append(part.role)
        _finite(f"{part.role} gain_db", part.gain_db, -120.0, 24.0)
        _integer(f"{part.role} seed_offset", part.seed_offset)
    total = arr.seconds + arr.tail_s
    for edit in arr.edits:
        if not isinstance(edit, Edit):
            raise ValueError(f"edits must be Edit objects, got {edit!r}")
        if edit.role not in roles:
            raise ValueError(f"edit for {edit.role!r}, which is not a part of this arrangement")
        start = _finite("edit start_s", edit.start_s, 0.0, total)
        _finite("edit end_s", edit.end_s, 0.0, total)
        if not edit.end_s > start:
            raise ValueError(f"edit span {edit.start_s}-{edit.end_s} s is empty")
        _finite("edit gain_db", edit.gain_db, -120.0, 24.0)
    n_total = round(total * rate)
    for role, shift in arr.shift_samples.items():
        if role not in roles:
            raise ValueError(f"shift for {role!r}, which is not a part of this arrangement")
        if abs(_integer(f"shift_samples[{role!r}]", shift)) >= n_total:
            raise ValueError(f"shift of {shift} samples is longer than the stem ({n_total})")


@dataclass(frozen=True)
class _Plan:
    sr: int
    beat: float  # seconds per quarter note
    bar: float
    seconds: float
    n_music: int  # dry sound ends here
    n_total: int
    tonic: int
    scale: tuple[int, ...]
    roots: tuple[int, ...]  # scale degree of each bar's chord root
    sections: tuple[str, ...]  # "intro", "build", "peak", "end" per bar

    @property
    def n_bars(self) -> int:
        return len(self.roots)

    def bar_start(self, bar: int) -> float:
        return bar * self.bar

    def pitch(self, degree: int, base: int) -> int:
        """MIDI note of scale ``degree`` (0 = tonic, may exceed 6) above MIDI ``base``."""
        return base + self.tonic + 12 * (degree // 7) + self.scale[degree % 7]

    def chord(self, bar: int) -> tuple[int, int, int]:
        root = self.roots[bar]
        return (root, root + 2, root + 4)


def _make_plan(arr: Arrangement, sr: int) -> _Plan:
    tonic, scale = parse_key(arr.key)
    rng = np.random.default_rng(_part_seed(arr.seed, "plan", 0))
    family = _PROGRESSIONS_MINOR if scale[2] == 3 else _PROGRESSIONS_MAJOR
    progression = family[int(rng.integers(len(family)))]
    beat = 60.0 / arr.tempo_bpm
    bar = 4 * beat
    n_bars = max(1, math.ceil(arr.seconds / bar - 1e-9))
    roots = [progression[b % len(progression)] for b in range(n_bars)]
    roots[-1] = 0  # every cue resolves on the tonic
    return _Plan(
        sr=sr,
        beat=beat,
        bar=bar,
        seconds=float(arr.seconds),
        n_music=round(arr.seconds * sr),
        n_total=round((arr.seconds + arr.tail_s) * sr),
        tonic=tonic,
        scale=scale,
        roots=tuple(roots),
        sections=_sections(n_bars),
    )


def _sections(n_bars: int) -> tuple[str, ...]:
    if n_bars == 1:
        return ("end",)
    if n_bars == 2:
        return ("peak", "end")
    if n_bars < 6:
        builds = (n_bars - 1) // 2
        return ("build",) * builds + ("peak",) * (n_bars - 1 - builds) + ("end",)
    intro = max(1, n_bars // 8)
    peak = min(max(intro + 2, round(n_bars * 0.5)), n_bars - 2)
    return (
        ("intro",) * intro
        + ("build",) * (peak - intro)
        + ("peak",) * (n_bars - 1 - peak)
        + ("end",)
    )


def _part_seed(*keys: str | int) -> np.random.SeedSequence:
    entropy = []
    for key in keys:
        if isinstance(key, str):
            entropy.append(zlib.crc32(key.encode()))  # stable, unlike hash(str)
        else:
            entropy.append(int(key) & 0xFFFFFFFFFFFFFFFF)  # SeedSequence wants non-negative
    return np.random.SeedSequence(entropy)

def _above(pitch_class: int, floor: int) -> int:
    """The lowest MIDI note of ``pitch_class`` above ``floor``."""
    return floor + 1 + (pitch_class - floor - 1) % 12


def _fold(midi: int, low: int, high: int) -> int:
    """``midi`` moved by octaves into [low, high)."""
    while midi >= high:
        midi -= 12
    while midi < low:
        midi += 12
    return midi


def _runs(sections: Sequence[str]) -> list[tuple[str, int, int]]:
    """Consecutive bars of one section: (section, first bar, bar after the last)."""
    runs: list[tuple[str, int, int]] = []
    for b, section in enumerate(sections):
        if runs and runs[-1][0] == section:
            runs[-1] = (section, runs[-1][1], b + 1)
        else:
            runs.append((section, b, b + 1))
    return runs


def _voice_lead(plan: _Plan, bar: int, low: int, high: int, prev: list[int] | None) -> list[int]:
    """The triad of ``bar`` voiced inside MIDI [low, high), nearest to the previous voicing."""
    pcs = [(plan.tonic + plan.scale[d % 7]) % 12 for d in plan.chord(bar)]
    best: list[int] = []
    best_cost = math.inf
    for inversion in range(3):
        order = pcs[inversion:] + pcs[:inversion]
        bottom = _above(order[0], low - 1)
        while bottom < high:
            notes = [bottom]
            for pc in order[1:]:
                notes.append(_above(pc, notes[-1]))
            if notes[-1] < high:
                if prev:
                    cost = float(sum(abs(a - b) for a, b in zip(notes, prev, strict=True)))
                else:
                    cost = abs(sum(notes) / 3 - (low + high) / 2)
                if cost < best_cost:
                    best, best_cost = notes, cost
            bottom += 12
    return best


class _Chords:
    """Renders sustained chords, reusing a rendering when the same chord comes back.

    Progressions loop every four bars, so most bars repeat an earlier chord exactly (same
    notes, same length, same per-note phases drawn once per part): re-rendering them was most
    of the time spent on pads, strings and choir.
    """

    def __init__(self, rng: np.random.Generator, render: Callable[..., np.ndarray]) -> None:
        self._rng = rng
        self._render = render
        self._phases: dict[int, np.ndarray] = {}
        self._cache: dict[tuple[object, ...], np.ndarray] = {}

    def phases(self, midi: int, count: int) -> np.ndarray:
        """Start phases for ``count`` oscillators of note ``midi``, fixed for the part."""
        if midi not in self._phases:
            self._phases[midi] = self._rng.random(64)
        return self._phases[midi][:count]

    def get(self, *key: object) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = self._render(*key)
        return self._cache[key]
