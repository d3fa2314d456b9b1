"""Notes stay inside their version and in timecode order (issue 9, finding 4); notes get a
bar|beat from the cue's tempo map, and ``note --at BAR|BEAT`` places one by it (issue 10).

Every vault here runs at 24 fps, so a frame is 1/24 s and the expected timecodes below are
whole frames worked out by hand from how the audio and the tempo maps were made.
"""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import mido
import numpy as np
import pytest

from audio.bwf import write_bwf
from audio.tempo import BarBeat, TempoMap, parse_bar_beat
from tests.helpers import SR, Runner, git, tone, vault_state

CUE = "1M03"
HOUR = 3600 * SR  # 01:00:00:00 as a BWF time reference (samples since midnight)


def _export(folder: Path, *, seconds: float, tref: int | None, tempo: bytes | None = None) -> Path:
    """Two stems and their mix, each ``seconds`` long, starting at ``tref`` (BWF), plus a tempo map."""
    folder.mkdir(parents=True, exist_ok=True)
    x = {r: tone(f, seconds) for r, f in (("STR", 220.0), ("BRS", 330.0))}
    x["MIX"] = x["STR"] + x["BRS"]
    for role, data in x.items():
        write_bwf(folder / f"{CUE}_{role}.wav", data, SR, time_reference=tref or 0)
    if tempo is not None:
        (folder / "tempo.mid").write_bytes(tempo)
    return folder


def _midi(events: list[tuple[int, mido.MetaMessage]], *, tracks: int = 1) -> bytes:
    """A MIDI file (480 ticks to a quarter) with meta events at absolute ticks. With two tracks,
    the meter events go to the second one (a format 1 file, as DAWs write)."""
    mid = mido.MidiFile(type=1 if tracks > 1 else 0, ticks_per_beat=480)
    per_track: list[list[tuple[int, mido.MetaMessage]]] = [[] for _ in range(tracks)]
    for tick, msg in events:
        per_track[1 if tracks > 1 and msg.type == "time_signature" else 0].append((tick, msg))
    for evs in per_track:
        tr = mido.MidiTrack()
        now = 0
        for tick, msg in sorted(evs, key=lambda e: e[0]):
            tr.append(msg.copy(time=tick - now))
            now = tick
        tr.append(mido.MetaMessage("end_of_track", time=0))
        mid.tracks.append(tr)
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def _meter(num: int, den: int) -> mido.MetaMessage:
    return mido.MetaMessage("time_signature", numerator=num, denominator=den)


def _tempo(bpm: float) -> mido.MetaMessage:
    return mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))


# 120 bpm, 4/4 throughout: a beat is 0.5 s, a bar 2.0 s.
CONSTANT = [(0, _meter(4, 4)), (0, _tempo(120))]
# 120 bpm 4/4 for bars 1-2 (a bar is 4 beats * 480 ticks = 1920 ticks, 2.0 s: bar 3 at tick 3840,
# 4.0 s); 90 bpm from bar 3, which MIDI stores as 666667 µs a beat (mido.bpm2tempo rounds 2/3 s
# to whole µs; Q below), a 4/4 bar 4Q: bar 5 at tick 7680, 4 + 8Q = 9.333336 s; 3/4 from bar 5
# (a bar 3Q: bar 6 at 4 + 11Q = 11.333337 s, bar 7 at 4 + 14Q = 13.333338 s).
# At 24 fps a frame is 1/24 s: each of these times is a hair (< 0.0001 s) after a whole frame.
CHANGING = [(0, _meter(4, 4)), (0, _tempo(120)), (3840, _tempo(90)), (7680, _meter(3, 4))]


@pytest.fixture
def v24(tmp_path: Path, sv: Runner) -> Path:
    path = tmp_path / "film"
    sv.ok("init", path, "--frame-rate", "24")
    return path


def _notes(sv: Runner, vault: Path, ref: str = f"{CUE}@1.0") -> list[dict[str, object]]:
    return sv.ok("-C", vault, "show", ref, "--json").json()["notes"]  # type: ignore[no-any-return]


def _notes_ref(vault: Path) -> str:
    return git(vault, "for-each-ref", "refs/notes/")


# ----- issue 9, finding 4: a note lies within its version ------------------------------------------

def test_note_outside_the_cue_is_refused_with_its_span(v24: Path, sv: Runner, tmp_path: Path) -> None:
    # The cue starts at 03:04:10:00 and runs 20 s: to 03:04:30:00.
    start = (3 * 3600 + 4 * 60 + 10) * SR
    sv.ok("-C", v24, "commit", CUE, _export(tmp_path / "x", seconds=20.0, tref=start), "-m", "first")
    before, notes_before = vault_state(v24), _notes_ref(v24)
    for tc in ("01:00:00:00", "03:04:09:23", "03:04:30:00", "03:04:30:01", "23:59:59:23"):
        r = sv("-C", v24, "note", f"{CUE}@1.0", tc, "brass early")
        assert r.code == 2, (tc, r)
        lines = r.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), r.err
        assert "03:04:10:00–03:04:30:00" in lines[0] and tc in lines[0]
        assert "Traceback" not in r.err
    assert vault_state(v24) == before and _notes_ref(v24) == notes_before  # nothing written
    # The first frame and the last frame are inside; the exact end is not ([start, end), as play's
    # --from: the one rule for both).
    sv.ok("-C", v24, "note", f"{CUE}@1.0", "03:04:10:00", "downbeat")
    sv.ok("-C", v24, "note", f"{CUE}@1.0", "03:04:29:23", "last frame")
    assert [n["tc"] for n in _notes(sv, v24)] == ["03:04:10:00", "03:04:29:23"]
    assert sv("-C", v24, "play", f"{CUE}@1.0", "--from", "03:04:30:00", "--render", tmp_path / "r.wav").code == 2
    sv.ok("-C", v24, "play", f"{CUE}@1.0", "--from", "03:04:29:23", "--render", tmp_path / "r.wav")


def test_a_cue_that_ends_inside_a_frame_takes_notes_in_that_frame(v24: Path, sv: Runner, tmp_path: Path) -> None:
    # 20.01 s from 03:04:10:00: audio until 0.01 s into 03:04:30:00, so that frame is inside (play
    # starts there) and the next is not.
    start = (3 * 3600 + 4 * 60 + 10) * SR
    sv.ok("-C", v24, "commit", CUE, _export(tmp_path / "x", seconds=20.01, tref=start), "-m", "first")
    sv.ok("-C", v24, "note", f"{CUE}@1.0", "03:04:30:00", "the last, partial frame")
    sv.ok("-C", v24, "play", f"{CUE}@1.0", "--from", "03:04:30:00", "--render", tmp_path / "r.wav")
    assert sv("-C", v24, "note", f"{CUE}@1.0", "03:04:30:01", "after").code == 2
    assert sv("-C", v24, "play", f"{CUE}@1.0", "--from", "03:04:30:01", "--render", tmp_path / "r.wav").code == 2


def test_a_note_given_at_commit_time_is_checked_too(v24: Path, sv: Runner, tmp_path: Path) -> None:
    # The new version would run 01:00:00:00-01:00:04:00 (4 s from 01:00:00:00).
    src = _export(tmp_path / "x", seconds=4.0, tref=HOUR)
    before = vault_state(v24)
    r = sv("-C", v24, "commit", CUE, src, "-m", "first", "--note", "00:59:59:00 too early")
    assert r.code == 2 and "01:00:00:00–01:00:04:00" in r.err and len(r.err.strip().splitlines()) == 1
    assert vault_state(v24) == before
    r = sv("-C", v24, "commit", CUE, src, "-m", "first", "--note", "01:00:04:00 the exact end")
    assert r.code == 2 and "01:00:00:00–01:00:04:00" in r.err
    assert vault_state(v24) == before
    sv.ok("-C", v24, "commit", CUE, src, "-m", "first", "--note", "01:00:03:23 the last frame")


def test_without_a_start_timecode_the_cue_starts_at_zero(v24: Path, sv: Runner, tmp_path: Path) -> None:
    src = tmp_path / "x"
    src.mkdir()
    import soundfile as sf  # plain WAV files: no bext chunk, no start timecode

    for role, f in (("STR", 220.0), ("BRS", 330.0)):
        sf.write(src / f"{CUE}_{role}.wav", tone(f, 2.0), SR, subtype="PCM_24")
    sv.ok("-C", v24, "commit", CUE, src, "-m", "first")
    r = sv("-C", v24, "note", f"{CUE}@1.0", "01:00:01:00", "x")
    assert r.code == 2 and "00:00:00:00–00:00:02:00" in r.err
    assert sv("-C", v24, "note", f"{CUE}@1.0", "00:00:02:01", "x").code == 2
    assert sv("-C", v24, "note", f"{CUE}@1.0", "00:00:02:00", "x").code == 2
    sv.ok("-C", v24, "note", f"{CUE}@1.0", "00:00:01:23", "end")
    sv.ok("-C", v24, "note", f"{CUE}@1.0", "00:00:00:00", "start")


def test_notes_are_listed_in_timecode_order_then_by_date(v24: Path, sv: Runner, tmp_path: Path) -> None:
    sv.ok("-C", v24, "commit", CUE, _export(tmp_path / "x", seconds=4.0, tref=HOUR), "-m", "first",
          "--note", "01:00:03:00 with the version")
    ref = f"{CUE}@1.0"
    for tc, text in (("01:00:02:00", "b"), ("01:00:00:12", "a"), ("01:00:02:00", "c")):
        sv.ok("-C", v24, "note", ref, tc, text)
    # A note written later (by another reviewer, merged in) with an earlier date at the same
    # timecode as "b" and "c": it goes before them.
    commit = git(v24, "rev-parse", "HEAD").strip()
    blob = git(v24, "notes", "--ref=refs/notes/stemvault", "show", commit)
    blob += '{"author": "Ben", "date": "2020-01-01T00:00:00+00:00", "tc": "01:00:02:00", "text": "early"}\n'
    oid = git(v24, "hash-object", "-w", "--stdin", input=blob.encode()).strip()
    git(v24, "notes", "--ref=refs/notes/stemvault", "add", "-f", "-C", oid, commit)
    want = [("01:00:00:12", "a"), ("01:00:02:00", "early"), ("01:00:02:00", "b"), ("01:00:02:00", "c"),
            ("01:00:03:00", "with the version")]
    assert [(n["tc"], n["text"]) for n in _notes(sv, v24)] == want
    assert [(n["tc"], n["text"]) for n in sv.ok("-C", v24, "log", "--json").json()[0]["notes"]] == want
    for args in (["log"], ["show", ref]):
        out = sv.ok("-C", v24, *args).out
        at = [out.index(f"{tc}  {text}") for tc, text in want]
        assert at == sorted(at), out


# ----- issue 10: bar|beat from the tempo map ------------------------------------------------------

def test_constant_tempo_bar_beat_both_ways(v24: Path, sv: Runner, tmp_path: Path) -> None:
    src = _export(tmp_path / "x", seconds=8.0, tref=HOUR, tempo=_midi(CONSTANT))
    sv.ok("-C", v24, "commit", CUE, src, "-m", "first", "--note", "01:00:01:00 with the version")
    ref = f"{CUE}@1.0"
    # Bar 2 beat 1 = one 2.0 s bar after the start = 48 frames = 01:00:02:00.
    r = sv.ok("-C", v24, "note", ref, "--at", "2|1", "bar two")
    assert r.out.strip() == f"Noted on {ref} at 01:00:02:00 (2|1): bar two"
    # 01:00:03:12 = 3.5 s = bar 2 (2.0 s) + 3 beats of 0.5 s: beat 4.
    sv.ok("-C", v24, "note", ref, "01:00:03:12", "by timecode")
    notes = _notes(sv, v24)
    # 01:00:01:00 (written with the version, before any bar|beat existed) = 1.0 s = 2 beats: 1|3.
    assert [(n["tc"], n["bar_beat"]) for n in notes] == [
        ("01:00:01:00", "1|3"), ("01:00:02:00", "2|1"), ("01:00:03:12", "2|4")]
    doc = sv.ok("-C", v24, "show", ref, "--json").json()
    assert doc["tempo_map"] == {"file": "tempo.mid", "error": None}
    log = sv.ok("-C", v24, "log").out
    assert "01:00:02:00 2|1  bar two" in log and "01:00:03:12 2|4  by timecode" in log
    assert "01:00:02:00 2|1  bar two" in sv.ok("-C", v24, "show", ref).out
    # The bar|beat is not stored in the note: it is computed from the map when shown.
    commit = git(v24, "rev-parse", "HEAD").strip()
    assert "bar_beat" not in git(v24, "notes", "--ref=refs/notes/stemvault", "show", commit)


@pytest.mark.parametrize("tracks", [1, 2])
def test_tempo_and_meter_changes(v24: Path, sv: Runner, tmp_path: Path, tracks: int) -> None:
    # The map as CHANGING says; the cue runs 14 s from 01:00:00:00 (past bar 7 at 13.33 s).
    src = _export(tmp_path / "x", seconds=14.0, tref=HOUR, tempo=_midi(CHANGING, tracks=tracks))
    sv.ok("-C", v24, "commit", CUE, src, "-m", "first")
    ref = f"{CUE}@1.0"
    cases = {
        "2|3": "01:00:03:00",      # 2.0 + 2 * 0.5 = 3.0 s
        "3|1": "01:00:04:00",      # 4.0 s: the tempo change
        "4|2": "01:00:07:08",      # 4 + 5Q = 7.333335 s: frame 176 (7.33333 s) = 7 s 8 frames
        "5|1": "01:00:09:08",      # 4 + 8Q = 9.333336 s: frame 224, the meter change
        "6|3": "01:00:12:16",      # 4 + 13Q = 12.666671 s: frame 304 = 12 s 16 frames
        "3|2|480": "01:00:05:00",  # 4 + 1.5Q = 5.0000005 s: frame 120
    }
    for at, tc in cases.items():
        r = sv.ok("-C", v24, "note", ref, "--at", at, f"at {at}")
        assert f"at {tc} ({at})" in r.out
    sv.ok("-C", v24, "note", ref, "--at", "6.1", "dotted")  # 4 + 11Q = 11.333337 s: frame 272 = 11 s 8 frames
    # By timecode: 01:00:10:08 = 248 frames = 10.333333 s = bar 5 + 0.999997 s = 1.4999948 Q:
    # beat 2 and 0.4999948 * 960 = 479.995 ticks, to the nearest tick 480: 5|2|480.
    sv.ok("-C", v24, "note", ref, "01:00:10:08", "off the beat")
    got = {n["text"]: (n["tc"], n["bar_beat"]) for n in _notes(sv, v24)}
    for at, tc in cases.items():
        assert got[f"at {at}"] == (tc, at)  # the round trip: --at → timecode → bar|beat
    assert got["dotted"] == ("01:00:11:08", "6|1")
    assert got["off the beat"] == ("01:00:10:08", "5|2|480")
    log = sv.ok("-C", v24, "log", "--json").json()[0]["notes"]
    assert [(n["tc"], n["bar_beat"]) for n in log] == sorted(got.values())


def test_bad_positions_are_refused(v24: Path, sv: Runner, tmp_path: Path) -> None:
    src = _export(tmp_path / "x", seconds=14.0, tref=HOUR, tempo=_midi(CHANGING))
    sv.ok("-C", v24, "commit", CUE, src, "-m", "first")
    before = vault_state(v24), _notes_ref(v24)
    for at, said in (("5|4", "bar 5 has 3 beats (3/4)"), ("0|1", "does not parse"), ("1|0", "does not parse"),
                     ("17", "does not parse"), ("1|1|960", "960 ticks"),
                     ("8|1", "after the cue ends")):  # bar 8 at 40/3 + 2 = 46/3 s > 14 s
        r = sv("-C", v24, "note", f"{CUE}@1.0", "--at", at, "x")
        assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and said in r.err, (at, r.err)
    r = sv("-C", v24, "note", f"{CUE}@1.0", "01:00:01:00", "x", "--at", "2|1")
    assert r.code == 2 and "error: " in r.err
    assert (vault_state(v24), _notes_ref(v24)) == before


def test_no_tempo_map(v24: Path, sv: Runner, tmp_path: Path) -> None:
    sv.ok("-C", v24, "commit", CUE, _export(tmp_path / "x", seconds=4.0, tref=HOUR), "-m", "first")
    r = sv("-C", v24, "note", f"{CUE}@1.0", "--at", "2|1", "x")
    assert r.code == 2 and "has no tempo map" in r.err
    sv.ok("-C", v24, "note", f"{CUE}@1.0", "01:00:01:00", "x")
    doc = sv.ok("-C", v24, "show", f"{CUE}@1.0", "--json").json()
    assert doc["tempo_map"] is None and doc["notes"][0]["bar_beat"] is None


@pytest.mark.parametrize("data", [b"", b"MThd\x00\x00\x00\x06\x00\x01", b"not a midi file at all"])
def test_unreadable_tempo_map(v24: Path, sv: Runner, tmp_path: Path, data: bytes) -> None:
    src = _export(tmp_path / "x", seconds=4.0, tref=HOUR, tempo=data)
    sv.ok("-C", v24, "commit", CUE, src, "-m", "first", "--note", "01:00:01:00 hi")
    before = vault_state(v24), _notes_ref(v24)
    r = sv("-C", v24, "note", f"{CUE}@1.0", "--at", "2|1", "x")
    assert r.code == 2 and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1 and "tempo map" in r.err, r.err
    assert (vault_state(v24), _notes_ref(v24)) == before
    for args in (["log"], ["show", f"{CUE}@1.0"]):
        r = sv.ok("-C", v24, *args)
        assert "tempo map unreadable" in r.out and "Traceback" not in r.out + r.err
        assert "01:00:01:00  hi" in r.out
    doc = sv.ok("-C", v24, "show", f"{CUE}@1.0", "--json").json()
    assert doc["tempo_map"]["file"] == "tempo.mid" and doc["tempo_map"]["error"]
    assert doc["notes"][0]["bar_beat"] is None
    # A timecode note still works.
    sv.ok("-C", v24, "note", f"{CUE}@1.0", "01:00:02:00", "by timecode")


def test_tempo_map_is_read_from_git_not_the_working_folder(v24: Path, sv: Runner, tmp_path: Path) -> None:
    src = _export(tmp_path / "x", seconds=8.0, tref=HOUR, tempo=_midi(CONSTANT))
    sv.ok("-C", v24, "commit", CUE, src, "-m", "first")
    # The working copy replaced by another map (60 bpm) and then removed: git's copy counts.
    work = v24 / "cues" / CUE / "tempo.mid"
    work.write_bytes(_midi([(0, _tempo(60))]))
    sv.ok("-C", v24, "note", f"{CUE}@1.0", "--at", "2|1", "x")
    work.unlink()
    assert [(n["tc"], n["bar_beat"]) for n in _notes(sv, v24)] == [("01:00:02:00", "2|1")]


# ----- the tempo map on its own: frames that do not line up with beats ----------------------------

def test_a_frame_that_holds_a_beat_names_it() -> None:
    tm = TempoMap.from_midi(_midi(CHANGING))
    frame = Fraction(1, 25)
    # At 25 fps, 90 bpm beats (Q = 0.666667 s, see CHANGING) fall inside frames. 3|2 starts at
    # 4 + Q = 4.666667 s, inside frame 116 (116/25 = 4.64 s to 4.68 s): that frame is 3|2.
    assert tm.seconds_of(BarBeat(3, 2)) == 4 + Fraction(666667, 10**6)
    assert tm.position_of_span(Fraction(116, 25), Fraction(117, 25)) == BarBeat(3, 2)
    # The frame before starts at 4.60 s, 0.6 s into bar 3: 0.6 / Q = 0.8999996 of a beat,
    # 863.9996 ticks, to the nearest tick 864 into 3|1.
    assert tm.position_of_span(Fraction(115, 25), Fraction(116, 25)) == BarBeat(3, 1, 864)
    assert str(BarBeat(3, 1, 864)) == "3|1|864" and str(BarBeat(3, 1)) == "3|1"
    # Before the start: nothing; the frame that holds time zero: 1|1.
    assert tm.position_of_span(-2 * frame, -frame) is None
    assert tm.position_of_span(-frame / 2, frame / 2) == BarBeat(1, 1)
    assert parse_bar_beat("17|3") == parse_bar_beat("17.3") == BarBeat(17, 3)
    assert parse_bar_beat("17|3|240") == BarBeat(17, 3, 240)


def test_no_tempo_events_is_120_bpm_4_4() -> None:
    # What the MIDI standard says a file without tempo or meter events means.
    tm = TempoMap.from_midi(_midi([]))
    assert tm.seconds_of(BarBeat(2, 1)) == 2
    assert tm.position_at(Fraction(7, 2)) == BarBeat(2, 4)
    assert np.isclose(float(tm.seconds_of(BarBeat(1, 1, 480))), 0.25)  # half a beat


def _smpte(tc: str, fps: float = 24) -> mido.MetaMessage:
    h, m, s, f = (int(x) for x in tc.split(":"))
    return mido.MetaMessage("smpte_offset", frame_rate=fps, hours=h, minutes=m, seconds=s, frames=f, sub_frames=0)


def test_a_tempo_maps_smpte_offset_is_its_time_zero(v24: Path, sv: Runner, tmp_path: Path) -> None:
    # The DAW session's bar 1 is at 00:59:58:00 (its SMPTE offset); the cue starts 2 s (one
    # 4/4 bar at 120 bpm) later, at 01:00:00:00: the cue's start is bar 2.
    src = _export(tmp_path / "x", seconds=8.0, tref=HOUR, tempo=_midi([(0, _smpte("00:59:58:00")), *CONSTANT]))
    sv.ok("-C", v24, "commit", CUE, src, "-m", "first", "--note", "01:00:01:00 with the version")
    ref = f"{CUE}@1.0"
    r = sv.ok("-C", v24, "note", ref, "--at", "3|1", "bar three")
    assert r.out.strip() == f"Noted on {ref} at 01:00:02:00 (3|1): bar three"
    assert [(n["tc"], n["bar_beat"]) for n in _notes(sv, v24)] == [("01:00:01:00", "2|3"), ("01:00:02:00", "3|1")]
    # bar 1 lies before the cue: refused as outside it
    assert sv("-C", v24, "note", ref, "--at", "1|1", "too early").code == 2


@pytest.mark.parametrize("offset", ["00:00:00:00", "01:00:00:00"], ids=["zero", "the-cue-start"])
def test_a_zero_or_matching_smpte_offset_changes_nothing(v24: Path, sv: Runner, tmp_path: Path, offset: str) -> None:
    src = _export(tmp_path / "x", seconds=8.0, tref=HOUR, tempo=_midi([(0, _smpte(offset, 25)), *CONSTANT]))
    sv.ok("-C", v24, "commit", CUE, src, "-m", "first", "--note", "01:00:01:00 with the version")
    r = sv.ok("-C", v24, "note", f"{CUE}@1.0", "--at", "2|1", "bar two")
    assert "at 01:00:02:00 (2|1)" in r.out
    assert _notes(sv, v24)[0]["bar_beat"] == "1|3"


def test_smpte_offsets_at_each_rate_and_one_that_is_no_timecode() -> None:
    from audio.errors import BadTempoMap
    from audio.tempo import TempoMap

    def zero(msg: mido.MetaMessage) -> Fraction | None:
        return TempoMap.from_midi(_midi([(0, msg), *CONSTANT])).zero_seconds

    assert zero(_smpte("00:00:00:00")) is None
    assert zero(_smpte("01:00:00:12", 25)) == 3600 + Fraction(12, 25)
    assert zero(_smpte("00:59:58:00", 30)) == 3598
    # 29.97 is drop-frame 30: 00:10:00;00 is 17982 frames, at 30000/1001 fps
    assert zero(_smpte("00:10:00:00", 29.97)) == Fraction(17982 * 1001, 30000)
    with pytest.raises(BadTempoMap, match="SMPTE offset"):
        zero(_smpte("01:00:00:26", 25))
