"""git-lfs pointers, parsed by the rules of the git-lfs spec (vectors written here, not copied)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from vcs.lfs import format_pointer, parse_pointer

OID = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393"


def test_canonical_pointer_and_git_blob_id(tmp_path: Path) -> None:
    text = format_pointer(OID, 12345)
    assert text == (b"version https://git-lfs.github.com/spec/v1\n"
                    b"oid sha256:" + OID.encode() + b"\nsize 12345\n")
    p = parse_pointer(text)
    assert p is not None and p.oid == OID and p.size == 12345
    blob = subprocess.run(["git", "hash-object", "--stdin"], input=text, capture_output=True, check=True)
    assert blob.stdout.decode().strip() == "60c8d8ab2adcf57a391163a7eeb0cdb8bf348e44"  # the spec's example


def test_tolerated_variants() -> None:
    base = format_pointer(OID, 12345)
    assert parse_pointer(base.rstrip(b"\n")) is not None
    assert parse_pointer(base.replace(b"\n", b"\r\n")) is not None
    assert parse_pointer(base.replace(b"https://git-lfs.github.com", b"https://hawser.github.com")) is not None
    ext = base.replace(b"size", b"ext-0-foo sha256:" + b"f" * 64 + b"\nsize")
    assert parse_pointer(ext) is not None


def test_not_pointers() -> None:
    assert parse_pointer(b"RIFF\x00\x00WAVEfmt " + bytes(2000)) is None
    assert parse_pointer(b"version https://example.com/spec/v1\noid sha256:" + OID.encode() + b"\nsize 1\n") is None
    assert parse_pointer(b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1\n") is None
    assert parse_pointer(b"version https://git-lfs.github.com/spec/v1\noid sha256:" + OID.encode() + b"\nsize x\n") is None
    assert parse_pointer(b"") is None
