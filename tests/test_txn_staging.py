"""Staging folders: each process has its own, and recovery removes only those of dead processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from vcs import txn
from vcs.vault import Vault


def test_recovery_sweeps_only_dead_owners(vault: Path) -> None:
    v = Vault(vault)
    try:
        incoming = v.git_dir / "stemvault" / "incoming"
        mine = txn.staging_dir(v)
        (mine / "read").mkdir(parents=True)
        (mine / "read" / "a.wav").write_bytes(b"x")
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            start = txn._start_time(alive.pid)
            other = incoming / f"{alive.pid}-{start}"
            other.mkdir()
            reused = incoming / f"{alive.pid}-{int(start or 0) + 1}"  # that pid, another process
            reused.mkdir()
            gone = [incoming / f"{dead.pid}-123", incoming / f"read-{dead.pid}"]
            for g in gone:
                g.mkdir()
            stray = incoming / f"{dead.pid}-1M03_MIX.wav"
            stray.write_bytes(b"x")
            txn.recover(v)
            assert (mine / "read" / "a.wav").exists() and other.is_dir()
            assert not reused.exists() and not stray.exists() and not any(g.exists() for g in gone)
        finally:
            alive.kill()
            alive.wait()
        txn.recover(v)
        assert not other.exists() and mine.is_dir()
    finally:
        v.close()
