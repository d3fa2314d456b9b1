"""stemvault play CUE[@VER] [--vs CUE@VER] [--solo S]... [--mute S]... [--gain S=dB]... [--from TC]
[--to TC] [--start-in a|b|diff] [--match-loudness] [--mix] [--preset NAME] [--render FILE [--serve]] [--device D]
[--list-devices] [--stream [--stream-format wav|flac|opus]] [--port N] [--bind ADDR]

Plays a version's stems mixed live (or A/B against another version, or their difference), or
renders exactly that to a WAV file. The session (finding the audio, the engine, the options) is
``vcs.playsession.prepare_play``, what a TUI player uses too; the raw-terminal keys are
``tui.terminal``. ``play_cmd`` parses, calls them, then renders, or plays to the sound card with a
live position line and keys, or streams over HTTP (``--stream``: ``audio.playback.stream`` runs the
engine at real time without a sound card, ``vcs.playserver`` serves it, the keys are the same).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from audio.errors import PlaybackError
from tui.commands.common import open_vault
from tui.output import emit_json, plain
from tui.terminal import ARROW_LEFT, ARROW_RIGHT, cbreak_keys
from vcs.playsession import (
    PRESET_NAMES,
    START_IN,
    PlaySession,
    next_preset,
    prepare_play,
    run_render,
)

__all__ = ["play_cmd"]

SEEK_S = 5.0


def _on_key(session: PlaySession, quit_: threading.Event) -> Callable[[str], None]:
    """Keys while playing: space, a/b/d, ←/→, p (next preset), P (preset on/off), q."""
    e = session.engine
    step = round(SEEK_S * e.sample_rate)
    preset: list[str | None] = [session.info.get("preset")] * 2  # what plays, what P turns back on

    def on_key(k: str) -> None:
        try:
            if k == "p":
                preset[0] = next_preset(preset[0])
                preset[1] = preset[0] or preset[1]
                e.set_preset(preset[0])
            elif k == "P":
                preset[0] = None if preset[0] else preset[1] or PRESET_NAMES[0]
                e.set_preset(preset[0])
            elif k == " ":
                e.toggle()
            elif k in ("a", "b", "d"):
                e.switch("diff" if k == "d" else k)  # type: ignore[arg-type]
            elif k == ARROW_RIGHT:
                e.seek_by(step)
            elif k == ARROW_LEFT:
                e.seek_by(-step)
            elif k in ("q", "\x03"):
                quit_.set()
        except PlaybackError:
            pass  # b/d without a second version: nothing to switch to

    return on_key


def _line(session: PlaySession) -> str:
    s = session.engine.status
    state = "▶" if s.playing else ("■" if s.ended else "‖")
    mode = {"a": "A", "b": "B", "diff": "A−B"}[s.mode]
    el = (s.position - session.start) / s.sample_rate
    return (f"\r{state} {mode:3} {s.preset or '':10} {session.tc(s.position)}  {el:6.1f} s / "
            f"{(session.end - session.start) / s.sample_rate:.1f} s ")


def _match_words(doc: dict[str, Any], *, live: bool = False) -> str:
    """What loudness matching did to what was rendered (nothing said without --match-loudness);
    ``live``: to what B plays whenever it is switched to."""
    g = doc.get("match_gain_db")
    if g is None:
        return ""
    if live or doc["start_in"] == "b":
        return f"; B matched to A: {g:+.1f} dB"
    if doc["start_in"] == "diff":
        return f"; the difference is not loudness-matched (B would be {g:+.1f} dB)"
    return f"; A plays as it is (B would be matched to A: {g:+.1f} dB)"


def _say_absent(absent: list[dict[str, str]], *, err: bool = False) -> None:
    if absent:
        names = ", ".join(plain(f"{x['ref']} {x['file']}") for x in absent)
        click.echo(f"    silent here and not in this clone (not needed): {names}", err=err)


def _server_words(latency: float | None = None) -> str:
    """Where the sound goes when PULSE_SERVER names a TCP server (a forwarded one: ``ssh -R``)."""
    from audio.playback.output import sound_server

    srv = sound_server()
    if srv is None:
        return ""
    lat = f", output latency {latency * 1000:.0f} ms" if latency is not None else ""
    return f" via {plain(srv.describe())}{lat}"


def _say_server() -> None:
    """After --list-devices: where a TCP PULSE_SERVER sends the sound, or that it does not answer."""
    from audio.playback.output import PULSE_PORT, sound_server

    srv = sound_server()
    if srv is None:
        return
    if srv.answers():
        click.echo(f"sound goes via {plain(srv.describe())}: choose its output with PULSE_SINK=NAME "
                   "(pactl list short sinks, on that machine)")
    else:
        click.echo(f"{plain(srv.describe())} does not answer: open the tunnel from your machine "
                   f"(ssh -R {srv.port}:localhost:{PULSE_PORT} ...) with its sound server's TCP module loaded "
                   "(docs/editor.md, Forwarding your sound server)")


def _play_live(session: PlaySession, device: str | None, block: int) -> int:
    from audio.playback.output import open_output

    e = session.engine
    out = open_output(e, device=device, block=block)
    info = session.info
    vs = f" vs {info['b']}" if info["b"] else ""
    preset = f" through the {info['preset']} preset" if info.get("preset") else ""
    click.echo(f"playing {info['a']}{vs}{preset} on {plain(out.device_name)}{_server_words(out.latency)} "
               f"from {info['from']}"
               + (" — keys: space pause, a/b/d switch, ←/→ seek, p preset, P bypass, q quit"
                  if sys.stdin.isatty() else "")
               + _match_words(info, live=True), err=True)
    _say_absent(info["absent"], err=True)
    quit_ = threading.Event()
    e.play()
    out.start()
    try:
        with cbreak_keys(_on_key(session, quit_), quit_):
            while not quit_.is_set() and not out.wait(0.1):
                if sys.stderr.isatty():
                    click.echo(_line(session), nl=False, err=True)
    finally:
        out.stop()
        if sys.stderr.isatty():
            click.echo("", err=True)
    click.echo(f"stopped at {session.tc(e.status.position)}", err=True)
    return 0


def _check_stream_options(stream: bool, render_to: Path | None, serve: bool, device: str | None,
                          port: int | None, bind: str, stream_format: str) -> None:
    if stream and render_to is not None:
        raise click.UsageError("--stream plays live; to serve a render use --render FILE.wav --serve")
    if stream and device is not None:
        raise click.UsageError("--stream plays to the stream, not to --device: choose one")
    if serve and render_to is None:
        raise click.UsageError("--serve serves a render: add --render FILE.wav (or use --stream to stream live)")
    if not (stream or serve) and (port is not None or bind != "127.0.0.1"):
        raise click.UsageError("--port and --bind go with --stream (or --render FILE --serve)")
    if not stream and stream_format != "wav":
        raise click.UsageError("--stream-format goes with --stream")


def _addresses(server: Any, url: str) -> dict[str, Any]:
    return {"url": url, "page": server.page_url, "port": server.port, "bind": server.bind,
            "ssh": server.ssh_line()}


def _say_addresses(server: Any, url: str, *, err: bool) -> None:
    """The URLs and the laptop's ssh line; the line also to the clipboard (OSC 52) on a terminal."""
    from vcs.playserver import DEFAULT_PORT, is_loopback, osc52

    line = server.ssh_line()
    click.echo(f"  stream: {url}", err=err)
    click.echo(f"  page:   {server.page_url}", err=err)
    click.echo(f"  on your laptop: {line}   (then open the stream in mpv, ffplay or VLC, or the page)", err=err)
    if server.fallback:
        click.echo(f"  port {DEFAULT_PORT} is taken here, so this is {server.port}: in an SSH session already "
                   f"open, press Enter, type ~C and then -L {server.port}:{server.far_end()}:{server.port}", err=err)
    if not is_loopback(server.bind):
        click.echo(f"warning: listening on {server.bind or 'every address'}: anyone who can reach it and has the URL can listen",
                   err=True)
    if not err and sys.stdout.isatty():
        sys.stdout.write(osc52(line))
        click.echo("  (the ssh line is on your clipboard, where the terminal allows it)", err=err)
    (sys.stderr if err else sys.stdout).flush()


def _file_server(doc: dict[str, Any], path: Path, port: int | None, bind: str) -> Any:
    from vcs.playserver import PlayServer

    what = {"a": doc["a"], "b": doc["b"], "mode": {"a": "A", "b": "B", "diff": "A−B"}[doc["start_in"]],
            "title": f"{doc['a']}" + (f" vs {doc['b']}" if doc["b"] else "")}
    return PlayServer(file=path.resolve(), bind=bind, port=port, what=what,
                      status=lambda: {"mode": what["mode"], "position": f"{doc['from']}–{doc['to']}",
                                      "playing": False, "preset": doc.get("preset")})


def _serve_file(server: Any, *, as_json: bool) -> int:
    """Serve a render until q (or Ctrl-C; without a terminal, until interrupted)."""
    click.echo(f"serving {plain(server.file.name)} (range requests: players can seek)"
               + (" — q stops" if sys.stdin.isatty() else " — Ctrl-C stops"), err=as_json)
    _say_addresses(server, server.file_url, err=as_json)
    quit_ = threading.Event()
    server.start()
    try:
        with cbreak_keys(lambda k: quit_.set() if k in ("q", "\x03") else None, quit_):
            while not quit_.wait(0.2):
                pass
    finally:
        server.close()
    return 0


def _play_stream(session: PlaySession, *, fmt: str, port: int | None, bind: str, block: int,
                 as_json: bool) -> int:
    """Play to an HTTP stream at real time (no sound card) with the same keys as the device."""
    from audio.playback.stream import Pump, check_format
    from vcs.playserver import PlayServer, heard, session_status, session_what

    e = session.engine
    info = session.info
    check_format(fmt, e.sample_rate, e.channels)
    first = len(e.applied)
    pump = Pump(e, block=block)
    server = PlayServer(pump=pump, fmt=fmt, bind=bind, port=port, what=session_what(info),
                        status=lambda: session_status(session, first))
    vs = f" vs {info['b']}" if info["b"] else ""
    kind = {"wav": "24-bit WAV", "flac": "24-bit FLAC", "opus": "Ogg/Opus"}[fmt]
    err = as_json
    tty = sys.stdin.isatty()
    preset = f" through the {info['preset']} preset" if info.get("preset") else ""
    click.echo(f"streaming {info['a']}{vs}{preset} from {info['from']} ({e.sample_rate} Hz {kind})"
               + (" — keys: space pause, a/b/d switch, ←/→ seek, p preset, P bypass, q quit" if tty else "")
               + _match_words(info, live=True), err=err)
    _say_absent(info["absent"], err=err)
    _say_addresses(server, server.stream_url, err=err)
    quit_ = threading.Event()
    server.start()
    e.play()
    pump.start()
    try:
        with cbreak_keys(_on_key(session, quit_), quit_):
            while not quit_.is_set() and not pump.wait(0.1):
                if sys.stderr.isatty():
                    click.echo(_line(session) + f" · {pump.listeners} listening ", nl=False, err=True)
    finally:
        e.pause()
        server.close()
        if sys.stderr.isatty():
            click.echo("", err=True)
    if pump.error is not None:
        raise PlaybackError(f"the stream stopped: {pump.error}")
    stopped = session.tc(e.status.position)
    if as_json:
        visits = [{"format": v.fmt, "from": None if v.joined_at is None else session.tc(v.joined_at),
                   "joined_at": v.joined_at, "frames": v.frames, "dropped": v.dropped} for v in server.visits]
        emit_json({**info, **_addresses(server, server.stream_url), "format": fmt,
                   "heard": heard(session, first), "listeners": visits, "stopped_at": stopped})
    else:
        click.echo(f"stopped at {stopped}", err=True)
    return 0


@click.command("play")
@click.argument("ref", metavar="CUE[@VER]", required=False)
@click.option("--vs", metavar="CUE@VER", help="A/B against this version (keys a/b/d switch A, B, A−B).")
@click.option("--solo", multiple=True, metavar="STEM", help="Solo a stem (file name or role); repeats.")
@click.option("--mute", multiple=True, metavar="STEM", help="Mute a stem (file name or role); repeats.")
@click.option("--gain", "gains", multiple=True, metavar="STEM=dB", help="A stem's gain in dB; repeats.")
@click.option("--from", "start", metavar="TC|SECONDS", help="Start here (timecode HH:MM:SS:FF, or seconds).")
@click.option("--to", "end", metavar="TC|SECONDS", help="Stop here.")
@click.option("--loop", is_flag=True, help="Loop --from..--to (live playback).")
@click.option("--start-in", type=click.Choice(START_IN), default="a", show_default=True,
              help="What plays first (and what --render bounces): A, B or the difference A−B.")
@click.option("--match-loudness", is_flag=True, help="Bring B to A's integrated loudness (from the analysis).")
@click.option("--mix", is_flag=True, help="Play the mix file itself instead of the summed stems.")
@click.option("--preset", type=click.Choice(PRESET_NAMES), metavar="NAME",
              help="Audition preset, also in --render: " + ", ".join(PRESET_NAMES) + " (docs/editor.md).")
@click.option("--render", "render_to", type=click.Path(path_type=Path), metavar="FILE.wav",
              help="Bounce what you would hear to a WAV file (no audio device needed).")
@click.option("--format", "fmt", type=click.Choice(["float", "24"]), default="float", show_default=True,
              help="Render sample format: 32-bit float or 24-bit PCM (at the set's rate).")
@click.option("--device", metavar="NAME|INDEX", help="Output device (see --list-devices).")
@click.option("--list-devices", is_flag=True, help="List output devices and exit.")
@click.option("--block", type=click.IntRange(64, 16384), default=1024, show_default=True,
              help="Frames per audio block.")
@click.option("--stream", is_flag=True,
              help="Play to an HTTP stream on 127.0.0.1 (no audio device): listen through ssh -L.")
@click.option("--stream-format", type=click.Choice(["wav", "flac", "opus"]), default="wav", show_default=True,
              help="With --stream: lossless 24-bit WAV or FLAC, or Ogg/Opus for a slow link.")
@click.option("--serve", is_flag=True, help="With --render: serve the file over HTTP (range requests) until q.")
@click.option("--port", type=click.IntRange(0, 65535), default=None, metavar="N",
              help="With --stream or --serve: the port (default 8765, or a free one when taken; 0: any).")
@click.option("--bind", default="127.0.0.1", show_default=True, metavar="ADDR",
              help="With --stream or --serve: the address to listen on (only loopback is private).")
@click.option("--json", "as_json", is_flag=True,
              help="With --render, --stream or --list-devices: print the result as JSON.")
def play_cmd(ref: str | None, vs: str | None, solo: tuple[str, ...], mute: tuple[str, ...],
             gains: tuple[str, ...], start: str | None, end: str | None, loop: bool, start_in: str,
             match_loudness: bool, mix: bool, preset: str | None, render_to: Path | None, fmt: str, device: str | None,
             list_devices: bool, block: int, stream: bool, stream_format: str, serve: bool, port: int | None,
             bind: str, as_json: bool) -> int:
    """Play a version's stems mixed live, A/B two versions, stream it, or bounce it to a WAV file."""
    _check_stream_options(stream, render_to, serve, device, port, bind, stream_format)
    if list_devices:
        from audio.playback.output import list_devices as devices

        devs = devices()
        if as_json:
            emit_json(devs)
        elif not devs:
            click.echo("no output devices")
        for d in [] if as_json else devs:
            click.echo(f"{'*' if d['default'] else ' '} {d['index']:3}  {plain(str(d['name']))}  "
                       f"({d['channels']} ch, {d['default_rate']:.0f} Hz)")
        if not as_json:
            _say_server()
        return 0
    if ref is None:
        raise click.UsageError("name what to play: stemvault play CUE[@VER]")
    vault = open_vault()
    session = prepare_play(vault, ref, vs=vs, solo=solo, mute=mute, gains=gains, start=start, end=end,
                           start_in=start_in, match_loudness=match_loudness, mix=mix, loop=loop, block=block,
                           preset=preset)
    try:
        if render_to is not None:
            t = time.perf_counter()
            doc = run_render(session, render_to, fmt=fmt, block=block)
            server = _file_server(doc, render_to, port, bind) if serve else None
            if server is not None:
                doc.update(_addresses(server, server.file_url))
            if as_json:
                emit_json(doc)
                sys.stdout.flush()
            else:
                what = {"a": doc["a"], "b": doc["b"], "diff": f"{doc['a']} − {doc['b']}"}[start_in]
                click.echo(f"rendered {what} {doc['from']}–{doc['to']} ({doc['seconds']:.1f} s, "
                           f"{doc['sample_rate']} Hz {doc['format']}) to {plain(str(render_to))} "
                           f"in {time.perf_counter() - t:.1f} s"
                           + (f" through the {doc['preset']} preset" if doc.get("preset") else "")
                           + _match_words(doc))
                _say_absent(doc["absent"])
            if server is not None:
                return _serve_file(server, as_json=as_json)
            return 0
        if stream:
            return _play_stream(session, fmt=stream_format, port=port, bind=bind, block=block, as_json=as_json)
        return _play_live(session, device, block)
    finally:
        session.close()
