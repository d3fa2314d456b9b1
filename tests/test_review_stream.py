"""Acceptance review of issue 14 (the stream with the presets): what a user met trying it.

- ``--bind ::1`` (or another address of this machine): the laptop's ``ssh -L`` line must forward
  to where the server listens, not to 127.0.0.1 where nothing does.
- ``--bind`` an address this machine does not have: the error names the port tried, not ``None``.
- ``play --stream --preset NAME`` says the preset on its first line, as playing to the sound card
  and rendering do, and the page's status names the preset heard.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import CUE, SR, Runner
from vcs.playserver import DEFAULT_PORT, PlayServer


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.parametrize("bind", ["::1", "127.0.0.2", "127.0.0.1"])
def test_the_ssh_line_forwards_to_where_the_server_listens(bind: str, tmp_path: Path) -> None:
    if ":" in bind and not _has_ipv6_loopback():
        pytest.skip("no IPv6 loopback on this machine")
    f = tmp_path / "r.wav"
    sf.write(f, np.zeros((SR // 10, 2)), SR, subtype="PCM_24")
    server = PlayServer(file=f, bind=bind, port=0)
    try:
        m = re.fullmatch(r"ssh -L (\d+):(\[[0-9a-f:]+\]|[0-9.]+):(\d+) \S+", server.ssh_line())
        assert m, server.ssh_line()
        assert int(m.group(1)) == int(m.group(3)) == server.port
        host = m.group(2).strip("[]")
        # what ssh on the server's side connects to (the tunnel's far end) answers
        socket.create_connection((host, server.port), timeout=10).close()
    finally:
        server.close()


def test_an_address_this_machine_does_not_have_names_the_port(tmp_path: Path, sv: Runner, vault: Path) -> None:
    from tests.helpers import write_set

    write_set(tmp_path / "v1", seconds=1.0)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    r = sv("-C", vault, "play", CUE, "--stream", "--bind", "192.0.2.77")  # TEST-NET-1: nobody's address
    assert r.code == 2 and r.err.count("\n") == 1, r.err
    assert f"192.0.2.77:{DEFAULT_PORT}" in r.err and "None" not in r.err, r.err


def test_the_stream_says_its_preset_and_the_status_names_it(tmp_path: Path, sv: Runner, vault: Path) -> None:
    from tests.helpers import write_set
    from vcs.playserver import session_status
    from vcs.playsession import prepare_play
    from vcs.vault import Vault

    write_set(tmp_path / "v1", seconds=1.0)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    r = sv.ok("-C", vault, "play", CUE, "--stream", "--port", "0", "--to", "0.5", "--preset", "theater")
    first = (r.out + r.err).splitlines()[0]
    assert first.startswith("streaming ") and "through the theater preset" in first, first
    s = prepare_play(Vault(vault), CUE, preset="phone")
    try:
        assert session_status(s)["preset"] == "phone"
        from audio.playback.stream import Pump

        server = PlayServer(pump=Pump(s.engine), port=0, status=lambda: session_status(s))
        try:
            assert '<dd id="preset">phone</dd>' in server.page()
        finally:
            server.close()
        s.engine.set_preset(None)
        s.engine.settle()  # the engine applies commands between blocks
        assert session_status(s)["preset"] is None
    finally:
        s.close()


@pytest.mark.audio_device
async def test_the_player_back_from_the_stream_says_again_where_the_sound_goes(
        vault: Path, sv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The player on a forwarded sound server: ``o`` streams (the line shows the URL), ``o`` again
    is the sound card through the forwarded server, and the line says so again (not blank)."""
    import sys

    from textual.widgets import Static

    from tests.helpers import write_set
    from tests.test_play_device import pulse_server
    from tests.tui_host import Host
    from tui.screens.player import PlayerScreen

    write_set(tmp_path / "v1", seconds=2.0)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])

    def reinit_portaudio() -> None:
        sd = sys.modules.get("sounddevice")
        if sd is not None:
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

                def msg() -> str:
                    return str(screen.query_one("#player-message", Static).render())

                async def until(cond: object) -> None:
                    for _ in range(1200):  # a loaded machine: up to a minute
                        if callable(cond) and cond():
                            return
                        await pilot.pause(0.05)
                    raise AssertionError(f"timed out; the line: {msg()!r}")

                via = f"sound goes via the forwarded sound server tcp:127.0.0.1:{port} (PULSE_SERVER)"
                await until(lambda: screen.session is not None and screen.output is not None)
                assert via in msg(), msg()
                await pilot.press("o")
                await until(lambda: screen.server is not None)
                assert "streaming http://127.0.0.1:" in msg() and via not in msg(), msg()
                await pilot.press("o")
                await until(lambda: screen.server is None and screen.output is not None
                            and "opening" not in msg())
                assert via in msg(), msg()
                await pilot.press("q")
        finally:
            env.undo()
            reinit_portaudio()


def test_a_served_render_names_its_preset_on_the_page(tmp_path: Path, sv: Runner, vault: Path) -> None:
    """`play --render F --preset theater --serve`: the page and status.json say the file is the
    theater preset's sound (the render line does)."""
    from tests.helpers import write_set
    from tui.commands.play import _file_server

    write_set(tmp_path / "v1", seconds=1.0)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    doc = sv.ok("-C", vault, "play", CUE, "--render", tmp_path / "r.wav", "--preset", "theater", "--json").json()
    server = _file_server(doc, tmp_path / "r.wav", 0, "127.0.0.1")
    try:
        assert server.status()["preset"] == "theater"
        assert '<dd id="preset">theater</dd>' in server.page()
    finally:
        server.close()


async def test_the_chosen_preset_is_on_screen_at_80_columns_in_a_b_while_streaming(
        vault: Path, sv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The header's preset is what `p` changes: at 80x24, in A/B, streaming, it is visible (not cut
    off behind the stream marker and the loudness match)."""
    import html
    import re
    import sys

    from tests.helpers import write_set
    from tests.tui_host import Host
    from tui.screens.player import PlayerScreen

    monkeypatch.setitem(sys.modules, "sounddevice", None)  # no sound card: o streams
    write_set(tmp_path / "v1", seconds=2.0)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    write_set(tmp_path / "v2", seconds=2.0, gains={"BRS": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    app = Host(vault, lambda v: PlayerScreen(v, v.resolve(f"{CUE}@2.0"), v.resolve(f"{CUE}@1.0")))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, PlayerScreen)
        for _ in range(1200):
            await pilot.pause(0.05)
            if screen.session is not None:
                break
        await pilot.press("o")
        for _ in range(1200):
            await pilot.pause(0.05)
            if screen.server is not None:
                break
        assert screen.server is not None
        for _ in range(4):  # none → mono → laptop → phone → small-room (the longest name)
            await pilot.press("p")
        await pilot.pause(0.2)
        shown = " ".join(html.unescape(t).replace("\xa0", " ")
                         for t in re.findall(r"<text[^>]*>([^<]*)</text>", app.export_screenshot()))
        assert "preset small-room" in shown, shown[:400]
        await pilot.press("q")


def test_bind_empty_warns_in_words(tmp_path: Path, sv: Runner, vault: Path) -> None:
    """`--bind ''` listens on every address: the warning says so (not "listening on :")."""
    from tests.helpers import write_set

    write_set(tmp_path / "v1", seconds=1.0)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    r = sv.ok("-C", vault, "play", CUE, "--stream", "--bind", "", "--port", "0", "--to", "0.2")
    assert "warning: listening on every address" in r.err and "listening on :" not in r.err, r.err
