"""git-lfs pointers and the local object store.

Public surface:
    Pointer (dataclass), parse_pointer(data) -> Pointer | None, format_pointer(oid, size) -> bytes
    object_path(git_dir, oid) -> Path
    gitattributes_lines(extensions) -> list[str]

A pointer is the small text git stores in place of an audio file (see the git-lfs spec):
``version https://git-lfs.github.com/spec/v1`` / ``oid sha256:<64 hex>`` / ``size <bytes>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Pointer", "format_pointer", "gitattributes_lines", "object_path", "parse_pointer"]

_VERSIONS = (b"https://git-lfs.github.com/spec/v1", b"https://hawser.github.com/spec/v1")
_OID = re.compile(rb"^sha256:([0-9a-f]{64})$")
# git-lfs itself never treats a blob larger than this as a pointer.
POINTER_MAX = 1024


@dataclass(frozen=True)
class Pointer:
    oid: str
    size: int


def parse_pointer(data: bytes) -> Pointer | None:
    """The pointer ``data`` holds, or None when it is not one (e.g. raw audio committed to git)."""
    if not data or len(data) > POINTER_MAX:
        return None
    try:
        lines = data.replace(b"\r\n", b"\n").strip(b"\n").split(b"\n")
    except Exception:  # pragma: no cover - bytes ops do not fail
        return None
    fields: dict[bytes, bytes] = {}
    for i, line in enumerate(lines):
        key, sep, value = line.strip().partition(b" ")
        if not sep:
            return None
        if i == 0 and (key != b"version" or value.strip() not in _VERSIONS):
            return None
        fields[key] = value.strip()
    m = _OID.match(fields.get(b"oid", b""))
    size = fields.get(b"size", b"")
    if not m or not size.isdigit():
        return None
    return Pointer(m.group(1).decode(), int(size))


def format_pointer(oid: str, size: int) -> bytes:
    """The canonical pointer text for an object."""
    return (b"version https://git-lfs.github.com/spec/v1\n"
            + f"oid sha256:{oid}\nsize {size}\n".encode())


def object_path(git_dir: Path, oid: str) -> Path:
    """Where git-lfs keeps object ``oid`` in a repository's ``.git``."""
    return git_dir / "lfs" / "objects" / oid[:2] / oid[2:4] / oid


def _any_case(ext: str) -> str:
    # git's attribute globs are case-sensitive: "*.wav" would miss "Bass.WAV".
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in ext)


def gitattributes_lines(extensions: tuple[str, ...]) -> list[str]:
    """LFS tracking lines for ``extensions``, matching every letter case."""
    return [f"*.{_any_case(ext)} filter=lfs diff=lfs merge=lfs -text" for ext in extensions]
