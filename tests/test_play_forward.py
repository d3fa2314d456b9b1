"""Hearing it over SSH by forwarding the sound server: a second PulseAudio (the "laptop") with its
TCP module on 127.0.0.1, reached through a real ``ssh -R`` to a real sshd started here; ``stemvault
play`` runs *in that SSH session* with ``PULSE_SERVER=tcp:127.0.0.1:<forwarded port>`` (and no
sound server of its own) and plays into the laptop's null sink, whose monitor parec records; the
recording must be the render, sample for sample.

Both ends are on one machine, but every byte of audio goes the way it goes for an editor: from
the SSH session's PortAudio (ALSA's pulse plugin, libpulse) to the port sshd listens on, through
the SSH connection to the ssh client, and from there to the laptop's server.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio.playback.output import SoundServer, sound_server
from tests.helpers import CUE, SR, Runner, write_set
from tests.sshd import running_sshd
from tests.test_play_device import _find_lag, pulse_server
from vcs.playsession import prepare_play, run_render
from vcs.vault import Vault

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ----- PULSE_SERVER, read as libpulse reads it -------------------------------------------------
@pytest.mark.parametrize(("value", "want"), [
    ("tcp:127.0.0.1:24713", SoundServer("tcp:127.0.0.1:24713", "127.0.0.1", 24713, True)),
    ("tcp:localhost", SoundServer("tcp:localhost", "localhost", 4713, True)),
    ("tcp6:[::1]:4714", SoundServer("tcp6:[::1]:4714", "::1", 4714, True)),
    ("unix:/run/user/0/pulse/native tcp:studio.lan:4713",
     SoundServer("tcp:studio.lan:4713", "studio.lan", 4713, False)),
    ("{abc123}tcp:127.0.0.2:5000", SoundServer("{abc123}tcp:127.0.0.2:5000", "127.0.0.2", 5000, True)),
    ("studio.lan", SoundServer("studio.lan", "studio.lan", 4713, False)),
    ("unix:/run/user/0/pulse/native", None),
    ("/tmp/pulse/native", None),
    ("", None),
])
def test_sound_server_reads_pulse_server(value: str, want: SoundServer | None) -> None:
    assert sound_server({"PULSE_SERVER": value}) == want
    assert sound_server({}) is None


def test_a_forwarded_server_that_does_not_answer_is_said(vault: Path, sv: Runner, tmp_path: Path) -> None:
    """No tunnel: no device; play says which server does not answer and how to open the tunnel."""
    write_set(tmp_path / "v1", seconds=0.5)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    port = _free_port()  # nothing listens there
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_RUNTIME_DIR", "PULSE_SINK")}
    env["PULSE_SERVER"] = f"tcp:127.0.0.1:{port}"
    r = subprocess.run([sys.executable, "-m", "tui.cli", "-C", str(vault), "play", CUE], env=env, cwd=ROOT,
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    if "no PortAudio" in r.stderr:
        pytest.skip("no PortAudio here (libportaudio2)")
    if r.returncode == 0:
        pytest.skip("this machine has a sound card of its own: it played there")
    assert r.returncode != 0 and r.stderr.count("\n") == 1 and r.stderr.startswith("error: "), r.stderr
    assert f"tcp:127.0.0.1:{port} (PULSE_SERVER) does not answer" in r.stderr
    assert f"ssh -R {port}:localhost:4713" in r.stderr
    r = subprocess.run([sys.executable, "-m", "tui.cli", "play", "--list-devices"], env=env, cwd=ROOT,
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert r.returncode == 0 and "does not answer" in r.stdout, r


# ----- the real thing: ssh -R to a second PulseAudio -------------------------------------------
@pytest.mark.audio_device
def test_play_in_an_ssh_session_reaches_the_laptops_sound_server(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1", seconds=1.5)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    write_set(tmp_path / "v2", seconds=1.5, gains={"BRS": 0.3})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "less brass")
    args = [f"{CUE}@1.0", "--vs", f"{CUE}@2.0", "--start-in", "diff", "--preset", "theater"]
    s = prepare_play(Vault(vault), args[0], vs=args[2], start_in="diff", preset="theater")
    try:
        run_render(s, tmp_path / "want.wav")
    finally:
        s.close()
    want = sf.read(tmp_path / "want.wav", dtype="float64", always_2d=True)[0]

    (tmp_path / "ssh").mkdir()
    laptop_port = _free_port()
    # The laptop: its own null sink "null" (recorded) beside a default sink "other", so that what
    # lands on "null" got there by PULSE_SINK, as docs/editor.md says to choose a sink.
    with pulse_server(load=(f"module-native-protocol-tcp listen=127.0.0.1 port={laptop_port} auth-anonymous=1",
                            "module-null-sink sink_name=other rate=48000 format=float32le channels=2"),
                      default_sink="other") as laptop, running_sshd(tmp_path / "ssh") as sshd:
        fwd = _free_port()
        def in_session(*play_args: str) -> list[str]:
            """``ssh -R`` to the sshd, running stemvault play there with the forwarded server."""
            remote = (f"cd {shlex.quote(str(ROOT))} && env -u XDG_RUNTIME_DIR PULSE_SERVER=tcp:127.0.0.1:{fwd} "
                      f"PULSE_SINK=null PYTHONPATH={shlex.quote(str(ROOT))} {shlex.quote(sys.executable)} -m tui.cli "
                      f"-C {shlex.quote(str(vault))} play " + " ".join(shlex.quote(a) for a in play_args))
            return ["ssh", *shlex.split(sshd.ssh_options()), "-o", "ExitOnForwardFailure=yes",
                    "-R", f"{fwd}:127.0.0.1:{laptop_port}", f"{sshd.user}@127.0.0.1", remote]

        listed = subprocess.run(in_session("--list-devices"), capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, timeout=120)
        assert listed.returncode == 0, listed
        assert " pulse " in listed.stdout and "sound goes via the forwarded sound server" in listed.stdout, listed
        # A device by name, as --list-devices shows it; large blocks (171 ms of PortAudio latency)
        # so that a loaded machine under-runs less often: what is checked is the path, not latency.
        ssh = in_session(*args, "--device", "pulse", "--block", "4096")
        raw = tmp_path / "rec.raw"
        takes = []
        r = None
        # A real-time path through two sound servers' buffers and an SSH connection on a loaded
        # machine: a take can under-run and drop a few milliseconds no code of ours causes. Up to
        # four takes; one must match the render (every take's result is in the failure message).
        for _ in range(4):
            r = _record_while(laptop, ssh, raw)
            assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
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
            raise AssertionError(f"no take matched the render (min correlation, samples off): {takes}; "
                                 f"play said: {r.stderr if r else ''}")
    assert r is not None
    line = next(x for x in r.stderr.splitlines() if x.startswith("playing"))
    assert f"on pulse via the forwarded sound server tcp:127.0.0.1:{fwd} (PULSE_SERVER), output latency" in line, line
    assert "through the theater preset" in line
    print(line)  # the latency PortAudio reports through the tunnel (docs/editor.md quotes it)


def _record_while(env: dict[str, str], cmd: list[str], raw: Path) -> subprocess.CompletedProcess[str]:
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
        r = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
        time.sleep(0.3)
    finally:
        rec.send_signal(signal.SIGINT)
        rec.wait(5)
    return r


@pytest.mark.audio_device
async def test_the_player_says_it_plays_through_a_forwarded_server(vault: Path, sv: Runner, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.widgets import Static

    from tests.tui_host import Host
    from tui.screens.player import PlayerScreen

    write_set(tmp_path / "v1", seconds=2.0)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    port = _free_port()

    def reinit_portaudio() -> None:
        sd = sys.modules.get("sounddevice")
        if sd is not None:  # PortAudio already initialised in this process: let it see the env now
            sd._terminate()
            sd._initialize()

    with pulse_server(load=(f"module-native-protocol-tcp listen=127.0.0.1 port={port} auth-anonymous=1",)), \
            monkeypatch.context() as env:
        env.delenv("XDG_RUNTIME_DIR", raising=False)
        env.setenv("PULSE_SERVER", f"tcp:127.0.0.1:{port}")
        reinit_portaudio()
        try:
            app = Host(vault, lambda v: PlayerScreen(v, v.resolve(CUE)))
            async with app.run_test(size=(80, 24)) as pilot:
                screen = app.screen
                assert isinstance(screen, PlayerScreen)
                for _ in range(200):
                    await pilot.pause(0.05)
                    if screen.session is not None:
                        break
                assert screen.output is not None
                msg = str(screen.query_one("#player-message", Static).render())
                assert f"sound goes via the forwarded sound server tcp:127.0.0.1:{port} (PULSE_SERVER)" in msg, msg
                await pilot.press("q")
        finally:
            env.undo()
            reinit_portaudio()  # later tests in this process: PortAudio as the environment says again
