"""Output to a sound card through sounddevice (PortAudio) — the only module that imports it.

Public surface:
    NO_DEVICE_HELP, list_devices() -> list[dict], open_output(engine, *, device=None, block=1024)
    Output: .start(), .wait(timeout) -> bool (finished), .stop(), .latency, .device_name
    sound_server(env=None) -> SoundServer | None   PULSE_SERVER when it names a TCP address
                                                     (a forwarded server, e.g. ``ssh -R``)

sounddevice is imported inside these functions, so that everything else imports and runs where
PortAudio is missing. No PortAudio, no output device, or a device that cannot open the files'
rate: a ``NoAudioDevice`` (or ``UnsupportedRate``) that says, in one line, how to listen anyway.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from audio.errors import NoAudioDevice, UnsupportedRate
from audio.playback.engine import Engine

__all__ = ["NO_DEVICE_HELP", "PULSE_PORT", "Output", "SoundServer", "list_devices", "open_output", "sound_server"]

NO_DEVICE_HELP = ("listen another way: bounce it with --render FILE.wav, run stemvault on your own machine "
                  "against a lazy clone (GIT_LFS_SKIP_SMUDGE=1 git clone ...), or forward audio "
                  "(PULSE_SERVER) to this session")
TRAIL_S = 0.3  # silence after the end: PortAudio drops the last ~latency of a stream
LEAD_S = 0.05  # silence before the start: a stream's first frames can be lost as it starts


PULSE_PORT = 4713  # PulseAudio's (and pipewire-pulse's) native protocol port


@dataclass(frozen=True)
class SoundServer:
    """A PulseAudio (or pipewire-pulse) server reached over TCP, as ``PULSE_SERVER`` names it.

    Attributes:
        address: the entry as written (``tcp:127.0.0.1:24713``).
        host, port: where it listens.
        forwarded: on this machine's loopback: in an SSH session, a server forwarded from the
            user's own machine (``ssh -R``); otherwise a server elsewhere on the network.
    """

    address: str
    host: str
    port: int
    forwarded: bool

    def describe(self) -> str:
        how = "the forwarded sound server" if self.forwarded else "the network sound server"
        return f"{how} {self.address} (PULSE_SERVER)"

    def answers(self, timeout: float = 2.0) -> bool:
        """Whether something accepts a connection there (the tunnel is up, the server runs)."""
        try:
            socket.create_connection((self.host, self.port), timeout=timeout).close()
        except OSError:
            return False
        return True


def sound_server(env: Mapping[str, str] | None = None) -> SoundServer | None:
    """The first TCP server of ``PULSE_SERVER`` (libpulse's syntax: space-separated entries, each
    ``[{machine-id}]`` then ``unix:PATH``, ``/PATH``, ``tcp:HOST[:PORT]``, ``tcp4:``/``tcp6:``,
    or a bare ``HOST[:PORT]``; IPv6 hosts in brackets), or None (unset, or sockets only)."""
    value = (os.environ if env is None else env).get("PULSE_SERVER", "")
    for entry in value.split():
        rest = entry.split("}", 1)[1] if entry.startswith("{") and "}" in entry else entry
        if rest.startswith(("unix:", "/")) or not rest:
            continue
        for prefix in ("tcp:", "tcp4:", "tcp6:"):
            if rest.startswith(prefix):
                rest = rest[len(prefix):]
                break
        if rest.startswith("["):  # [::1]:4713
            host, _, tail = rest[1:].partition("]")
            port_text = tail[1:] if tail.startswith(":") else ""
        elif rest.count(":") == 1:
            host, port_text = rest.split(":")
        else:
            host, port_text = rest, ""
        try:
            port = int(port_text) if port_text else PULSE_PORT
        except ValueError:
            continue
        loopback = host in ("localhost", "::1") or host.startswith("127.")
        return SoundServer(entry, host, port, loopback)
    return None


def _server_hint() -> str:
    """Why no device may be seen, when PULSE_SERVER names a TCP server that does not answer."""
    srv = sound_server()
    if srv is None or srv.answers():
        return ""
    if srv.forwarded:
        return (f"; {srv.describe()} does not answer: open the tunnel from your machine (ssh -R "
                f"{srv.port}:localhost:{PULSE_PORT} ...) with its sound server's TCP module loaded "
                "(docs/editor.md, Forwarding your sound server)")
    return f"; {srv.describe()} does not answer on port {srv.port}"


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence C-level stderr (ALSA prints its configuration complaints there on init)."""
    try:
        fd = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(fd, 2)
    finally:
        os.close(fd)


def _sd() -> ModuleType:
    with _quiet_stderr():
        try:
            import sounddevice
        except (ImportError, OSError):
            raise NoAudioDevice(f"no PortAudio on this machine (libportaudio2 is not installed): "
                                f"{NO_DEVICE_HELP}") from None
    return sounddevice


def list_devices() -> list[dict[str, Any]]:
    """Output devices PortAudio sees: ``{index, name, channels, default_rate, default}``.

    Raises:
        NoAudioDevice: without PortAudio.
    """
    sd = _sd()
    with _quiet_stderr():
        try:
            devs = sd.query_devices()
            default_out = sd.default.device[1]
        except sd.PortAudioError as e:
            raise NoAudioDevice(f"PortAudio cannot list devices ({e}): {NO_DEVICE_HELP}") from None
    return [{"index": i, "name": d["name"], "channels": d["max_output_channels"],
             "default_rate": d["default_samplerate"], "default": i == default_out}
            for i, d in enumerate(devs) if d["max_output_channels"] > 0]


def _device(sd: ModuleType, device: str | int | None) -> int:
    outs = list_devices()
    if not outs:
        raise NoAudioDevice(f"no audio output device here (an SSH session or CI?){_server_hint()}: {NO_DEVICE_HELP}")
    if device is None:
        for d in outs:
            if d["default"]:
                return int(d["index"])
        return int(outs[0]["index"])
    key = str(device)
    if key.isdigit():
        for d in outs:
            if d["index"] == int(key):
                return int(d["index"])
    for d in outs:
        if d["name"] == key:
            return int(d["index"])
    for d in outs:
        if key.lower() in str(d["name"]).lower():
            return int(d["index"])
    names = ", ".join(f"{d['index']}: {d['name']}" for d in outs)
    raise NoAudioDevice(f"no output device {device!r} (devices: {names}; see `stemvault play --list-devices`)")


class Output:
    """A PortAudio output stream fed by an engine's ``process``."""

    def __init__(self, sd: ModuleType, engine: Engine, index: int, block: int) -> None:
        self._sd = sd
        self.engine = engine
        self.finished = threading.Event()
        self._trail = round(TRAIL_S * engine.sample_rate)
        self._stop_after: int | None = None
        self._lead = round(LEAD_S * engine.sample_rate)
        self.device_name = str(sd.query_devices(index)["name"])
        with _quiet_stderr():
            try:
                self.stream = sd.OutputStream(samplerate=engine.sample_rate, blocksize=block, device=index,
                                              channels=engine.channels, dtype="float32",
                                              callback=self._callback, finished_callback=self.finished.set)
            except sd.PortAudioError as e:
                raise NoAudioDevice(f"cannot open {self.device_name} ({e}): {NO_DEVICE_HELP}") from None
        self.latency = float(self.stream.latency)

    def _callback(self, outdata: Any, frames: int, time_info: Any, status: Any) -> None:
        if self._lead:
            k = min(frames, self._lead)
            self._lead -= k
            outdata[:k] = 0.0
            if k < frames:
                outdata[k:] = self.engine.process(frames - k)
        else:
            outdata[:] = self.engine.process(frames)
        if self.engine.status.ended:
            self._stop_after = (self._trail if self._stop_after is None else self._stop_after) - frames
            if self._stop_after <= 0:
                raise self._sd.CallbackStop

    def start(self) -> None:
        self.stream.start()

    def wait(self, timeout: float) -> bool:
        """True once the stream has played to the end (and its trailing silence)."""
        return self.finished.wait(timeout)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.stream.stop()
        self.stream.close()


def open_output(engine: Engine, *, device: str | int | None = None, block: int = 1024) -> Output:
    """An output stream on ``device`` (index, name or part of a name; default: the system's).

    Raises:
        NoAudioDevice: without PortAudio, without an output device, or when it does not open.
        UnsupportedRate: when the device cannot play the engine's sample rate and channels.
    """
    sd = _sd()
    index = _device(sd, device)
    with _quiet_stderr():
        try:
            sd.check_output_settings(device=index, samplerate=engine.sample_rate, channels=engine.channels,
                                     dtype="float32")
        except (sd.PortAudioError, ValueError) as e:
            name = sd.query_devices(index)["name"]
            raise UnsupportedRate(
                f"{name} cannot play {engine.sample_rate} Hz, {engine.channels} channels ({e}): choose "
                "another --device (see --list-devices), or --render FILE.wav") from None
    return Output(sd, engine, index, block)
