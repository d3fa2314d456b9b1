"""A cache of source files' hashes by their stat, so unchanged exports are not measured again.

Public surface:
    load(vault) -> dict; lookup(cache, path) -> sha | None; remember(vault, [(path, sha)])

Like git's index: a file whose path, size, mtime (ns) and inode are what they were when it was
last committed is taken to hold the same bytes. The hash is still computed while the file is
read for the null test, and a mismatch throws the cache's word away (vcs.commit.read_source).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vcs.vault import Vault

__all__ = ["load", "lookup", "remember"]

_MAX_ENTRIES = 20000


def _path(vault: Vault) -> Path:
    return vault.git_dir / "stemvault" / "statcache.json"


def _key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]


def load(vault: Vault) -> dict[str, Any]:
    try:
        data = json.loads(_path(vault).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def lookup(cache: dict[str, Any], path: Path) -> str | None:
    try:
        st = path.stat()
    except OSError:
        return None
    hit = cache.get(str(path.resolve()))
    if isinstance(hit, list) and len(hit) == 2 and hit[0] == _key(st):
        return str(hit[1])
    return None


def remember(vault: Vault, files: list[tuple[Path, str]]) -> None:
    """Record the stat and hash of ``files`` (best effort: a cache, never needed for correctness)."""
    cache = load(vault)
    for path, sha in files:
        with contextlib.suppress(OSError):
            cache[str(path.resolve())] = [_key(path.stat()), sha]
    if len(cache) > _MAX_ENTRIES:
        cache = dict(list(cache.items())[-_MAX_ENTRIES:])
    p = _path(vault)
    with contextlib.suppress(OSError):
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(cache))
        os.replace(tmp, p)
