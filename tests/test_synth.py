"""Tests of demo_music: synthesized cues that behave like real stem sets."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import wavinfo

from demo_music import (
    DEFAULT_ABBREVIATIONS,
    HEADROOM_DBFS,
    ROLES,
    Arrangement,
    Edit,
    Part,
    chord_roots,
    mixdown,
    parse_key,
    render,
    write_stem_set,
)

SR = 48000
# Short enough to keep the suite fast, long enough for intro, build, peak and end (10 bars).
BASE = Arrangement(cue="1M03", seconds=24.0, tempo_bpm=100.0, key="D minor", seed=7)


@pytest.fixture(scope="module")
def base() -> dict[str, np.ndarray]:
    return render(BASE, SR)


def _only(*roles: str, **changes: object) -> Arrangement:
    """BASE with only some of its parts (parts render independently of each other)."""
    parts = [Part(r) for r in roles]
    return dataclasses.replace(BASE, parts=parts, **changes)  # type: ignore[arg-type]


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def _changed_span(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """First and last changed sample, in seconds."""
    rows = np.flatnonzero(np.any(a != b, axis=1))
    assert rows.size, "nothing changed"
    return rows[0] / SR, rows[-1] / SR


# --- shape, determinism, independence ------------------------------------------------------


def test_stems_are_stereo_float32_of_one_length(base: dict[str, np.ndarray]) -> None:
    frames = round((BASE.seconds + BASE.tail_s) * SR)
    assert list(base) == [p.role for p in BASE.parts]
    for role, stem in base.items():
        assert stem.shape == (frames, 2), role
        assert stem.dtype == np.float32, role
        assert np.isfinite(stem).all(), role
        assert _rms(stem) > 0, role
        assert not np.array_equal(stem[:, 0], stem[:, 1]), f"{role} is dual mono"


def test_parts_render_independently(base: dict[str, np.ndarray]) -> None:
    # Removing parts (or adding them) never changes the others: no hidden normalisation.
    alone = render(_only("melody", "drums"), SR)
    np.testing.assert_array_equal(alone["melody"], base["melody"])
    np.testing.assert_array_equal(alone["drums"], base["drums"])


def test_seed_offset_rewrites_one_part(base: dict[str, np.ndarray]) -> None:
    arr = dataclasses.replace(BASE, parts=[Part("melody", seed_offset=1), Part("bass")])
    other = render(arr, SR)
    assert not np.array_equal(other["melody"], base["melody"])
    np.testing.assert_array_equal(other["bass"], base["bass"])


def test_part_gain_is_an_exact_level_change(base: dict[str, np.ndarray]) -> None:
    louder = render(dataclasses.replace(BASE, parts=[Part("pad", gain_db=3.0)]), SR)["pad"]
    np.testing.assert_allclose(louder, base["pad"] * 10 ** (3 / 20), rtol=1e-6, atol=1e-9)


def test_headroom(base: dict[str, np.ndarray]) -> None:
    limit = 10 ** (HEADROOM_DBFS / 20)
    for role, stem in base.items():
        assert np.abs(stem).max() < limit, role
    assert np.abs(mixdown(base)).max() < limit
    with pytest.raises(ValueError, match=r"above -1\.0 dBFS"):
        render(dataclasses.replace(BASE, parts=[Part("drums", gain_db=24.0)]), SR)


# --- it is music ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "seed", "tempo"),
    [("D minor", 7, 100.0), ("C major", 2, 80.0), ("F# dorian", 3, 140.0)],
)
def test_bass_plays_the_chord_roots(key: str, seed: int, tempo: float) -> None:
    arr = _only("bass", key=key, seed=seed, tempo_bpm=tempo)
    bass = render(arr, SR)["bass"].sum(axis=1, dtype=np.float64)
    power = np.abs(np.fft.rfft(bass)) ** 2
    freqs = np.fft.rfftfreq(len(bass), 1 / SR)
    band = (freqs > 27) & (freqs < 200)  # the fundamentals of a bass line
    semitones = 12 * np.log2(freqs[band] / 440) + 69
    chroma = np.bincount(np.round(semitones).astype(int) % 12, weights=power[band], minlength=12)
    chroma /= chroma.sum()
    roots = set(chord_roots(arr))
    tonic, _ = parse_key(key)
    ranked = list(np.argsort(chroma)[::-1])
    assert ranked[0] in roots
    assert tonic in ranked[:3]
    assert chroma[sorted(roots)].sum() > 0.75
    # In tune: the strongest spectral line sits on an equal-tempered pitch.
    strongest = semitones[np.argmax(power[band])]
    assert abs(strongest - round(strongest)) < 0.15


def test_melody_has_discrete_pitches_in_the_key(base: dict[str, np.ndarray]) -> None:
    melody = base["melody"].sum(axis=1, dtype=np.float64)
    n = SR // 4  # 250 ms windows
    windows = melody[: len(melody) // n * n].reshape(-1, n)
    rms = np.sqrt(np.mean(windows**2, axis=1))
    active = windows[rms > rms.max() * 10 ** (-30 / 20)]
    assert len(active) >= 20
    tonic, scale = parse_key(BASE.key)
    in_key = {(tonic + s) % 12 for s in scale}
    freqs = np.fft.rfftfreq(n, 1 / SR)
    band = (freqs > 100) & (freqs < 5000)
    pitched = 0
    for window in active:
        spectrum = (np.abs(np.fft.rfft(window * np.hanning(n))) ** 2)[band]
        flatness = np.exp(np.mean(np.log(spectrum + 1e-30))) / np.mean(spectrum)
        peak_to_median = 10 * np.log10(spectrum.max() / np.median(spectrum))
        semitone = 12 * np.log2(freqs[band][np.argmax(spectrum)] / 440) + 69
        if (
            flatness < 0.05  # white noise is ~0.56
            and peak_to_median > 30
            and abs(semitone - round(semitone)) < 0.3
            and round(semitone) % 12 in in_key
        ):
            pitched += 1
    assert pitched >= 0.9 * len(active)


def test_drums_have_a_pulse(base: dict[str, np.ndarray]) -> None:
    # Onsets land on the 16th-note grid: the energy envelope repeats every beat.
    drums = np.abs(base["drums"].sum(axis=1, dtype=np.float64))
    hop = SR // 100
    env = drums[: len(drums) // hop * hop].reshape(-1, hop).max(axis=1)
    env = np.maximum(np.diff(env), 0)
    beat = 60 / BASE.tempo_bpm * 100  # in hops
    corr = np.correlate(env, env, mode="full")[len(env) - 1 :]
    lag = round(beat)
    assert corr[lag] > 2 * corr[round(lag * 0.62)]


# --- tails ---------------------------------------------------------------------------------


def test_every_stem_has_a_decaying_tail(base: dict[str, np.ndarray]) -> None:
    end = round(BASE.seconds * SR)
    tenth = SR // 10
    for role, stem in base.items():
        peak = np.abs(stem).max()
        last = _rms(stem[-tenth:])
        assert last < peak * 10 ** (-40 / 20), role
        just_after = _rms(stem[end : end + tenth])
        assert just_after > last, role
        assert just_after > _rms(stem[end + SR : end + SR + tenth]), f"{role} tail does not decay"


def test_a_short_tail_is_cut_not_faded(base: dict[str, np.ndarray]) -> None:
    # The defect the tails check must find: tail_s only sets the length, so a tail shorter
    # than the reverb is cut off mid-decay, never faded out to look finished.
    short = render(_only("pad", tail_s=0.3), SR)["pad"]
    assert len(short) == round((BASE.seconds + 0.3) * SR)
    np.testing.assert_array_equal(short, base["pad"][: len(short)])
    assert _rms(short[-SR // 100 :]) > 10 ** (-70 / 20)


# --- edits ---------------------------------------------------------------------------------


def test_gain_edit_changes_only_its_span(base: dict[str, np.ndarray]) -> None:
    edit = Edit("melody", start_s=10.0, end_s=20.0, gain_db=-6.0)
    edited = render(_only("melody", "pad", edits=[edit]), SR)
    np.testing.assert_array_equal(edited["pad"], base["pad"])
    first, last = _changed_span(base["melody"], edited["melody"])
    assert first >= 10.0
    assert last <= 20.0
    inside = slice(round(10.02 * SR), round(19.98 * SR))  # past the 10 ms ramps
    np.testing.assert_allclose(
        edited["melody"][inside], base["melody"][inside] * 10 ** (-6 / 20), rtol=1e-5, atol=1e-9
    )


def test_rewrite_edit_changes_only_its_span(base: dict[str, np.ndarray]) -> None:
    edit = Edit("melody", start_s=10.0, end_s=20.0, rewrite=True)
    edited = render(_only("melody", "bass", edits=[edit]), SR)
    np.testing.assert_array_equal(edited["bass"], base["bass"])
    first, last = _changed_span(base["melody"], edited["melody"])
    assert first >= 10.0
    assert last <= 20.0
    inside = slice(round(10.5 * SR), round(19.5 * SR))
    diff = edited["melody"][inside] - base["melody"][inside]
    assert _rms(diff) > 0.5 * _rms(base["melody"][inside]), "hardly different notes"
    # Still the same kind of part: comparable level, not silence or noise.
    assert 0.3 < _rms(edited["melody"][inside]) / _rms(base["melody"][inside]) < 3


def test_edits_are_stable_against_each_other() -> None:
    # A rewrite's notes depend on its span, not on which other edits a version has.
    one = Edit("melody", 4.0, 8.0, rewrite=True)
    two = Edit("melody", 14.0, 18.0, rewrite=True)
    a = render(_only("melody", edits=[one]), SR)["melody"]
    b = render(_only("melody", edits=[two, one]), SR)["melody"]
    span = slice(0, round(12 * SR))
    np.testing.assert_array_equal(a[span], b[span])


@pytest.mark.parametrize("shift", [480, -333])
def test_shift_samples_moves_exactly(base: dict[str, np.ndarray], shift: int) -> None:
    moved = render(_only("bass", "pad", shift_samples={"bass": shift}), SR)
    np.testing.assert_array_equal(moved["pad"], base["pad"])
    bass, original = moved["bass"], base["bass"]
    assert bass.shape == original.shape
    if shift > 0:
        np.testing.assert_array_equal(bass[shift:], original[:-shift])
        assert not bass[:shift].any()
    else:
        np.testing.assert_array_equal(bass[:shift], original[-shift:])
        assert not bass[shift:].any()


# --- files ---------------------------------------------------------------------------------


def test_stem_set_files_null_against_the_mix(tmp_path: Path) -> None:
    arr = _only("pad", "bass", "drums", "melody")
    paths = write_stem_set(arr, tmp_path / "out", start_tc_seconds=3600.0)
    names = [p.name for p in paths]
    assert names == [
        "1M03_PAD.wav",
        "1M03_BASS.wav",
        "1M03_DRM.wav",
        "1M03_MEL.wav",
        "1M03_MIX.wav",
    ]

    stems = [sf.read(p, dtype="float64")[0] for p in paths[:-1]]
    mix = sf.read(paths[-1], dtype="float64")[0]
    residual = mix - np.sum(stems, axis=0)
    mix_rms = _rms(mix)
    assert mix_rms > 0
    residual_db = 20 * np.log10(max(_rms(residual), 1e-300) / mix_rms)
    assert residual_db < -100

    frames = {sf.info(p).frames for p in paths}
    assert frames == {round((arr.seconds + arr.tail_s) * SR)}
    for path, role in zip(paths, [*(p.role for p in arr.parts), "mix"], strict=True):
        info = sf.info(path)
        assert (info.samplerate, info.channels, info.subtype) == (SR, 2, "PCM_24")
        bwf = wavinfo.WavInfoReader(path)
        assert bwf.bext.time_reference == 3600 * SR
        assert "1M03" in bwf.bext.description
        assert role in bwf.bext.description
        assert bwf.ixml.scene == "1M03"


@pytest.mark.parametrize("subtype", ["PCM_16", "FLOAT"])
def test_null_for_other_subtypes(tmp_path: Path, subtype: str) -> None:
    arr = _only("bass", "melody", seconds=6.0, tail_s=3.0)
    paths = write_stem_set(arr, tmp_path, subtype=subtype, sample_rate=44100)
    stems = [sf.read(p, dtype="float64")[0] for p in paths[:-1]]
    mix = sf.read(paths[-1], dtype="float64")[0]
    assert sf.info(paths[-1]).subtype == subtype
    assert sf.info(paths[-1]).samplerate == 44100
    residual = _rms(mix - np.sum(stems, axis=0))
    assert residual <= _rms(mix) * 10 ** (-100 / 20)


def test_stem_set_files_are_deterministic(tmp_path: Path) -> None:
    arr = _only("drums", "strings", seconds=8.0)
    first = write_stem_set(arr, tmp_path / "a")
    second = write_stem_set(arr, tmp_path / "b")
    for a, b in zip(first, second, strict=True):
        assert a.name == b.name
        assert a.read_bytes() == b.read_bytes(), a.name


def test_abbreviations(tmp_path: Path) -> None:
    arr = _only("strings", "choir", seconds=3.0, tail_s=1.0)
    paths = write_stem_set(arr, tmp_path, abbreviations={"strings": "STRINGS"})
    assert [p.name for p in paths] == ["1M03_STRINGS.wav", "1M03_CHOIR.wav", "1M03_MIX.wav"]
    assert set(DEFAULT_ABBREVIATIONS) == set(ROLES)
    with pytest.raises(ValueError, match="reserved for the mix"):
        write_stem_set(arr, tmp_path, abbreviations={"choir": "MIX"})
    with pytest.raises(ValueError, match="distinct"):
        write_stem_set(arr, tmp_path, abbreviations={"choir": "STR"})
    with pytest.raises(ValueError, match="letters/digits"):
        write_stem_set(arr, tmp_path, abbreviations={"choir": "CH OIR"})


def test_every_role_renders_deterministically() -> None:
    arr = Arrangement(cue="2M14A", seconds=9.0, key="Bb lydian", parts=[Part(r) for r in ROLES])
    stems = render(arr, SR)
    again = render(arr, SR)
    assert list(stems) == list(ROLES)
    for role, stem in stems.items():
        assert _rms(stem) > 10 ** (-60 / 20), role
        np.testing.assert_array_equal(again[role], stem)


# --- keys and validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "tonic", "third"),
    [
        ("D minor", 2, 3),
        ("F# dorian", 6, 3),
        ("Bb major", 10, 4),
        ("E♭ lydian", 3, 4),
        ("a min", 9, 3),
        ("C harmonic minor", 0, 3),
        ("g MIXOLYDIAN", 7, 4),
        ("E phrygian", 4, 3),
    ],
)
def test_parse_key(key: str, tonic: int, third: int) -> None:
    got_tonic, scale = parse_key(key)
    assert got_tonic == tonic
    assert len(scale) == 7 and scale[0] == 0 and scale[2] == third


def test_progression_ends_on_the_tonic() -> None:
    roots = chord_roots(BASE)
    assert len(roots) == 10
    assert roots[-1] == parse_key(BASE.key)[0]
    assert roots[0] == roots[-1]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"key": "H minor"}, "key"),
        ({"key": "D blues"}, "unknown mode"),
        ({"cue": "1M03 final"}, "cue"),
        ({"cue": "../1M03"}, "cue"),
        ({"seconds": 0.0}, "seconds"),
        ({"seconds": float("nan")}, "seconds"),
        ({"tempo_bpm": 1000.0}, "tempo_bpm"),
        ({"tail_s": -1.0}, "tail_s"),
        ({"seed": 1.5}, "seed"),
        ({"parts": []}, "at least one part"),
        ({"parts": [Part("kazoo")]}, "unknown role"),
        ({"parts": [Part("pad"), Part("pad")]}, "twice"),
        ({"parts": [Part("pad", gain_db=float("inf"))]}, "gain_db"),
        ({"edits": [Edit("brass", 1.0, 2.0, gain_db=1.0)]}, "not a part"),
        ({"edits": [Edit("pad", 5.0, 5.0, gain_db=1.0)]}, "empty"),
        ({"edits": [Edit("pad", 5.0, 99.0, gain_db=1.0)]}, "end_s"),
        ({"shift_samples": {"brass": 10}}, "not a part"),
        ({"shift_samples": {"pad": 10**9}}, "longer than the stem"),
        ({"shift_samples": {"pad": 1.5}}, "integer"),
    ],
)
def test_invalid_arrangements(changes: dict[str, object], message: str) -> None:
    arr = dataclasses.replace(BASE, **changes)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        render(arr, SR)


def test_invalid_render_and_write_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sample_rate"):
        render(BASE, 8000)
    with pytest.raises(ValueError, match="subtype"):
        write_stem_set(BASE, tmp_path, subtype="MP3")
    with pytest.raises(ValueError, match="start_tc_seconds"):
        write_stem_set(BASE, tmp_path, start_tc_seconds=90000.0)
    with pytest.raises(ValueError, match="has shape"):
        mixdown({"a": np.zeros((3, 2)), "b": np.zeros((4, 2))})
    with pytest.raises(ValueError, match="at least one"):
        mixdown({})
    assert list(tmp_path.iterdir()) == []


def test_audio_core_does_not_import_the_ui() -> None:
    code = (
        "import sys, demo_music, audio.bwf\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'textual', 'tui', 'vcs'})\n"
        "assert not bad, bad\n"
    )
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)
