"""commit_version's progress and cancel: a cancelled commit commits nothing and leaves no staging."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers import CUE, Runner, git, write_set
from vcs.commit import commit_version
from vcs.errors import Cancelled
from vcs.vault import Vault

EIGHT = {f"S{i}": 110.0 * (i + 1) for i in range(8)}


def incoming(vault: Path) -> list[Path]:
    root = vault / ".git" / "stemvault" / "incoming"
    return list(root.iterdir()) if root.exists() else []


@pytest.mark.parametrize("seconds, roles", [(3.0, None), (20.0, EIGHT)], ids=["in-process", "worker-processes"])
def test_cancel_during_the_analysis_commits_nothing(vault: Path, sv: Runner, tmp_path: Path,
                                                    seconds: float, roles: dict[str, float] | None) -> None:
    # 8 stems x 20 s (and a mix) is more than the analysis does in one process: it runs in workers
    write_set(tmp_path / "src", seconds=seconds, roles=roles)
    head = git(vault, "rev-parse", "HEAD")
    cancel = threading.Event()
    seen: list[tuple[str, float]] = []

    def progress(name: str, share: float) -> None:
        seen.append((name, share))
        if share > 0:
            cancel.set()

    v = Vault.find(vault)
    try:
        with pytest.raises(Cancelled):
            commit_version(v, CUE, tmp_path / "src", progress=progress, cancel=cancel)
    finally:
        v.close()
    assert any(share > 0 for _, share in seen) and all(share < 1 for _, share in seen)
    assert git(vault, "rev-parse", "HEAD") == head
    assert git(vault, "status", "--porcelain") == ""
    assert incoming(vault) == []
    assert sv.ok("-C", vault, "log", "--json").json() == []


def test_progress_reaches_every_file(vault: Path, sv: Runner, tmp_path: Path) -> None:
    names = set(write_set(tmp_path / "src", seconds=3.0))
    seen: dict[str, list[float]] = {}
    v = Vault.find(vault)
    try:
        commit_version(v, CUE, tmp_path / "src", progress=lambda n, s: seen.setdefault(n, []).append(s))
    finally:
        v.close()
    assert set(seen) == names
    for shares in seen.values():  # 3 s read one second a step: 0, 1/3, 2/3, 1
        assert shares == sorted(shares) and shares[0] == 0.0 and shares[-1] == 1.0 and len(shares) == 4
    assert [e["version"] for e in sv.ok("-C", vault, "log", "--json").json()] == ["1.0"]
    assert incoming(vault) == []


def test_worker_processes_start_when_stderr_is_captured(tmp_path: Path) -> None:
    """A TUI captures stderr (Textual's capture has fileno() -1): the analysis's worker
    processes must still start (a fresh interpreter: the resource tracker not yet running)."""
    write_set(tmp_path / "src", seconds=2.0)
    script = f"""
import sys
from pathlib import Path
from audio.analysis import FileSpec, analyze_set

class Captured:
    def write(self, s): return len(s)
    def flush(self): pass
    def fileno(self): return -1

if __name__ == "__main__":
    sys.stderr = Captured()
    folder = Path({str(tmp_path / "src")!r})
    a = analyze_set([FileSpec(p, p.name) for p in sorted(folder.iterdir())], mix="{CUE}_MIX.wav", workers=2)
    print(sorted(a.records) == sorted(p.name for p in folder.iterdir()), a.null_test is not None)
"""
    (tmp_path / "run.py").write_text(script)
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, str(tmp_path / "run.py")], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(root)}, timeout=300)
    assert (proc.returncode, proc.stdout) == (0, "True True\n"), proc.stderr
