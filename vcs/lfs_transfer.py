"""The server side of git-lfs's pure-SSH transfer protocol: ``git-lfs-transfer PATH upload|download``.

git-lfs (>= 3.0) first runs ``ssh HOST git-lfs-transfer PATH OPERATION`` and, when that program
answers, moves LFS objects over the same SSH connection with no HTTP at all (git-lfs's
``docs/proposals/ssh_adapter.md``). This module is that program for a repository on the SSH server:
it reads and writes the repository's own store, ``<git dir>/lfs/objects/aa/bb/<oid>``.

Public surface:
    main(argv=None, stdin=None, stdout=None) -> int   (the ``git-lfs-transfer`` console script)
    serve(git_dir, operation, stdin, stdout) -> None  (one connection, until ``quit`` or end of input)
    ProtocolError

What git-lfs 3.3 sends, and what this answers (pkt-lines; ``0000`` flush, ``0001`` delimiter):
    server: ``version=1`` flush (the capability advertisement)
    ``version 1`` flush                      -> ``status 200`` flush
    ``batch``, args, delim, ``OID SIZE``..., flush
        -> ``status 200``, ``hash-algo=sha256``, delim, ``OID SIZE ACTION``..., flush
           upload: ``noop`` for an object the server holds, else ``upload``;
           download: ``download`` (a missing object then fails in get-object with 404, naming it)
    ``put-object OID``, ``size=N``, delim, data..., flush  (upload only)
        -> ``status 200`` flush once the data's sha256 and size match OID and N; the object is
           written to a temporary file beside the store and renamed into place only then.
           A mismatch -> ``status 400``, delim, ``message error: ...``, flush; nothing is stored.
    ``verify-object OID``, ``size=N``, flush  -> ``status 200`` or ``status 404`` (with a message)
    ``get-object OID``, flush (download only)  -> ``status 200``, ``size=N``, delim, data..., flush
    ``lock``/``unlock``/``list-lock(s)``     -> ``status 501`` (locking is not offered)
    ``quit`` flush                           -> ``status 200`` flush, and the program ends
    anything else                            -> ``status 400`` with a message; the connection goes on

Standard library only: this runs once per SSH connection on the server, so its start-up stays small.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO

__all__ = ["ProtocolError", "main", "serve"]

_OID = re.compile(r"^[0-9a-f]{64}$")
_MAX_DATA = 65516  # pkt-line payload limit (65520 with the 4-byte header)
FLUSH = object()
DELIM = object()
_Packet = bytes | object


class ProtocolError(Exception):
    """The peer broke the pkt-line framing or closed the connection mid-request."""


# --- pkt-line ------------------------------------------------------------------------------------


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            raise ProtocolError("the connection closed in the middle of a packet")
        data += chunk
    return data


def read_packet(stream: BinaryIO) -> _Packet | None:
    """One packet: bytes, FLUSH or DELIM; None at a clean end of input (between packets)."""
    head = stream.read(4)
    if not head:
        return None
    if len(head) < 4:
        head += _read_exact(stream, 4 - len(head))
    try:
        length = int(head, 16)
    except ValueError:
        raise ProtocolError(f"bad pkt-line length {head!r}") from None
    if length == 0:
        return FLUSH
    if length == 1:
        return DELIM
    if length < 4:
        raise ProtocolError(f"bad pkt-line length {head!r}")
    return _read_exact(stream, length - 4)


def _text(packet: _Packet | None) -> str:
    if not isinstance(packet, bytes):
        raise ProtocolError("expected a text packet")
    return packet.decode("utf-8", "replace").removesuffix("\n")


class _Writer:
    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def line(self, text: str) -> None:
        self.data(text.encode() + b"\n")

    def data(self, payload: bytes) -> None:
        for i in range(0, len(payload), _MAX_DATA):
            part = payload[i:i + _MAX_DATA]
            self.stream.write(b"%04x" % (len(part) + 4) + part)

    def flush(self) -> None:
        self.stream.write(b"0000")
        self.stream.flush()

    def delim(self) -> None:
        self.stream.write(b"0001")

    def status(self, code: int, args: list[str] | None = None, message: str | None = None) -> None:
        self.line(f"status {code}")
        for arg in args or []:
            self.line(arg)
        if message is not None:
            self.delim()
            self.line(f"message {message}")
        self.flush()


# --- the request ---------------------------------------------------------------------------------


def _read_request(stream: BinaryIO, first: bytes) -> tuple[str, list[str], list[str] | None]:
    """The command, its arguments, and (when a delimiter came) the text lines after it."""
    command = _text(first)
    args: list[str] = []
    lines: list[str] | None = None
    while True:
        packet = read_packet(stream)
        if packet is None:
            raise ProtocolError(f"the connection closed in the middle of {command!r}")
        if packet is FLUSH:
            return command, args, lines
        if packet is DELIM:
            if lines is not None:
                raise ProtocolError(f"two delimiters in {command!r}")
            lines = []
        elif lines is None:
            args.append(_text(packet))
        else:
            lines.append(_text(packet))


def _args(args: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for arg in args:
        key, _, value = arg.partition("=")
        out[key] = value
    return out


def _object_path(git_dir: Path, oid: str) -> Path:
    return git_dir / "lfs" / "objects" / oid[:2] / oid[2:4] / oid


def _size_of(args: dict[str, str]) -> int | None:
    value = args.get("size", "")
    return int(value) if value.isdigit() else None


# --- the commands --------------------------------------------------------------------------------


class _Session:
    def __init__(self, git_dir: Path, operation: str, stdin: BinaryIO, stdout: BinaryIO) -> None:
        self.git_dir = git_dir
        self.operation = operation
        self.stdin = stdin
        self.out = _Writer(stdout)

    def batch(self, args: list[str], lines: list[str] | None) -> None:
        algo = _args(args).get("hash-algo", "sha256")
        if algo != "sha256":
            self.out.status(409, message=f"error: hash algorithm {algo!r} is not supported; use sha256")
            return
        answer: list[str] = []
        for line in lines or []:
            fields = line.split(" ")
            if len(fields) < 2 or not _OID.match(fields[0]) or not fields[1].isdigit():
                self.out.status(400, message=f"error: malformed batch line {line!r}; expected 'OID SIZE'")
                return
            oid, size = fields[0], int(fields[1])
            if self.operation == "upload":
                path = _object_path(self.git_dir, oid)
                held = path.is_file() and path.stat().st_size == size
                answer.append(f"{oid} {size} {'noop' if held else 'upload'}")
            else:
                answer.append(f"{oid} {size} download")
        self.out.line("status 200")
        self.out.line("hash-algo=sha256")
        self.out.delim()
        for line in answer:
            self.out.line(line)
        self.out.flush()

    def put_object(self, oid: str, args: list[str]) -> None:
        size = _size_of(_args(args))
        incoming = self.git_dir / "lfs" / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix="put-object.", dir=incoming)
        tmp = Path(tmp_name)
        digest = hashlib.sha256()
        written = 0
        try:
            with os.fdopen(fd, "wb") as f:
                while True:
                    packet = read_packet(self.stdin)
                    if packet is None:
                        raise ProtocolError(f"the connection closed while receiving object {oid}")
                    if packet is FLUSH:
                        break
                    if not isinstance(packet, bytes):
                        raise ProtocolError(f"unexpected delimiter in the data of object {oid}")
                    f.write(packet)
                    digest.update(packet)
                    written += len(packet)
                f.flush()
                os.fsync(f.fileno())
            problem = None
            if self.operation != "upload":
                problem = f"error: put-object is not allowed on a {self.operation} connection"
            elif not _OID.match(oid):
                problem = f"error: {oid!r} is not a sha256 object id (64 lowercase hex digits)"
            elif size is None:
                problem = f"error: put-object {oid} came without a size=N argument"
            elif written != size:
                problem = f"error: object {oid} announced {size} bytes but {written} arrived; nothing stored"
            elif digest.hexdigest() != oid:
                problem = (f"error: object {oid} does not match its content (sha256 {digest.hexdigest()}); "
                           "nothing stored, check the file in the sending repository")
            if problem is not None:
                self.out.status(400, message=problem)
                return
            target = _object_path(self.git_dir, oid)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp, 0o444 & ~_umask())
            os.replace(tmp, target)
            self.out.status(200)
        finally:
            tmp.unlink(missing_ok=True)

    def verify_object(self, oid: str, args: list[str]) -> None:
        size = _size_of(_args(args))
        path = _object_path(self.git_dir, oid) if _OID.match(oid) else None
        if path is None or not path.is_file():
            self.out.status(404, message=f"error: object {oid} is not on the server")
        elif size is not None and path.stat().st_size != size:
            self.out.status(409, message=f"error: object {oid} on the server has {path.stat().st_size} bytes, not {size}")
        else:
            self.out.status(200)

    def get_object(self, oid: str) -> None:
        if self.operation != "download":
            self.out.status(400, message=f"error: get-object is not allowed on a {self.operation} connection")
            return
        path = _object_path(self.git_dir, oid) if _OID.match(oid) else None
        try:
            f = open(path, "rb") if path is not None else None  # noqa: SIM115 - closed below
        except OSError:
            f = None
        if f is None:
            self.out.status(404, message=f"error: object {oid} is not on the server")
            return
        with f:
            self.out.line("status 200")
            self.out.line(f"size={os.fstat(f.fileno()).st_size}")
            self.out.delim()
            while chunk := f.read(_MAX_DATA):
                self.out.data(chunk)
            self.out.flush()

    def handle(self, command: str, args: list[str], lines: list[str] | None) -> bool:
        """Answer one request; False once the client said ``quit``."""
        verb, _, rest = command.partition(" ")
        if verb == "quit":
            self.out.status(200)
            return False
        if verb == "version":
            if rest == "1":
                self.out.status(200)
            else:
                self.out.status(400, message=f"error: protocol version {rest!r} is not supported; this server speaks version 1")
        elif verb == "batch":
            self.batch(args, lines)
        elif verb == "get-object":
            self.get_object(rest)
        elif verb == "verify-object":
            self.verify_object(rest, args)
        elif verb in ("lock", "unlock", "list-lock", "list-locks"):
            # 501 is how git-lfs learns locking is not implemented: a push then turns lock
            # verification off for this remote quietly instead of suggesting it be turned on.
            self.out.status(501, message="error: this server does not offer git-lfs file locking")
        else:
            self.out.status(400, message=f"error: unknown or unsupported command {verb!r}")
        return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def serve(git_dir: Path, operation: str, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Run one connection: advertise ``version=1``, then answer requests until ``quit``."""
    session = _Session(git_dir, operation, stdin, stdout)
    session.out.line("version=1")
    session.out.flush()
    while True:
        packet = read_packet(stdin)
        if packet is None:
            return  # the client went away without quit: nothing half-written stays (put-object cleans up)
        if not isinstance(packet, bytes):
            continue  # a stray flush/delimiter between requests
        verb = _text(packet).partition(" ")
        if verb[0] == "put-object":
            args = _read_put_head(stdin, packet)
            session.put_object(verb[2], args)
            continue
        command, args, lines = _read_request(stdin, packet)
        if not session.handle(command, args, lines):
            return


def _read_put_head(stream: BinaryIO, first: bytes) -> list[str]:
    """put-object's command and arguments, up to the delimiter (the data follows it)."""
    command = _text(first)
    args: list[str] = []
    while True:
        packet = read_packet(stream)
        if packet is None:
            raise ProtocolError(f"the connection closed in the middle of {command!r}")
        if packet is DELIM:
            return args
        if packet is FLUSH:
            raise ProtocolError(f"{command!r} came without data (no delimiter before the flush)")
        args.append(_text(packet))


def _git_dir(path: str) -> Path | None:
    """The repository PATH names: a bare repository (PATH or PATH.git), or a work tree's .git."""
    for candidate in (Path(path), Path(path + ".git")):
        if (candidate / ".git").is_dir():
            candidate = candidate / ".git"
        if (candidate / "objects").is_dir() and (candidate / "HEAD").exists():
            return candidate
    return None


USAGE = "usage: git-lfs-transfer PATH upload|download"


def main(argv: list[str] | None = None, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
    """The console script. Exit codes: 0 the client quit or closed cleanly; 2 bad usage, a path
    that is not a repository, or a broken protocol stream (each with one ``error:`` line on stderr,
    which git-lfs shows the user)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[1] not in ("upload", "download"):
        print(f"error: {USAGE} (git-lfs runs this over SSH)", file=sys.stderr)
        return 2
    git_dir = _git_dir(args[0])
    if git_dir is None:
        print(f"error: {args[0]!r} is not a git repository on this server; check the remote URL's path",
              file=sys.stderr)
        return 2
    try:
        serve(git_dir, args[1], stdin or sys.stdin.buffer, stdout or sys.stdout.buffer)
    except ProtocolError as e:
        print(f"error: git-lfs-transfer: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
