"""A real audio path: `stemvault play` → sounddevice → PortAudio → ALSA `pulse` → a PulseAudio null
sink, recorded from the sink's monitor with parec, and compared with the expected mix.

The PulseAudio server is started here (session fixture) when its binaries exist — `./dev test`
installs them as root — and stopped after; elsewhere these tests skip with the reason. Pitfalls
handled (see the headless-audio recipe): a silent keep-alive stream keeps the null sink running
(else a new stream's first ~60 ms are lost), and playback ends with trailing silence (PortAudio
drops the last ~latency of a stream; `play` pads 300 ms).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import CUE, SR, Runner, write_set
from vcs.playsession import prepare_play, run_render
from vcs.vault import Vault

pytestmark = pytest.mark.audio_device
ROOT = Path(__file__).resolve().parents[1]
_TOOLS = ("pulseaudio", "pactl", "pacat", "parec")


def _skip(why: str) -> None:
    """Skip where no headless audio can be had; in CI as root (where ./dev test installs it)
    the real audio path is a requirement, so a missing server fails instead of hiding."""
    if os.environ.get("CI") == "true" and os.geteuid() == 0:
        pytest.fail(f"CI must exercise a real audio device: {why}")
    pytest.skip(why)


def _why_not() -> str | None:
    missing = [t for t in _TOOLS if shutil.which(t) is None]
    if missing:
        return (f"no headless audio server: {', '.join(missing)} missing (apt-get install pulseaudio "
                "pulseaudio-utils libasound2-plugins; ./dev test does it as root)")
    if not glob.glob("/usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so") and \
            not glob.glob("/usr/lib/alsa-lib/libasound_module_pcm_pulse.so"):
        return "ALSA's pulse plugin is missing (apt-get install libasound2-plugins)"
    return None


@pytest.fixture(scope="session")
def audio_server() -> Iterator[dict[str, str]]:
    """A PulseAudio null sink, reachable by PortAudio through ALSA; yields the clients' env."""
    with pulse_server() as env:
        yield env


@contextlib.contextmanager
def pulse_server(load: tuple[str, ...] = (), default_sink: str = "null") -> Iterator[dict[str, str]]:
    """A PulseAudio server with a null sink ``null`` (kept running) and ``load``'s modules too;
    yields the env of its clients (its unix socket)."""
    why = _why_not()
    if why:
        _skip(why)
    base = Path(tempfile.mkdtemp(prefix="sv-pulse-"))  # short: unix socket paths are limited
    rt = base / "xdg"
    rt.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(rt), "HOME": str(base), "PULSE_SERVER": f"unix:{rt}/pulse/native"}
    env.pop("PULSE_SINK", None)
    log = open(base / "pulseaudio.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit", "-n",
         "--log-target=stderr", "--log-level=warning",
         "--load=module-null-sink sink_name=null rate=48000 format=float32le channels=2",
         "--load=module-native-protocol-unix auth-anonymous=1", *(f"--load={m}" for m in load)],
        env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    keepalive: subprocess.Popen[bytes] | None = None
    try:
        for _ in range(100):
            if subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode == 0:
                break
            if server.poll() is not None:
                break
            time.sleep(0.05)
        if subprocess.run(["pactl", "set-default-sink", default_sink], env=env, capture_output=True).returncode:
            log.flush()
            _skip(f"PulseAudio did not start: {(base / 'pulseaudio.log').read_text()[-300:]!r}")
        with open(os.devnull.replace("null", "zero"), "rb") as zero:  # a silent stream, forever
            keepalive = subprocess.Popen(
                ["pacat", "-p", "-d", "null", "--format=float32le", "--rate=48000", "--channels=2",
                 "--latency-msec=20"], env=env, stdin=zero, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        yield env
    finally:
        for p in (keepalive, server):
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        log.close()
        shutil.rmtree(base, ignore_errors=True)


def _find_lag(rec: np.ndarray, ref: np.ndarray) -> int:
    n = len(rec) + len(ref)
    nfft = 1 << (n - 1).bit_length()
    c = sum(np.fft.irfft(np.fft.rfft(rec[:, k], nfft) * np.conj(np.fft.rfft(ref[:, k], nfft)), nfft)
            for k in range(2))
    return int(np.argmax(c[:len(rec) - len(ref) + 1]))


def _record_while(env: dict[str, str], args: list[str], raw: Path) -> subprocess.CompletedProcess[str]:
    with open(raw, "wb") as f:
        rec = subprocess.Popen(["parec", "-d", "null.monitor", "--format=float32le", f"--rate={SR}",
                                "--channels=2", "--latency-msec=10"], env=env, stdout=f)
    try:
        deadline = time.monotonic() + 5
        while raw.stat().st_size == 0:
            if time.monotonic() > deadline or rec.poll() is not None:
                pytest.fail("parec recorded nothing: is the keep-alive stream running?")
            time.sleep(0.005)
        time.sleep(0.2)
        r = subprocess.run([sys.executable, "-m", "tui.cli", *args], env=env, cwd=ROOT, capture_output=True,
                           text=True, stdin=subprocess.DEVNULL, timeout=60)
        time.sleep(0.3)
    finally:
        rec.send_signal(signal.SIGINT)
        rec.wait(5)
    return r


def test_play_reaches_a_real_device_and_sounds_like_the_mix(audio_server: dict[str, str], vault: Path,
                                                            sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1", seconds=1.5)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    write_set(tmp_path / "v2", seconds=1.5, gains={"BRS": 0.3})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "less brass")
    env = {**audio_server, "HOME": os.environ["HOME"]}  # the test's git identity; PULSE_SERVER finds the server

    r = subprocess.run([sys.executable, "-m", "tui.cli", "play", "--list-devices"], env=env, cwd=ROOT,
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 0 and r.stdout.strip(), r

    for args in ([f"{CUE}@1.0", "--mute", "PERC"],
                 [f"{CUE}@1.0", "--vs", f"{CUE}@2.0", "--start-in", "diff"]):
        s = prepare_play(Vault(vault), args[0], vs=args[2] if "--vs" in args else None,
                         mute=("PERC",) if "--mute" in args else (), start_in=args[-1] if "diff" in args else "a")
        try:
            run_render(s, tmp_path / "want.wav")
        finally:
            s.close()
        import soundfile as sf

        want = sf.read(tmp_path / "want.wav", dtype="float64", always_2d=True)[0]
        raw = tmp_path / "rec.raw"
        # A real-time path: on a loaded machine the sound server can under-run and drop a few
        # milliseconds, which no code of ours causes or can prevent. Up to three takes; one
        # must match the render exactly (every attempt's result is in the failure message).
        takes = []
        for _ in range(3):
            r = _record_while(env, ["-C", str(vault), "play", *args], raw)
            assert r.returncode == 0, r
            assert "playing" in r.stderr
            y = np.fromfile(raw, dtype="<f4")
            y = y[: len(y) // 2 * 2].reshape(-1, 2).astype(np.float64)
            assert len(y) > len(want), "the recording is shorter than what was played"
            lag = _find_lag(y, want)
            seg = y[lag:lag + len(want)]
            corr = [float(np.corrcoef(seg[:, c], want[:, c])[0, 1]) for c in (0, 1)]
            bad = np.nonzero(np.abs(seg - want).max(axis=1) >= 1e-4)[0]
            takes.append((min(corr), len(bad)))
            if min(corr) > 0.999 and not len(bad):
                break
        else:
            raise AssertionError(f"{args}: no take matched the render (min correlation, samples off): {takes}")
