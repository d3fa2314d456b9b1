"""The player/mixer screen on real vaults, driven by keys (Textual pilot), without a sound card.

"No device" is forced the way tests/test_play.py forces it: ``sounddevice`` cannot be imported,
so ``audio.playback.output`` raises NoAudioDevice — the screen must browse, seek and say why.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from textual.widgets import Static

from tests.helpers import CUE, ROLES, SR, Runner, lfs_objects, write_set
from tests.test_play_device import audio_server  # noqa: F401 - the fixture
from tests.tui_host import HOSTILE, Host
from tui.screens.player import PlayerScreen
from tui.widgets.stem_row import FLOOR_DB, Curve, StemRow, meter, wave_cells

ROOT = Path(__file__).resolve().parents[1]
SECONDS = 12.0


@pytest.fixture
def no_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)


CHANGE = (4.0, 6.0)  # seconds where version 2.0's strings are 6 dB softer than 1.0's


def _second_version(folder: Path) -> None:
    """Version 2.0: version 1.0 with the strings halved within CHANGE, and the mix to match."""
    write_set(folder, seconds=SECONDS)
    x, _ = sf.read(folder / f"{CUE}_STR.wav", always_2d=True)
    a, b = (round(t * SR) for t in CHANGE)
    x[a:b] *= 0.5
    sf.write(folder / f"{CUE}_STR.wav", x, SR, subtype="PCM_24")
    mix = sum(sf.read(folder / f"{CUE}_{r}.wav", always_2d=True)[0] for r in ROLES)
    sf.write(folder / f"{CUE}_MIX.wav", mix, SR, subtype="PCM_24")


@pytest.fixture
def two(vault: Path, sv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two versions with fixed dates and authors (snapshots), a note on 2.0 at 8 s."""
    for k in ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"):
        monkeypatch.setenv(k, "2026-12-01T10:00:00+00:00")
    write_set(tmp_path / "v1", seconds=SECONDS)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    _second_version(tmp_path / "v2")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "softer strings in the middle")
    sv.ok("-C", vault, "note", f"{CUE}@2.0", "00:00:08:00", "[b]strings[/b] too soft", "--stem", "STR")
    return vault


async def _until(pilot, cond, tries: int = 200) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        await pilot.pause(0.05)
        if cond():
            return
    raise AssertionError("the player never got there")


def _text(screen: PlayerScreen, wid: str) -> str:
    return str(screen.query_one(wid, Static).render())


def _emphasised(screen: PlayerScreen) -> list[str]:
    """The parts of the header drawn in reverse video (what is heard)."""
    head = screen._header()  # the rich Text the header line shows
    return [head.plain[sp.start:sp.end] for sp in head.spans if "reverse" in str(sp.style)]


def _host(vault: Path, a: str, b: str | None = None) -> Host:
    """The player on ``a`` (A/B with ``b``) alone in the tests' host app (tests/tui_host.py)."""
    return Host(vault, lambda v: PlayerScreen(v, v.resolve(a), v.resolve(b) if b else None))


async def test_player_rows_modes_mixer_and_seek_without_a_device(two: Path, no_device: None) -> None:
    app = _host(two, f"{CUE}@2.0", f"{CUE}@1.0")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, PlayerScreen)
        await _until(pilot, lambda: screen.session is not None)
        rows = list(screen.query(StemRow))
        assert [r.stem for r in rows] == sorted(f"{CUE}_{r}.wav" for r in ("STR", "BRS", "PERC", "PAD"))  # as the manifest lists them
        e = screen.session.engine
        # the one-line reason, and the render command of what would be heard
        msg = _text(screen, "#player-message")
        assert "cannot play here: no PortAudio" in msg and "\n" not in msg
        assert f"stemvault play {CUE}@2.0 --vs {CUE}@1.0 --render out.wav" in msg
        head = _text(screen, "#player-header")
        assert "A 2.0 │ B 1.0 │ diff" in head and "00:00:00:00 / 00:00:12:00" in head
        assert "match loudness off" in head
        # a/b/d: the engine's mode and what the header emphasises
        for key, mode, label in (("b", "b", "B 1.0"), ("d", "diff", "diff"), ("a", "a", "A 2.0")):
            await pilot.press(key)
            assert e.status.mode == mode and screen.mode == mode
            assert _emphasised(screen) == [label]
        await pilot.press("d")
        assert "--start-in diff" in _text(screen, "#player-message")
        await pilot.press("l")
        assert e.status.match and "match loudness on" in _text(screen, "#player-header")
        # m/s/+ on the focused row (the second: down once)
        await pilot.press("down", "m")
        assert screen.focused is rows[1]
        i = e.sides[0].stems.names.index(rows[1].stem)
        assert e.sides[0].mute[i] and e.sides[1].mute[i]  # the stem of both versions
        assert not e.sides[0].mute.any() or e.sides[0].mute.sum() == 1
        await pilot.press("s")
        assert e.sides[0].solo[i] and e.sides[0].solo.sum() == 1
        assert not e.sides[0].gains.any()  # soloed but muted: nothing is heard
        await pilot.press("m")
        assert not e.sides[0].mute[i] and e.sides[0].gains[i] == 1.0
        assert [j for j, g in enumerate(e.sides[0].gains) if g] == [i]  # only the soloed stem
        await pilot.press("plus", "plus")
        assert e.sides[0].gain_db[i] == 2.0 and e.sides[1].gain_db[i] == 2.0
        assert "+2.0" in str(rows[1].render())
        # → seeks 5 s without a device; ← back; the header follows
        await pilot.press("right")
        assert e.status.position == 5 * SR
        assert "00:00:05:00 / 00:00:12:00" in _text(screen, "#player-header")
        await pilot.press("right", "right")
        assert e.status.position == 12 * SR  # clamped at the end
        await pilot.press("left")
        assert e.status.position == 7 * SR
        # space without a device: nothing plays, the app goes on
        await pilot.press("space")
        assert not e.status.playing
        # [ / ]: the changed region (from the records: 50 ms steps), then A's note at 8 s, and back
        await pilot.press("a", "left", "left")
        assert e.status.position == 0
        await pilot.press("right_square_bracket")
        assert abs(e.status.position - CHANGE[0] * SR) <= 0.1 * SR
        await pilot.press("right_square_bracket")
        assert e.status.position == 8 * SR
        await pilot.press("right_square_bracket")  # nothing after: stays
        assert e.status.position == 8 * SR
        await pilot.press("left_square_bracket")
        assert abs(e.status.position - CHANGE[0] * SR) <= 0.1 * SR
        # g: a timecode
        await pilot.press("g", *"00:00:03:00", "enter")
        assert e.status.position == 3 * SR
        # g with a time past the cue: said, the prompt stays; Esc closes it, the screen stays
        await pilot.press("g", *"99", "enter")
        assert e.status.position == 3 * SR and screen.query_one("#player-prompt").display
        await pilot.press("escape")
        assert not screen.query_one("#player-prompt").display and app.screen is screen
        await pilot.press("right")
        assert e.status.position == 8 * SR
        await pilot.press("q")
    assert app.return_code in (0, None)


async def test_preset_keys_cycle_and_bypass_without_a_device(two: Path, no_device: None) -> None:
    app = _host(two, f"{CUE}@2.0", f"{CUE}@1.0")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, PlayerScreen)
        # once the screen takes keys (a key pressed before it is mounted goes to the screen
        # under it), and usually before the files are open: kept, and handed to the engine
        await _until(pilot, lambda: screen.is_mounted and screen.browse is not None)
        await pilot.press("p")
        await _until(pilot, lambda: screen.session is not None)
        e = screen.session.engine
        assert e.status.preset == "mono" and "preset mono" in _text(screen, "#player-header")
        assert "--preset mono --render out.wav" in _text(screen, "#player-message")
        seen = []
        for _ in range(5):
            await pilot.press("p")
            seen.append(e.status.preset)
        assert seen == ["laptop", "phone", "small-room", "theater", None]
        assert "preset off" in _text(screen, "#player-header")
        assert "--preset" not in _text(screen, "#player-message")
        await pilot.press("P")  # back on: the last one chosen
        assert e.status.preset == "theater" and "preset theater" in _text(screen, "#player-header")
        await pilot.press("P")
        assert e.status.preset is None and "preset off" in _text(screen, "#player-header")
        # What ? lists (the app's help shows every active binding with its description).
        described = {k: b.binding.description for k, b in app.active_bindings.items()}
        assert described["p"] == "Next audition preset" and described["P"] == "Audition preset off/on"


async def test_note_at_the_playhead_is_in_log_json(two: Path, sv: Runner, no_device: None) -> None:
    app = _host(two, f"{CUE}@2.0")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, PlayerScreen)
        await _until(pilot, lambda: screen.session is not None)
        await pilot.press("right")  # at 5 s, on the first row: the brass (the manifest lists BRS first)
        await pilot.press("n")
        await pilot.pause(0.2)
        await pilot.press(*"brass [red]early[/red]", "enter")
        await _until(pilot, lambda: len(screen.notes["a"]) == 2)
        assert "00:00:05:00 [BRS] brass [red]early[/red]" in _text(screen, "#player-notes")
    log = sv.ok("-C", two, "log", CUE, "--json").json()
    v2 = next(v for v in log if v["version"] == "2.0")
    got = [n for n in v2["notes"] if n["text"] == "brass [red]early[/red]"]
    assert got and got[0]["tc"] == "00:00:05:00" and got[0]["stem"] == f"{CUE}_BRS.wav"


async def test_a_lazy_clone_says_which_audio_is_missing(two: Path, tmp_path: Path, no_device: None) -> None:
    lazy = tmp_path / "lazy"
    import os

    subprocess.run(["git", "clone", "-q", str(two), str(lazy)], env={**os.environ, "GIT_LFS_SKIP_SMUDGE": "1"},
                   check=True)
    assert not lfs_objects(lazy)
    app = _host(lazy, f"{CUE}@2.0")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, PlayerScreen)
        await _until(pilot, lambda: screen.missing is not None)
        assert screen.session is None
        msg = _text(screen, "#player-message")
        assert "is not in this clone (4 of 4 files missing" in msg and "git lfs pull" in msg
        assert len(screen.query(StemRow)) == 4  # the rows from the records, still
        await pilot.press("right")
        assert screen.position == 5 * SR
        await pilot.press("space")  # says it again, does not crash
        await pilot.press("escape")
    assert app.return_code in (0, None)


# ----- snapshots (no device, position 0: nothing moves) -----------------------------------------
def _snap_app(vault: Path) -> Host:
    return _host(vault, f"{CUE}@2.0", f"{CUE}@1.0")


async def _opened(pilot) -> None:  # type: ignore[no-untyped-def]
    screen = pilot.app.screen
    await _until(pilot, lambda: isinstance(screen, PlayerScreen) and screen.session is not None)
    await pilot.pause(0.1)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_player_snapshot(two: Path, no_device: None, snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(_snap_app(two), terminal_size=size, run_before=_opened)


# ----- with a sound card (a PulseAudio null sink, as tests/test_play_device.py sets up) ------------
@pytest.mark.audio_device
async def test_player_plays_switches_and_stops_on_a_real_device(two: Path, audio_server: dict[str, str],  # noqa: F811
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("PULSE_SERVER", "XDG_RUNTIME_DIR"):
        monkeypatch.setenv(k, audio_server[k])
    sd = sys.modules.get("sounddevice")
    if sd is not None:  # PortAudio already initialised in this process: let it see the server
        sd._terminate()
        sd._initialize()
    app = _host(two, f"{CUE}@2.0", f"{CUE}@1.0")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, PlayerScreen)
        await _until(pilot, lambda: screen.session is not None)
        assert screen.output is not None, _text(screen, "#player-message")
        assert screen.no_sound is None and "cannot play" not in _text(screen, "#player-message")
        e = screen.session.engine
        await pilot.press("space")
        await _until(pilot, lambda: e.status.playing and e.status.position > 0)
        await _until(pilot, lambda: any(v > 0 for v in e.status.meters.values()))
        assert "▶" in _text(screen, "#player-header")
        await pilot.press("b")  # applied by the audio thread at its next block
        await _until(pilot, lambda: e.status.mode == "b")
        await pilot.press("p", "p")  # the presets too: the audio thread applies them
        await _until(pilot, lambda: e.status.preset == "laptop")
        assert "preset laptop" in _text(screen, "#player-header")
        await pilot.press("space")
        await _until(pilot, lambda: not e.status.playing)
        # to the end: the stream stops after the cue; Space plays again, on a fresh stream
        await pilot.press("g", *"11.8", "enter", "space")
        first = screen.output
        assert first is not None
        await _until(pilot, lambda: e.status.ended and first.finished.is_set())
        assert "■" in _text(screen, "#player-header")
        await pilot.press("space")
        await _until(pilot, lambda: screen.output is not first and e.status.playing)
        assert e.status.position < 11 * SR  # from the start again
        out = screen.output
        assert out is not None
        await pilot.press("q")
        assert app.screen is not screen and screen.session is None
        assert out.stream.closed


# ----- the row's drawing: one fixed dBFS scale ----------------------------------------------------
def test_wave_cells_take_the_loudest_hop_of_each_cell_on_a_fixed_scale() -> None:
    db = np.full(100, -12.0)
    db[40:60] = -18.0  # 6 dB softer in the middle fifth
    db[90:] = -np.inf  # digital silence at the end
    cells = wave_cells(Curve(480, db), 100 * 480, 10)
    assert list(cells[:4]) == [-12.0] * 4 and list(cells[4:6]) == [-18.0, -18.0]
    assert cells[9] == -np.inf and cells[8] == -12.0
    # the same curve 6 dB lower is drawn lower: the scale is fixed, not fitted to the curve
    quiet = wave_cells(Curve(480, db - 6.0), 100 * 480, 10)
    assert list(quiet[:4]) == [-18.0] * 4
    # offset: a stem starting 20 hops into the timeline is silent before it
    late = wave_cells(Curve(480, db[:80], offset=20 * 480), 100 * 480, 10)
    assert list(late[:2]) == [-np.inf, -np.inf] and late[2] == -12.0


def test_meter_reads_dbfs_on_the_fixed_scale() -> None:
    assert meter(1.0).plain == "▮▮▮▮▮▮▮▮   0"
    assert meter(10 ** (FLOOR_DB / 2 / 20)).plain == "▮▮▮▮▯▯▯▯ -30"  # half way down the scale
    assert meter(0.0).plain == "▯▯▯▯▯▯▯▯  -∞"
    assert meter(None).plain == "▯▯▯▯▯▯▯▯    "


async def test_hostile_note_text_is_shown_literally(two: Path, sv: Runner, no_device: None) -> None:
    sv.ok("-C", two, "note", f"{CUE}@2.0", "00:00:02:00", HOSTILE)
    app = _host(two, f"{CUE}@2.0")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, PlayerScreen)
        await _until(pilot, lambda: screen.session is not None)
        shown = _text(screen, "#player-notes")
        assert "[@click=app.quit]quit[/] [b]bold" in shown  # markup shown as typed, not run
        assert "\x1b" not in shown and "\u202e" not in shown  # control characters escaped
        await pilot.press("right_square_bracket")  # jumps to it; the app is still here
        assert screen.session.engine.status.position == 2 * SR and app.screen is screen


# ----- the output choice: the live stream (issue 14) ------------------------------------------------
async def test_o_streams_what_the_player_plays_and_shows_the_url(two: Path, no_device: None) -> None:
    import asyncio
    import re
    import socket
    import urllib.request

    def listen(url: str, frames: int) -> np.ndarray:
        with urllib.request.urlopen(url, timeout=30) as r:
            head = r.read(44)
            assert head[:4] == b"RIFF" and head[36:40] == b"data"
            data = r.read(frames * 6)
        b = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        return np.where(v >= 1 << 23, v - (1 << 24), v).reshape(-1, 2) / float(1 << 23)

    app = _host(two, f"{CUE}@2.0", f"{CUE}@1.0")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, PlayerScreen)
        await _until(pilot, lambda: screen.session is not None)
        assert "o streams it" in _text(screen, "#player-message")
        await pilot.press("d")  # the render command follows the mode, said once
        msg = _text(screen, "#player-message")
        assert msg.count("render it instead") == 1 and "--start-in diff" in msg and "o streams it" in msg
        await pilot.press("a")
        await pilot.press("o")
        await _until(pilot, lambda: screen.server is not None)
        server = screen.server
        assert server is not None
        msg = _text(screen, "#player-message")
        url = re.search(r"http://127\.0\.0\.1:\d+/[A-Za-z0-9_-]+/live", msg)
        assert url and url.group(0) == server.stream_url and "\n" not in msg
        assert "stream" in _text(screen, "#player-header")
        e = screen.session.engine
        await pilot.press("space")  # the keys drive what the stream carries
        await _until(pilot, lambda: e.status.playing and e.status.position > 0)
        y = await asyncio.to_thread(listen, server.stream_url, SR // 2)
        assert np.abs(y).max() > 0.05
        await pilot.press("b")
        await _until(pilot, lambda: e.status.mode == "b")
        # back to the sound card (there is none here): the stream's server is closed, it says why
        await pilot.press("o")
        await _until(pilot, lambda: screen.server is None and screen.no_sound is not None)
        await _until(pilot, lambda: server.pump is not None and server.pump.finished.is_set())

        def refused() -> bool:
            try:
                socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
            except ConnectionRefusedError:
                return True
            return False
        await _until(pilot, refused)
        assert "o streams it" in _text(screen, "#player-message")
        # streaming again, then leaving the player closes the stream
        await pilot.press("o")
        await _until(pilot, lambda: screen.server is not None)
        second = screen.server
        assert second is not None
        await pilot.press("q")
        assert app.screen is not screen and screen.session is None
        await _until(pilot, lambda: second.pump is not None and second.pump.finished.is_set())
