"""stemvault separate (issue 16): a tiny ONNX model built here (tests/sepmodel.py), loaded by the
same code a user's htdemucs.onnx goes through; real git, real git-lfs, real audio."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio.bwf import write_bwf
from tests.helpers import git, sha256
from tests.sepmodel import GAINS_4, write_model

pytest.importorskip("onnxruntime", reason="the separation extra: ./dev test installs it (pip install '.[separate]')")
pytest.importorskip("onnx", reason="the tests build their model with onnx (the dev extra)")

ROOT = Path(__file__).resolve().parents[1]
CUE = "1M07"
SR = 48000
TREF = 172_800_000  # 01:00:00:00 at 48 kHz


def music(seconds: float, sr: int = SR, channels: int = 2) -> np.ndarray:
    """Three tones with an onset, below 0 dBFS: what the model scales."""
    t = np.arange(round(seconds * sr)) / sr
    env = 1 - np.exp(-t * 30)
    x = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 554.37 * t) + 0.1 * np.sin(2 * np.pi * 1760 * t)
    left, right = x * env, 0.8 * x * env
    return np.stack([left, right], axis=1)[:, :channels]


@pytest.fixture
def models(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    write_model(folder, "htdemucs")
    write_model(folder, "htdemucs_6s", gains=(0.3, 0.2, 0.1, 0.1, 0.1, 0.1))
    return folder


@pytest.fixture
def mix(tmp_path: Path) -> Path:
    p = tmp_path / "masters" / "arrival master.wav"
    p.parent.mkdir()
    write_bwf(p, music(3.7), SR, subtype="PCM_24", time_reference=TREF)
    return p


def ints(path: Path) -> np.ndarray:
    data, _ = sf.read(str(path), dtype="int32", always_2d=True)
    return data.astype(np.int64) >> 8


def test_a_mix_separates_into_a_committed_version_that_nulls_exactly(vault, sv, models, mix) -> None:
    r = sv.ok("-C", vault, "separate", mix, "--cue", CUE, "--model-repo", models, "--json")
    doc = r.json()
    names = {s: f"{CUE}_{s.upper()}.wav" for s in ("drums", "bass", "other", "vocals")}
    cue_dir = vault / "cues" / CUE
    # the model's sources, the residual and the mix, 24-bit at the mix's rate, exact length, start
    mix_ints = ints(mix)
    total = np.zeros_like(mix_ints)
    for name in (*names.values(), f"{CUE}_RESIDUAL.wav"):
        info = sf.info(str(cue_dir / name))
        assert (info.samplerate, info.subtype, info.frames, info.channels) == (SR, "PCM_24", len(mix_ints), 2)
        total += ints(cue_dir / name)
    assert np.array_equal(total, mix_ints)  # stems + residual == mix, sample for sample
    # each stem is the mix times the model's gain (resampled 48 -> 44.1 -> 48 kHz: within 1e-3)
    x, _ = sf.read(str(mix))
    for g, s in zip(GAINS_4, ("drums", "bass", "other", "vocals"), strict=True):
        y, _ = sf.read(str(cue_dir / names[s]))
        assert np.max(np.abs(y[2000:-2000] - g * x[2000:-2000])) < 1e-3
    # the mix is the set's mix, byte for byte
    assert sha256(cue_dir / f"{CUE}_MIX.wav") == sha256(mix)
    # the residual's level is what the model leaves: 1 - sum(gains) of the mix
    expect = 20 * np.log10(1 - sum(GAINS_4))
    assert abs(doc["provenance"]["residual_db"] - expect) < 0.2
    show = sv.ok("-C", vault, "show", f"{CUE}@1.0", "--json").json()
    prov = show["provenance"]
    assert prov["kind"] == "separated" and prov["model"] == "htdemucs"
    assert prov["mix_sha256"] == sha256(mix) and prov["model_sha256"] == sha256(models / "htdemucs.onnx")
    assert prov["mix_file"] == "arrival master.wav"
    assert (prov["shifts"], prov["overlap"], prov["segment_s"]) == (0, 0.25, 0.5)
    assert show["mix"] == f"{CUE}_MIX.wav"
    assert all(s["start_tc"] == "01:00:00:00" for s in show["stems"])
    null = doc["version"]["null_test"]  # the vault's own null test, as for any commit: a digital null
    assert null["ran"] is not False and null["residual_db"] is None, null
    assert not [f for f in show["findings"] if f["code"].startswith("null")]
    manifest = (cue_dir / "stemset.toml").read_text()
    assert "[provenance]" in manifest and 'kind = "separated"' in manifest
    log = sv.ok("-C", vault, "log", CUE).out
    assert "separated by demucs (onnx) htdemucs" in log and sha256(mix)[:12] in log and "residual -24." in log
    assert sv.ok("-C", vault, "log", CUE, "--json").json()[0]["provenance"]["kind"] == "separated"
    human = sv.ok("-C", vault, "show", CUE).out
    assert "separated by demucs (onnx) htdemucs" in human
    # nothing left behind in the vault's staging area
    assert not list((vault / ".git" / "stemvault" / "incoming").glob("*"))


def test_six_sources_mono_44k1_and_the_names(vault, sv, models, tmp_path) -> None:
    p = tmp_path / "mono.wav"
    sf.write(p, music(2.0, 44100, 1), 44100, subtype="PCM_16")
    sv.ok("-C", vault, "separate", p, "--cue", CUE, "--model", "htdemucs_6s", "--model-repo", models, "--shifts", "1")
    assert sv.ok("-C", vault, "show", CUE, "--json").json()["provenance"]["shifts"] == 1
    files = sorted(q.name for q in (vault / "cues" / CUE).glob("*.wav"))
    assert files == sorted(f"{CUE}_{n}.wav" for n in ("DRUMS", "BASS", "OTHER", "VOCALS", "GUITAR", "PIANO",
                                                      "RESIDUAL", "MIX"))
    total = sum(ints(vault / "cues" / CUE / f) for f in files if not f.endswith("_MIX.wav"))
    assert np.array_equal(total, ints(p))
    assert sf.info(str(vault / "cues" / CUE / f"{CUE}_GUITAR.wav")).channels == 1


def test_a_bag_of_specialists_htdemucs_ft(vault, sv, mix, tmp_path) -> None:
    """htdemucs_ft as demucs-onnx exports it: four files, each giving all four rows, of which
    only its own source's is kept. Each specialist here gives its own source the test gain and
    the others a gain of 9 (that must not reach any stem)."""
    import hashlib

    folder = tmp_path / "ft"
    for i, s in enumerate(("drums", "bass", "other", "vocals")):
        gains = tuple(GAINS_4[j] if j == i else 9.0 for j in range(4))
        write_model(folder, f"htdemucs_ft_{s}", gains=gains)
    r = sv.ok("-C", vault, "separate", mix, "--cue", CUE, "--model", "htdemucs_ft", "--model-repo", folder, "--json")
    prov = r.json()["provenance"]
    x, _ = sf.read(str(mix))
    for g, s in zip(GAINS_4, ("DRUMS", "BASS", "OTHER", "VOCALS"), strict=True):
        y, _ = sf.read(str(vault / "cues" / CUE / f"{CUE}_{s}.wav"))
        assert np.max(np.abs(y[2000:-2000] - g * x[2000:-2000])) < 1e-3
    shas = [sha256(folder / f"htdemucs_ft_{s}.onnx") for s in ("drums", "bass", "other", "vocals")]
    assert prov["model_sha256"] == hashlib.sha256(",".join(shas).encode()).hexdigest()
    assert list(prov["model_files_sha256"].values()) == shas
    (folder / "htdemucs_ft_vocals.onnx").unlink()
    r = sv("-C", vault, "separate", mix, "--cue", CUE, "--model", "htdemucs_ft", "--model-repo", folder)
    assert r.code == 2 and "htdemucs_ft_vocals.onnx" in r.err


@pytest.mark.parametrize("shifts", [0, 2])
def test_segments_overlap_and_shifts_as_demucs_averages_them(tmp_path, shifts) -> None:
    """A model whose output depends on the position in its segment (tests/sepmodel.py ramp), at
    44.1 kHz (no resampling): each stem is the mix times the gain times the ramp averaged the
    way Demucs's apply_model does it — per grid of segments a weighted mean with the triangle
    1..L/2..1, then the mean over the shifted grids (offsets (k+1)/(N+1) of 0.5 s)."""
    from audio.separate import load_model, separate
    from tests.sepmodel import RAMP

    seg, rate = 4410, 44100
    write_model(tmp_path / "m", "ramp", segment=seg, ramp=True)
    model = load_model(tmp_path / "m", "ramp")
    x = music(1.3, rate)
    sf.write(tmp_path / "mix.wav", x, rate, subtype="PCM_24")
    outs = {n: tmp_path / f"{n}.wav" for n in (*model.sources, "residual")}
    sep = separate(tmp_path / "mix.wav", model, outs, overlap=0.25, shifts=shifts)
    n, stride = len(x), seg - int(0.25 * seg)
    half = seg // 2
    w = np.concatenate([np.arange(1, half + 1), np.arange(seg - half, 0, -1)]).astype(np.float64)
    r = RAMP(seg).astype(np.float64)
    delays = [0] if shifts == 0 else [round((k + 1) * (rate // 2) / (shifts + 1)) for k in range(shifts)]
    gain = np.zeros(n)
    runs = 0
    for d in delays:
        num, den = np.zeros(n), np.zeros(n)
        for o in range(-d, n, stride):
            lo, hi = max(o, 0), min(o + seg, n)
            runs += 1  # a segment wholly before the start runs too (on zeros), as in Demucs
            if hi > lo:
                num[lo:hi] += (w * r)[lo - o : hi - o]
                den[lo:hi] += w[lo - o : hi - o]
        gain += num / den / len(delays)
    assert sep.segments == runs and sep.shifts == shifts
    xq, _ = sf.read(str(tmp_path / "mix.wav"))
    for g, s in zip(GAINS_4, model.sources, strict=True):
        y, _ = sf.read(str(outs[s]))
        assert np.max(np.abs(y - g * xq * gain[:, None])) < 2e-6
    total = sum(ints(outs[k]) for k in outs)
    assert np.array_equal(total, ints(tmp_path / "mix.wav"))


def test_to_only_writes_files(vault, sv, models, mix, tmp_path) -> None:
    head = git(vault, "rev-parse", "HEAD")
    out = tmp_path / "sep"
    r = sv.ok("-C", vault, "separate", mix, "--cue", CUE, "--model-repo", models, "--to", out)
    assert "wrote 6 files" in r.out
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{CUE}_{n}.wav" for n in ("DRUMS", "BASS", "OTHER", "VOCALS", "RESIDUAL", "MIX"))
    assert git(vault, "rev-parse", "HEAD") == head
    # a second run would overwrite: refused, nothing written
    before = {p.name: sha256(p) for p in out.iterdir()}
    r = sv("-C", vault, "separate", mix, "--cue", CUE, "--model-repo", models, "--to", out)
    assert r.code == 2 and "already holds" in r.err
    assert {p.name: sha256(p) for p in out.iterdir()} == before


def test_the_model_folder_from_stemvault_toml(vault, sv, models, mix) -> None:
    import shutil

    shutil.copytree(models, vault / "models")
    with open(vault / "stemvault.toml", "a") as f:
        f.write('\n[separate]\nmodel_repo = "models"\n')
    git(vault, "add", "-A")
    git(vault, "commit", "-qm", "models in the vault")
    sv.ok("-C", vault, "separate", mix, "--cue", CUE)
    assert (vault / "cues" / CUE / f"{CUE}_DRUMS.wav").is_file()


def test_missing_weights_say_which_file_goes_where(vault, sv, mix, tmp_path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    r = sv("-C", vault, "separate", mix, "--cue", CUE, "--model-repo", empty)
    assert r.code == 2
    assert r.err.count("\n") == 1 and "put htdemucs.onnx" in r.err and str(empty) in r.err
    r = sv("-C", vault, "separate", mix, "--cue", CUE)
    assert r.code == 2 and "--model-repo" in r.err and "model_repo" in r.err
    (empty / "htdemucs.onnx").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 9\n")
    r = sv("-C", vault, "separate", mix, "--cue", CUE, "--model-repo", empty)
    assert r.code == 2 and "git-lfs pointer" in r.err
    (empty / "htdemucs.onnx").write_bytes(b"\x08\x07not a model")
    r = sv("-C", vault, "separate", mix, "--cue", CUE, "--model-repo", empty)
    assert r.code == 2 and "cannot load" in r.err
    assert sv.ok("-C", vault, "log", "--json").json() == []


def test_bad_usage_is_refused_before_any_work(vault, sv, models, mix, tmp_path) -> None:
    for args, want in (((mix, "--cue", CUE, "--overlap", "0.7"), "--overlap 0.7"),
                       ((mix, "--cue", CUE, "--shifts", "21"), "--shifts 21"),
                       ((tmp_path / "nope.wav", "--cue", CUE), "no such file"),
                       ((mix, "--cue", "1M07 bad"), "invalid cue name"),
                       ((mix, "--cue", CUE, "--model", "../htdemucs"), "model name")):
        r = sv("-C", vault, "separate", *args, "--model-repo", models)
        assert r.code == 2 and want in r.err and r.err.count("\n") == 1, r.err
    assert sv.ok("-C", vault, "log", "--json").json() == []


def test_a_model_that_breaks_its_own_contract_is_an_error_not_a_crash(vault, sv, mix, tmp_path) -> None:
    """Declared (1, 4, 2, n) but gives 100 frames fewer than the segment."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    seg = 22050
    inits = [numpy_helper.from_array(np.asarray(v, np.int64), n) for n, v in
             (("starts", [0]), ("ends", [seg - 100]), ("sl_axes", [2]), ("axes", [1]))]
    inits.append(numpy_helper.from_array(np.full((1, 4, 1, 1), 0.25, np.float32), "gains"))
    graph = helper.make_graph(
        [helper.make_node("Slice", ["mix", "starts", "ends", "sl_axes"], ["short"]),
         helper.make_node("Unsqueeze", ["short", "axes"], ["short4"]),
         helper.make_node("Mul", ["short4", "gains"], ["stems"])], "broken",
        [helper.make_tensor_value_info("mix", TensorProto.FLOAT, [1, 2, seg])],
        [helper.make_tensor_value_info("stems", TensorProto.FLOAT, [1, 4, 2, "n"])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    (tmp_path / "broken").mkdir()
    onnx.save(model, str(tmp_path / "broken" / "htdemucs.onnx"))
    r = sv("-C", vault, "separate", mix, "--cue", CUE, "--model-repo", tmp_path / "broken")
    assert r.code == 2 and "returned stems of shape (4, 2, 21950)" in r.err, r.err
    assert sv.ok("-C", vault, "log", "--json").json() == []
    assert not list((vault / ".git" / "stemvault" / "incoming").rglob("*.wav"))


@pytest.mark.parametrize("case", ["not-audio", "silent", "10ms", "lossy", "5.1", "float-finer"])
def test_a_mix_that_cannot_be_separated(vault, sv, models, tmp_path, case) -> None:
    p = tmp_path / "mix.wav"
    if case == "not-audio":
        p.write_text("this is a text file\n" * 100)
    elif case == "silent":
        sf.write(p, np.zeros((SR * 2, 2)), SR, subtype="PCM_24")
    elif case == "10ms":
        sf.write(p, music(0.01), SR, subtype="PCM_24")
    elif case == "lossy":
        p = tmp_path / "mix.ogg"
        sf.write(p, music(2.0), SR, format="OGG", subtype="VORBIS")
    elif case == "5.1":
        sf.write(p, np.tile(music(2.0, channels=1), (1, 6)), SR, subtype="PCM_24")
    elif case == "float-finer":
        sf.write(p, music(2.0) + 1e-9, SR, subtype="FLOAT")
    r = sv("-C", vault, "separate", p, "--cue", CUE, "--model-repo", models)
    assert r.code == 2, r.err
    want = {"not-audio": "not readable as audio", "silent": "silent", "10ms": "0.010 s long",
            "lossy": "lossy", "5.1": "6 channels", "float-finer": "finer than 24 bits"}[case]
    assert want in r.err and r.err.startswith("error: ") and r.err.count("\n") == 1
    assert sv.ok("-C", vault, "log", "--json").json() == []


def test_a_float_mix_on_the_24_bit_grid_separates_exactly(vault, sv, models, tmp_path) -> None:
    p = tmp_path / "mix.wav"
    grid = np.round(music(1.5) * 2**23) / 2**23
    sf.write(p, grid, SR, subtype="FLOAT")
    sv.ok("-C", vault, "separate", p, "--cue", CUE, "--model-repo", models)
    d = vault / "cues" / CUE
    total = sum(ints(d / f"{CUE}_{n}.wav") for n in ("DRUMS", "BASS", "OTHER", "VOCALS", "RESIDUAL"))
    assert np.array_equal(total, np.round(grid * 2**23).astype(np.int64))


def test_clipped_stems_are_kept_in_the_residual(vault, sv, tmp_path) -> None:
    models = tmp_path / "loud"
    write_model(models, "htdemucs", gains=(1.5, -0.25, 0.0, -0.25))  # drums over full scale at peaks
    p = tmp_path / "mix.wav"
    sf.write(p, music(2.0) * 1.4, SR, subtype="PCM_24")  # peaks ~0.84: 1.5x clips
    r = sv("-C", vault, "separate", p, "--cue", CUE, "--model-repo", models, "--json",
           "--allow-errors", "separation clips the drums")
    assert r.code == 0, r.err
    doc = r.json()
    assert doc["clipped_samples"]["drums"] > 0 and doc["provenance"]["clipped_samples"]["drums"] > 0
    d = vault / "cues" / CUE
    total = sum(ints(d / f"{CUE}_{n}.wav") for n in ("DRUMS", "BASS", "OTHER", "VOCALS", "RESIDUAL"))
    assert np.array_equal(total, ints(p))


def test_the_streaming_resampler_equals_resample_poly_of_the_whole() -> None:
    from scipy.signal import resample_poly

    from audio.separate import resample_range

    rng = np.random.default_rng(7)
    x = rng.standard_normal((30011, 2))

    def get(a: int, b: int) -> np.ndarray:
        out = np.zeros((b - a, 2))
        lo, hi = max(a, 0), min(b, len(x))
        if hi > lo:
            out[lo - a : hi - a] = x[lo:hi]
        return out

    for up, down in ((147, 160), (160, 147), (147, 320), (1, 2)):
        whole = resample_poly(x, up, down, axis=0)
        for j0, j1 in ((0, 1), (0, 4000), (1234, 9999), (len(whole) - 7, len(whole))):
            assert np.max(np.abs(resample_range(get, j0, j1, up, down) - whole[j0:j1])) < 1e-9


def test_sigkill_or_ctrl_c_during_separation_leaves_nothing(vault, tmp_path, home) -> None:
    """A real process killed (SIGKILL) or interrupted (SIGINT) mid-separation: nothing committed,
    no file anywhere (the stems are unnamed until complete; the staging folder of a killed
    process goes with the next command that writes)."""
    models = tmp_path / "slow"
    write_model(models, "htdemucs", segment=44100, work=40)  # slow enough to be caught in the act
    p = tmp_path / "long.wav"
    sf.write(p, music(60.0), SR, subtype="PCM_24")
    out = tmp_path / "out"
    for target, sig in ((["--to", str(out)], signal.SIGKILL), ([], signal.SIGKILL), (["--to", str(out)], signal.SIGINT)):
        proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "-C", str(vault), "separate", str(p), "--cue", CUE,
                                 "--model-repo", str(models), *target],
                                env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        deadline = time.monotonic() + 240
        said = []
        for line in proc.stderr:  # wait until it is separating (progress on stderr)
            said.append(line)
            if "separating: 1" in line or "separating: 2" in line or time.monotonic() > deadline:
                break
        assert "separating" in said[-1] and proc.poll() is None, f"not separating when killed: {''.join(said)}"
        os.kill(proc.pid, sig)
        code = proc.wait(timeout=120)
        if sig == signal.SIGINT:  # Ctrl-C: said, exit 130
            assert code == 130 and "interrupted" in proc.stderr.read()
        if target:
            assert not out.exists() or list(out.iterdir()) == []
    assert subprocess.run(["git", "-C", str(vault), "log", "--oneline"], capture_output=True,
                          text=True).stdout.count("\n") == 1  # only init's commit
    assert not (vault / "cues" / CUE).exists() or not any((vault / "cues" / CUE).iterdir())
    incoming = vault / ".git" / "stemvault" / "incoming"
    # no file anywhere: the stems had no name yet; the killed process's (empty) staging folder
    # stays until...
    assert [f for f in incoming.rglob("*") if not f.is_dir()] == [] and list(incoming.iterdir()) != []
    # ...the next command that writes sweeps it: here a separation that runs to the end
    fast = tmp_path / "fast"
    write_model(fast, "htdemucs")
    r = subprocess.run([sys.executable, "-m", "tui.cli", "-C", str(vault), "separate", str(p), "--cue", CUE,
                        "--model-repo", str(fast)], env={**os.environ, "PYTHONPATH": str(ROOT)},
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert list(incoming.iterdir()) == []
    assert subprocess.run(["git", "-C", str(vault), "log", "--oneline"], capture_output=True,
                          text=True).stdout.count("\n") == 2  # init's and the one separation


def test_show_json_and_log_json_of_an_ordinary_version_have_no_provenance(vault, sv, tmp_path) -> None:
    from tests.helpers import write_set

    write_set(tmp_path / "exp", cue=CUE)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "exp")
    assert sv.ok("-C", vault, "show", CUE, "--json").json()["provenance"] is None
    assert "separated" not in sv.ok("-C", vault, "log", CUE).out
    assert json.loads(sv.ok("-C", vault, "log", "--json").out)[0]["provenance"] is None


async def test_the_tui_history_says_the_version_was_separated(vault, sv, models, mix) -> None:
    from tui.app import make_app
    from tui.screens.history import DiffPane, HistoryScreen

    sv.ok("-C", vault, "separate", mix, "--cue", CUE, "--model-repo", models)
    app = make_app(vault)
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if app.cues == [CUE]:
                break
        await pilot.press("enter")
        for _ in range(300):
            await pilot.pause(0.05)
            if isinstance(app.screen, HistoryScreen) and app.screen.pane is not None:
                break
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        text = screen.query_one(DiffPane).lines_text()
        assert "separated by demucs (onnx) htdemucs" in text and sha256(mix)[:12] in text


@pytest.mark.parametrize("bits", [16, 24])
def test_write_pcm_writes_what_write_writes(tmp_path, bits) -> None:
    from audio.bwf import BwfStream

    full = 1 << (bits - 1)
    rng = np.random.default_rng(3)
    ints_in = rng.integers(-full, full, size=(5000, 2)).astype(np.int32)
    a, b = BwfStream(tmp_path / "a.wav", SR, 2, subtype=f"PCM_{bits}"), BwfStream(tmp_path / "b.wav", SR, 2,
                                                                                   subtype=f"PCM_{bits}")
    a.write_pcm(ints_in[:1234])
    a.write_pcm(ints_in[1234:])
    b.write(ints_in / full)
    a.close()
    b.close()
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    with pytest.raises(ValueError, match="outside"):
        BwfStream(tmp_path / "c.wav", SR, 2, subtype=f"PCM_{bits}").write_pcm(np.full((3, 2), full, np.int32))


def test_without_o_tmpfile_the_partial_files_are_named_then_removed(vault, sv, models, mix, tmp_path,
                                                                     monkeypatch) -> None:
    """A file system without O_TMPFILE: the files are written under hidden names and renamed when
    complete; on an error they are removed (a SIGKILL there would leave them: docs say so)."""
    import errno

    real_open = os.open

    def no_tmpfile(path, flags, *a, **k):  # type: ignore[no-untyped-def]
        if flags & os.O_TMPFILE == os.O_TMPFILE:
            raise OSError(errno.EOPNOTSUPP, "not supported")
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(os, "open", no_tmpfile)
    out = tmp_path / "out"
    sv.ok("-C", vault, "separate", mix, "--cue", CUE, "--model-repo", models, "--to", out)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{CUE}_{n}.wav" for n in ("DRUMS", "BASS", "OTHER", "VOCALS", "RESIDUAL", "MIX"))
    # a failure half-way removes its partial files: a residual that does not fit (two stems at
    # 1.5x a mix peaking near 0.9: each clips at full scale, their sum is twice full scale)
    loud = tmp_path / "loud"
    write_model(loud, "htdemucs", gains=(1.5, 1.5, 0.0, 0.0))
    hot = music(2.0)
    sf.write(tmp_path / "hot.wav", hot * (0.9 / np.max(np.abs(hot))), SR, subtype="PCM_24")
    out2 = tmp_path / "out2"
    r = sv("-C", vault, "separate", tmp_path / "hot.wav", "--cue", CUE, "--model-repo", loud, "--to", out2)
    assert r.code == 2 and "does not fit in 24 bits" in r.err, r.err
    assert list(out2.iterdir()) == []
