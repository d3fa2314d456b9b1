"""The HTTP server of a play session: the live stream, a finished render, a small page.

Public surface:
    PlayServer(*, pump=None, file=None, fmt="wav", bind="127.0.0.1", port=DEFAULT_PORT, what={...},
               status=None): .start(), .close(), .port, .token, .stream_url, .page_url, .file_url,
               .ssh_line(), .far_end(), .visits
    DEFAULT_PORT, is_loopback(address), osc52(text) -> str
    session_status(session, first) -> dict, session_what(info) -> dict: what the page and
        status.json say of a play session (shared by ``stemvault play --stream`` and the player)

Addresses (everything lives under a random token, so another user of the same host cannot listen
in; anything else is 404, the same answer as a wrong token, so a guess learns nothing):
    /<token>/               the page: the URL, the version(s), the mode and position (a plain HTML
                            page with an <audio> element; a few lines of script refresh the
                            position from status.json)
    /<token>/live           the live stream (audio/wav, audio/flac or audio/ogg), from the current
                            position, until the session ends
    /<token>/status.json    {what, mode, position, playing, ended, listeners, heard: [...]}
    /<token>/<file name>    the render, with HTTP range requests (206) so a player can seek

It binds 127.0.0.1 unless told otherwise: reach it from a laptop through ``ssh -L``. The sockets
are the stdlib's ``ThreadingHTTPServer``: one thread per request, joined on ``close`` (every
request ends: the stream when the session ends or the listener goes, the others at once, and a
socket that stalls for ``TIMEOUT_S`` seconds is closed).
"""

from __future__ import annotations

import base64
import contextlib
import errno
import getpass
import hmac
import html
import ipaddress
import json
import os
import re
import secrets
import socket
import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vcs.errors import UsageError

if TYPE_CHECKING:
    from audio.playback.stream import Pump, Visit
    from vcs.playsession import PlaySession

__all__ = ["DEFAULT_PORT", "MODE_WORDS", "PlayServer", "heard", "is_loopback", "osc52", "session_status",
           "session_what"]

DEFAULT_PORT = 8765
TIMEOUT_S = 5.0
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 64 * 1024


MODE_WORDS = {"a": "A", "b": "B", "diff": "A−B"}


def heard(session: PlaySession, first: int = 0) -> list[dict[str, Any]]:
    """The commands the engine applied since its ``first`` one: what a listener heard change, and
    at which frame of the timeline (switches are named by what plays: A, B, A−B)."""
    names = {f"switch {k}": v for k, v in MODE_WORDS.items()}
    return [{"command": names.get(x.name, x.name), "frame": x.applied_at, "tc": session.tc(x.applied_at)}
            for x in list(session.engine.applied[first:])]


def session_status(session: PlaySession, first: int = 0) -> dict[str, Any]:
    """status.json of a live session: mode, position (timecode and frame), transport, ``heard``."""
    s = session.engine.status
    return {"mode": MODE_WORDS[s.mode], "position": session.tc(s.position), "frame": s.position,
            "playing": s.playing, "ended": s.ended, "preset": s.preset, "heard": heard(session, first)}


def session_what(info: dict[str, Any]) -> dict[str, Any]:
    """What the page names: the version(s) of a session's ``info``."""
    return {"a": info["a"], "b": info["b"], "title": info["a"] + (f" vs {info['b']}" if info["b"] else "")}


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def osc52(text: str) -> str:
    """The terminal escape that puts ``text`` on the clipboard of the terminal that shows it (OSC
    52: xterm, iTerm2, kitty, WezTerm, Windows Terminal; tmux with set-clipboard on)."""
    return "\x1b]52;c;" + base64.b64encode(text.encode()).decode("ascii") + "\x07"


def _host() -> str:
    """The name a laptop reaches this machine by: the address its SSH session came in on, else
    the host name."""
    conn = os.environ.get("SSH_CONNECTION", "").split()
    if len(conn) == 4:
        return conn[2]  # ssh takes an IPv6 address as it is (user@fe80::1)
    return socket.gethostname()


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # close() joins every request's thread: nothing is left behind
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], owner: PlayServer) -> None:
        self.owner = owner
        self.address_family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        super().__init__(addr, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = TIMEOUT_S  # a socket that stalls this long (reading or writing) is closed
    server_version = "stemvault"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # the terminal shows the player
        pass

    def _route(self) -> str | None:
        """The part of the path after the token, or None when the token is not there."""
        owner = self.server.owner
        path = urllib.parse.urlsplit(self.path).path
        parts = path.split("/", 2)
        if len(parts) < 3 or parts[0] != "" or not hmac.compare_digest(parts[1].encode(), owner.token.encode()):
            return None
        return urllib.parse.unquote(parts[2])

    def _send(self, code: int, body: bytes, ctype: str, head: bool = False) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _not_found(self, head: bool = False) -> None:
        self._send(404, b"not found\n", "text/plain; charset=utf-8", head)

    def do_HEAD(self) -> None:
        self._get(head=True)

    def do_GET(self) -> None:
        self._get(head=False)

    def _get(self, head: bool) -> None:
        owner = self.server.owner
        rest = self._route()
        try:
            if rest is None and hmac.compare_digest(urllib.parse.urlsplit(self.path).path.encode(),
                                                    f"/{owner.token}".encode()):
                self.send_response(301)  # the page's own address ends with "/" (its links are relative)
                self.send_header("Location", f"/{owner.token}/")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif rest is None:
                self._not_found(head)
            elif rest == "":
                self._send(200, owner.page().encode(), "text/html; charset=utf-8", head)
            elif rest == "status.json":
                self._send(200, json.dumps(owner.status()).encode(), "application/json", head)
            elif rest == "live" and owner.pump is not None:
                self._live(head)
            elif owner.file is not None and rest == owner.file.name:
                self._file(head)
            else:
                self._not_found(head)
        except (OSError, ValueError):  # the client went away, or a socket timed out
            self.close_connection = True

    def _live(self, head: bool) -> None:
        from audio.errors import PlaybackError
        from audio.playback.stream import MIME

        owner = self.server.owner
        assert owner.pump is not None
        if head:
            self.send_response(200)
            self.send_header("Content-Type", MIME[owner.fmt])
            self.end_headers()
            return
        try:
            lst = owner.pump.listen(owner.fmt)
        except PlaybackError as e:
            self._send(410, f"{e}\n".encode(), "text/plain; charset=utf-8")
            return
        try:
            self.send_response(200)
            self.send_header("Content-Type", MIME[owner.fmt])
            self.send_header("Cache-Control", "no-store")
            self.send_header("Accept-Ranges", "none")
            self.end_headers()
            for chunk in lst.chunks():
                self.wfile.write(chunk)
        finally:
            lst.close()
            self.close_connection = True

    def _file(self, head: bool) -> None:
        owner = self.server.owner
        assert owner.file is not None
        size = owner.file.stat().st_size
        start, end = 0, size - 1
        code = 200
        rng = self.headers.get("Range")
        m = _RANGE.match(rng.strip()) if rng else None
        if m and (m.group(1) or m.group(2)):
            a, b = m.group(1), m.group(2)
            if a:
                start, end = int(a), min(int(b), size - 1) if b else size - 1
            else:  # the last N bytes
                start, end = max(0, size - int(b)), size - 1
            if start >= size or start > end:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            code = 206
        self.send_response(code)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if code == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if head:
            return
        with open(owner.file, "rb") as f:
            f.seek(start)
            left = end - start + 1
            while left > 0:
                data = f.read(min(_CHUNK, left))
                if not data:
                    break
                self.wfile.write(data)
                left -= len(data)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>stemvault · {title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px/1.4 system-ui,sans-serif;max-width:44em;margin:2em auto;padding:0 1em}}
code{{word-break:break-all}} audio{{width:100%}} dt{{font-weight:bold}} dd{{margin:0 0 .5em 0}}</style>
</head><body>
<h1>{title}</h1>
<audio controls preload="none" src="{src}"></audio>
<dl>
<dt>URL (mpv, ffplay, VLC)</dt><dd><code>{url}</code></dd>
<dt>Versions</dt><dd>{versions}</dd>
<dt>Mode</dt><dd id="mode">{mode}</dd>
<dt>Position</dt><dd id="position">{position}</dd>
<dt>Audition preset</dt><dd id="preset">{preset}</dd>
</dl>
<p><small>stemvault {kind}. The keys are in the terminal that runs <code>stemvault play</code>;
press play here to listen from where it is now.</small></p>
<script>
setInterval(function () {{
  fetch("status.json", {{cache: "no-store"}}).then(function (r) {{ return r.json(); }}).then(function (s) {{
    document.getElementById("mode").textContent = s.mode;
    document.getElementById("position").textContent = s.position + (s.playing ? "" : " (paused)");
    document.getElementById("preset").textContent = s.preset || "none";
  }}).catch(function () {{}});
}}, 1000);
</script>
</body></html>
"""


class PlayServer:
    """Serves a play session's stream (``pump``) or a finished render (``file``); see the module."""

    def __init__(self, *, pump: Pump | None = None, file: Path | None = None, fmt: str = "wav",
                 bind: str = "127.0.0.1", port: int | None = None, what: dict[str, Any] | None = None,
                 status: Callable[[], dict[str, Any]] | None = None) -> None:
        self.pump = pump
        self.file = file
        self.fmt = fmt
        self.bind = bind
        self.what = what or {}
        self._status = status
        self.token = secrets.token_urlsafe(18)
        self.fallback = False  # the default port was taken: another one was chosen
        self._thread: threading.Thread | None = None
        try:
            self.httpd = self._open(bind, DEFAULT_PORT if port is None else port)
        except OSError as e:
            if port is None and e.errno == errno.EADDRINUSE:  # another session holds the default port
                self.httpd = self._open(bind, 0)
                self.fallback = True
            elif e.errno == errno.EADDRINUSE:
                raise UsageError(f"port {port} on {bind} is in use: choose another --port (0 picks a free one)") from None
            else:
                raise UsageError(f"cannot listen on {bind}:{DEFAULT_PORT if port is None else port}: "
                                 f"{e.strerror or e}: --bind an address of this machine") from None
        self.port = int(self.httpd.server_address[1])

    def _open(self, bind: str, port: int) -> _Server:
        try:
            return _Server((bind, port), self)
        except socket.gaierror as e:
            raise UsageError(f"--bind {bind}: not an address of this machine ({e.strerror})") from None

    # ----- addresses -------------------------------------------------------------------------
    @property
    def _base(self) -> str:
        host = "127.0.0.1" if self.bind in ("0.0.0.0", "::", "") or is_loopback(self.bind) else self.bind
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/{self.token}/"

    @property
    def page_url(self) -> str:
        return self._base

    @property
    def stream_url(self) -> str:
        return self._base + "live"

    @property
    def file_url(self) -> str:
        assert self.file is not None
        return self._base + urllib.parse.quote(self.file.name)

    def ssh_line(self) -> str:
        """The laptop's command that brings this port home (the same port on both ends)."""
        return f"ssh -L {self.port}:{self.far_end()}:{self.port} {getpass.getuser()}@{_host()}"

    def far_end(self) -> str:
        """Where ssh on this machine connects the tunnel to: the address listened on (IPv6 in
        brackets, as ssh -L takes it), 127.0.0.1 when listening on every address."""
        host = str(self.httpd.server_address[0])
        if host in ("0.0.0.0", "::", ""):
            return "127.0.0.1"
        return f"[{host}]" if ":" in host else host

    # ----- what the page shows ---------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        doc: dict[str, Any] = dict(self._status() if self._status is not None else {})
        if self.pump is not None:
            doc["listeners"] = self.pump.listeners
        return doc

    def page(self) -> str:
        st = self.status()
        w = self.what
        versions = html.escape(str(w.get("a", ""))) + (f" against {html.escape(str(w['b']))}" if w.get("b") else "")
        if self.pump is not None:
            src, url, kind = "live", self.stream_url, f"live stream ({self.fmt})"
        else:
            assert self.file is not None
            src = urllib.parse.quote(self.file.name)
            url, kind = self.file_url, "render (a file: seek freely)"
        return _PAGE.format(title=html.escape(str(w.get("title") or w.get("a") or "stemvault")), src=html.escape(src),
                            url=html.escape(url), versions=versions or "–",
                            mode=html.escape(str(st.get("mode", w.get("mode", "–")))),
                            position=html.escape(str(st.get("position", "–"))),
                            preset=html.escape(str(st.get("preset") or "none")), kind=html.escape(kind))

    @property
    def visits(self) -> list[Visit]:
        return list(self.pump.history) if self.pump is not None else []

    # ----- running ---------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="stemvault-http", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop accepting, end the streams, join every request's thread, close the socket."""
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
            self._thread = None
        if self.pump is not None:
            self.pump.stop()
        with contextlib.suppress(OSError):
            self.httpd.server_close()  # joins the request threads (block_on_close)
