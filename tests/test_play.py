"""Playback: the engine's mix, A/B and difference, commands from another thread, render, play's CLI.

Real files written with soundfile, real vaults on git + git-lfs; renders are compared with the
sums computed here. No timing: commands from another thread are checked against the engine's
log of when each was asked for and when it took effect.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio.bwf import write_bwf
from audio.errors import PlaybackError
from audio.playback import Engine, StemSet, StemSpec, render
from tests.helpers import CUE, SR, Runner, git, lfs_objects, tone, vault_state, write_set
from vcs.playsession import prepare_play, run_render
from vcs.vault import Vault

ROLES = {"STR": 220.0, "BRS": 330.0, "PERC": 82.41, "PAD": 146.83}
FLOAT_TOL = 2e-6  # float32 accumulation of four stems at <= 0.2 each


def _stems(folder: Path, seconds: float = 1.0, *, subtype: str = "PCM_24",
           trefs: dict[str, int] | None = None) -> dict[str, np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for role, f in ROLES.items():
        x = tone(f, seconds)
        name = f"{CUE}_{role}.wav"
        if trefs is not None:
            write_bwf(folder / name, x, SR, subtype=subtype, time_reference=trefs.get(role, 0))
        else:
            sf.write(folder / name, x, SR, subtype=subtype)
        out[role], _ = sf.read(folder / name, dtype="float64", always_2d=True)
    return out


def _set(folder: Path, trefs: dict[str, int] | None = None) -> StemSet:
    return StemSet([StemSpec(f"{CUE}_{r}.wav", folder / f"{CUE}_{r}.wav", r,
                             None if trefs is None else trefs.get(r, 0)) for r in ROLES])


def _render(engine: Engine, path: Path, **kw: object) -> np.ndarray:
    render(engine, path, **kw)  # type: ignore[arg-type]
    y, sr = sf.read(path, dtype="float64", always_2d=True)
    assert sr == SR
    return y


# ----- the mix ------------------------------------------------------------------------------
@pytest.mark.parametrize("block", [256, 1000, 2048])
def test_render_is_the_sum_of_the_stems(tmp_path: Path, block: int) -> None:
    x = _stems(tmp_path / "s")
    e = Engine(_set(tmp_path / "s"))
    y = _render(e, tmp_path / "out.wav", block=block)
    want = sum(x.values())
    assert y.shape == want.shape
    assert np.abs(y - want).max() < FLOAT_TOL


def test_mute_solo_and_gain(tmp_path: Path) -> None:
    x = _stems(tmp_path / "s")
    e = Engine(_set(tmp_path / "s"))
    e.set_mute("STR")                  # a role
    e.set_gain(f"{CUE}_BRS.wav", -6.0)  # a file name
    y = _render(e, tmp_path / "a.wav")
    want = x["BRS"] * 10 ** (-6 / 20) + x["PERC"] + x["PAD"]
    assert np.abs(y - want).max() < FLOAT_TOL

    e = Engine(_set(tmp_path / "s"))
    e.set_solo("perc")
    e.set_solo(f"{CUE}_PAD")  # without the extension
    e.set_mute("PAD")         # mute wins over solo
    y = _render(e, tmp_path / "b.wav")
    assert np.abs(y - x["PERC"]).max() < FLOAT_TOL
    with pytest.raises(PlaybackError, match="no stem named 'VOX'"):
        e.set_solo("VOX")


def test_stems_with_different_start_timecodes_stay_aligned(tmp_path: Path) -> None:
    hour = 3600 * SR
    trefs = {"STR": hour, "BRS": hour + 4800, "PERC": hour, "PAD": hour + 100}
    x = _stems(tmp_path / "s", 0.5, trefs=trefs)
    st = _set(tmp_path / "s", trefs)
    assert st.start == hour and st.frames == len(x["BRS"]) + 4800
    y = _render(Engine(st), tmp_path / "o.wav")
    want = np.zeros((st.frames, 2))
    for r, sig in x.items():
        o = trefs[r] - hour
        want[o:o + len(sig)] += sig
    assert np.abs(y - want).max() < FLOAT_TOL


# ----- A/B and difference ---------------------------------------------------------------------
def _versions(tmp_path: Path, change: tuple[int, int] | None = (24000, 30000)) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    a, b = tmp_path / "a", tmp_path / "b"
    xa = _stems(a)
    b.mkdir()
    xb = {}
    for r, sig in xa.items():
        s = sig.copy()
        if r == "BRS" and change:
            s[change[0]:change[1]] *= 0.5
        sf.write(b / f"{CUE}_{r}.wav", s, SR, subtype="PCM_24")
        xb[r], _ = sf.read(b / f"{CUE}_{r}.wav", dtype="float64", always_2d=True)
    return a, b, sum(xa.values()), sum(xb.values())


def test_ab_switch_at_sample_n(tmp_path: Path) -> None:
    a, b, ma, mb = _versions(tmp_path)
    e = Engine(_set(a), _set(b))
    n, x = 20000, e.xfade_len
    y = _render(e, tmp_path / "ab.wav", block=512, events=[(n, lambda en: en.switch("b"))])
    assert np.abs(y[:n] - ma[:n]).max() < FLOAT_TOL
    assert np.abs(y[n + x:] - mb[n + x:]).max() < FLOAT_TOL
    assert e.applied[-1].name == "switch b" and e.applied[-1].applied_at == n
    # no click: inside the crossfade, no sample-to-sample step beyond what the signals have
    steps = np.abs(np.diff(y[n - 1:n + x + 1], axis=0)).max()
    natural = max(np.abs(np.diff(ma, axis=0)).max(), np.abs(np.diff(mb, axis=0)).max())
    assert steps < natural * 1.5 + 1e-3


def _assert_no_click(y: np.ndarray, *signals: np.ndarray) -> None:
    """No sample-to-sample step beyond what the signals themselves have."""
    natural = max(np.abs(np.diff(x, axis=0)).max() for x in signals)
    assert np.abs(np.diff(y, axis=0)).max() < natural * 1.5 + 1e-3


def test_seek_and_mute_while_playing_are_declicked(tmp_path: Path) -> None:
    d = tmp_path / "s"
    d.mkdir()
    sf.write(d / "x.wav", np.full((SR, 2), 0.5), SR, subtype="FLOAT")   # DC: a cut is a full step
    sf.write(d / "y.wav", np.linspace(-0.5, 0.5, SR)[:, None].repeat(2, 1), SR, subtype="FLOAT")
    e = Engine(StemSet([StemSpec("x.wav", d / "x.wav"), StemSpec("y.wav", d / "y.wav")]))
    k = e.xfade_len
    y = _render(e, tmp_path / "o.wav", block=256,
                events=[(10000, lambda en: en.set_mute("x.wav")), (20000, lambda en: en.seek(40000))])
    ramp = np.linspace(-0.5, 0.5, SR)
    # exact outside the crossfades: both stems, then y alone, then y alone from 40000
    assert np.abs(y[:10000, 0] - (0.5 + ramp[:10000])).max() < FLOAT_TOL
    assert np.abs(y[10000 + k:20000, 0] - ramp[10000 + k:20000]).max() < FLOAT_TOL
    tail = y[20000 + k:28000, 0]  # the cue ends 8000 frames after the seek
    assert np.abs(tail - ramp[40000 + k:]).max() < FLOAT_TOL
    # and no step: a mute or a seek without declick would jump by 0.5 / by 20000 frames of ramp
    assert np.abs(np.diff(y[:28000, 0])).max() < 2.0 / k


def test_switch_to_a_very_different_signal_has_no_discontinuity(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    sf.write(a / "x.wav", np.full((SR, 2), 0.5), SR, subtype="FLOAT")   # DC: worst case for a click
    sf.write(b / "x.wav", np.full((SR, 2), -0.5), SR, subtype="FLOAT")
    e = Engine(StemSet([StemSpec("x.wav", a / "x.wav")]), StemSet([StemSpec("x.wav", b / "x.wav")]))
    y = _render(e, tmp_path / "o.wav", block=256, events=[(10000, lambda en: en.switch("b"))])
    jump = np.abs(np.diff(y[:, 0])).max()
    assert jump < 1.0 / e.xfade_len * 2  # a cut would be a step of 1.0
    assert y[0, 0] == pytest.approx(0.5) and y[-1, 0] == pytest.approx(-0.5)


def test_difference_of_a_version_with_itself_is_silence(tmp_path: Path) -> None:
    a, _, _, _ = _versions(tmp_path)
    e = Engine(_set(a), _set(a))
    e.switch("diff")
    e.settle()
    y = _render(e, tmp_path / "d.wav")
    assert len(y) == SR and not y.any()


def test_difference_is_silent_outside_the_changed_region(tmp_path: Path) -> None:
    a, b, ma, mb = _versions(tmp_path, change=(24000, 30000))
    e = Engine(_set(a), _set(b))
    e.switch("diff")
    e.settle()
    y = _render(e, tmp_path / "d.wav")
    assert not y[:24000].any() and not y[30000:].any()
    assert np.abs(y - (ma - mb)).max() < FLOAT_TOL
    assert np.abs(y[24000:30000]).max() > 0.01


def test_loudness_match_gains_b(tmp_path: Path) -> None:
    a, b, _, mb = _versions(tmp_path, change=None)
    e = Engine(_set(a), _set(b), loudness=(-20.0, -23.0))
    e.switch("b")
    e.set_match(True)
    e.settle()
    y = _render(e, tmp_path / "m.wav")
    assert np.abs(y - mb * 10 ** (3 / 20)).max() < 4 * FLOAT_TOL
    with pytest.raises(PlaybackError, match="unknown for B"):
        Engine(_set(a), _set(b), loudness=(-20.0, None)).set_match(True)


# ----- commands from another thread ----------------------------------------------------------------
def test_commands_from_another_thread_take_effect_within_one_block(tmp_path: Path) -> None:
    x = _stems(tmp_path / "s", 3.0)
    block = 256
    # a declick shorter than a block, so the output between two mutes can be checked exactly
    e = Engine(_set(tmp_path / "s"), crossfade_s=64 / SR)
    done = threading.Event()
    sent: list[str] = []

    def control() -> None:
        # toggles the strings' mute as fast as it can while the render runs
        on = True
        while not done.is_set() and len(sent) < 200:
            if e.position > 0:
                e.set_mute("STR", on)
                sent.append("mute")
                on = not on
            threading.Event().wait(0.0005)

    t = threading.Thread(target=control)
    t.start()
    try:
        render(e, tmp_path / "o.wav", block=block)
    finally:
        done.set()
        t.join()
    y, _ = sf.read(tmp_path / "o.wav", dtype="float64", always_2d=True)
    mutes = [c for c in e.applied if c.name == "mute"]
    assert mutes, "the control thread never got a command in"
    for c in mutes:
        assert 0 <= c.applied_at - c.asked_at <= block, c
    # the output follows the log: between two applied mutes (past each one's declick), STR is in
    # or out of the mix
    full = sum(x.values())
    state, last = False, 0
    for c in [*mutes, None]:
        at = len(y) if c is None else c.applied_at
        want = full - x["STR"] if state else full
        lo = last + e.xfade_len if last else 0
        assert np.abs(y[lo:at] - want[lo:at]).max(initial=0) < FLOAT_TOL
        if c is not None:
            state = not state
        last = at


def test_transport_pause_seek_loop_and_status(tmp_path: Path) -> None:
    x = _stems(tmp_path / "s")
    full = sum(x.values())
    e = Engine(_set(tmp_path / "s"))
    assert not e.process(128).any()  # not playing yet: silence, position unchanged
    e.seek(1000)
    e.play()
    y = e.process(500)
    assert np.abs(y - full[1000:1500]).max() < FLOAT_TOL
    s = e.status
    assert s.position == 1500 and s.playing and set(s.meters) == {f"{CUE}_{r}.wav" for r in ROLES}
    assert s.meters[f"{CUE}_STR.wav"] == pytest.approx(np.abs(x["STR"][1000:1500]).max(), abs=1e-6)
    e.pause()
    assert not e.process(100).any() and e.status.position == 1500
    e.set_loop(2000, 2600)
    e.seek(2000)
    e.play()
    y = e.process(1400)  # 600 + 600 + 200: wraps twice, each wrap crossfaded from what follows
    want = np.concatenate([full[2000:2600], full[2000:2600], full[2000:2200]])
    k = e.xfade_len
    outside = np.r_[0:600, 600 + k:1200, 1200 + k:1400]
    assert np.abs(y[outside] - want[outside]).max() < FLOAT_TOL
    _assert_no_click(y, full)
    e.set_loop(None)
    e.seek(len(full) - 100)
    y = e.process(300)
    assert e.status.ended and not e.status.playing and not y[100:].any()


# ----- the vault and the command line -----------------------------------------------------------
@pytest.fixture
def two_versions(vault: Path, sv: Runner, tmp_path: Path) -> Path:
    write_set(tmp_path / "v1", seconds=1.0)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    write_set(tmp_path / "v2", seconds=1.0, gains={"STR": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "softer strings")
    return vault


def _read(path: Path) -> np.ndarray:
    return sf.read(path, dtype="float64", always_2d=True)[0]


def test_play_render_of_an_older_version_comes_from_the_lfs_store(two_versions: Path, sv: Runner,
                                                                  tmp_path: Path) -> None:
    write_set(tmp_path / "ref1", seconds=1.0)
    want = sum(_read(tmp_path / "ref1" / f"{CUE}_{r}.wav") for r in ROLES)
    r = sv.ok("-C", two_versions, "play", f"{CUE}@1.0", "--render", tmp_path / "v1.wav")
    assert "rendered 1M03@1.0" in r.out
    assert np.abs(_read(tmp_path / "v1.wav") - want).max() < FLOAT_TOL
    # --mix: the mix file itself; 24-bit render
    sv.ok("-C", two_versions, "play", f"{CUE}@1.0", "--mix", "--render", tmp_path / "mix.wav", "--format", "24")
    info = sf.info(str(tmp_path / "mix.wav"))
    assert info.subtype == "PCM_24"
    assert np.array_equal(_read(tmp_path / "mix.wav"), _read(tmp_path / "ref1" / f"{CUE}_MIX.wav"))


def test_play_render_ab_difference_and_match(two_versions: Path, sv: Runner, tmp_path: Path) -> None:
    r = sv.ok("-C", two_versions, "play", f"{CUE}@1.0", "--vs", f"{CUE}@2.0", "--start-in", "diff",
              "--render", tmp_path / "changes.wav", "--json")
    doc = r.json()
    assert doc["a"] == "1M03@1.0" and doc["b"] == "1M03@2.0" and doc["frames"] == SR
    d = _read(tmp_path / "changes.wav")
    s1 = _read(Path(str(two_versions)) / "cues" / CUE / f"{CUE}_STR.wav")  # v2's strings (0.5×)
    assert np.abs(d - s1).max() < 1e-5  # A − B = v1's strings − v2's = v2's strings
    # solo by role in an A/B; --from/--to in seconds
    sv.ok("-C", two_versions, "play", f"{CUE}@1.0", "--vs", f"{CUE}@2.0", "--start-in", "b", "--solo", "STR",
          "--from", "0.25", "--to", "0.5", "--render", tmp_path / "b.wav")
    assert np.abs(_read(tmp_path / "b.wav") - s1[12000:24000]).max() < 1e-6
    v = Vault(two_versions)
    s = prepare_play(v, f"{CUE}@1.0", vs=f"{CUE}@2.0", match_loudness=True, start_in="b")
    try:
        ga = s.info["match_gain_db"]
        assert ga is not None and ga > 0  # v2 is quieter: B is brought up
        doc = run_render(s, tmp_path / "m.wav")
    finally:
        s.close()
    assert doc["match_gain_db"] == ga


def test_timecode_positions(vault: Path, sv: Runner, tmp_path: Path) -> None:
    hour = 3600 * SR
    src = tmp_path / "src"
    x = _stems(src, 2.0, trefs=dict.fromkeys(ROLES, hour))
    write_bwf(src / f"{CUE}_MIX.wav", sum(x.values()), SR, time_reference=hour)
    sv.ok("-C", vault, "commit", CUE, src, "-m", "bwf")
    r = sv.ok("-C", vault, "play", CUE, "--from", "01:00:00:12", "--to", "01:00:01:00", "--render",
              tmp_path / "o.wav", "--json")
    assert r.json()["from"] == "01:00:00:12" and r.json()["to"] == "01:00:01:00"
    assert np.abs(_read(tmp_path / "o.wav") - sum(x.values())[SR // 2:SR]).max() < FLOAT_TOL


def _refused(sv: Runner, vault: Path, *args: str | Path, expect: str) -> None:
    before = vault_state(vault)
    r = sv("-C", vault, "play", *args)
    assert r.code == 2, r
    assert r.err.startswith("error: ") and r.err.count("\n") == 1, r.err
    assert "Traceback" not in r.err + r.out
    assert expect in r.err, r.err
    assert vault_state(vault) == before


def test_bad_input_is_one_line_and_exit_2(two_versions: Path, sv: Runner, tmp_path: Path) -> None:
    v = two_versions
    _refused(sv, v, CUE, "--solo", "1M03_VOX.wav", "--render", tmp_path / "o.wav", expect="no stem named '1M03_VOX.wav'")
    _refused(sv, v, CUE, "--from", "01:00:99:00", "--render", tmp_path / "o.wav", expect="out of range")
    _refused(sv, v, CUE, "--from", "ten", "--render", tmp_path / "o.wav", expect="does not parse")
    _refused(sv, v, CUE, "--from", "5", "--render", tmp_path / "o.wav", expect="past the end")
    _refused(sv, v, CUE, "--from", "0.5", "--to", "0.2", "--render", tmp_path / "o.wav", expect="is not after")
    _refused(sv, v, CUE, "--gain", "STR=loud", "--render", tmp_path / "o.wav", expect="with a number of dB")
    _refused(sv, v, CUE, "--render", tmp_path / "o.mp3", expect="a render is a WAV file")
    _refused(sv, v, CUE, "--render", tmp_path / "nope" / "o.wav", expect="does not exist")
    _refused(sv, v, CUE, "--render", tmp_path, expect="is a folder")
    _refused(sv, v, CUE, "--start-in", "diff", "--render", tmp_path / "o.wav", expect="needs a second version")
    _refused(sv, v, CUE, "--vs", "1M03@9.0", "--render", tmp_path / "o.wav", expect="has no version 9.0")
    assert not (tmp_path / "o.wav").exists() and not (tmp_path / "o.mp3").exists()
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        _refused(sv, v, CUE, "--render", ro / "o.wav", expect="not writable")


def test_missing_audio_in_a_lazy_clone_names_what_to_fetch(two_versions: Path, sv: Runner,
                                                          tmp_path: Path) -> None:
    lazy = tmp_path / "lazy"
    env = {**os.environ, "GIT_LFS_SKIP_SMUDGE": "1"}
    subprocess.run(["git", "clone", "-q", str(two_versions), str(lazy)], env=env, check=True)
    assert not lfs_objects(lazy)
    _refused(sv, lazy, f"{CUE}@1.0", "--render", tmp_path / "o.wav",
             expect="git lfs fetch origin")
    r = sv("-C", lazy, "play", CUE, "--render", tmp_path / "o.wav")
    assert "is not in this clone (4 of 4 files missing" in r.err and "git lfs pull --include 'cues/1M03/" in r.err
    assert not (tmp_path / "o.wav").exists()
    git(lazy, "lfs", "pull", "--include", f"cues/{CUE}/{CUE}_STR.wav")  # fetch one: three still missing
    r = sv("-C", lazy, "play", CUE, "--render", tmp_path / "o.wav")
    assert r.code == 2 and "3 of 4 files missing" in r.err and "1M03_STR.wav" not in r.err


_NO_PORTAUDIO = ("import sys; sys.modules['sounddevice'] = None; from tui.cli import main; "
                 "sys.exit(main(sys.argv[1:]))")


def _cli_subprocess(args: list[str], env: dict[str, str], code: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "tui.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
                          cwd=Path(__file__).resolve().parents[1], timeout=60)


def test_no_portaudio_or_no_device_is_one_line_and_exit_2(two_versions: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PULSE_SERVER": f"unix:{tmp_path}/no-such-server", "XDG_RUNTIME_DIR": str(tmp_path),
           "AUDIODEV": "null"}
    for code in (_NO_PORTAUDIO, None):
        r = _cli_subprocess(["-C", str(two_versions), "play", CUE], env, code)
        assert r.returncode == 2, r
        assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr
        assert "--render" in r.stderr and "Traceback" not in r.stderr
    r = _cli_subprocess(["-C", str(two_versions), "play", CUE, "--device", "no-such-card"], env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r


def test_playback_never_imports_sounddevice_until_it_plays() -> None:
    code = ("import sys, audio.playback, vcs.audiofiles, tui.commands.play, tui.cli; "
            "sys.exit(1 if 'sounddevice' in sys.modules else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    code = "import sys, audio.playback; sys.exit(1 if {'textual', 'rich', 'tui'} & set(sys.modules) else 0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_version_audio_lists_only_what_is_there(two_versions: Path) -> None:
    from vcs.audiofiles import missing_audio, version_audio

    v = Vault(two_versions)
    ver = v.resolve(f"{CUE}@1.0")
    files = version_audio(v, ver)
    assert {f.name for f in files} == {f"{CUE}_{r}.wav" for r in ROLES} | {f"{CUE}_MIX.wav"}
    assert all(f.path.is_file() and ".git/lfs/objects" in str(f.path) for f in files)
    assert missing_audio(v, ver) == []
    shutil.rmtree(two_versions / ".git" / "lfs" / "objects")
    assert len(missing_audio(v, ver)) == 5


@pytest.mark.parametrize(("fmt", "subtype", "channels"), [
    ("WAV", "PCM_16", 2), ("WAV", "PCM_24", 2), ("WAV", "PCM_24", 1), ("WAV", "PCM_32", 2),
    ("WAV", "FLOAT", 2), ("RF64", "PCM_24", 2), ("FLAC", "PCM_24", 2)])
def test_stems_read_exactly_as_libsndfile_gives_them(tmp_path: Path, fmt: str, subtype: str,
                                                     channels: int) -> None:
    rng = np.random.default_rng(3)
    x = np.clip(rng.standard_normal((30001, channels)) * 0.3, -1, 1)
    p = tmp_path / f"x.{'flac' if fmt == 'FLAC' else 'wav'}"
    sf.write(p, x, SR, format=fmt, subtype=subtype)
    want = sf.read(p, dtype="float32", always_2d=True)[0]
    s = StemSet([StemSpec(p.name, p)], chunk=4096, channels=2)
    assert (s.readers[0]._wav is not None) == (fmt != "FLAC")  # the fast path, where it applies
    try:
        got = np.zeros((40000, 2), dtype=np.float32)
        for pos in range(0, 40000, 1000):  # chunk refills, a seek back, past the end
            s.mix(pos, 1000, np.ones(1, dtype=np.float32), got[pos:pos + 1000])
        s.mix(5000, 1000, np.ones(1, dtype=np.float32), got[5000:6000])
    finally:
        s.close()
    full = np.repeat(want, 2, axis=1) if channels == 1 else want
    assert np.array_equal(got[:len(full)], full)
    assert not got[len(full):].any()


def test_settle_applies_commands_and_the_status_shows_them(tmp_path: Path) -> None:
    """Where no audio device runs ``process`` (the TUI over SSH), ``settle`` is what applies a
    command: the status a UI reads must then show the new position, mode and match."""
    a, b, _, _ = _versions(tmp_path)
    e = Engine(_set(a), _set(b), loudness=(-20.0, -23.0))
    e.seek(12000)
    e.switch("diff")
    e.set_match(True)
    e.set_mute("STR")
    e.settle()
    st = e.status
    assert (st.position, st.mode, st.match, st.playing) == (12000, "diff", True, False)
    assert e.sides[0].mute[0] and e.sides[1].mute[0]
