"""The parts: one renderer per role (pad, strings, bass, drums, melody, brass, choir, FX),
each a dry stereo signal drawn from its own random stream, plus its reverb."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from demo_music.arrangement import _F32, _WET, _above, _Chords, _fold, _Plan, _runs, _voice_lead
from demo_music.dsp import (
    _bank,
    _envelope,
    _filtered_noise,
    _hz,
    _lowpass,
    _pan,
    _place,
    _place_mono,
    _Vibrato,
)
from demo_music.effects import _add_reverb

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
