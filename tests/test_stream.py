"""The live stream of `stemvault play --stream`, the served render and the page (issue 14).

Real vaults, a real `stemvault` process (python -m tui.cli), real sockets; ffmpeg as the laptop's
player (it records what it hears), a real sshd on 127.0.0.1 with `ssh -L` for the tunnel, and a
pty for the keys typed in the SSH session. What the recording must equal is the engine's render
of the same commands at the frames where the running player applied them (it says where, in
status.json, as a listener's page does). Nothing here asserts a speed: the machine may be busy,
so waits poll for what they wait for, with generous deadlines.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pty
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import wavinfo

from audio.bwf import write_bwf
from audio.playback import render
from tests.helpers import CUE, SR, Runner
from tests.sshd import running_sshd, skip_or_fail
from vcs.playsession import prepare_play
from vcs.vault import Vault

ROOT = Path(__file__).resolve().parents[1]
SECONDS = 15.0
HOUR = 3600 * SR  # the stems start at 01:00:00:00
ROLES = ("STR", "BRS", "PERC", "PAD")
LOSSLESS_TOL = 1e-4


# ----- the vault: two versions of music-like stems (notes at random onsets: an alignment is unique)
def _stem(seed: int, seconds: float = SECONDS) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    x = np.zeros(n)
    onset = 0.05
    while onset < seconds - 0.5:
        i0 = int(onset * SR)
        tt = np.arange(min(n - i0, 2 * SR)) / SR
        f = 110.0 * 2 ** (rng.integers(0, 36) / 12)
        env = np.minimum(1.0, tt * 200) * np.exp(-tt * rng.uniform(2, 6))
        x[i0:i0 + len(tt)] += sum(np.sin(2 * np.pi * f * k * tt + k) / k for k in (1, 2, 3, 4)) * env * 0.03
        onset += rng.uniform(0.1, 0.5)
    x *= np.minimum(1.0, (n - 1 - np.arange(n)) / (0.2 * SR))  # a tail that ends in silence
    return np.stack([x, 0.9 * np.roll(x, 7)], axis=1)


def _write(folder: Path, gains: dict[str, float]) -> None:
    folder.mkdir(parents=True)
    stems = {r: _stem(i) * gains.get(r, 1.0) for i, r in enumerate(ROLES)}
    for r, x in stems.items():
        write_bwf(folder / f"{CUE}_{r}.wav", x, SR, subtype="PCM_24", time_reference=HOUR)
    write_bwf(folder / f"{CUE}_MIX.wav", sum(stems.values()), SR, subtype="PCM_24", time_reference=HOUR)


@pytest.fixture
def ab_vault(vault: Path, sv: Runner, tmp_path: Path) -> Path:
    """1M03@1.0 and 1M03@2.0 (strings at half level): B differs from A, the difference is half
    the strings."""
    _write(tmp_path / "v1", {})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    _write(tmp_path / "v2", {"STR": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "softer strings")
    return vault


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        skip_or_fail(f"{program} is not installed (apt-get install {program}; ./dev test installs it)")
    return path


# ----- a running `stemvault play --stream` ----------------------------------------------------
class Player:
    """`stemvault play ... --stream` as a child process (without a terminal: it plays through)."""

    URL = re.compile(r"stream: (http://127\.0\.0\.1:(\d+)/([A-Za-z0-9_-]+)/\S*)")

    def __init__(self, vault: Path, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tui.cli", "-C", str(vault), "play", *args],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=_env(), cwd=ROOT)
        self.out: list[str] = []
        self._got = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._got.wait(60):
            self.proc.kill()
            raise AssertionError(f"no stream URL: {self.proc.communicate()}")
        m = self.URL.search("".join(self.out))
        assert m
        self.url, self.port, self.token = m.group(1), int(m.group(2)), m.group(3)
        self.base = f"http://127.0.0.1:{self.port}/{self.token}/"

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.out.append(line)
            if self.URL.search(line):
                self._got.set()

    def status(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.base + "status.json", timeout=30) as r:
            doc: dict[str, Any] = json.load(r)
            return doc

    def threads(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/task"))

    def sockets(self) -> int:
        n = 0
        for fd in os.listdir(f"/proc/{self.proc.pid}/fd"):
            with contextlib.suppress(OSError):
                n += os.readlink(f"/proc/{self.proc.pid}/fd/{fd}").startswith("socket:")
        return n

    def close(self) -> tuple[int, str, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        self._reader.join(5)
        return self.proc.returncode, "".join(self.out), err


@contextlib.contextmanager
def player(vault: Path, *args: str) -> Iterator[Player]:
    p = Player(vault, *args)
    try:
        yield p
    finally:
        p.close()


def wait_for(what: str, cond: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _pcm24(data: bytes, channels: int = 2) -> np.ndarray:
    """24-bit little-endian PCM bytes as float frames."""
    n = len(data) // (3 * channels) * 3 * channels
    b = np.frombuffer(data[:n], dtype=np.uint8).reshape(-1, 3).astype(np.int32)
    v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
    v = np.where(v >= 1 << 23, v - (1 << 24), v)
    return (v / float(1 << 23)).reshape(-1, channels)


def _reference(vault: Path, heard: list[dict[str, Any]], frames: int, path: Path) -> np.ndarray:
    """The engine's render of A from the cue's start with the switches the player applied, at the
    frames where it applied them."""
    modes = {"A": "a", "B": "b", "A−B": "diff"}
    events = [(h["frame"], (lambda m: lambda e: e.switch(m))(modes[h["command"]]))
              for h in heard if h["command"] in modes]
    s = prepare_play(Vault(vault), f"{CUE}@1.0", vs=f"{CUE}@2.0")
    try:
        render(s.engine, path, end=frames, events=events)
    finally:
        s.close()
    y, _ = sf.read(path, dtype="float64", always_2d=True)
    return y


def _align(rec: np.ndarray, ref: np.ndarray) -> int:
    """The frame of ``ref`` where ``rec`` starts (cross-correlation of its first half second)."""
    n = SR // 2
    a = rec[:n, 0]
    b = ref[:, 0]
    size = 1 << int(np.ceil(np.log2(len(b) + n)))
    c = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)[: len(b) - n]
    return int(np.argmax(c))


# ----- the token, the address, the page -------------------------------------------------------
def test_stream_needs_the_token_and_listens_on_loopback_only(ab_vault: Path) -> None:
    with player(ab_vault, f"{CUE}@1.0", "--vs", f"{CUE}@2.0", "--stream", "--port", "0") as p:
        root = f"http://127.0.0.1:{p.port}/"
        for path in ("", "live", "status.json", "x" + p.token + "/live", p.token[:-1] + "/live",
                     p.token.upper() + "/", "../" + p.token + "/live"):
            code, _, body = _get(root + path)
            assert code == 404, (path, code)
            assert b"RIFF" not in body
        # the listening socket is 127.0.0.1's: nothing on another address, v4 or v6
        listening = []
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                local, st = line.split()[1], line.split()[3]
                if st == "0A" and int(local.rsplit(":", 1)[1], 16) == p.port:
                    listening.append(local)
        assert listening == [f"0100007F:{p.port:04X}"]
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.2", p.port), timeout=10).close()
        # with the token: the page (also without its final /), the status, the stream
        code, _, page = _get(p.base.rstrip("/"))  # urllib follows the redirect
        assert code == 200 and b"<audio" in page
        code, headers, page = _get(p.base)
        assert code == 200 and headers["Content-Type"].startswith("text/html")
        text = page.decode()
        assert "<audio" in text and p.url in text and f"{CUE}@1.0" in text and f"{CUE}@2.0" in text
        assert "<script src" not in text  # no framework: a few lines of its own
        st = p.status()
        assert st["mode"] == "A" and st["position"].startswith("01:00:")
        with urllib.request.urlopen(p.url, timeout=30) as r:
            assert r.headers["Content-Type"] == "audio/wav"
            head = r.read(44)
            assert head[:4] == b"RIFF" and head[8:16] == b"WAVEfmt " and head[36:40] == b"data"
            assert head[4:8] == head[40:44] == b"\xff\xff\xff\xff"  # the 'infinite' sizes
            assert int.from_bytes(head[24:28], "little") == SR and int.from_bytes(head[34:36], "little") == 24
            assert np.abs(_pcm24(r.read(SR * 6))).max() > 0.01  # sound, one second of it
    code, _, err = p.close()
    assert code in (0, 130), err


def test_a_slow_and_a_gone_listener_do_not_hold_the_engine_and_nothing_leaks(ab_vault: Path) -> None:
    with player(ab_vault, f"{CUE}@1.0", "--stream", "--port", "0") as p:
        p.status()
        time.sleep(0.5)
        threads, sockets = p.threads(), p.sockets()
        # a listener that goes away mid-stream
        s = socket.create_connection(("127.0.0.1", p.port), timeout=30)
        s.sendall(f"GET /{p.token}/live HTTP/1.0\r\n\r\n".encode())
        got = b""
        while len(got) < SR * 6 // 4:
            got += s.recv(65536)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
        s.close()
        # a listener that reads nothing at all: its queue fills, it is dropped
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect(("127.0.0.1", p.port))
        slow.sendall(f"GET /{p.token}/live HTTP/1.0\r\n\r\n".encode())
        t0, f0 = time.monotonic(), p.status()["frame"]
        wait_for("the slow listener to be dropped", lambda: p.status()["listeners"] == 0)
        dt, df = time.monotonic() - t0, p.status()["frame"] - f0
        # the engine went on while the listener did not read: no speed asserted, only no stall
        assert df > 0.25 * dt * SR, (df / SR, dt)
        slow.close()
        wait_for("the threads to end", lambda: p.threads() <= threads, 30)
        wait_for("the sockets to close", lambda: p.sockets() <= sockets, 30)
        # the next listener gets sound
        with urllib.request.urlopen(p.url, timeout=30) as r:
            r.read(44)
            assert np.abs(_pcm24(r.read(SR * 6 // 2))).max() > 0.01
        wait_for("the threads to end", lambda: p.threads() <= threads, 30)
        # and it plays through to the end by itself (no terminal: no keys read)
        assert p.proc.wait(timeout=120) == 0
    code, _, err = p.close()
    assert code == 0, err
    assert "stopped at" in err


def test_the_stream_is_the_render_lossless_flac_to_two_listeners_at_once(ab_vault: Path, tmp_path: Path) -> None:
    """FLAC, on this machine: two ffmpegs listening at once each decode what they were sent,
    sample for sample the render."""
    ffmpeg = _need("ffmpeg")
    with player(ab_vault, f"{CUE}@1.0", "--vs", f"{CUE}@2.0", "--stream", "--stream-format", "flac",
                "--port", "0", "--to", "8") as p:
        recs = [tmp_path / "rec1.wav", tmp_path / "rec2.wav"]
        listeners = [subprocess.Popen([ffmpeg, "-nostdin", "-loglevel", "error", "-i", p.url, "-c:a", "pcm_s24le",
                                       str(rec)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for rec in recs]
        for f in listeners:
            _, err = f.communicate(timeout=120)
            assert f.returncode == 0, err
        assert p.proc.wait(timeout=60) == 0
    ref = _reference(ab_vault, [], 8 * SR, tmp_path / "ref.wav")
    for rec in recs:
        y, sr = sf.read(rec, dtype="float64", always_2d=True)
        assert sr == SR and len(y) > SR
        k = _align(y, ref)
        n = min(len(y), len(ref) - k)
        assert n > SR // 2
        assert np.abs(y[:n] - ref[k:k + n]).max() < LOSSLESS_TOL


# ----- through an SSH tunnel, keys typed in the SSH session ------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Pty:
    """A child process on a pseudo-terminal: what it prints is kept, keys are typed into it."""

    def __init__(self, argv: list[str]) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        self.text = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            if not data:
                return
            self.text += data.decode("utf-8", "replace")

    def type(self, key: str) -> None:
        os.write(self.master, key.encode())

    def close(self) -> int:
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._reader.join(5)
        os.close(self.master)
        return code


@pytest.mark.e2e
@pytest.mark.parametrize("fmt", ["wav", "opus"])
def test_a_b_difference_through_an_ssh_tunnel_sound_as_the_render(ab_vault: Path, tmp_path: Path, home: Path,
                                                                  fmt: str) -> None:
    ffmpeg = _need("ffmpeg")
    remote, local = _free_port(), _free_port()
    (tmp_path / "sshd").mkdir()
    with running_sshd(tmp_path / "sshd") as sshd:
        cmd = (f"cd {ab_vault} && exec env HOME={home} GIT_CONFIG_NOSYSTEM=1 PYTHONPATH={ROOT} {sys.executable} "
               f"-m tui.cli play {CUE}@1.0 --vs {CUE}@2.0 --stream --stream-format {fmt} --port {remote}")
        # the laptop: `ssh -L` to the host, and stemvault in that session
        term = Pty(["ssh", "-t", *sshd.ssh_options().split(), "-o", "ExitOnForwardFailure=yes",
                    "-L", f"{local}:127.0.0.1:{remote}", f"{sshd.user}@127.0.0.1", cmd])
        rec = tmp_path / "rec.wav"
        try:
            m = wait_for("the stream URL", lambda: re.search(
                rf"stream: http://127\.0\.0\.1:{remote}/([A-Za-z0-9_-]+)/live", term.text), 90)
            line = re.search(rf"ssh -L {remote}:127\.0\.0\.1:{remote} \S+@\S+", term.text)
            assert line  # and on the laptop's clipboard, through the terminal (OSC 52)
            assert "\x1b]52;c;" + base64.b64encode(line.group(0).encode()).decode() + "\x07" in term.text
            base = f"http://127.0.0.1:{local}/{m.group(1)}/"  # through the tunnel

            def status() -> dict[str, Any]:
                with urllib.request.urlopen(base + "status.json", timeout=30) as r:
                    doc: dict[str, Any] = json.load(r)
                    return doc

            def heard(what: str) -> int | None:
                return next((h["frame"] for h in status()["heard"] if h["command"] == what), None)

            def past(frame: int) -> bool:
                return bool(status()["frame"] >= frame)

            listener = subprocess.Popen([ffmpeg, "-nostdin", "-loglevel", "error", "-i", base + "live",
                                         "-c:a", "pcm_f32le", str(rec)], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
            wait_for("ffmpeg to listen", lambda: status()["listeners"] >= 1)
            f0 = status()["frame"]
            wait_for("a second of A", lambda: past(f0 + SR))
            term.type("b")
            fb = wait_for("B", lambda: heard("B"))
            wait_for("a second and a half of B", lambda: past(fb + 3 * SR // 2))
            term.type("d")
            fd = wait_for("the difference", lambda: heard("A−B"))
            wait_for("a second of the difference", lambda: past(fd + SR))
            last = status()["frame"]
            term.type("q")
            _, err = listener.communicate(timeout=120)
            assert listener.returncode == 0, err
        finally:
            code = term.close()
    assert code == 0, term.text
    assert "stopped at" in term.text
    y, sr = sf.read(rec, dtype="float64", always_2d=True)
    assert sr == SR
    ref = _reference(ab_vault, [{"command": "B", "frame": fb}, {"command": "A−B", "frame": fd}],
                     last + SR, tmp_path / "ref.wav")
    k = _align(y, ref)
    n = min(len(y), last - k)
    assert k < fb - SR // 2 and fd + SR // 2 < k + n, (k, fb, fd, n)  # A, B and the difference recorded
    got, want = y[:n], ref[k:k + n]
    if fmt == "wav":
        assert np.abs(got - want).max() < LOSSLESS_TOL
    else:
        for a, b in ((0, fb - k), (fb - k, fd - k), (fd - k, n)):  # each part, not only the whole
            c = np.corrcoef(got[a:b].ravel(), want[a:b].ravel())[0, 1]
            assert c > 0.99, (a, b, c)


# ----- a served render --------------------------------------------------------------------------
def test_render_serve_answers_range_requests_and_carries_its_start_timecode(ab_vault: Path,
                                                                             tmp_path: Path) -> None:
    out = tmp_path / "bounce.wav"
    with player(ab_vault, f"{CUE}@1.0", "--from", "2", "--to", "4", "--render", str(out), "--serve",
                "--port", "0") as p:
        data = out.read_bytes()
        code, h, body = _get(p.base + "bounce.wav")
        assert code == 200 and body == data and h["Accept-Ranges"] == "bytes"
        code, h, body = _get(p.base + "bounce.wav", {"Range": "bytes=100-1099"})
        assert code == 206 and body == data[100:1100] and h["Content-Range"] == f"bytes 100-1099/{len(data)}"
        code, h, body = _get(p.base + "bounce.wav", {"Range": "bytes=-500"})
        assert code == 206 and body == data[-500:]
        code, h, body = _get(p.base + "bounce.wav", {"Range": f"bytes={len(data)}-"})
        assert code == 416 and h["Content-Range"] == f"bytes */{len(data)}"
        code, h, body = _get(p.base + "bounce.wav", method="HEAD")
        assert code == 200 and body == b"" and h["Content-Length"] == str(len(data))
        assert _get(f"http://127.0.0.1:{p.port}/bounce.wav")[0] == 404
        code, _, page = _get(p.base)
        assert code == 200 and b"<audio" in page and b"bounce.wav" in page
    code, _, err = p.close()
    assert code == 130, err  # served until interrupted (no terminal: no q)
    # the render's bext TimeReference is its first sample: 01:00:00:00 + 2 s
    assert wavinfo.WavInfoReader(out).bext.time_reference == HOUR + 2 * SR


# ----- bad input ---------------------------------------------------------------------------------
def test_bad_stream_options_are_one_line_and_exit_2(ab_vault: Path, sv: Runner, tmp_path: Path) -> None:
    for args, words in (
        (["--stream", "--render", str(tmp_path / "x.wav")], "--render FILE.wav --serve"),
        (["--stream", "--device", "x"], "choose one"),
        (["--serve"], "--render"),
        (["--port", "9"], "--stream"),
        (["--stream-format", "opus"], "--stream"),
    ):
        r = sv("-C", ab_vault, "play", CUE, *args)
        assert r.code == 2, (args, r.out, r.err)
        assert words in r.err and r.err.count("\n") == 1
    assert not (tmp_path / "x.wav").exists()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = sv("-C", ab_vault, "play", CUE, "--stream", "--port", str(port))
        assert r.code == 2 and f"port {port}" in r.err and "--port" in r.err and r.err.count("\n") == 1


def test_stream_json_says_where_and_what_was_heard_and_leaves_no_thread(ab_vault: Path, sv: Runner) -> None:
    before = {t.ident for t in threading.enumerate()}
    r = sv.ok("-C", ab_vault, "play", f"{CUE}@1.0", "--vs", f"{CUE}@2.0", "--start-in", "b", "--stream",
              "--port", "0", "--to", "1", "--json")
    doc = r.json()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/[A-Za-z0-9_-]+/live", doc["url"])
    assert doc["page"] == doc["url"].removesuffix("live") and doc["bind"] == "127.0.0.1"
    assert doc["ssh"].startswith(f"ssh -L {doc['port']}:127.0.0.1:{doc['port']} ")
    assert doc["format"] == "wav" and doc["listeners"] == [] and doc["start_in"] == "b"
    assert doc["heard"][0]["command"] == "play" and doc["stopped_at"] == "01:00:01:00"
    assert "stream: " + doc["url"] in r.err  # the human lines on stderr, the document on stdout
    assert {t.ident for t in threading.enumerate()} <= before


def test_the_pump_feeds_a_listener_from_where_it_joined_and_drops_one_that_does_not_read(ab_vault: Path,
                                                                                         tmp_path: Path) -> None:
    """In process: what a listener is given is the engine's output from the frame it joined at; a
    listener whose queue fills (here 0.2 s) is dropped while the engine goes on."""
    from audio.playback.stream import Pump

    s = prepare_play(Vault(ab_vault), f"{CUE}@1.0")
    pump = Pump(s.engine, queue_s=0.2)
    try:
        s.engine.play()
        pump.start()
        wait_for("a second of playback", lambda: s.engine.status.position > SR)
        reader, idle = pump.listen("wav"), pump.listen("wav")
        chunks = reader.chunks()
        data = next(chunks)
        assert data[:4] == b"RIFF"
        got = b""
        while len(got) < SR * 6:
            got += next(chunks)
        wait_for("the idle listener to be dropped", lambda: idle.visit.dropped)
        assert pump.listeners == 1 and not reader.visit.dropped
        chunks.close()  # the reader goes away
        assert reader.visit.left and pump.listeners == 0
    finally:
        pump.stop()
        s.close()
    assert not pump._thread or not pump._thread.is_alive()
    start = reader.visit.joined_at
    assert start is not None and start >= SR
    ref = _reference(ab_vault, [], start + SR, tmp_path / "ref.wav")
    assert np.abs(_pcm24(got)[:SR] - ref[start:start + SR]).max() < LOSSLESS_TOL
