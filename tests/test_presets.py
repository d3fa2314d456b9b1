"""Audition presets: each one's response measured through the engine and a render (the path the
sound card and the stream take), block-size independence, bypass bit for bit, switches without
clicks, and `play --preset`.

Signals are written to real WAV files (float, so what is read is what was made) and played by
the engine; magnitudes are measured with a DFT over whole cycles of tones placed on exact bins.
Expected values come from the documented curves (docs/editor.md), not from the code under test.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from audio.errors import PlaybackError
from audio.playback import Engine, StemSet, StemSpec, render
from audio.playback.presets import (
    PRESETS,
    PresetStage,
    butterworth,
    room_taps,
    xcurve_db,
    xcurve_sos,
)
from tests.helpers import CUE, SR, Runner, write_set
from vcs.playsession import PRESET_NAMES, prepare_play, run_render
from vcs.vault import Vault

# Tones on exact DFT bins of a 0.5 s window (2 Hz apart), measured after 0.5 s of settling.
FREQS = [50.0, 76.0, 100.0, 150.0, 300.0, 600.0, 1000.0, 2000.0, 4000.0, 6000.0, 8000.0, 12000.0, 16000.0,
         20000.0]
AMP = 0.02
SETTLE, WINDOW = SR // 2, SR // 2


def _write(path: Path, x: np.ndarray) -> StemSet:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, SR, subtype="FLOAT")
    return StemSet([StemSpec(path.name, path, "STR")])


def _multisine(seconds: float = 1.0, channels: int = 2) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    rng = np.random.default_rng(7)
    x = sum(AMP * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) for f in FREQS)
    return np.stack([x] * channels, axis=1).astype(np.float32)


def _run(x: np.ndarray, tmp: Path, preset: str | None, *, block: int = 1024, name: str = "in.wav") -> np.ndarray:
    e = Engine(_write(tmp / name, x))
    try:
        e.set_preset(preset)
        e.settle()
        out = tmp / f"out-{preset}-{block}.wav"
        render(e, out, block=block)
    finally:
        e.close()
    return sf.read(out, dtype="float64", always_2d=True)[0]


def _gains_db(x: np.ndarray, y: np.ndarray) -> dict[float, float]:
    """Output over input level at each tone, from one DFT of the settled window."""
    xs = np.fft.rfft(x[SETTLE:SETTLE + WINDOW, 0])
    ys = np.fft.rfft(y[SETTLE:SETTLE + WINDOW, 0])
    out = {}
    for f in FREQS:
        k = round(f * WINDOW / SR)
        out[f] = 20 * math.log10(abs(ys[k]) / abs(xs[k]))
    return out


def _butter_db(f: float, f0: float, order: int, kind: str) -> float:
    """The documented (analog Butterworth) magnitude."""
    r = (f0 / f) if kind == "hp" else (f / f0)
    return -10 * math.log10(1 + r ** (2 * order))


# ----- each preset's response, measured through the engine -----------------------------------
def test_laptop_and_phone_are_the_documented_band_limits(tmp_path: Path) -> None:
    x = _multisine()
    for name, hp, lp in (("laptop", 150.0, 12000.0), ("phone", 300.0, 8000.0)):
        g = _gains_db(x, _run(x, tmp_path, name))
        for f in FREQS:
            want = _butter_db(f, hp, 4, "hp") + _butter_db(f, lp, 2, "lp")
            # The bilinear transform matches the analog curve at the corners (pre-warped) and
            # bends it towards the Nyquist frequency: within 0.5 dB up to the low-pass corner.
            if f <= lp:
                assert abs(g[f] - want) < 0.5, (name, f, g[f], want)
        assert abs(g[hp] + 3.01) < 0.1 and abs(g[lp] + 3.01) < 0.3, (name, g[hp], g[lp])
        assert g[76.0 if name == "laptop" else 150.0] < -23.0  # 24 dB/octave below the corner
        assert abs(g[1000.0]) < 0.1


def test_butterworth_sections_are_scipys_butter() -> None:
    for kind, order, f0 in (("hp", 4, 150.0), ("lp", 2, 12000.0), ("hp", 4, 300.0), ("lp", 2, 8000.0)):
        for fs in (44100, 48000, 96000):
            ref = scipy.signal.butter(order, f0, "highpass" if kind == "hp" else "lowpass", fs=fs, output="sos")
            w = np.geomspace(20, 0.49 * fs, 200)
            _, h1 = scipy.signal.sosfreqz(butterworth(kind, order, f0, fs), w, fs=fs)
            _, h2 = scipy.signal.sosfreqz(ref, w, fs=fs)
            assert np.allclose(np.abs(h1), np.abs(h2), rtol=1e-9, atol=1e-12), (kind, order, f0, fs)


def test_theater_is_the_x_curve_within_a_decibel(tmp_path: Path) -> None:
    x = _multisine()
    g = _gains_db(x, _run(x, tmp_path, "theater"))
    for f in FREQS:
        assert abs(g[f] - xcurve_db(f)) <= 1.0, (f, g[f], xcurve_db(f))
    assert abs(g[100.0]) < 0.05 and abs(g[16000.0] - -9.0) <= 1.0
    # The same design at other rates (its frequency response, 20 Hz - 20 kHz).
    for fs, tol in ((44100, 1.0), (48000, 1.0), (88200, 1.2), (96000, 1.2), (192000, 1.2)):
        f = np.geomspace(20, 20000, 300)
        _, h = scipy.signal.sosfreqz(xcurve_sos(fs), f, fs=fs)
        err = 20 * np.log10(np.abs(h)) - np.array([xcurve_db(v) for v in f])
        assert np.abs(err).max() <= tol, (fs, float(np.abs(err).max()))


def test_small_room_is_direct_sound_and_six_reflections(tmp_path: Path) -> None:
    """An impulse through the engine comes out as the documented taps; tones as their sum."""
    imp = np.zeros((SR // 10, 2), dtype=np.float32)
    imp[100] = 0.5
    y = _run(imp, tmp_path, "small-room", name="imp.wav")
    taps = room_taps(SR)
    # The room as documented: source 1 m from the front wall, listener 2.01 m away, 0.8 reflection.
    r0 = math.hypot(0.2, 2.0)
    front = math.hypot(0.2, 4.0)  # the image in the front wall (y = 0): at y = -1
    assert taps[0][0] == 0
    relative = {d: g / taps[0][1] for d, g in taps[1:]}
    assert relative[round((front - r0) / 343 * SR)] == pytest.approx(0.8 * r0 / front)
    want = np.zeros_like(y)
    for d, g in taps:
        want[100 + d] += 0.5 * g
    assert np.abs(y - want).max() < 1e-7
    assert sum(g * g for _, g in taps) == pytest.approx(1.0)
    assert min(d for d, _ in taps[1:]) / SR > 3.0e-3 and max(d for d, _ in taps) / SR < 12e-3
    # Tones: the magnitude of the sum of the taps at each frequency.
    x = _multisine()
    g = _gains_db(x, _run(x, tmp_path, "small-room"))
    for f in FREQS:
        h = abs(sum(gain * np.exp(-2j * np.pi * f * d / SR) for d, gain in taps))
        assert abs(g[f] - 20 * math.log10(h)) < 0.05, (f, g[f])


def test_mono_folds_down_by_the_documented_law(tmp_path: Path) -> None:
    n = SR // 4
    rng = np.random.default_rng(1)
    st = (rng.standard_normal((n, 2)) * 0.1).astype(np.float32)
    y = _run(st, tmp_path, "mono", name="st.wav")
    m = (st[:, 0].astype(np.float64) + st[:, 1]) / 2
    assert np.abs(y[:, 0] - m).max() < 1e-7 and np.abs(y[:, 1] - m).max() < 1e-7
    # Out of phase cancels; in phase keeps its level (-6 dB law).
    x = np.stack([st[:, 0], -st[:, 0]], axis=1)
    assert np.abs(_run(x, tmp_path, "mono", name="anti.wav")).max() < 1e-7
    x = np.stack([st[:, 0], st[:, 0]], axis=1)
    assert np.abs(_run(x, tmp_path, "mono", name="same.wav") - x).max() < 1e-7
    # 5.1 (L R C LFE Ls Rs): ITU-R BS.775 to Lo/Ro, then (Lo+Ro)/2 on L and R, the rest silent.
    six = (rng.standard_normal((n, 6)) * 0.1).astype(np.float32)
    y = _run(six, tmp_path, "mono", name="six.wav")
    s = six.astype(np.float64)
    k = math.sqrt(0.5)  # -3 dB
    lo = s[:, 0] + k * s[:, 2] + k * s[:, 4]
    ro = s[:, 1] + k * s[:, 2] + k * s[:, 5]
    assert np.abs(y[:, 0] - (lo + ro) / 2).max() < 1e-6
    assert np.abs(y[:, 1] - (lo + ro) / 2).max() < 1e-6
    assert not y[:, 2:].any()


def test_phone_is_mono_too(tmp_path: Path) -> None:
    x = _multisine()
    x[:, 1] = -x[:, 1]  # left and right in opposition: nothing is left in mono
    assert np.abs(_run(x, tmp_path, "phone")).max() < 1e-7


# ----- the stage: blocks, bypass, switches -----------------------------------------------------
@pytest.mark.parametrize("preset", list(PRESETS))
def test_block_size_does_not_change_the_output(tmp_path: Path, preset: str) -> None:
    x = _multisine(0.6)
    a = _run(x, tmp_path, preset, block=64)
    b = _run(x, tmp_path, preset, block=4096)
    assert np.array_equal(a, b)
    # The stage alone, fed the same blocks as float32, also with a switch in the middle.
    outs = []
    for block in (64, 4096):
        st = PresetStage(SR, 2)
        st.set(preset)
        ys = []
        for i in range(0, len(x), block):
            if i <= SR // 4 < i + block:  # a switch (applied at a block start): split there
                ys.append(st.process(x[i:SR // 4]))
                st.set("theater" if preset != "theater" else None)
                ys.append(st.process(x[SR // 4:i + block]))
            else:
                ys.append(st.process(x[i:i + block]))
        outs.append(np.concatenate(ys))
    assert np.array_equal(outs[0], outs[1])


def test_bypass_is_bit_identical_to_no_preset(tmp_path: Path) -> None:
    write_set(tmp_path / "s", seconds=1.0)
    specs = [StemSpec(p.name, p, p.stem.split("_")[1]) for p in sorted((tmp_path / "s").glob("*.wav"))]
    plain = Engine(StemSet(specs))
    render(plain, tmp_path / "plain.wav", block=512)
    want = sf.read(tmp_path / "plain.wav", dtype="float32")[0]

    e = Engine(StemSet(specs))
    e.set_preset("theater")
    e.set_preset(None)
    e.settle()
    render(e, tmp_path / "bypass.wav", block=512)
    assert np.array_equal(sf.read(tmp_path / "bypass.wav", dtype="float32")[0], want)

    # Switched on and off while rendering: bit for bit the mix again once the fade is over.
    e = Engine(StemSet(specs))
    render(e, tmp_path / "onoff.wav", block=512,
           events=[(SR // 4, lambda en: en.set_preset("laptop")), (SR // 2, lambda en: en.set_preset(None))])
    y = sf.read(tmp_path / "onoff.wav", dtype="float32")[0]
    fade = round(0.02 * SR)
    assert np.array_equal(y[:SR // 4], want[:SR // 4])
    assert not np.array_equal(y[SR // 4:SR // 2], want[SR // 4:SR // 2])
    assert np.array_equal(y[SR // 2 + fade:], want[SR // 2 + fade:])


@pytest.mark.parametrize("preset", ["small-room", "theater", "laptop"])
def test_a_switched_in_filter_starts_where_it_would_have_been(preset: str) -> None:
    """The warm-up: switched on at frame N (no fade), the output from N on is what the preset
    would play had it been on from the start — the same samples for the FIR (its 11.7 ms fit in
    the 100 ms of history), within 1e-7 for the IIR filters (their memory decays within it)."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((SR, 2)) * 0.1).astype(np.float32)
    on, late = PresetStage(SR, 2), PresetStage(SR, 2)
    on.set(preset, fade=False)
    at = 300 * 57  # after the history ring has wrapped round, mid-way
    ya, yb = [], []
    for i in range(0, len(x), 300):
        if i == at:
            late.set(preset, fade=False)
        ya.append(on.process(x[i:i + 300]))
        yb.append(late.process(x[i:i + 300]))
    a, b = np.concatenate(ya), np.concatenate(yb)
    assert np.array_equal(b[:at], x[:at])
    if preset == "small-room":
        assert np.array_equal(a[at:], b[at:])
    else:
        assert np.abs(a[at:] - b[at:]).max() < 1e-7


def _click(y: np.ndarray, at: int, span: int = 2000) -> float:
    """The level (dB re the tones' peak) of what lies above 6 kHz near ``at``: the test tones are
    below 1 kHz and every preset is linear, so steady playback has nothing there (< -120 dB) and
    a smooth fade next to nothing; a step in the waveform is broadband and shows."""
    hp = scipy.signal.butter(8, 6000, "highpass", fs=SR, output="sos")
    z = scipy.signal.sosfilt(hp, y[:, 0].astype(np.float64))
    return 20 * math.log10(np.abs(z[at - span:at + span]).max() / 0.6 + 1e-12)


def test_switching_presets_does_not_click(tmp_path: Path) -> None:
    t = np.arange(SR * 2) / SR
    x = (0.3 * np.sin(2 * np.pi * 997 * t) + 0.3 * np.sin(2 * np.pi * 120 * t)).astype(np.float32)
    x = np.stack([x, x], axis=1)
    order = [None, *PRESETS, None]
    at = [SR // 4 * (i + 1) + 37 for i in range(len(order) - 1)]  # mid-cycle: the tones are not 0
    for block in (64, 1000):
        st = PresetStage(SR, 2)
        ys = []
        pos = 0
        for i, a in enumerate([*at, len(x)]):
            while pos < a:
                n = min(block, a - pos)
                ys.append(st.process(x[pos:pos + n]))
                pos += n
            if i + 1 < len(order):
                st.set(order[i + 1])
        y = np.concatenate(ys)
        for a in at:
            assert _click(y, a) < -80, (block, a, _click(y, a))
    # The measure does catch a click: the same switch without warm-up or fade.
    hard = PresetStage(SR, 2, crossfade_s=1 / SR, warm_s=1 / SR)
    y = np.concatenate([hard.process(x[:at[1]]), (hard.set("theater"), hard.process(x[at[1]:]))[1]])
    assert _click(y, at[1]) > -40


def test_unknown_preset_is_refused(tmp_path: Path) -> None:
    e = Engine(_write(tmp_path / "x.wav", _multisine(0.1)))
    try:
        with pytest.raises(PlaybackError, match=r"unknown preset .cinema.*theater"):
            e.set_preset("cinema")
    finally:
        e.close()


def test_status_says_which_preset(tmp_path: Path) -> None:
    e = Engine(_write(tmp_path / "x.wav", _multisine(0.1)))
    try:
        assert e.status.preset is None
        e.set_preset("small-room")
        e.process(16)
        assert e.status.preset == "small-room"
    finally:
        e.close()


def test_preset_names_spelled_for_the_command_line_are_the_engines() -> None:
    assert tuple(PRESET_NAMES) == tuple(PRESETS)


# ----- play --preset ---------------------------------------------------------------------------
def test_play_render_with_a_preset(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1", seconds=1.0)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    r = sv.ok("-C", vault, "play", CUE, "--preset", "theater", "--render", tmp_path / "t.wav", "--json")
    assert '"preset": "theater"' in r.out
    s = prepare_play(Vault(vault), CUE)
    try:
        s.engine.set_preset("theater")
        s.engine.settle()
        run_render(s, tmp_path / "want.wav")
    finally:
        s.close()
    assert np.array_equal(sf.read(tmp_path / "t.wav")[0], sf.read(tmp_path / "want.wav")[0])
    r = sv.ok("-C", vault, "play", CUE, "--preset", "phone", "--render", tmp_path / "p.wav")
    assert "through the phone preset" in r.out
    plain = sv.ok("-C", vault, "play", CUE, "--render", tmp_path / "n.wav")
    assert "through the" not in plain.out


def test_play_with_an_unknown_preset_is_bad_usage(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1", seconds=1.0)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    r = sv("-C", vault, "play", CUE, "--preset", "cinema", "--render", tmp_path / "x.wav")
    assert r.code == 2
    assert "cinema" in r.err and not (tmp_path / "x.wav").exists()


def test_play_keys_cycle_and_bypass_presets(vault: Path, sv: Runner, tmp_path: Path) -> None:
    import threading

    from tui.commands.play import _line, _on_key

    write_set(tmp_path / "v1", seconds=1.0)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    s = prepare_play(Vault(vault), CUE, preset="laptop")
    try:
        on = _on_key(s, threading.Event())
        heard = []
        for k in ("P", "P", "p", "p", "p", "p", "P", "p"):
            on(k)
            s.engine.settle()
            heard.append(s.engine.status.preset)
        assert heard == [None, "laptop", "phone", "small-room", "theater", None, "theater", None]
        on("p")
        s.engine.settle()
        assert " mono " in _line(s)
    finally:
        s.close()
