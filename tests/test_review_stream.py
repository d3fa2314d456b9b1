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
