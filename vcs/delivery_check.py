"""Is a delivery (a package folder or zip made by ``stemvault export``) all there and intact?

Public surface:
    is_delivery(path) -> bool
    DeliveryProblem, DeliveryReport (dataclasses); verify_delivery(path) -> DeliveryReport

Needs no vault: the receiving side runs it. Every file listed in ``SHA256SUMS`` is read once
and hashed with sha256 and md5, compared with ``SHA256SUMS``, ``MD5SUMS`` and ``DELIVERY.json``
(the package's list of files); the delivered stems are compared with the sha256 the vault's
manifest (``stemset.toml``, inside the package) recorded. Problems are named by file:
``missing`` (listed, not there), ``extra`` (there, not listed; ``previews/`` is outside the
checksummed set, and what file managers leave — ``.DS_Store``, ``._*``, ``Thumbs.db``,
``desktop.ini`` — is not the sender's: neither is extra), ``corrupt`` (other bytes), ``manifest`` (the lists disagree),
``sums`` (a checksum file missing or with a line that does not parse).
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from vcs.errors import UsageError
from vcs.manifest import MANIFEST_NAME, Manifest

__all__ = ["DeliveryProblem", "DeliveryReport", "is_delivery", "verify_delivery"]

_SUMS = {"SHA256SUMS": 64, "MD5SUMS": 32}
_LINE = re.compile(r"^([0-9a-fA-F]+) [ *](.+)$")
_DELIVERY = "DELIVERY.json"
_PREVIEWS = "previews"
_CHUNK = 4 << 20


@dataclass
class DeliveryProblem:
    file: str
    kind: str  # missing | extra | corrupt | manifest | sums
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"file": self.file, "kind": self.kind, "message": self.message}


@dataclass
class DeliveryReport:
    path: str
    problems: list[DeliveryProblem] = field(default_factory=list)
    files_checked: int = 0
    cue: str | None = None
    version: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "path": self.path, "delivery": True, "cue": self.cue, "version": self.version,
                "files_checked": self.files_checked, "problems": [p.to_dict() for p in self.problems]}


class _Package:
    """The files of a package, from a folder or from inside a zip (one top folder)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.zf: zipfile.ZipFile | None = None
        self.prefix = ""
        if path.is_file():
            try:
                self.zf = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as e:
                raise UsageError(f"{path} is not a readable zip ({e}): give a delivery folder or zip") from None
            names = [n for n in self.zf.namelist() if not n.endswith("/")]
            sums = [n for n in names if PurePosixPath(n).name == "SHA256SUMS"]
            sums.sort(key=lambda n: n.count("/"))
            if sums:
                self.prefix = sums[0][: -len("SHA256SUMS")]

    def close(self) -> None:
        if self.zf is not None:
            self.zf.close()

    def files(self) -> list[str]:
        """Every file, relative to the package root, "/"-separated (in a zip, a file outside the
        package's folder keeps its full name, with a leading ``../``)."""
        if self.zf is not None:
            return [n[len(self.prefix):] if n.startswith(self.prefix) else f"../{n}"
                    for n in self.zf.namelist() if not n.endswith("/")]
        return sorted(str(p.relative_to(self.path).as_posix()) for p in self.path.rglob("*")
                      if p.is_file() or (p.is_symlink() and not p.is_dir()))

    def open(self, rel: str) -> AbstractContextManager[IO[bytes]]:
        if self.zf is not None:
            return self.zf.open(self.prefix + rel)
        return open(self.path / rel, "rb")

    def exists(self, rel: str) -> bool:
        if self.zf is not None:
            try:
                self.zf.getinfo(self.prefix + rel)
                return True
            except KeyError:
                return False
        return (self.path / rel).is_file()

    def link(self, rel: str) -> bool:
        """Whether ``rel`` in a folder is a symbolic link, or lies under one: not a delivered file,
        and never followed (it may point out of the package)."""
        if self.zf is not None:
            return False
        p = self.path / rel
        return any(q.is_symlink() for q in (p, *p.parents) if q != self.path and self.path in q.parents)

    def read(self, rel: str) -> bytes | None:
        if not self.exists(rel) or self.link(rel):
            return None
        with self.open(rel) as f:
            return f.read()


def is_delivery(path: Path) -> bool:
    """Whether ``path`` looks like a package: a folder with SHA256SUMS or DELIVERY.json, or a zip."""
    if path.is_dir():
        return (path / "SHA256SUMS").is_file() or (path / _DELIVERY).is_file()
    return path.is_file() and zipfile.is_zipfile(path)


def _is_litter(rel: str) -> bool:
    """What file managers drop into a folder they open (Finder's .DS_Store and ._ files,
    Windows' Thumbs.db and desktop.ini): never part of a delivery, never an extra file."""
    name = rel.rsplit("/", 1)[-1]
    return name in (".DS_Store", "Thumbs.db", "desktop.ini") or name.startswith("._")


def _safe_rel(rel: str) -> bool:
    p = PurePosixPath(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts and "\\" not in rel


def _parse_sums(pkg: _Package, name: str, report: DeliveryReport) -> dict[str, str] | None:
    data = pkg.read(name)
    if data is None:
        report.problems.append(DeliveryProblem(name, "sums", f"{name} is missing: the package cannot be "
                                               "checked against it"))
        return None
    out: dict[str, str] = {}
    for i, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        m = _LINE.match(line)
        if not m or len(m.group(1)) != _SUMS[name] or not _safe_rel(m.group(2)):
            report.problems.append(DeliveryProblem(name, "sums", f"{name} line {i} is not '<{_SUMS[name]} hex>  "
                                                   "<relative path>'"))
            continue
        out[m.group(2)] = m.group(1).lower()
    return out


def _hash(pkg: _Package, rel: str) -> tuple[str, str]:
    sha, md5 = hashlib.sha256(), hashlib.md5()
    with pkg.open(rel) as f:
        for buf in iter(lambda: f.read(_CHUNK), b""):
            sha.update(buf)
            md5.update(buf)
    return sha.hexdigest(), md5.hexdigest()


def _listed_files(doc: Any) -> Iterator[dict[str, Any]]:
    if isinstance(doc, dict) and isinstance(doc.get("files"), list):
        for f in doc["files"]:
            if isinstance(f, dict) and isinstance(f.get("file"), str):
                yield f


def verify_delivery(path: Path) -> DeliveryReport:
    """Check a package folder or zip (see the module docstring).

    Raises:
        UsageError: ``path`` is not a package (neither SHA256SUMS nor DELIVERY.json in it).
    """
    pkg = _Package(path)
    try:
        if not (pkg.exists("SHA256SUMS") or pkg.exists(_DELIVERY)):
            raise UsageError(f"{path} is not a stemvault delivery (no SHA256SUMS or {_DELIVERY} in it): give "
                             "the package's folder or zip")
        return _verify(pkg, path)
    finally:
        pkg.close()


def _verify(pkg: _Package, path: Path) -> DeliveryReport:
    report = DeliveryReport(str(path))
    sha = _parse_sums(pkg, "SHA256SUMS", report)
    md5 = _parse_sums(pkg, "MD5SUMS", report)
    doc: Any = None
    raw = pkg.read(_DELIVERY)
    if raw is None:
        report.problems.append(DeliveryProblem(_DELIVERY, "missing", f"{_DELIVERY} is missing: the list of "
                                               "delivered files cannot be checked"))
    else:
        try:
            doc = json.loads(raw)
        except ValueError:
            report.problems.append(DeliveryProblem(_DELIVERY, "corrupt", f"{_DELIVERY} is not JSON"))
    if isinstance(doc, dict):
        report.cue, report.version = str(doc.get("cue", "")) or None, str(doc.get("version", "")) or None
    listed = dict(sha or {})
    for rel in md5 or {}:
        listed.setdefault(rel, "")
    present = set(pkg.files())
    for rel in sorted(listed):
        if rel not in present:
            report.problems.append(DeliveryProblem(rel, "missing", f"{rel} is listed in the checksums but "
                                                   "not in the package"))
            continue
        if pkg.link(rel):
            report.problems.append(DeliveryProblem(rel, "corrupt", f"{rel} is a symbolic link, not a file: "
                                                   "not followed; ask for the file itself"))
            continue
        report.files_checked += 1
        try:
            got_sha, got_md5 = _hash(pkg, rel)
        except OSError as e:
            report.problems.append(DeliveryProblem(rel, "corrupt", f"{rel} cannot be read ({e.strerror or e}): "
                                                   "check its permissions, or ask for it again"))
            continue
        bad = [n for n, want, got in (("sha256", (sha or {}).get(rel), got_sha), ("md5", (md5 or {}).get(rel), got_md5))
               if want and want != got]
        if bad:
            report.problems.append(DeliveryProblem(rel, "corrupt", f"{rel} is damaged: its {' and '.join(bad)} "
                                                   "differ from the checksums; ask for it again"))
        elif sha is not None and md5 is not None and (rel not in sha or rel not in md5):
            which = "MD5SUMS" if rel not in md5 else "SHA256SUMS"
            report.problems.append(DeliveryProblem(rel, "sums", f"{rel} is not in {which}"))
    for rel in sorted(present - set(listed) - set(_SUMS)):
        if rel.split("/", 1)[0] == _PREVIEWS or _is_litter(rel):
            continue
        report.problems.append(DeliveryProblem(rel, "extra", f"{rel} is in the package but in no checksum "
                                               "list: not part of the delivery"))
    _against_lists(pkg, doc, sha or {}, report)
    return report


def _against_lists(pkg: _Package, doc: Any, sha: dict[str, str], report: DeliveryReport) -> None:
    """DELIVERY.json and the vault's manifest against SHA256SUMS."""
    if doc is None:
        return
    manifest: Manifest | None = None
    raw = pkg.read(MANIFEST_NAME)
    if raw is not None:
        try:
            manifest = Manifest.from_toml(raw)
        except UsageError:
            report.problems.append(DeliveryProblem(MANIFEST_NAME, "corrupt", f"{MANIFEST_NAME} does not parse"))
    for f in _listed_files(doc):
        rel = f["file"]
        if rel not in sha:
            report.problems.append(DeliveryProblem(rel, "manifest", f"{rel} is in {_DELIVERY} but not in SHA256SUMS"))
            continue
        if f.get("sha256") and f["sha256"] != sha[rel]:
            report.problems.append(DeliveryProblem(rel, "manifest", f"{rel}: {_DELIVERY} and SHA256SUMS give "
                                                   "different sha256"))
        src = f.get("source")
        if manifest is not None and isinstance(src, str) and "/" not in rel and src != MANIFEST_NAME:
            entry = manifest.stem(src)
            if entry is not None and entry.sha256 and entry.sha256 != sha[rel]:
                report.problems.append(DeliveryProblem(rel, "manifest", f"{rel} is not the {src} the manifest "
                                                       "recorded (other sha256)"))
