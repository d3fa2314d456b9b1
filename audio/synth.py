"""Deterministic synthesized music stems: short film cues for the demo vault and the tests.

A cue is a chord progression in a key (one chord per bar, ending on the tonic), laid out as
intro → build → peak → end. Each role is one stem: a pad, a bass line on the chord roots,
drums, a plucked lead melody built from a repeated motif, and optionally strings, brass, choir
and FX (risers and impacts). Every stem gets its own reverb, so its last notes decay into a
real tail after ``Arrangement.seconds``.

Public surface:
    Part, Edit, Arrangement
        What to render: the stems, the changes between versions, the musical parameters.
    render(arr, sample_rate) -> dict[str, np.ndarray]
        role -> (frames, 2) float32, all the same length: ``seconds + tail_s``.
    mixdown(stems) -> np.ndarray
        The plain sum of the stems.
    write_stem_set(arr, folder, ...) -> list[Path]
        ``<CUE>_<ABBR>.wav`` per part plus ``<CUE>_MIX.wav``, as BWF at a start timecode.
    chord_roots(arr) -> list[int]
        MIDI pitch class of each bar's chord root (what the bass plays).
    parse_key(key) -> (tonic pitch class, scale intervals)
    ROLES, DEFAULT_ABBREVIATIONS, HEADROOM_DBFS

Determinism: the same ``Arrangement`` and sample rate give bit-identical stems and files on the
same machine and library versions. (numpy's vectorized ``sin``/``tanh`` may round differently
on another CPU, so checksums are not promised across machines.) Each part draws its notes from
its own random stream, seeded by the arrangement seed, its role and its ``seed_offset``, so
adding, removing or rewriting one part never changes another.

Headroom: there is no per-version normalisation. Every stem is scaled by a fixed per-role trim
and a fixed master gain (constants of this module, tuned so a full arrangement peaks around
-8 dBFS), then by ``Part.gain_db`` and the edits. A +3 dB edit is therefore exactly +3 dB in the
file, and the same part renders the same whatever else is in the arrangement. ``render``
refuses (``ValueError``) a result whose stems or mix would peak above ``HEADROOM_DBFS``
(-1 dBFS) instead of silently limiting it: lower a ``gain_db``.

Where an ``Edit`` changes the audio (the diff of two versions must be able to localise it):
    * ``gain_db``: applied after the reverb, as a gain curve that is 0 dB at ``start_s``,
      reaches ``gain_db`` ``_RAMP_S`` (10 ms) later, and returns to 0 dB at ``end_s``. The ramps
      lie inside the span, so no sample outside [start_s, end_s] changes.
    * ``rewrite``: the part is rendered again with another seed (dry + its own reverb) and
      crossfaded in over the same 10 ms ramps inside the span. Again nothing outside
      [start_s, end_s] changes: there is no reverb spill past ``end_s`` by construction. The
      price: the rewritten notes' own reverb is cut at ``end_s`` (the original's continues), and
      a rewritten note still ringing at ``end_s`` is faded out over the last 10 ms.
    * ``shift_samples``: the finished stem is delayed by N samples (negative: advanced), with
      zeros shifted in and samples shifted past the end dropped; the length stays the same.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
from scipy import fft as _fft
from scipy import signal as _signal

from .bwf import SUBTYPES, quantize, write_bwf

__all__ = [
    "DEFAULT_ABBREVIATIONS",
    "HEADROOM_DBFS",
    "ROLES",
    "Arrangement",
    "Edit",
    "Part",
    "chord_roots",
    "mixdown",
    "parse_key",
    "render",
    "write_stem_set",
]

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


# --- rendering ------------------------------------------------------------------------------


def render(arr: Arrangement, sample_rate: int = 48000) -> dict[str, np.ndarray]:
    """Render every part of ``arr`` to a stereo stem.

    Args:
        arr: The arrangement.
        sample_rate: 22050 to 192000 Hz; 48000 is the film norm.

    Returns:
        role -> (frames, 2) float32 array, in the order of ``arr.parts``; every stem has
        ``round((seconds + tail_s) * sample_rate)`` frames.

    Raises:
        ValueError: An invalid arrangement, or gains that would push a stem or the mix above
            ``HEADROOM_DBFS``.
    """
    _validate(arr, sample_rate)
    plan = _make_plan(arr, sample_rate)
    stems: dict[str, np.ndarray] = {}
    for part in arr.parts:
        role = part.role
        edits = [e for e in arr.edits if e.role == role]
        audio = _render_part(plan, role, _part_seed(arr.seed, role, part.seed_offset))
        for edit in edits:
            if edit.rewrite:
                alt_seed = _part_seed(
                    arr.seed,
                    role,
                    part.seed_offset,
                    "rewrite",
                    round(edit.start_s * 1000),
                    round(edit.end_s * 1000),
                )
                alt = _render_part(plan, role, alt_seed)
                lo, hi, w = _span_window(edit, sample_rate, plan.n_total)
                audio[:, lo:hi] += w * (alt[:, lo:hi] - audio[:, lo:hi])
        for edit in edits:
            if edit.gain_db:
                lo, hi, w = _span_window(edit, sample_rate, plan.n_total)
                audio[:, lo:hi] *= 1.0 + (_db(edit.gain_db) - 1.0) * w
        # The fixed level, the shift and the (2, N) -> (N, 2) layout in a single pass.
        gain = _F32(_db(_MASTER_DB + _ROLE_DB[role] + part.gain_db))
        shift = int(arr.shift_samples.get(role, 0))
        stem = np.zeros((plan.n_total, 2), _F32)
        src, dst = _shift_slices(shift, plan.n_total)
        np.multiply(audio[:, src].T, gain, out=stem[dst])
        stems[role] = stem

    limit = _db(HEADROOM_DBFS)
    mix = np.zeros_like(next(iter(stems.values())))
    for role, stem in stems.items():
        peak = _peak(stem)
        if peak > limit:
            raise ValueError(
                f"{arr.cue} {role} stem peaks at {20 * math.log10(peak):+.1f} dBFS, above "
                f"{HEADROOM_DBFS} dBFS; lower its gain_db or the gain of its edits"
            )
        mix += stem  # float32 is plenty to compare with a threshold
    peak = _peak(mix)
    if peak > limit:
        raise ValueError(
            f"{arr.cue} mix peaks at {20 * math.log10(peak):+.1f} dBFS, above {HEADROOM_DBFS} "
            "dBFS; lower some parts' gain_db"
        )
    return stems


def mixdown(stems: Mapping[str, np.ndarray]) -> np.ndarray:
    """Sum stems into their mix.

    The sum is plain (unity gain, accumulated in float64 in the mapping's order): headroom is
    handled upstream by ``render``'s fixed gains, so the mix of rendered stems stays below
    ``HEADROOM_DBFS`` and nothing here clips or normalises. Sum stems *as quantized in their
    files* (``audio.bwf.quantize``) to get a mix that nulls against them exactly.

    Args:
        stems: Name -> array, all of the same shape, floating point.

    Returns:
        The sum, float64 if any stem is float64, else float32.

    Raises:
        ValueError: No stems, or stems of different shapes or non-float types.
    """
    if not stems:
        raise ValueError("mixdown needs at least one stem")
    arrays = [np.asarray(s) for s in stems.values()]
    shape = arrays[0].shape
    for name, a in zip(stems, arrays, strict=True):
        if a.shape != shape:
            raise ValueError(f"stem {name!r} has shape {a.shape}, the first stem {shape}")
        if not np.issubdtype(a.dtype, np.floating):
            raise ValueError(f"stem {name!r} is {a.dtype}; stems must be floating point")
    total = np.zeros(shape, dtype=np.float64)
    for a in arrays:
        total += a
    return total.astype(np.result_type(*arrays, np.float32))


def write_stem_set(
    arr: Arrangement,
    folder: str | Path,
    *,
    sample_rate: int = 48000,
    subtype: str = "PCM_24",
    start_tc_seconds: float = 3600.0,
    abbreviations: Mapping[str, str] | None = None,
) -> list[Path]:
    """Render ``arr`` and write its stem set and mix as Broadcast Wave files.

    Files: ``<CUE>_<ABBR>.wav`` per part and ``<CUE>_MIX.wav``, all with the bext
    TimeReference ``round(start_tc_seconds * sample_rate)``, a description naming cue and role,
    and an iXML chunk naming the tracks. The mix is the sum of the stems *as stored*: each
    stem is quantized to the subtype first, those are summed, and the sum quantized, so the
    stems null against the mix exactly (or to float32 rounding for ``FLOAT``).

    Args:
        arr: The arrangement.
        folder: Where to write; created if missing. Existing files of the same names are
            replaced (atomically, one by one).
        sample_rate: Sample rate of the files.
        subtype: ``PCM_16``, ``PCM_24``, ``PCM_32`` or ``FLOAT``.
        start_tc_seconds: Start timecode as seconds since midnight (3600 = 01:00:00:00).
        abbreviations: role -> file-name abbreviation, merged over ``DEFAULT_ABBREVIATIONS``.

    Returns:
        The paths written: the stems in the order of ``arr.parts``, then the mix.

    Raises:
        ValueError: An invalid arrangement, subtype, timecode or abbreviation.
    """
    if subtype not in SUBTYPES:
        raise ValueError(f"unsupported subtype {subtype!r}; use one of {', '.join(SUBTYPES)}")
    if not (math.isfinite(start_tc_seconds) and 0 <= start_tc_seconds < 86400):
        raise ValueError(
            f"start_tc_seconds must be within a day (0 to 86400), got {start_tc_seconds!r}"
        )
    abbr = dict(DEFAULT_ABBREVIATIONS)
    abbr.update(abbreviations or {})
    _validate(arr, sample_rate)
    names = [abbr.get(p.role, "") for p in arr.parts]
    for part, name in zip(arr.parts, names, strict=True):
        if not _ABBR_RE.fullmatch(name):
            raise ValueError(f"abbreviation {name!r} for {part.role!r} must be letters/digits")
        if name.upper() == _MIX_ABBREVIATION:
            raise ValueError(f"abbreviation {name!r} is reserved for the mix")
    if len({n.upper() for n in names}) != len(names):
        raise ValueError(f"abbreviations must be distinct, got {names}")

    stems = render(arr, sample_rate)
    stored = {role: quantize(stem, subtype) for role, stem in stems.items()}
    mix = quantize(mixdown(stored), subtype)
    if SUBTYPES[subtype][0] <= 24:
        # 16- and 24-bit grid values are exact in float32, which write_bwf encodes faster.
        stored = {role: data.astype(np.float32) for role, data in stored.items()}
        mix = mix.astype(np.float32)

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    tref = round(start_tc_seconds * sample_rate)
    paths: list[Path] = []
    items = [(p.role, n, stored[p.role]) for p, n in zip(arr.parts, names, strict=True)]
    items.append(("mix", _MIX_ABBREVIATION, mix))
    for role, name, data in items:
        path = out / f"{arr.cue}_{name}.wav"
        what = f"mix of {len(stems)} stems" if role == "mix" else f"{role} stem"
        write_bwf(
            path,
            data,
            sample_rate,
            subtype=subtype,
            time_reference=tref,
            description=f"{arr.cue} {what}"[:256],
            originator="stemvault",
            originator_reference=f"{arr.cue}_{name}"[:32],
            ixml=_ixml(arr.cue, name, role),
        )
        paths.append(path)
    return paths


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


# --- signal helpers -------------------------------------------------------------------------

_BLOCK = 4096  # samples per block in the oscillator bank: temporaries stay in cache


def _db(db: float) -> float:
    return 10.0 ** (db / 20.0)


def _hz(midi: float | np.ndarray) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def _pan(pos: float | np.ndarray) -> np.ndarray:
    """Constant-power pan gains (..., 2) for positions in [-1 (left), 1 (right)]."""
    angle = (np.clip(np.asarray(pos, dtype=np.float64), -1, 1) + 1) * (np.pi / 4)
    return np.stack([np.cos(angle), np.sin(angle)], axis=-1).astype(_F32)


def _envelope(n: int, sr: int, attack: float, gate: float, release: float) -> np.ndarray:
    """Attack (sin² rise), hold until ``gate`` seconds, then a quadratic release to zero."""
    t = np.arange(n, dtype=_F32) / _F32(sr)
    rise = np.minimum(t / _F32(max(attack, 1e-4)), _F32(1))
    env = np.sin(rise * _F32(np.pi / 2))
    env *= env
    fall = np.clip((_F32(gate + release) - t) / _F32(max(release, 1e-4)), 0, 1)
    env *= fall * fall
    return env


@dataclass(frozen=True)
class _Vibrato:
    rate: float  # Hz
    depth: float  # relative frequency deviation
    phases: np.ndarray  # radians, one per oscillator


def _bank(
    n: int,
    sr: int,
    freqs: np.ndarray,
    pans: np.ndarray,
    *,
    phase0: np.ndarray,
    env: np.ndarray | None = None,
    wave: str = "sine",
    weights: np.ndarray | None = None,
    decays: np.ndarray | None = None,
    vibrato: _Vibrato | None = None,
    drive: np.ndarray | None = None,
) -> np.ndarray:
    """A bank of oscillators mixed to stereo: (2, n) float32.

    Rendered in blocks of ``_BLOCK`` samples, so the (oscillators x samples) temporaries stay
    in cache; whole-note arrays of them made rendering several times slower. The phase at each
    block start is reduced modulo 1 in float64 and only the offset inside the block is float32,
    so long notes stay in tune and clean (phase error below -80 dB).

    Args:
        n: Samples.
        sr: Sample rate.
        freqs: (V,) Hz.
        pans: (V,) pan positions.
        phase0: (V,) start phases in cycles.
        env: (n,) amplitude envelope applied to the mix.
        wave: ``sine``, ``saw`` (PolyBLEP anti-aliased) or ``brass``
            (a sine and its octave driven into tanh by ``drive``).
        weights: (V,) gains.
        decays: (V,) exponential decay rates in 1/s.
        vibrato: Sinusoidal frequency modulation.
        drive: (n,) tanh drive for ``brass``.
    """
    freqs = np.asarray(freqs, dtype=np.float64)
    gains = _pan(pans)
    if weights is not None:
        gains = gains * np.asarray(weights, dtype=_F32)[:, None]
    mixer = np.ascontiguousarray(gains.T)  # (2, V)
    step = freqs / sr
    dts = step.astype(_F32)[:, None]
    offsets = np.outer(step, np.arange(_BLOCK)).astype(_F32)
    local_t = np.arange(_BLOCK, dtype=_F32) / _F32(sr)
    if vibrato is not None:
        # f * depth * cos(2 pi rate t) integrates to f * depth / (2 pi rate) * sin(...).
        beta = (freqs * vibrato.depth / (2 * np.pi * vibrato.rate)).astype(_F32)[:, None]
        vib_phase = np.asarray(vibrato.phases, dtype=_F32)[:, None]
    if decays is not None:
        rates = np.asarray(decays, dtype=_F32)[:, None]
    out = np.empty((2, n), _F32)
    for a in range(0, n, _BLOCK):
        m = min(_BLOCK, n - a)
        start = (phase0 + step * a) % 1.0
        ph = offsets[:, :m] + start.astype(_F32)[:, None]
        t = local_t[:m] + _F32(a / sr)
        if vibrato is not None:
            ph += beta * np.sin(_F32(2 * np.pi * vibrato.rate) * t + vib_phase)
        if wave == "saw":
            w = _polyblep_saw(ph, dts)
        elif wave == "brass":
            d = drive[a : a + m]  # type: ignore[index]
            w = np.sin(ph * _F32(2 * np.pi)) + _F32(0.35) * np.sin(ph * _F32(4 * np.pi))
            w = np.tanh(w * d) / np.tanh(d)
        else:
            w = np.sin(ph * _F32(2 * np.pi))
        if decays is not None:
            w *= np.exp(-rates * t)
        block = np.einsum("cv,vm->cm", mixer, w)  # not BLAS: its threads spin for nothing
        if env is not None:
            block *= env[a : a + m]
        out[:, a : a + m] = block
    return out


def _polyblep_saw(ph: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """A sawtooth from phase ``ph`` (V, m) with PolyBLEP anti-aliasing.

    A naive saw's jump folds harmonics above Nyquist back as inharmonic hash about 40 dB
    down, which a low-pass after the fact cannot remove. PolyBLEP smooths the jump over the
    sample before and after it; only those few samples are touched, so it costs little.
    ``dt`` (V, 1) is each voice's phase increment per sample.
    """
    frac = ph - np.floor(ph)
    # Within dt of a wrap <=> |frac - 1/2| > 1/2 - dt; flat indices are much cheaper than 2-D.
    near = np.flatnonzero(np.abs(frac - _F32(0.5)) > _F32(0.5) - dt)
    flat = frac.reshape(-1)
    p = flat[near]
    d = dt[near // frac.shape[1], 0]
    lo = p / d
    hi = (p - 1) / d
    blep = np.where(p < d, lo + lo - lo * lo - 1, hi * hi + hi + hi + 1)
    frac *= 2
    frac -= 1
    flat[near] -= blep
    return frac


def _place(buf: np.ndarray, start: int, sig: np.ndarray) -> None:
    """Add ``sig`` (2, n) into ``buf`` (2, N) at sample ``start``, clipped to the buffer."""
    if start < 0:
        sig = sig[:, -start:]
        start = 0
    end = min(buf.shape[1], start + sig.shape[1])
    if end > start:
        buf[:, start:end] += sig[:, : end - start]


def _place_mono(buf: np.ndarray, start: int, sig: np.ndarray, pan: float, gain: float) -> None:
    _place(buf, start, sig[None, :] * (_pan(pan) * _F32(gain))[:, None])


def _lowpass(sig: np.ndarray, cutoff: float, sr: int) -> np.ndarray:
    """``sig`` (2, n) through a 2nd-order Butterworth low-pass.

    Parts filter each (cached) chord rather than the whole stem: the filter is linear and each
    chord starts from silence, so the sum is the same, for a fraction of the work.
    """
    sos = _signal.butter(2, min(cutoff, 0.45 * sr), fs=sr, output="sos")
    return _signal.sosfilt(sos, sig, axis=-1).astype(_F32, copy=False)


def _filtered_noise(
    rng: np.random.Generator, n: int, sr: int, kind: str, freq: float | tuple[float, float]
) -> np.ndarray:
    edge = np.minimum(np.asarray(freq, dtype=np.float64), 0.45 * sr)  # stay below Nyquist
    sos = _signal.butter(2, edge, btype=kind, fs=sr, output="sos")
    return _signal.sosfilt(sos, rng.standard_normal(n)).astype(_F32)


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


# --- the parts ------------------------------------------------------------------------------


def _render_part(plan: _Plan, role: str, seed: np.random.SeedSequence) -> np.ndarray:
    """Dry part plus its reverb: (2, n_total) float32, before any gain."""
    rng = np.random.default_rng(seed)
    dry = _RENDERERS[role](plan, rng)
    # Whatever a renderer left ringing past the end of the music is faded out over 20 ms, so
    # the dry signal always stops at `seconds` and only the reverb makes the tail.
    fade = min(plan.n_music, round(0.02 * plan.sr))
    if fade:
        dry[:, plan.n_music - fade : plan.n_music] *= np.linspace(1, 0, fade, dtype=_F32)
    dry[:, plan.n_music :] = 0
    _add_reverb(dry, plan.sr, plan.n_music, _WET[role])
    return dry


def _chord_gate(plan: _Plan, bar: int, release: float, overlap: float) -> float:
    """How long a bar's chord is held: into the next bar (legato), or until the last chord
    has released by the end of the music."""
    if bar < plan.n_bars - 1:
        return plan.bar + overlap
    return max(plan.seconds - plan.bar_start(bar) - release, 0.05)


def _render_pad(plan: _Plan, rng: np.random.Generator) -> np.ndarray:
    """Detuned saws on the chord, slow attack, legato from bar to bar, low-passed."""
    sr = plan.sr
    release = 1.2
    detune = np.array([-0.08, 0.08])  # semitones: the slow beating that makes a pad wide

    def chord(notes: tuple[int, ...], n: int, gate: float) -> np.ndarray:
        midis = np.repeat(np.array(notes, dtype=np.float64), 2) + np.tile(detune, len(notes))
        phases = np.concatenate([chords.phases(m, 2) for m in notes])
        pans = np.tile([-0.7, 0.7], len(notes)) + np.repeat(np.linspace(-0.2, 0.2, len(notes)), 2)
        env = _envelope(n, sr, 0.9, gate, release) * _F32(1 / len(notes))
        sig = _bank(n, sr, _hz(midis), pans, phase0=phases, env=env, wave="saw")
        return _lowpass(sig, 1400.0, sr)

    chords = _Chords(rng, chord)
    # The pad's "rewrite" freedom: its colour per chord of the loop (add9, root below, none).
    colours = rng.integers(3, size=4)
    buf = np.zeros((2, plan.n_total), _F32)
    prev: list[int] | None = None
    for b in range(plan.n_bars):
        notes = _voice_lead(plan, b, 50, 70, prev)
        prev = notes
        colour = colours[b % 4]
        if colour == 0:  # add9: the scale's second on top
            notes = [*notes, _above(plan.pitch(plan.roots[b] + 1, 0) % 12, notes[-1])]
        elif colour == 1:
            notes = [notes[0] - 12, *notes]
        gate = _chord_gate(plan, b, release, 0.15)
        n = round((gate + release) * sr)
        _place(buf, round(plan.bar_start(b) * sr), chords.get(tuple(notes), n, gate))
    return buf


def _render_strings(plan: _Plan, rng: np.random.Generator) -> np.ndarray:
    """An ensemble: pairs of detuned saws with vibrato per note, swelling through each bar."""
    sr = plan.sr
    release = 0.9

    def chord(notes: tuple[int, ...], n: int, gate: float) -> np.ndarray:
        midis = np.repeat(np.array(notes, dtype=np.float64), 2) + np.tile([-0.06, 0.06], len(notes))
        freqs = _hz(midis)
        phases = np.concatenate([chords.phases(m, 4) for m in notes])
        pans = np.tile([-0.5, 0.5], len(notes)) + np.repeat(np.linspace(-0.3, 0.3, len(notes)), 2)
        env = _envelope(n, sr, 0.7, gate, release)
        # The swell: each chord grows by ~3 dB towards the next.
        env *= _F32(0.7) + _F32(0.3) * np.minimum(np.arange(n, dtype=_F32) / _F32(plan.bar * sr), 1)
        env *= _F32(1 / len(notes))
        vibrato = _Vibrato(5.2, 0.004, phases[1::2] * 2 * np.pi)
        sig = _bank(n, sr, freqs, pans, phase0=phases[0::2], env=env, wave="saw", vibrato=vibrato)
        return _lowpass(sig, 2600.0, sr)

    chords = _Chords(rng, chord)
    octave_up = bool(rng.integers(2))
    buf = np.zeros((2, plan.n_total), _F32)
    prev: list[int] | None = None
    for b in range(plan.n_bars):
        section = plan.sections[b]
        notes = _voice_lead(plan, b, 60, 79, prev)
        prev = notes
        if section in ("peak", "end"):
            notes = [_fold(plan.pitch(plan.roots[b], 0), 43, 55), *notes]  # cellos on the root
            if octave_up:
                notes.append(notes[-1] + 12)
        gate = _chord_gate(plan, b, release, 0.1)
        n = round((gate + release) * sr)
        level = {"intro": 0.6, "build": 0.8}.get(section, 1.0)
        sig = chords.get(tuple(notes), n, gate)
        _place(buf, round(plan.bar_start(b) * sr), sig if level == 1 else sig * _F32(level))
    return buf


_BASS_BUILD = (
    ((0, 1.75, "r"), (2, 1.5, "r"), (3.5, 0.5, "5")),
    ((0, 3.5, "r"), (3.5, 0.5, "a")),
    ((0, 1.5, "r"), (1.5, 0.5, "r"), (2, 2.0, "r")),
)
_BASS_PEAK = (
    tuple((i * 0.5, 0.45, "o" if i in (2, 6) else "r") for i in range(8)),
    (
        (0, 0.75, "r"),
        (0.75, 0.75, "r"),
        (1.5, 0.5, "o"),
        (2, 0.75, "r"),
        (2.75, 0.75, "r"),
        (3.5, 0.5, "5"),
    ),
    ((0, 1.5, "r"), (1.5, 0.5, "r"), (2, 0.5, "o"), (2.5, 1.0, "r"), (3.5, 0.5, "a")),
)


def _render_bass(plan: _Plan, rng: np.random.Generator) -> np.ndarray:
    """Chord roots in the low octave: a sine with two fading harmonics, plucked envelope."""
    sr = plan.sr
    buf = np.zeros((2, plan.n_total), _F32)
    pattern = {
        "build": _BASS_BUILD[rng.integers(len(_BASS_BUILD))],
        "peak": _BASS_PEAK[rng.integers(len(_BASS_PEAK))],
    }
    harmonics = np.array([1.0, 2.0, 3.0])
    notes: dict[tuple[int, int, float], np.ndarray] = {}  # the line repeats: render once

    def note(midi: int, n: int, gate: float, release: float) -> np.ndarray:
        key = (midi, n, gate)
        if key not in notes:
            t = np.arange(n, dtype=_F32) / _F32(sr)
            env = _envelope(n, sr, 0.004, gate, release)
            env *= _F32(0.75) + _F32(0.25) * np.exp(-t / _F32(0.25))
            notes[key] = _bank(
                n,
                sr,
                _hz(midi) * harmonics,
                np.zeros(3),
                phase0=np.zeros(3),
                env=env,
                weights=np.array([1.0, 0.5, 0.25]),
                decays=np.array([0.0, 5.0, 12.0]),
            )
        return notes[key]

    for b in range(plan.n_bars):
        section = plan.sections[b]
        start = plan.bar_start(b)
        if section == "intro":
            continue
        root = plan.roots[b]
        events: Sequence[tuple[float, float, str]]
        if section == "end":
            events = ((0, (plan.seconds - start) / plan.beat, "r"),)
        else:
            events = pattern[section]
        # Roots between G1 and F#2: low enough to be a bass, high enough for small speakers.
        root_midi = _fold(plan.pitch(root, 0), 31, 43)
        for onset, beats, kind in events:
            if kind == "r":
                midi = root_midi
            elif kind == "o":
                midi = root_midi + 12
            else:
                if kind == "5":
                    degree = root + 4
                else:  # approach: the scale step below (or above) the next bar's root
                    nxt = plan.roots[min(b + 1, plan.n_bars - 1)]
                    degree = nxt - 1 if nxt != root + 1 else nxt + 1
                midi = _fold(plan.pitch(degree, 0), root_midi - 6, root_midi + 6)
            t0 = start + onset * plan.beat
            release = 0.5 if section == "end" else 0.08
            gate = max(min(beats * plan.beat, plan.seconds - t0 - release) - 0.02, 0.02)
            n = round((gate + release) * sr)
            sig = note(midi, n, round(gate, 6), release)
            _place(buf, round(t0 * sr), sig if onset == 0 else sig * _F32(0.85))
    return buf


def _drum_kit(sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One-shot samples: synthesized once per render, placed on the grid."""

    def t(seconds: float) -> np.ndarray:
        return np.arange(round(seconds * sr)) / sr

    kit: dict[str, np.ndarray] = {}
    tk = t(0.5)
    freq = 46 + 120 * np.exp(-tk / 0.03)  # the pitch drop that makes a kick
    kick = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-tk / 0.2)
    kick += 0.4 * _filtered_noise(rng, len(tk), sr, "lowpass", 3000) * np.exp(-tk / 0.004)
    kit["kick"] = kick
    ts = t(0.35)
    tone = (np.sin(2 * np.pi * 185 * ts) + 0.5 * np.sin(2 * np.pi * 330 * ts)) * np.exp(-ts / 0.06)
    rattle = _filtered_noise(rng, len(ts), sr, "bandpass", (1200, 9000)) * np.exp(-ts / 0.11)
    kit["snare"] = 0.6 * tone + 2.0 * rattle
    th = t(0.09)
    for i in range(3):  # a few variants, so repeated hats are not a machine gun
        kit[f"hat{i}"] = _filtered_noise(rng, len(th), sr, "highpass", 7000) * np.exp(-th / 0.022)
    to = t(0.5)
    kit["open"] = _filtered_noise(rng, len(to), sr, "highpass", 6500) * np.exp(-to / 0.15)
    tc = t(2.4)
    kit["crash"] = _filtered_noise(rng, len(tc), sr, "highpass", 3200) * np.exp(-tc / 0.6)
    tt = t(0.45)
    for name, f0 in (("tom_hi", 150.0), ("tom_lo", 98.0)):
        f = f0 * (1 + 0.3 * np.exp(-tt / 0.05))
        kit[name] = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-tt / 0.16)
    for name, shot in kit.items():
        fade = np.ones(len(shot))
        fade[-64:] = np.linspace(1, 0, 64)  # no click where a sample is cut
        kit[name] = (shot * fade / np.max(np.abs(shot))).astype(_F32)
    return kit


_KICK = {
    "build": ((0,), (0, 10), (0, 7, 10)),
    "peak": ((0, 6, 8), (0, 3, 8, 10), (0, 6, 10, 11)),
}
_SNARE = {"build": ((8,),), "peak": ((4, 12), (4, 12, 15))}
_DRUM_PANS = {
    "kick": 0.0,
    "snare": -0.08,
    "hat": 0.35,
    "open": 0.35,
    "crash": -0.4,
    "tom_hi": -0.3,
    "tom_lo": 0.3,
}


def _render_drums(plan: _Plan, rng: np.random.Generator) -> np.ndarray:
    """Kick, snare, hats, crash and tom fills on a 16-step grid, half-time then driving."""
    sr = plan.sr
    kit = _drum_kit(sr, rng)
    buf = np.zeros((2, plan.n_total), _F32)
    step = plan.beat / 4
    kicks = {k: v[rng.integers(len(v))] for k, v in _KICK.items()}
    snares = {k: v[rng.integers(len(v))] for k, v in _SNARE.items()}
    sixteenth_hats = bool(rng.integers(2))
    open_hat = bool(rng.integers(2))

    def hit(name: str, bar: int, s: float, vel: float) -> None:
        t0 = plan.bar_start(bar) + s * step
        if t0 >= plan.seconds:
            return
        pan = _DRUM_PANS["hat" if name.startswith("hat") else name]
        vel *= float(rng.uniform(0.9, 1.0))  # a drummer never hits twice the same
        _place_mono(buf, round(t0 * sr), kit[name], pan, vel)

    for b in range(plan.n_bars):
        section = plan.sections[b]
        if section == "intro":
            continue
        if section == "end":
            hit("kick", b, 0, 1.0)
            hit("crash", b, 0, 0.9)
            continue
        if b == 0 or plan.sections[b - 1] != section:
            hit("crash", b, 0, 0.8)
        fill = b + 1 < plan.n_bars and plan.sections[b + 1] not in (section, "end")
        for s in kicks[section]:
            hit("kick", b, s, 1.0 if s == 0 else 0.85)
        for s in snares[section]:
            if not (fill and s >= 12):
                hit("snare", b, s, 0.9)
        hats = range(16) if section == "peak" and sixteenth_hats else range(0, 16, 2)
        for s in hats:
            if fill and s >= 12:
                continue
            if section == "peak" and open_hat and s == 14:
                hit("open", b, s, 0.5)
                continue
            vel = 0.55 if s % 4 == 0 else 0.38 if s % 2 == 0 else 0.28
            hit(f"hat{s % 3}", b, s, vel * (0.8 if section == "build" else 1.0))
        if fill:  # into the next section
            toms = bool(rng.integers(2))
            for i, s in enumerate((12, 13, 14, 15)):
                name = ("snare", "tom_hi", "tom_hi", "tom_lo")[i] if toms else "snare"
                hit(name, b, s, 0.55 + 0.12 * i)
    return buf


_RHYTHM_BAR = (
    (1, 1, 2),
    (1, 0.5, 0.5, 2),
    (1.5, 0.5, 2),
    (0.5, 0.5, 1, 2),
    (2, 1, 1),
    (1, 1, 1, 1),
    (0.75, 0.25, 1, 2),
    (1.5, 0.5, 1, 1),
)
_RHYTHM_END = ((2, 2), (1, 3), (1.5, 0.5, 2), (1, 1, 2), (3, 1))
_STEPS = (-2, -1, -1, 1, 1, 2, 0, 3, -3)


def _motif(rng: np.random.Generator) -> list[tuple[float, float, int]]:
    """A two-bar phrase: (onset beats, length beats, scale step from the previous note)."""
    durations = [
        *_RHYTHM_BAR[rng.integers(len(_RHYTHM_BAR))],
        *_RHYTHM_END[rng.integers(len(_RHYTHM_END))],
    ]
    notes = []
    onset = 0.0
    for i, d in enumerate(durations):
        notes.append((onset, float(d), 0 if i == 0 else int(rng.choice(_STEPS))))
        onset += d
    return notes


def _render_melody(plan: _Plan, rng: np.random.Generator) -> np.ndarray:
    """A plucked lead: one motif per section, repeated over the changing chords and snapped to
    chord tones on strong beats, so the line stays in the key and follows the harmony."""
    sr = plan.sr
    motifs = {"build": _motif(rng), "peak": _motif(rng)}
    degree = 4
    events: list[tuple[float, float, int, float]] = []  # start s, length s, degree, velocity
    for section, first, stop in _runs(plan.sections):
        if section == "end":
            t0 = plan.bar_start(first)
            events.append((t0, plan.seconds - t0, 7, 0.9))  # home: the tonic, held
            continue
        if section not in motifs:
            continue
        # Scale degrees above MIDI 60 + tonic; the peak sits a third higher.
        lo, hi = (2, 13) if section == "peak" else (0, 11)
        for b in range(first, stop, 2):
            for onset, beats, step in motifs[section]:
                bar = b + int(onset // 4)
                if bar >= stop:
                    break
                degree += step
                if onset % 2 == 0:  # strong beat: land on the nearest chord tone
                    tones = [d + 7 * k for d in plan.chord(bar) for k in (-1, 0, 1, 2)]
                    degree = min(tones, key=lambda d: (abs(d - degree), d))
                while degree > hi:
                    degree -= 7
                while degree < lo:
                    degree += 7
                velocity = 0.95 if onset % 4 == 0 else 0.8
                events.append(
                    (plan.bar_start(b) + onset * plan.beat, beats * plan.beat, degree, velocity)
                )
    buf = np.zeros((2, plan.n_total), _F32)
    k = np.arange(1, 6, dtype=np.float64)
    amps = np.array([1.0, 0.42, 0.22, 0.1, 0.05])
    decays = 1.5 + 2.2 * k  # each harmonic dies faster than the one below: a pluck darkens
    notes: dict[tuple[int, int, float], np.ndarray] = {}  # the motif repeats: render once
    release = 0.25
    for t0, length, deg, vel in events:
        gate = round(max(min(length * 0.95, plan.seconds - t0 - release), 0.03), 6)
        n = round(min(gate + release, 2.5) * sr)
        if (deg, n, gate) not in notes:
            env = _envelope(n, sr, 0.003, gate, release)
            f = _hz(plan.pitch(deg, 60))
            notes[deg, n, gate] = _bank(
                n,
                sr,
                f * k,
                np.full(5, -0.15),
                phase0=np.zeros(5),
                env=env,
                weights=amps,
                decays=decays,
            )
        _place(buf, round(t0 * sr), notes[deg, n, gate] * _F32(vel))
    return buf


def _render_brass(plan: _Plan, rng: np.random.Generator) -> np.ndarray:
    """Stabs in the peak, a swell into it and a held last chord: sines driven into tanh, the
    drive (brightness) highest at the attack, like a player's blat."""
    sr = plan.sr
    stab_sets = (
        ((0, 0.5), (1.5, 0.5), (3, 1.0)),
        ((0, 1.5), (2, 0.5), (2.5, 1.5)),
        ((0, 0.75), (0.75, 0.75), (2, 2.0)),
    )
    stabs = stab_sets[rng.integers(len(stab_sets))]
    open_voicing = bool(rng.integers(2))

    def chord(
        midis: tuple[int, ...],
        n: int,
        gate: float,
        attack: float,
        release: float,
    ) -> np.ndarray:
        t = np.arange(n, dtype=_F32) / _F32(sr)
        if attack > 0.1:  # a swell opens up as it grows
            drive = _F32(0.8) + _F32(2.0) * np.minimum(t / _F32(attack), 1)
        else:
            drive = _F32(1.4) + _F32(2.6) * np.exp(-t / _F32(0.12))
        env = _envelope(n, sr, attack, gate, release) / _F32(len(midis) * 0.6)
        phases = np.array([chords.phases(m, 1)[0] for m in midis])
        return _bank(
            n,
            sr,
            _hz(np.array(midis)),
            np.linspace(-0.2, 0.5, len(midis)),
            phase0=phases,
            env=env,
            wave="brass",
            drive=drive,
        )

    chords = _Chords(rng, chord)
    buf = np.zeros((2, plan.n_total), _F32)
    for b in range(plan.n_bars):
        section = plan.sections[b]
        start = plan.bar_start(b)
        swell = b + 1 < plan.n_bars and plan.sections[b + 1] == "peak" and section != "peak"
        if section == "peak":
            events = [(start + on * plan.beat, d * plan.beat, 0.02) for on, d in stabs]
        elif section == "end":
            events = [(start, plan.seconds - start - 0.6, 0.05)]
        elif swell:
            events = [(start + plan.beat, 3 * plan.beat, 2.5 * plan.beat)]
        else:
            continue
        r = plan.roots[b]
        degrees = (r, r + 4, r + 7, r + 9) if open_voicing else (r, r + 2, r + 4, r + 7)
        lift = 12 if plan.pitch(r, 36) < 46 else 0  # the root between A#2 and A#3
        midis = tuple(plan.pitch(d, 36) + lift for d in degrees)
        for t0, length, attack in events:
            release = 0.15 if section == "peak" else 0.6
            gate = max(min(length, plan.seconds - t0 - release), 0.05)
            n = round((gate + release) * sr)
            _place(buf, round(t0 * sr), chords.get(midis, n, gate, attack, release))
    return buf


# Vowel formants: (centre Hz, bandwidth Hz, gain).
_VOWELS = {
    "oo": ((300, 80, 1.0), (870, 100, 0.35), (2240, 150, 0.08)),
    "ah": ((730, 90, 1.0), (1090, 110, 0.55), (2440, 160, 0.18)),
}


def _render_choir(plan: _Plan, rng: np.random.Generator) -> np.ndarray:
    """Voices as sums of harmonics weighted by vowel formants ('oo' early, 'ah' from the
    peak), each voice with its own vibrato."""
    sr = plan.sr
    release = 1.0

    def chord(notes: tuple[int, ...], vowel: str, n: int, gate: float) -> np.ndarray:
        midis = np.repeat(np.array(notes, dtype=np.float64), 2) + np.tile([-0.07, 0.07], len(notes))
        f0 = _hz(midis)
        phases = np.concatenate([chords.phases(m, 4) for m in notes]).reshape(-1, 2)
        freqs, weights, pans, start, vib = [], [], [], [], []
        for v, f in enumerate(f0):
            for k in range(1, 13):
                fk = k * f
                weight = sum(g / (1 + ((fk - fc) / bw) ** 2) for fc, bw, g in _VOWELS[vowel])
                # Inaudible partials cost the most time; partials above Nyquist would alias.
                if weight >= 0.04 and fk < 0.45 * sr:
                    freqs.append(fk)
                    weights.append(weight)
                    pans.append(-0.6 if v % 2 == 0 else 0.6)
                    start.append(k * phases[v, 0])
                    vib.append(phases[v, 1] * 2 * np.pi)  # one vibrato per voice
        env = _envelope(n, sr, 1.0, gate, release) * _F32(1 / len(notes))
        return _bank(
            n,
            sr,
            np.array(freqs),
            np.array(pans),
            phase0=np.array(start) % 1.0,
            env=env,
            weights=np.array(weights),
            vibrato=_Vibrato(5.5, 0.006, np.array(vib)),
        )

    chords = _Chords(rng, chord)
    register = int(rng.integers(2)) * 3
    buf = np.zeros((2, plan.n_total), _F32)
    prev: list[int] | None = None
    for b in range(plan.n_bars):
        notes = _voice_lead(plan, b, 55 + register, 74 + register, prev)
        prev = notes
        vowel = "ah" if plan.sections[b] in ("peak", "end") else "oo"
        gate = _chord_gate(plan, b, release, 0.1)
        n = round((gate + release) * sr)
        _place(buf, round(plan.bar_start(b) * sr), chords.get(tuple(notes), vowel, n, gate))
    return buf


def _render_fx(plan: _Plan, rng: np.random.Generator) -> np.ndarray:
    """Risers (noise sweeping from dark to bright plus a rising tone) into each new section,
    an impact (sub drop) on its downbeat, and a last impact on the final chord."""
    sr = plan.sr
    buf = np.zeros((2, plan.n_total), _F32)
    targets = [b for b in range(1, plan.n_bars) if plan.sections[b] != plan.sections[b - 1]]
    for b in targets:
        section = plan.sections[b]
        hit_at = plan.bar_start(b)
        bars = 1 if section == "end" else int(rng.integers(1, 3))
        length = min(bars * plan.bar, hit_at)
        if length > 0.5 and section != "end":
            n = round(length * sr)
            x = np.linspace(0, 1, n, dtype=_F32)
            dark = _filtered_noise(rng, n, sr, "lowpass", 600)
            bright = _filtered_noise(rng, n, sr, "bandpass", (2500, 9000))
            lo_hz, hi_hz = float(rng.uniform(150, 250)), float(rng.uniform(1200, 2000))
            sweep = lo_hz * (hi_hz / lo_hz) ** x.astype(np.float64)
            tone = np.sin(2 * np.pi * np.cumsum(sweep) / sr).astype(_F32)
            sig = (dark * (1 - x) * _F32(2.5) + bright * x * _F32(0.8) + _F32(0.25) * tone) * x**2
            cut = round(0.004 * sr)
            sig[-cut:] *= np.linspace(1, 0, cut, dtype=_F32)
            # The riser travels across the stereo field.
            pans = np.linspace(-0.7, 0.7, n) * (1 if rng.integers(2) else -1)
            _place(buf, round((hit_at - length) * sr), sig[None, :] * _pan(pans).T)
        room = plan.seconds - hit_at
        if room > 0.2:
            n = round(min(2.0, room) * sr)
            t = np.arange(n) / sr
            f = 32 + 60 * np.exp(-t / 0.08)
            boom = np.sin(2 * np.pi * np.cumsum(f) / sr) * np.exp(-t / 0.7)
            boom += 0.5 * _filtered_noise(rng, n, sr, "lowpass", 900) * np.exp(-t / 0.12)
            boom *= np.minimum(1, (n - np.arange(n)) / (0.05 * sr))  # end without a click
            _place_mono(buf, round(hit_at * sr), boom.astype(_F32), 0.0, 1.0)
    return buf


_RENDERERS: dict[str, Callable[[_Plan, np.random.Generator], np.ndarray]] = {
    "pad": _render_pad,
    "bass": _render_bass,
    "drums": _render_drums,
    "melody": _render_melody,
    "strings": _render_strings,
    "brass": _render_brass,
    "choir": _render_choir,
    "fx": _render_fx,
}


# --- reverb ---------------------------------------------------------------------------------

_REVERB_RATE = 12000  # the reverb runs near this rate: 16x less FFT work than at 48 kHz
_IR_SECONDS = 2.6
_CHUNK = 1 << 14


def _add_reverb(dry: np.ndarray, sr: int, n_music: int, send: float) -> None:
    """Add a stereo hall to ``dry`` (2, N) in place: its mono sum convolved with a synthetic
    impulse response, scaled by ``send``.

    The convolution runs near 12 kHz (decimation by an integer factor through a triangular
    anti-alias filter, linear interpolation back up): 16 times less FFT work than at 48 kHz,
    which keeps six 40 s stems well under a second. The hall is dark anyway (its response has
    little above 4.5 kHz), so little is lost. The reverb ends ~2.7 s after ``n_music``.
    """
    n_total = dry.shape[1]
    factor = max(1, round(sr / _REVERB_RATE))
    low_rate = sr / factor
    mono = np.add(dry[0, :n_music], dry[1, :n_music])
    mono *= _F32(0.5)
    low = _decimate(mono, factor)
    ir_len = round(_IR_SECONDS * low_rate)
    size = _fft.next_fast_len(len(low) + ir_len - 1, real=True)
    wet = _fft.irfft(_fft.rfft(low, size)[None, :] * _ir_spectrum(low_rate, size), size)
    used = min(len(low) + ir_len - 1, -(-n_total // factor))
    # One sample beyond `used` for the interpolation, so a shorter tail is an exact truncation
    # of a longer one (tail_s sets the file length, nothing else).
    wet = wet[:, : used + 1].astype(_F32)
    if wet.shape[1] == used:
        wet = np.concatenate([wet, np.zeros((2, 1), _F32)], axis=1)
    wet *= _F32(send)
    # Linear interpolation straight into `dry`, a chunk at a time: output q*factor + j is
    # wet[q] + (wet[q+1] - wet[q]) * j / factor. No full-length temporaries.
    for a in range(0, used, _CHUNK):
        b = min(used, a + _CHUNK)
        here = wet[:, a:b]
        slope = wet[:, a + 1 : b + 1] - here
        for j in range(factor):
            first = a * factor + j
            if first >= n_total:
                break
            dst = dry[:, first : min(n_total, b * factor) : factor]
            count = dst.shape[1]
            dst += here[:, :count] + slope[:, :count] * _F32(j / factor)


def _decimate(x: np.ndarray, factor: int) -> np.ndarray:
    """Every ``factor``-th sample after a triangular low-pass (a box convolved with itself:
    its nulls sit on the frequencies that would fold onto DC, and squaring deepens them)."""
    if factor == 1:
        return x.astype(_F32)
    n = -(-len(x) // factor)
    padded = np.zeros((n + 1) * factor, _F32)
    padded[factor : factor + len(x)] = x
    rows = padded.reshape(n + 1, factor)  # row q holds samples (q-1)*factor ... q*factor-1
    j = np.arange(factor, dtype=_F32)
    # Output q is centred on input q*factor: the rising half of the triangle lies in the
    # previous row, the falling half in this one; the weights sum to 1.
    # Plain ufuncs, not a matrix product: BLAS threads spin and cost more than they save here.
    out = np.zeros(n, _F32)
    for k in range(factor):
        column = rows[:, k]
        out += column[:-1] * (j[k] / _F32(factor**2))
        out += column[1:] * ((factor - j[k]) / _F32(factor**2))
    return out


@lru_cache(maxsize=8)
def _ir_spectrum(rate: float, size: int) -> np.ndarray:
    """Spectrum (2, size // 2 + 1) of the hall's stereo impulse response at ``rate``.

    Decorrelated noise for left and right, a 15 ms pre-delay, a few early reflections, a dark
    band decaying slowly (RT60 1.9 s) and a bright band decaying fast (RT60 0.8 s), because
    real rooms absorb highs first. A fixed seed: the room is the same for every cue and part.
    """
    rng = np.random.default_rng(20240611)
    n = round(_IR_SECONDS * rate)
    t = np.arange(n) / rate
    low_sos = _signal.butter(2, 1500.0, fs=rate, output="sos")
    high_sos = _signal.butter(
        2, (1500.0, min(4500.0, 0.45 * rate)), btype="bandpass", fs=rate, output="sos"
    )
    onset = np.clip((t - 0.015) / 0.01, 0, 1)
    ir = np.zeros((2, n))
    for ch in range(2):
        low = _signal.sosfilt(low_sos, rng.standard_normal(n)) * np.exp(-6.91 * t / 1.9)
        high = _signal.sosfilt(high_sos, rng.standard_normal(n)) * np.exp(-6.91 * t / 0.8)
        ir[ch] = (low + 0.6 * high) * onset
        for delay in rng.uniform(0.015, 0.07, 6):  # early reflections off near walls
            ir[ch, round(delay * rate)] += rng.choice((-1.0, 1.0)) * rng.uniform(0.05, 0.12)
    fade = round(0.2 * rate)
    ir[:, -fade:] *= np.linspace(1, 0, fade)
    ir /= np.sqrt(np.sum(ir**2, axis=1, keepdims=True))  # unit energy: wet ~ dry loudness
    spectrum = _fft.rfft(ir.astype(_F32), size, axis=-1)
    spectrum.flags.writeable = False  # cached and shared: nobody may change it
    return spectrum


# --- edits and output -----------------------------------------------------------------------


def _peak(x: np.ndarray) -> float:
    return max(float(x.max()), -float(x.min())) if x.size else 0.0


def _span_window(edit: Edit, sr: int, n_total: int) -> tuple[int, int, np.ndarray]:
    """Samples [lo, hi) of the span and a weight rising 0→1 and falling 1→0 inside it."""
    lo = max(0, math.ceil(edit.start_s * sr))
    hi = min(n_total, math.floor(edit.end_s * sr) + 1)
    n = max(0, hi - lo)
    ramp = max(1, min(round(_RAMP_S * sr), n // 2))
    w = np.ones(n, dtype=_F32)
    if n:
        edge = np.sin(np.linspace(0, np.pi / 2, ramp, dtype=np.float64)) ** 2
        w[:ramp] = edge
        w[n - ramp :] = np.minimum(w[n - ramp :], edge[::-1])
    return lo, hi, w


def _shift_slices(shift: int, n: int) -> tuple[slice, slice]:
    """(source, destination) slices that delay n samples by ``shift`` (negative: advance)."""
    if shift >= 0:
        return slice(0, n - shift), slice(shift, n)
    return slice(-shift, n), slice(0, n + shift)


def _ixml(cue: str, abbreviation: str, role: str) -> str:
    name = escape(f"{cue}_{abbreviation}")
    tracks = "".join(
        f"<TRACK><CHANNEL_INDEX>{i}</CHANNEL_INDEX><INTERLEAVE_INDEX>{i}</INTERLEAVE_INDEX>"
        f"<NAME>{escape(abbreviation)} {side}</NAME><FUNCTION>{side}</FUNCTION></TRACK>"
        for i, side in ((1, "L"), (2, "R"))
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        "<BWFXML><IXML_VERSION>2.10</IXML_VERSION>"
        f"<PROJECT>stemvault</PROJECT><SCENE>{escape(cue)}</SCENE><TAKE>1</TAKE>"
        f"<NOTE>{escape(role)}</NOTE><FILE_SET><FAMILY_NAME>{name}</FAMILY_NAME></FILE_SET>"
        f"<TRACK_LIST><TRACK_COUNT>2</TRACK_COUNT>{tracks}</TRACK_LIST></BWFXML>"
    )
