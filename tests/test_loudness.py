"""audio.loudness against EBU Tech 3341 / 3342, pyloudnorm, and its own streaming invariants.

Every signal is synthesized here with numpy from the definitions in the EBU documents (the
project ships no audio); files are written by soundfile to tmp_path only.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyloudnorm
import pytest
import scipy.signal
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from audio.errors import UnreadableAudio
from audio.loudness import Loudness, LoudnessMeter, _TruePeak, measure, measure_file

SR = 48000


def tone(level_dbfs: float, seconds: float, *, sr: int = SR, freq: float = 1000.0,
         channels: int = 2) -> np.ndarray:
    """A sine of peak ``level_dbfs`` in every channel, in phase (the Tech 3341/3342 signals)."""
    t = np.arange(round(seconds * sr)) / sr
    x = 10.0 ** (level_dbfs / 20.0) * np.sin(2 * np.pi * freq * t)
    return np.repeat(x[:, None], channels, axis=1)


def silence(seconds: float, *, sr: int = SR, channels: int = 2) -> np.ndarray:
    return np.zeros((round(seconds * sr), channels))


def seq(*parts: tuple[float, float], sr: int = SR) -> np.ndarray:
    """Tones of (level dBFS, seconds) one after another."""
    return np.concatenate([tone(level, secs, sr=sr) for level, secs in parts])


def tp_sine(freq: float, phase_deg: float, amplitude: float, *, sr: int = SR) -> np.ndarray:
    """Tech 3341 cases 15-19: a stereo sine with 10 ms linear fades (3.2 s, as the EBU files)."""
    n = round(3.2 * sr)
    x = amplitude * np.sin(2 * np.pi * freq * np.arange(n) / sr + math.radians(phase_deg))
    return np.repeat(_fade(x, sr)[:, None], 2, axis=1)


def _fade(x: np.ndarray, sr: int) -> np.ndarray:
    ramp = np.arange(round(0.01 * sr)) / round(0.01 * sr)
    x = x.copy()
    x[:ramp.size] *= ramp
    x[-ramp.size:] *= ramp[::-1]
    return x


def assert_same(a: Loudness, b: Loudness) -> None:
    """Equal but for the last bits of sums that were split at different places."""
    assert a.true_peak_dbtp == b.true_peak_dbtp and a.sample_peak_dbfs == b.sample_peak_dbfs
    assert (a.duration_s, a.curve_hop_s) == (b.duration_s, b.curve_hop_s)
    for name in ("integrated_lufs", "lra_lu", "max_momentary_lufs", "max_short_term_lufs"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), abs=1e-9), name
    assert a.short_term_curve == pytest.approx(b.short_term_curve, abs=1e-9)


def within_tp(measured: float | None, expected: float) -> bool:
    """Tech 3341 true-peak tolerance: +0.2 / -0.4 dB."""
    return measured is not None and expected - 0.4 <= measured <= expected + 0.2


# -- EBU Tech 3341: integrated, momentary, short-term ------------------------------------------


@pytest.mark.parametrize("sr", [44100, 48000])
def test_tech3341_case1_and_2_steady_tones(sr: int) -> None:
    for level, expected in ((-23.0, -23.0), (-33.0, -33.0)):
        r = measure(tone(level, 20.0, sr=sr), sr)
        for value in (r.integrated_lufs, r.max_momentary_lufs, r.max_short_term_lufs):
            assert value == pytest.approx(expected, abs=0.1)


@pytest.mark.parametrize(
    ("case", "parts"),
    [
        (3, [(-36.0, 10), (-23.0, 60), (-36.0, 10)]),
        (4, [(-72.0, 10), (-36.0, 10), (-23.0, 60), (-36.0, 10), (-72.0, 10)]),
        (5, [(-26.0, 20), (-20.0, 20.1), (-26.0, 20)]),
    ],
)
def test_tech3341_cases_3_to_5_gating(case: int, parts: list[tuple[float, float]]) -> None:
    assert measure(seq(*parts), SR).integrated_lufs == pytest.approx(-23.0, abs=0.1)


def test_tech3341_case6_surround_weights() -> None:
    # 5.0 at -28 (L, R), -24 (C), -30 (Ls, Rs) dBFS reads -23.0 LUFS with surrounds at 1.41.
    levels = [-28.0, -28.0, -24.0, -30.0, -30.0]
    five = np.concatenate([tone(lv, 20.0, channels=1) for lv in levels], axis=1)
    assert measure(five, SR, channel_weights=[1, 1, 1, 1.41, 1.41]).integrated_lufs == \
        pytest.approx(-23.0, abs=0.1)
    # The 6-channel WAVE_FORMAT_EXTENSIBLE version (silent LFE, L R C LFE Ls Rs) needs no weights:
    # 5.1 is the default for six channels. A loud LFE must not count.
    six = np.concatenate([five[:, :3], tone(-6.0, 20.0, channels=1), five[:, 3:]], axis=1)
    assert measure(six, SR).integrated_lufs == pytest.approx(-23.0, abs=0.1)


def test_default_channel_weights() -> None:
    assert LoudnessMeter(SR, 2).channel_weights == (1.0, 1.0)
    assert LoudnessMeter(SR, 5).channel_weights == (1.0,) * 5
    assert LoudnessMeter(SR, 6).channel_weights == (1, 1, 1, 0, 1.41, 1.41)
    assert LoudnessMeter(SR, 8).channel_weights == (1, 1, 1, 0) + (1.41,) * 4
    assert LoudnessMeter(SR, 12).channel_weights == (1, 1, 1, 0) + (1.41,) * 4 + (1.0,) * 4


def test_tech3341_case9_short_term_constant_after_3s() -> None:
    # 1.34 s at -20 dBFS then 1.66 s at -30 dBFS, repeated: every 3 s window holds one period.
    x = seq(*[(-20.0, 1.34), (-30.0, 1.66)] * 5)
    r = measure(x, SR, curve_hop_s=0.01)
    after_3s = [v for v in r.short_term_curve[299:] if v is not None]
    assert len(after_3s) == len(r.short_term_curve) - 299
    assert max(after_3s) == pytest.approx(-23.0, abs=0.1)
    assert min(after_3s) == pytest.approx(-23.0, abs=0.1)


@pytest.mark.parametrize("i", range(20))
def test_tech3341_cases_10_and_11_max_short_term(i: int) -> None:
    lead = silence(0.15 * i)
    x10 = np.concatenate([lead, tone(-23.0, 3.0), silence(1.0)])
    assert measure(x10, SR).max_short_term_lufs == pytest.approx(-23.0, abs=0.1)
    x11 = np.concatenate([lead, tone(-38.0 + i, 3.0), silence(1.0)])
    assert measure(x11, SR).max_short_term_lufs == pytest.approx(-38.0 + i, abs=0.1)


def test_tech3341_case12_momentary_constant() -> None:
    # 0.18 s at -20 dBFS then 0.22 s at -30 dBFS: every 400 ms window holds one period, so the
    # momentary loudness is constant; only its maximum is exposed.
    x = seq(*[(-20.0, 0.18), (-30.0, 0.22)] * 25)
    assert measure(x, SR).max_momentary_lufs == pytest.approx(-23.0, abs=0.1)


@pytest.mark.parametrize("i", range(20))
def test_tech3341_cases_13_and_14_max_momentary(i: int) -> None:
    lead = silence(0.02 * i)
    x13 = np.concatenate([lead, tone(-23.0, 0.4), silence(1.0)])
    assert measure(x13, SR).max_momentary_lufs == pytest.approx(-23.0, abs=0.1)
    x14 = np.concatenate([lead, tone(-38.0 + i, 0.4), silence(1.0)])
    assert measure(x14, SR).max_momentary_lufs == pytest.approx(-38.0 + i, abs=0.1)


# -- EBU Tech 3341: true peak ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "divisor", "phase", "amplitude", "expected"),
    [
        (15, 4, 0.0, 0.5, -6.0),
        (16, 4, 45.0, 0.5, -6.0),
        (17, 6, 60.0, 0.5, -6.0),
        (18, 8, 67.5, 0.5, -6.0),
        (19, 4, 45.0, 1.41, 3.0),
    ],
)
def test_tech3341_true_peak_sines(case: int, divisor: int, phase: float, amplitude: float,
                                  expected: float) -> None:
    r = measure(tp_sine(SR / divisor, phase, amplitude), SR)
    assert within_tp(r.true_peak_dbtp, expected), r.true_peak_dbtp
    assert r.sample_peak_dbfs is not None and r.true_peak_dbtp >= r.sample_peak_dbfs


@pytest.mark.parametrize("offset", [0, 1, 2, 3])
def test_tech3341_true_peak_cases_20_to_23(offset: int) -> None:
    # fs/6 at 0.5 FS holding one period of fs/4 at 1.0 FS, synthesized at 4*fs and decimated
    # (with an anti-alias filter) starting `offset` samples in: the sample peak moves, the true
    # peak stays at 0 dBTP.
    fs4 = 4 * SR
    n4 = round(3.2 * fs4) + 16
    x4 = 0.5 * np.sin(2 * np.pi * (SR / 6) * np.arange(n4) / fs4)
    burst = n4 // 2 - (n4 // 2) % 48  # on a whole period of the fs/6 tone (24 samples at 4fs)
    x4[burst:burst + 16] = np.sin(2 * np.pi * (SR / 4) * np.arange(16) / fs4)
    x = _fade(scipy.signal.resample_poly(x4[offset:], 1, 4), SR)
    r = measure(np.stack([x, x], axis=1), SR)
    assert within_tp(r.true_peak_dbtp, 0.0), r.true_peak_dbtp
    if offset == 2:  # the peak falls between samples: the sample peak reads ~2.5 dB low
        assert r.sample_peak_dbfs is not None and r.sample_peak_dbfs < -2.0


# -- EBU Tech 3342: loudness range -------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "levels", "expected"),
    [
        (1, [-20.0, -30.0], 10.0),
        (2, [-20.0, -15.0], 5.0),
        (3, [-40.0, -20.0], 20.0),
        (4, [-50.0, -35.0, -20.0, -35.0, -50.0], 15.0),
    ],
)
def test_tech3342_loudness_range(case: int, levels: list[float], expected: float) -> None:
    r = measure(seq(*[(level, 20.0) for level in levels]), SR)
    assert r.lra_lu == pytest.approx(expected, abs=1.0)


# -- against pyloudnorm ------------------------------------------------------------------------


@settings(max_examples=30, deadline=None, database=None)
@given(
    rate=st.sampled_from([44100, 48000, 96000]),
    channels=st.sampled_from([1, 2]),
    tenths=st.integers(10, 100),
    extra_ms=st.integers(0, 49),
    noise=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_integrated_matches_pyloudnorm(rate: int, channels: int, tenths: int, extra_ms: int,
                                       noise: bool, seed: int) -> None:
    # Durations are whole 100 ms plus under 50 ms: pyloudnorm rounds its block count, so with
    # 50 ms or more left over it adds a 400 ms block that runs past the end (zero-padded),
    # which BS.1770 does not; below 50 ms both use the same complete blocks.
    n = tenths * rate // 10 + extra_ms * rate // 1000
    rng = np.random.default_rng(seed)
    if noise:
        sig = rng.standard_normal((n, channels)) * 0.25
    else:
        t = np.arange(n) / rate
        freqs = rng.uniform(40.0, 15000.0, size=(3, channels))
        sig = sum(np.sin(2 * np.pi * f * t[:, None]) for f in freqs) / 3
    # A piecewise-linear envelope between random levels from -80 to 0 dB, so both gates act.
    knots = rng.integers(2, 12)
    levels_db = rng.uniform(-80.0, 0.0, size=knots)
    levels_db[rng.integers(knots)] = rng.uniform(-20.0, 0.0)
    env = 10.0 ** (np.interp(np.arange(n), np.linspace(0, n, knots), levels_db) / 20.0)
    x = sig * env[:, None]
    if channels == 1:
        x = x[:, 0]
    ours = measure(x, rate).integrated_lufs
    theirs = pyloudnorm.Meter(rate).integrated_loudness(x)
    if math.isfinite(theirs):
        assert ours is not None and ours == pytest.approx(theirs, abs=0.05)
    else:
        assert ours is None


# -- streaming invariants ----------------------------------------------------------------------


def _enveloped_noise(seconds: float, sr: int, channels: int, seed: int) -> np.ndarray:
    """Noise whose level jumps every ~quarter second, with silent stretches: quiet chunks."""
    rng = np.random.default_rng(seed)
    n = round(seconds * sr)
    steps = np.repeat(rng.uniform(0.0, 1.0, size=n // (sr // 4) + 1) ** 4, sr // 4)[:n]
    steps[rng.random(steps.size) < 0.02] = 0.0
    return (rng.standard_normal((n, channels)) * 0.3 * steps[:, None]).astype(np.float32)


def _fed(x: np.ndarray, sr: int, block: int, **kw: Any) -> Loudness:
    meter = LoudnessMeter(sr, x.shape[1], **kw)
    for i in range(0, x.shape[0], block):
        meter.process(x[i:i + block])
    return meter.result()


def test_block_size_does_not_change_the_result() -> None:
    x = _enveloped_noise(8.37, 44100, 2, seed=7)
    results = [_fed(x, 44100, block, curve_hop_s=0.5) for block in (256, 1000, 65536)]
    assert results[0].integrated_lufs is not None and results[0].lra_lu is not None
    for r in results[1:]:
        # True and sample peak bit for bit (the oversampler works on an absolute chunk grid);
        # loudness sums split at other places may differ in the last bit.
        assert_same(r, results[0])


def test_result_can_be_taken_mid_stream() -> None:
    x = _enveloped_noise(6.0, SR, 2, seed=3)
    meter = LoudnessMeter(SR, 2)
    meter.process(x[:SR * 3])
    assert meter.result() == measure(x[:SR * 3], SR)
    meter.process(x[SR * 3:])
    assert meter.result().true_peak_dbtp == measure(x, SR).true_peak_dbtp


@pytest.mark.parametrize(
    ("sr", "channels", "seconds", "seed"),
    [(44100, 2, 9.0, 1), (48000, 1, 12.0, 2), (48000, 6, 4.0, 3), (96000, 2, 7.0, 4),
     (22050, 2, 20.0, 5)],
)
def test_true_peak_shortcut_is_exact(sr: int, channels: int, seconds: float, seed: int) -> None:
    x = _enveloped_noise(seconds, sr, channels, seed)
    meters = {shortcut: _TruePeak(sr, channels, shortcut=shortcut) for shortcut in (True, False)}
    for meter in meters.values():
        for i in range(0, x.shape[0], 4000):
            block = x[i:i + 4000]
            meter.process(block, float(np.abs(block).max()))
    fast, full = meters[True], meters[False]
    assert fast.peak() == full.peak()  # exactly, not approximately
    assert full.chunks_oversampled == full.chunks_seen > 0
    assert fast.chunks_oversampled < full.chunks_seen / 2  # and it did skip work


def test_true_peak_is_never_below_sample_peak() -> None:
    x = _enveloped_noise(3.0, SR, 2, seed=11)
    r = measure(x, SR)
    assert r.true_peak_dbtp is not None and r.sample_peak_dbfs is not None
    assert r.true_peak_dbtp >= r.sample_peak_dbfs
    # 192 kHz and up is not oversampled: the true peak is the sample peak.
    r192 = measure(x, 192000)
    assert r192.true_peak_dbtp == r192.sample_peak_dbfs


# -- edge cases --------------------------------------------------------------------------------


def test_silence_gives_none_everywhere() -> None:
    r = measure(np.zeros((SR * 5, 2)), SR)
    assert r.integrated_lufs is r.lra_lu is r.true_peak_dbtp is r.sample_peak_dbfs is None
    assert r.max_momentary_lufs is r.max_short_term_lufs is None
    assert r.short_term_curve == [None] * 5
    assert r.duration_s == 5.0
    json.dumps(r.to_dict(), allow_nan=False)  # raises on NaN / inf


def test_shorter_than_a_gating_block() -> None:
    r = measure(tone(-20.0, 0.2), SR)
    assert r.integrated_lufs is None and r.lra_lu is None
    assert r.true_peak_dbtp is not None and r.sample_peak_dbfs == pytest.approx(-20.0, abs=0.01)
    assert r.short_term_curve == []
    json.dumps(r.to_dict(), allow_nan=False)


def test_quieter_than_the_absolute_gate() -> None:
    r = measure(tone(-75.0, 5.0), SR)
    assert r.integrated_lufs is None and r.lra_lu is None
    assert r.max_momentary_lufs == pytest.approx(-75.0, abs=0.2)


def test_short_term_curve_spacing() -> None:
    x = np.concatenate([tone(-23.0, 4.0), silence(4.0)])
    r = measure(x, SR, curve_hop_s=0.5)
    assert r.curve_hop_s == 0.5 and len(r.short_term_curve) == 16
    assert r.short_term_curve[5] == pytest.approx(-23.0, abs=0.1)  # 3 s of tone ending at 3 s
    assert r.short_term_curve[-1] is None  # the last 3 s are silent
    assert measure(x, SR, curve_hop_s=0.333).curve_hop_s == 0.33  # rounded to 10 ms


def test_to_dict_is_plain_json() -> None:
    d = measure(tone(-23.0, 4.0), SR).to_dict()
    assert set(d) == {"integrated_lufs", "lra_lu", "true_peak_dbtp", "sample_peak_dbfs",
                      "max_momentary_lufs", "max_short_term_lufs", "short_term_curve",
                      "curve_hop_s", "duration_s"}
    assert json.loads(json.dumps(d, allow_nan=False)) == d


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: measure(np.zeros((10, 2, 2)), SR), "1-D (mono) or 2-D"),
        (lambda: measure(np.zeros((SR, 0)), SR), "zero channels"),
        (lambda: measure(np.full((SR, 2), np.nan), SR), "NaN or infinite"),
        (lambda: measure(np.r_[np.zeros(SR), np.inf], SR), "NaN or infinite"),
        (lambda: measure(np.full(SR, 1e300), SR), "beyond float32 range"),
        (lambda: measure(np.zeros((SR, 2), dtype=np.int16), SR), "floating-point"),
        (lambda: measure([0.0, 0.1], SR), "numpy array"),  # type: ignore[arg-type]
        (lambda: measure(np.zeros(SR), 0), "sample_rate must be positive"),
        (lambda: measure(np.zeros(SR), -48000), "sample_rate must be positive"),
        (lambda: measure(np.zeros(SR), 48000.0), "integer"),  # type: ignore[arg-type]
        (lambda: measure(np.zeros(SR), 4000), "below the 8000 Hz"),
        (lambda: LoudnessMeter(SR, 0), "channels must be at least 1"),
        (lambda: LoudnessMeter(SR, 2, channel_weights=[1.0]), "1 weights for 2 channels"),
        (lambda: LoudnessMeter(SR, 2, channel_weights=[1.0, -1.0]), "finite and >= 0"),
        (lambda: LoudnessMeter(SR, 2, curve_hop_s=0.0), "curve_hop_s"),
        (lambda: LoudnessMeter(SR, 2).process(np.zeros(100)), "2-D array of shape (frames, 2)"),
        (lambda: LoudnessMeter(SR, 2).process(np.zeros((100, 3))), "3 channels"),
    ],
)
def test_bad_input_raises_value_error(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        call()  # type: ignore[operator]


def test_bad_block_leaves_the_meter_untouched() -> None:
    meter = LoudnessMeter(SR, 2)
    good = tone(-23.0, 2.0)
    meter.process(good)
    before = meter.result()
    bad = good.copy()
    bad[-1, 0] = np.nan
    with pytest.raises(ValueError):
        meter.process(bad)
    assert meter.result() == before


# -- files -------------------------------------------------------------------------------------


def test_measure_file_24bit_wav(tmp_path: Path) -> None:
    x = np.concatenate([tone(-36.0, 2.0), _enveloped_noise(5.0, SR, 2, seed=5) * 0.5,
                        tone(-23.0, 3.0)])
    path = tmp_path / "stem.wav"
    sf.write(path, x, SR, subtype="PCM_24")
    written, _ = sf.read(path, dtype="float32")
    r = measure_file(path)
    assert_same(r, measure(written, SR))
    assert r.duration_s == pytest.approx(10.0)
    small_blocks = measure_file(str(path), block_frames=1000)
    assert small_blocks.true_peak_dbtp == r.true_peak_dbtp
    assert small_blocks.integrated_lufs == pytest.approx(r.integrated_lufs, abs=1e-9)
    with open(path, "rb") as f:  # an open file works too
        assert measure_file(f).true_peak_dbtp == r.true_peak_dbtp


def test_measure_file_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableAudio, match=r"missing\.wav"):
        measure_file(tmp_path / "missing.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF1234WAVEnot really")
    with pytest.raises(UnreadableAudio, match=r"junk\.wav"):
        measure_file(junk)
    with pytest.raises(ValueError, match="block_frames"):
        measure_file(junk, block_frames=0)


def test_measure_file_with_nan_samples(tmp_path: Path) -> None:
    x = tone(-23.0, 1.0)
    x[100, 1] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, x, SR, subtype="FLOAT")
    with pytest.raises(UnreadableAudio, match="NaN"):
        measure_file(path)


def test_k_weighting_kernel_is_scipy_sosfilt_bit_for_bit() -> None:
    from audio.loudness import _k_weighting_sos, _sosfilt_rows

    x = np.random.default_rng(3).standard_normal((2, 10007))
    sos = _k_weighting_sos(48000)
    ref, zf = scipy.signal.sosfilt(sos, x, axis=1, zi=np.zeros((2, 2, 2)))
    zi = np.zeros((2, 2, 2))  # (channels, sections, 2)
    a, b = np.ascontiguousarray(x[:, :5000]), np.ascontiguousarray(x[:, 5000:])
    _sosfilt_rows(sos, a, zi)
    _sosfilt_rows(sos, b, zi)
    assert np.concatenate([a, b], axis=1).tobytes() == ref.tobytes()
    assert zi.transpose(1, 0, 2).tobytes() == zf.tobytes()


def _blas_threads_after_metering(env: dict[str, str]) -> list[int]:
    code = ("import numpy as np; from threadpoolctl import threadpool_info; "
            "from audio.loudness import measure; measure(np.zeros((48000, 2)) + 0.1, 48000); "
            "print([i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'])")
    env = {k: v for k, v in {**os.environ, **env}.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS") or k in env}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                         cwd=Path(__file__).resolve().parent.parent).stdout.strip()
    return [int(n) for n in out.strip("[]").split(",") if n.strip()]


def test_the_true_peak_meter_holds_blas_to_one_thread() -> None:
    """Its matrix products are small: BLAS threads spin on the cores the workers need."""
    threads = _blas_threads_after_metering({})
    assert threads and all(n == 1 for n in threads), threads


def test_openblas_num_threads_set_by_the_user_is_respected() -> None:
    threads = _blas_threads_after_metering({"OPENBLAS_NUM_THREADS": "2"})
    assert threads and all(n == 2 for n in threads), threads


# The filter's fallback (audio.loudness._load_sosfilt): each case runs in a fresh process, where
# the kernel is not loaded yet. "env": the documented switch; "missing": the compiled kernel is
# not where the loader looks (no extension suffix matches), as with another scipy layout.
_FALLBACK_SETUP = {
    "env": "",
    "missing": "import importlib.machinery; importlib.machinery.EXTENSION_SUFFIXES[:] = []; ",
}
_METER_RUN = (
    "import json, warnings, numpy as np; "
    "from audio.loudness import LoudnessMeter, SlowFilterWarning, measure; "
    "t = np.arange(5 * 48000) / 48000; "
    "x = np.stack([0.3 * np.sin(2 * np.pi * 997 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.7 * t)), "
    "0.2 * np.sin(2 * np.pi * 3001 * t)], axis=1); "
    "a = measure(x, 48000).to_dict(); "
    "m = LoudnessMeter(44100, 1); m.process(x[:44100, :1]); b = m.result().to_dict(); "
    "print(json.dumps([a, b]))"
)


def _meter_in_a_process(setup: str, env: dict[str, str]) -> tuple[Any, str]:
    env = {**{k: v for k, v in os.environ.items() if k != "STEMVAULT_NO_FAST_SOSFILT"}, **env}
    r = subprocess.run([sys.executable, "-c", setup + _METER_RUN], capture_output=True, text=True, env=env,
                       cwd=Path(__file__).resolve().parent.parent)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout), r.stderr


@pytest.mark.parametrize("how", ["env", "missing"])
def test_the_filter_fallback_measures_the_same_and_says_so_once(how: str) -> None:
    fast, quiet = _meter_in_a_process("", {})
    assert "SlowFilterWarning" not in quiet and "sosfilt" not in quiet
    env = {"STEMVAULT_NO_FAST_SOSFILT": "1"} if how == "env" else {}
    slow, said = _meter_in_a_process(_FALLBACK_SETUP[how], env)
    assert slow == fast  # the same kernel behind scipy.signal.sosfilt: the same bits
    assert fast[0]["integrated_lufs"] is not None
    # two meters, two rates, many blocks: one warning, naming the slower path and why
    assert said.count("SlowFilterWarning") == 1, said
    assert "scipy.signal.sosfilt" in said
    assert ("STEMVAULT_NO_FAST_SOSFILT is set" if how == "env" else "no scipy.signal._sosfilt in this scipy") in said


def test_the_filter_switch_off_means_the_fast_kernel() -> None:
    _, quiet = _meter_in_a_process("", {"STEMVAULT_NO_FAST_SOSFILT": "0"})
    assert "SlowFilterWarning" not in quiet
