"""vcs.git.Objects is shared by the TUI's worker threads: concurrent reads each get their own object."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.helpers import git
from vcs.git import Objects


def test_objects_reads_from_many_threads_at_once(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q")
    blobs = {}
    for i in range(40):
        data = (f"blob {i}\n" * (50 + 997 * i)).encode()  # of many sizes, so reads interleave
        blobs[git(repo, "hash-object", "-w", "--stdin", input=data).strip()] = data
    names = list(blobs)
    with Objects(repo) as objects:
        def read(k: int) -> bool:
            oid = names[k % len(names)]
            by_rev = objects.read_rev(oid)
            return objects.read(oid) == blobs[oid] and by_rev == blobs[oid]

        with ThreadPoolExecutor(8) as pool:
            assert all(pool.map(read, range(800)))
