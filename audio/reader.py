"""Read an audio file's samples and hash its bytes in the same pass.

Public surface:
    HashingFile(path, *, tee=None): a file object for soundfile that feeds a sha256 as
        libsndfile reads (and, with ``tee``, writes the same bytes there: a copy of the file)

libsndfile reads a file's header, maybe jumps to a chunk after the audio, then reads the audio
front to back. HashingFile hashes bytes in file order as they go by; when a read jumps ahead it
reads the gap itself (headers and chunks: a few bytes), and ``finish()`` hashes whatever
libsndfile never asked for. So the sha256 of the whole file costs no second read of the audio,
whatever container libsndfile understands (WAV, RF64, W64, AIFF, FLAC, CAF ...). The bytes
that are hashed are exactly the file, once each and in order, so the commit's copy of the file
is written from the same read (``tee``) instead of being read again.
"""

from __future__ import annotations

import hashlib
import io
import os
from typing import Any, BinaryIO

__all__ = ["HashingFile"]

_GAP_CHUNK = 1 << 20


class HashingFile(io.RawIOBase):
    """A read-only binary file that hashes its own bytes, once each, in order."""

    def __init__(self, path: str | os.PathLike[str], *, tee: BinaryIO | None = None) -> None:
        super().__init__()
        self._tee = tee  # gets every byte hashed, in order: an exact copy of the file
        self._f = open(path, "rb", buffering=0)  # noqa: SIM115 - closed in close()
        self._size = os.fstat(self._f.fileno()).st_size
        self._pos = 0
        self._hashed = 0
        self._sha = hashlib.sha256()
        self.name = str(path)
        self.bytes_read = 0  # what was read from disk, gaps included (for tests and benchmarks)

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:  # pragma: no cover - io constants only
            raise ValueError(f"bad whence {whence}")
        self._pos = max(0, pos)
        return self._pos

    def _hash_gap(self, upto: int) -> None:
        """Hash [hashed, upto) by reading it ourselves (the part libsndfile skipped)."""
        while self._hashed < upto:
            n = min(_GAP_CHUNK, upto - self._hashed)
            chunk = os.pread(self._f.fileno(), n, self._hashed)
            if not chunk:
                break
            self.bytes_read += len(chunk)
            self._sha.update(chunk)
            if self._tee is not None:
                self._tee.write(chunk)
            self._hashed += len(chunk)

    def readinto(self, buf: Any) -> int:
        view = memoryview(buf).cast("B")
        start = self._pos
        if start > self._hashed:
            self._hash_gap(start)
        n = os.preadv(self._f.fileno(), [view], start) if hasattr(os, "preadv") else \
            self._pread_into(view, start)
        self.bytes_read += n
        end = start + n
        if start <= self._hashed < end:
            fresh = view[self._hashed - start:n]
            self._sha.update(fresh)
            if self._tee is not None:
                self._tee.write(fresh)
            self._hashed = end
        self._pos = end
        return n

    def _pread_into(self, view: memoryview, start: int) -> int:  # pragma: no cover - non-Linux
        data = os.pread(self._f.fileno(), len(view), start)
        view[:len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self._size - self._pos
        buf = bytearray(max(0, size))
        n = self.readinto(buf)
        return bytes(buf[:n])

    def finish(self) -> str:
        """Hash what was never read and return the file's sha256 (hex)."""
        self._hash_gap(self._size)
        return self._sha.hexdigest()

    def close(self) -> None:
        if not self.closed:
            self._f.close()
        super().close()

