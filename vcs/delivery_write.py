"""Writing a delivery package: a folder or a zip, every file hashed (sha256 + md5) from the
bytes as they are written, in the one pass that writes them (vcs.delivery).

Public surface:
    Written (dataclass: path, size, sha256, md5)
    Sink: add_stream(rel, src, size, summed=True), add_bytes(rel, data), add_file(rel, path),
          close() (everything on disk), abort() (let go after a failure); .written (the summed files)
    FolderSink(root, pool), ZipSink(path, top, pool)

``pool``: a one-thread executor the md5 runs on while the sha256 and the write run on the
caller's thread (hashlib releases the GIL on large buffers: a second core).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import os
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["FolderSink", "Sink", "Written", "ZipSink"]

_CHUNK = 4 << 20


@dataclass
class Written:
    path: str  # relative to the package root, "/"-separated
    size: int
    sha256: str
    md5: str


class Sink:
    """Where the package's files go; every file added is hashed (sha256 + md5) from the bytes
    written, in the one pass that writes them."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool
        self.written: list[Written] = []

    def _open(self, rel: str, size: int) -> IO[bytes]:
        raise NotImplementedError

    def add_stream(self, rel: str, src: IO[bytes], size: int, *, summed: bool = True) -> Written:
        sha, md5 = hashlib.sha256(), hashlib.md5()
        n = 0
        with self._open(rel, size) as out:
            while True:
                buf = src.read(_CHUNK)
                if not buf:
                    break
                side = self.pool.submit(md5.update, buf)  # hashlib drops the GIL: a second core
                sha.update(buf)
                out.write(buf)
                side.result()
                n += len(buf)
        w = Written(rel, n, sha.hexdigest(), md5.hexdigest())
        if summed:
            self.written.append(w)
        return w

    def add_bytes(self, rel: str, data: bytes, *, summed: bool = True) -> Written:
        return self.add_stream(rel, io.BytesIO(data), len(data), summed=summed)

    def add_file(self, rel: str, path: Path, *, summed: bool = True) -> Written:
        with open(path, "rb", buffering=0) as f:
            return self.add_stream(rel, f, path.stat().st_size, summed=summed)

    def close(self) -> None:
        pass

    def abort(self) -> None:
        """Let go of what is open after a failure (the partial package is removed next)."""


class FolderSink(Sink):
    def __init__(self, root: Path, pool: ThreadPoolExecutor) -> None:
        super().__init__(pool)
        self.root = root
        self.paths: list[Path] = []

    def _open(self, rel: str, size: int) -> IO[bytes]:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        self.paths.append(path)
        return open(path, "xb")

    def close(self) -> None:
        """Flush every file and folder to disk before the package is renamed into place. Done
        once at the end, not per file: the kernel writes the earlier files back while the later
        ones are copied, so these waits are short."""
        for path in self.paths:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        for folder in sorted({p.parent for p in self.paths} | {self.root}, key=lambda p: -len(p.parts)):
            fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


class ZipSink(Sink):
    def __init__(self, path: Path, top: str, pool: ThreadPoolExecutor) -> None:
        super().__init__(pool)
        self.top = top
        self.zf = zipfile.ZipFile(path, "x", compression=zipfile.ZIP_STORED, allowZip64=True)
        self.stamp = dt.datetime.now().timetuple()[:6]

    def _open(self, rel: str, size: int) -> IO[bytes]:
        info = zipfile.ZipInfo(f"{self.top}/{rel}", date_time=self.stamp)
        info.compress_type = zipfile.ZIP_STORED
        info.file_size = size  # sizes over 2 GiB get zip64 headers from the start
        info.external_attr = 0o644 << 16
        return self.zf.open(info, "w")

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # a full disk may refuse the central directory too
            self.zf.close()

    def close(self) -> None:
        self.zf.close()
        with open(self.zf.filename or "", "rb") as f:
            os.fsync(f.fileno())
