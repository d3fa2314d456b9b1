"""stemvault play CUE[@VER] [--vs CUE@VER] [--solo S]... [--mute S]... [--gain S=dB]... [--from TC]
[--to TC] [--start-in a|b|diff] [--match-loudness] [--mix] [--render FILE] [--device D] [--list-devices]

Plays a version's stems mixed live (or A/B against another version, or their difference), or
renders exactly that to a WAV file. ``prepare_play`` is the pure part (what the tests call): it
finds the audio in the LFS store, builds the engine and applies the options; ``play_cmd`` parses,
then renders, or plays to the sound card with a live position line and keys.
"""

from __future__ import annotations

import contextlib
import functools
import math
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from audio.errors import BadTimecode, PlaybackError
from audio.timecode import FrameRate, Timecode, parse_frame_rate, parse_timecode
from tui.commands.common import open_vault
from tui.output import emit_json, plain
from vcs.manifest import Manifest, StemEntry
from vcs.models import Version
from vcs.records import load_record
from vcs.vault import Vault

if TYPE_CHECKING:
    from audio.playback.engine import Engine
    from audio.playback.source import StemSet

# audio.playback (numpy, soundfile) is imported when something plays, not at every command's
# start; the modes are spelled here for --start-in's choices (tests/test_hygiene.py checks
# that they are the engine's MODES).
START_IN = ("a", "b", "diff")

__all__ = ["PlaySession", "parse_position", "play_cmd", "prepare_play", "run_render"]

NOT_SUMMED = ("mix", "tempo", "reference")  # the mix is what the stems null against, not a stem
MUTED_BY_DEFAULT = ("alt",)  # an alternate replaces a stem: heard when soloed or unmuted
SEEK_S = 5.0
_SECONDS = re.compile(r"^(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d*)?)$")


@dataclass
class PlaySession:
    """What ``play`` will play: the engine, the range, and facts for people."""

    engine: Engine
    start: int
    end: int
    rate: FrameRate
    info: dict[str, Any] = field(default_factory=dict)

    def tc(self, frame: int) -> str:
        """The timecode of timeline ``frame``."""
        e = self.engine
        return str(Timecode.from_samples(e.start + frame, e.sample_rate, self.rate))

    def close(self) -> None:
        self.engine.close()


def parse_position(text: str, *, rate: FrameRate, sample_rate: int, start: int, frames: int, what: str) -> int:
    """A position on the timeline from ``HH:MM:SS:FF`` (timecode, as the files' BWF start) or
    seconds from the cue's start (``90``, ``1:30.5``, ``0:01:30``).

    Raises:
        BadTimecode: when it does not parse.
        PlaybackError: when it is outside the cue.
    """
    t = text.strip()
    if t.count(":") + t.count(";") == 3:
        pos = parse_timecode(t, rate).samples(sample_rate) - start
    else:
        m = _SECONDS.match(t)
        if not m:
            raise BadTimecode(f"{what} {text!r} does not parse: write a timecode HH:MM:SS:FF or seconds "
                              "from the cue's start (90, 1:30.5)")
        a, b, s = m.groups()
        h, mi = (int(a), int(b)) if b is not None else (0, int(a or 0))
        pos = round((h * 3600 + mi * 60 + float(s)) * sample_rate)
    first = str(Timecode.from_samples(start, sample_rate, rate))
    last = str(Timecode.from_samples(start + frames, sample_rate, rate))
    if pos < 0:
        raise PlaybackError(f"{what} {text} is before the cue starts ({first}; the cue runs {first}–{last})")
    if pos > frames or (what == "--from" and pos == frames):
        raise PlaybackError(f"{what} {text} is past the end of the cue (it runs {first}–{last}, "
                            f"{frames / sample_rate:.1f} s)")
    return pos


def _loudness(vault: Vault, v: Version, m: Manifest) -> float | None:
    if not m.mix or m.stem(m.mix) is None:
        return None
    e = m.stem(m.mix)
    assert e is not None
    rec = load_record(vault, e.sha256, v.commit) or {}
    lufs = (rec.get("loudness") or {}).get("integrated_lufs")
    if lufs is None:
        lufs = e.measured.get("integrated_lufs")
    return None if lufs is None else float(lufs)


def _heard(entries: list[StemEntry], solo: tuple[str, ...], mute: tuple[str, ...]) -> list[str]:
    """The files of ``entries`` the engine needs: what is heard (with the manifest's defaults and
    the --solo/--mute keys, as the engine applies them) and every soloed file (so that a side
    that solos something keeps soloing). The rest is silent: it may be absent from the clone."""
    from audio.playback.engine import stem_matches

    def hit(keys: tuple[str, ...], e: StemEntry) -> bool:
        return any(stem_matches(k, e.file, e.role) for k in keys)

    soloed = {e.file for e in entries if e.solo or hit(solo, e)}
    muted = {e.file for e in entries if e.mute or e.kind in MUTED_BY_DEFAULT or hit(mute, e)}
    return [e.file for e in entries if e.file in soloed or (not soloed and e.file not in muted)]


def _open(vault: Vault, ref: str, *, mix: bool, chunk: int, solo: tuple[str, ...] = (),
          mute: tuple[str, ...] = ()) -> tuple[Version, StemSet, list[tuple[bool, bool]], float | None, list[str], list[StemEntry]]:
    """Open what plays of ``ref``: the files heard must be in this clone (AudioMissing names
    them), silent ones are opened when they are here and left out when not (returned as absent)."""
    from audio.playback.source import StemSet, StemSpec
    from vcs.audiofiles import local_audio, version_audio

    v = vault.resolve(ref)
    m = vault.manifest_at(v)
    if mix:
        if not m.mix:
            raise PlaybackError(f"{v.ref} has no mix file: play its stems (without --mix)")
        entries = [e for e in m.stems if e.file == m.mix]
    else:
        entries = [e for e in m.stems if e.kind not in NOT_SUMMED]
        if not entries:
            raise PlaybackError(f"{v.ref} has no stems to play (only a mix: try --mix)")
    needed = _heard(entries, solo, mute)
    heard = version_audio(vault, v, m, names=needed)  # only what is heard must be here
    silent, absent = local_audio(vault, v, m, [e.file for e in entries if e.file not in needed])
    order = {e.file: i for i, e in enumerate(m.stems)}
    files = sorted(heard + silent, key=lambda f: order[f.name])
    if not files:
        raise PlaybackError(f"nothing of {v.ref} would be heard (every stem is muted) and the silent ones are not "
                            "in this clone")
    specs = [StemSpec(f.name, f.path, f.entry.role, f.time_reference, f.entry.mute or f.entry.kind in MUTED_BY_DEFAULT,
                      f.entry.solo) for f in files]
    return (v, StemSet(specs, chunk=chunk), [(s.mute, s.solo) for s in specs], _loudness(vault, v, m), absent,
            entries)


def _check_keys(keys: list[tuple[str, str]], entries: list[StemEntry]) -> None:
    """Every --solo/--mute/--gain key names a stem of the versions (present here or not)."""
    from audio.playback.engine import stem_matches

    for opt, key in keys:
        if not any(stem_matches(key, e.file, e.role) for e in entries):
            known = sorted({e.file for e in entries})
            raise PlaybackError(f"no stem named {key!r} (stems: {', '.join(known)}; or a role)"
                                + (f" in {opt}" if opt == "--gain" else ""))


def _set_gain(engine: Engine, key: str, *, db: float) -> None:
    engine.set_gain(key, db)


def _control(engine: Engine, key: str, fn: Callable[[str], None]) -> None:
    """Apply ``fn(key)`` when ``key`` names a stem the engine has; a key that names only stems
    left out (silent, not in this clone) changes nothing that is heard."""
    try:
        engine.resolve(key)
    except PlaybackError:
        return
    fn(key)


def prepare_play(vault: Vault, ref: str, *, vs: str | None = None, solo: tuple[str, ...] = (),
                 mute: tuple[str, ...] = (), gains: tuple[str, ...] = (), start: str | None = None,
                 end: str | None = None, start_in: str = "a", match_loudness: bool = False,
                 mix: bool = False, loop: bool = False, block: int = 1024) -> PlaySession:
    """Build what ``play`` plays; every bad option fails here, before a sound or a file.

    Raises:
        UsageError: an unknown cue or version. AudioMissing: audio not in this clone.
        PlaybackError / BadTimecode: an unknown stem, a bad gain, a position outside the cue.
    """
    from audio.playback.engine import MODES, Engine

    if start_in not in MODES:
        raise PlaybackError(f"--start-in {start_in!r}: use a, b or diff")
    if start_in != "a" and vs is None:
        raise PlaybackError(f"--start-in {start_in} needs a second version to compare with (--vs CUE@VER)")
    if match_loudness and vs is None:
        raise PlaybackError("--match-loudness needs a second version to compare with (--vs CUE@VER)")
    chunk = max(8192, block)
    gain_keys: list[tuple[str, str]] = []
    for g in gains:
        key, sep, _ = g.rpartition("=")
        if sep and key:
            gain_keys.append(("--gain", key))
    va, sa, da, la, absent_a, ea = _open(vault, ref, mix=mix, chunk=chunk, solo=solo, mute=mute)
    sb = None
    absent: list[dict[str, str]] = [{"ref": va.ref, "file": n} for n in absent_a]
    try:
        eb: list[StemEntry] = []
        if vs is None:
            vb, db, lb = None, None, None
        else:
            vb, sb, db, lb, absent_b, eb = _open(vault, vs, mix=mix, chunk=chunk, solo=solo, mute=mute)
            absent += [{"ref": vb.ref, "file": n} for n in absent_b]
        _check_keys([("--solo", k) for k in solo] + [("--mute", k) for k in mute] + gain_keys, ea + eb)
        if vb is not None and vb.cue != va.cue:
            raise PlaybackError(f"A/B compares two versions of one cue: {va.ref} and {vb.ref} are different cues")
        engine = Engine(sa, sb, defaults=(da, db), loudness=(la, lb))
    except BaseException:
        sa.close()
        if sb is not None:
            sb.close()
        raise
    try:
        fr = vault.manifest_at(va).frame_rate or vault.config.frame_rate
        rate = fr if isinstance(fr, FrameRate) else parse_frame_rate(fr)
        for s in solo:
            _control(engine, s, lambda k: engine.set_solo(k, True))
        for s in mute:
            _control(engine, s, lambda k: engine.set_mute(k, True))
        for g in gains:
            key, sep, val = g.rpartition("=")
            try:
                db_ = float(val.strip().lower().removesuffix("db"))
            except ValueError:
                db_ = float("nan")
            if not sep or not key or not math.isfinite(db_):
                raise PlaybackError(f"--gain {g!r}: write STEM=dB with a number of dB, e.g. --gain 1M03_STR.wav=-3")
            _control(engine, key, functools.partial(_set_gain, engine, db=db_))
        def pos(text: str, what: str) -> int:
            return parse_position(text, rate=rate, sample_rate=engine.sample_rate, start=engine.start,
                                  frames=engine.frames, what=what)
        first = pos(start, "--from") if start else 0
        last = pos(end, "--to") if end else engine.frames
        if last <= first:
            raise PlaybackError(f"--to {end} is not after --from {start or 'the start'}")
        if match_loudness:
            engine.set_match(True)
        if start_in != "a":
            engine.switch(start_in)
        if loop:
            engine.set_loop(first, last)
        elif last < engine.frames:
            engine.stop_at(last)
        engine.seek(first)
        engine.settle()  # the first sample plays as asked, without a crossfade
    except BaseException:
        engine.close()
        raise
    info = {"a": va.ref, "b": None if vs is None else engine_ref(vault, vs), "sample_rate": engine.sample_rate,
            "channels": engine.channels, "stems": engine.sides[0].stems.names,
            "match_gain_db": engine.match_gain_db() if match_loudness else None, "start_in": start_in,
            "absent": absent}
    session = PlaySession(engine, first, last, rate, info)
    info["from"], info["to"] = session.tc(first), session.tc(last)
    return session


def engine_ref(vault: Vault, ref: str) -> str:
    return vault.resolve(ref).ref


def run_render(session: PlaySession, path: Path, *, fmt: str = "float", block: int = 1024) -> dict[str, Any]:
    """Bounce what ``play`` would play to ``path``; return what was written."""
    from audio.playback.render import render

    info = session.info
    what = {"a": info["a"], "b": info["b"], "diff": f"{info['a']} - {info['b']}"}[info["start_in"]]
    frames = render(session.engine, path, start=session.start, end=session.end,
                    subtype=fmt, block=block, description=f"stemvault render of {what}")
    return {**session.info, "render": str(path), "frames": frames,
            "time_reference": session.engine.start + session.start,
            "seconds": round(frames / session.engine.sample_rate, 3),
            "format": "24-bit" if fmt in ("24", "pcm24", "PCM_24") else "float32"}


# ----- the command line ---------------------------------------------------------------------
@contextlib.contextmanager
def _keys(session: PlaySession, quit_: threading.Event) -> Iterator[None]:
    """Keys while playing, when stdin is a terminal: space, a/b/d, ←/→, q."""
    if not sys.stdin.isatty():
        yield
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    e = session.engine
    step = round(SEEK_S * e.sample_rate)

    def read() -> None:
        import os
        import select

        while not quit_.is_set():
            r, _, _ = select.select([fd], [], [], 0.1)
            if not r:
                continue
            k = os.read(fd, 8).decode("latin-1")
            try:
                if k == " ":
                    e.toggle()
                elif k in ("a", "b", "d"):
                    e.switch("diff" if k == "d" else k)  # type: ignore[arg-type]
                elif k == "\x1b[C":
                    e.seek_by(step)
                elif k == "\x1b[D":
                    e.seek_by(-step)
                elif k in ("q", "\x03"):
                    quit_.set()
            except PlaybackError:
                pass  # b/d without a second version: nothing to switch to

    tty.setcbreak(fd)
    t = threading.Thread(target=read, daemon=True)
    t.start()
    try:
        yield
    finally:
        quit_.set()
        t.join(1)
        termios.tcsetattr(fd, termios.TCSADRAIN, old)


def _line(session: PlaySession) -> str:
    s = session.engine.status
    state = "▶" if s.playing else ("■" if s.ended else "‖")
    mode = {"a": "A", "b": "B", "diff": "A−B"}[s.mode]
    el = (s.position - session.start) / s.sample_rate
    return f"\r{state} {mode:3} {session.tc(s.position)}  {el:6.1f} s / {(session.end - session.start) / s.sample_rate:.1f} s "


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


def _play_live(session: PlaySession, device: str | None, block: int) -> int:
    from audio.playback.output import open_output

    e = session.engine
    out = open_output(e, device=device, block=block)
    info = session.info
    vs = f" vs {info['b']}" if info["b"] else ""
    click.echo(f"playing {info['a']}{vs} on {plain(out.device_name)} from {info['from']}"
               + (" — keys: space pause, a/b/d switch, ←/→ seek, q quit" if sys.stdin.isatty() else "")
               + _match_words(info, live=True), err=True)
    _say_absent(info["absent"], err=True)
    quit_ = threading.Event()
    e.play()
    out.start()
    try:
        with _keys(session, quit_):
            while not quit_.is_set() and not out.wait(0.1):
                if sys.stderr.isatty():
                    click.echo(_line(session), nl=False, err=True)
    finally:
        out.stop()
        if sys.stderr.isatty():
            click.echo("", err=True)
    click.echo(f"stopped at {session.tc(e.status.position)}", err=True)
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
@click.option("--render", "render_to", type=click.Path(path_type=Path), metavar="FILE.wav",
              help="Bounce what you would hear to a WAV file (no audio device needed).")
@click.option("--format", "fmt", type=click.Choice(["float", "24"]), default="float", show_default=True,
              help="Render sample format: 32-bit float or 24-bit PCM (at the set's rate).")
@click.option("--device", metavar="NAME|INDEX", help="Output device (see --list-devices).")
@click.option("--list-devices", is_flag=True, help="List output devices and exit.")
@click.option("--block", type=click.IntRange(64, 16384), default=1024, show_default=True,
              help="Frames per audio block.")
@click.option("--json", "as_json", is_flag=True, help="With --render or --list-devices: print the result as JSON.")
def play_cmd(ref: str | None, vs: str | None, solo: tuple[str, ...], mute: tuple[str, ...],
             gains: tuple[str, ...], start: str | None, end: str | None, loop: bool, start_in: str,
             match_loudness: bool, mix: bool, render_to: Path | None, fmt: str, device: str | None,
             list_devices: bool, block: int, as_json: bool) -> int:
    """Play a version's stems mixed live, A/B two versions, or bounce it to a WAV file."""
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
        return 0
    if ref is None:
        raise click.UsageError("name what to play: stemvault play CUE[@VER]")
    vault = open_vault()
    session = prepare_play(vault, ref, vs=vs, solo=solo, mute=mute, gains=gains, start=start, end=end,
                           start_in=start_in, match_loudness=match_loudness, mix=mix, loop=loop, block=block)
    try:
        if render_to is not None:
            t = time.perf_counter()
            doc = run_render(session, render_to, fmt=fmt, block=block)
            if as_json:
                emit_json(doc)
            else:
                what = {"a": doc["a"], "b": doc["b"], "diff": f"{doc['a']} − {doc['b']}"}[start_in]
                click.echo(f"rendered {what} {doc['from']}–{doc['to']} ({doc['seconds']:.1f} s, "
                           f"{doc['sample_rate']} Hz {doc['format']}) to {plain(str(render_to))} "
                           f"in {time.perf_counter() - t:.1f} s{_match_words(doc)}")
                _say_absent(doc["absent"])
            return 0
        return _play_live(session, device, block)
    finally:
        session.close()
