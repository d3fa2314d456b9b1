"""The playback session of a cue's versions, below any UI: what ``stemvault play`` and a TUI
player screen both need.

Public surface:
    ``prepare_play(vault, ref, ...)`` -> ``PlaySession``: finds each version's audio in this clone
    (what is heard must be here; silent stems may be absent), builds the engine
    (``audio.playback.Engine``) and applies solo/mute/gain, the range, the loudness match (from
    the analysis records) and the starting side. Every bad option fails here, before a sound.
    ``parse_position``: a timecode or seconds from the cue's start, checked against the cue.
    ``run_render(session, path)``: bounce exactly what would play to a WAV file.
    ``START_IN``: the sides playback can start in (the engine's ``MODES``).
    ``PRESET_NAMES``: the audition presets (``audio.playback.presets.PRESETS``), in the order keys
    cycle them; ``next_preset`` is that cycle.

audio.playback (numpy, soundfile) is imported when something plays, not when this module is
imported (the command line starts without it: tests/test_hygiene.py).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audio.errors import BadTimecode, PlaybackError
from audio.timecode import FrameRate, Timecode, parse_frame_rate, parse_timecode
from vcs.manifest import Manifest, StemEntry
from vcs.models import Version
from vcs.records import load_record
from vcs.vault import Vault

if TYPE_CHECKING:
    from audio.playback.engine import Engine
    from audio.playback.source import StemSet

__all__ = ["PRESET_NAMES", "START_IN", "PlaySession", "engine_ref", "next_preset", "parse_position", "prepare_play",
           "run_render"]

# The engine's MODES, spelled here so that choosing one does not import audio.playback
# (tests/test_hygiene.py checks that they are the engine's MODES).
START_IN = ("a", "b", "diff")
# audio.playback.presets.PRESETS's names, spelled here for the same reason (tests/test_presets.py).
PRESET_NAMES = ("mono", "laptop", "phone", "small-room", "theater")


def next_preset(current: str | None) -> str | None:
    """The preset after ``current`` in the cycle none → mono → … → theater → none."""
    cycle: list[str | None] = [None, *PRESET_NAMES]
    return cycle[(cycle.index(current) + 1) % len(cycle)] if current in cycle else None

NOT_SUMMED = ("mix", "tempo", "reference")  # the mix is what the stems null against, not a stem
MUTED_BY_DEFAULT = ("alt",)  # an alternate replaces a stem: heard when soloed or unmuted
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
                 mix: bool = False, loop: bool = False, block: int = 1024, preset: str | None = None) -> PlaySession:
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
    if preset is not None and preset not in PRESET_NAMES:
        raise PlaybackError(f"--preset {preset!r}: use one of {', '.join(PRESET_NAMES)}")
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
        if preset is not None:
            engine.set_preset(preset)
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
            "absent": absent, "preset": preset}
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
    preset = session.engine.status.preset
    if preset:
        what += f" through the {preset} preset"
    frames = render(session.engine, path, start=session.start, end=session.end,
                    subtype=fmt, block=block, description=f"stemvault render of {what}")
    return {**session.info, "preset": preset, "render": str(path), "frames": frames,
            "time_reference": session.engine.start + session.start,
            "seconds": round(frames / session.engine.sample_rate, 3),
            "format": "24-bit" if fmt in ("24", "pcm24", "PCM_24") else "float32"}
