"""Nothing is lost when a commit is killed, and two writers never corrupt each other."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import CUE, Runner, git, write_set


def _start(vault: Path, *args: str | Path, pause: str | None = None, marker: Path | None = None,
           lock_wait: float = 5, pause_s: float = 60) -> subprocess.Popen[bytes]:
    env = {**os.environ, "STEMVAULT_LOCK_WAIT": str(lock_wait), "STEMVAULT_TEST_PAUSE_S": str(pause_s)}
    if pause:
        env.update(STEMVAULT_TEST_PAUSE=pause, STEMVAULT_TEST_PAUSE_FILE=str(marker))
    return subprocess.Popen([sys.executable, "-m", "tui.cli", "-C", str(vault), *map(str, args)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def _wait_for(marker: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"exited early: {proc.communicate()}")
        assert time.monotonic() < deadline, "never reached the pause point"
        time.sleep(0.05)


def _fsck(vault: Path) -> None:
    subprocess.run(["git", "fsck", "--strict", "--no-progress"], cwd=vault, check=True, capture_output=True)


@pytest.mark.parametrize("point", ["after-copy", "after-add", "after-commit"])
def test_sigkill_during_commit_leaves_old_or_new_version(
        vault: Path, sv: Runner, tmp_path: Path, point: str) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    old_head = git(vault, "rev-parse", "HEAD")
    # hand edits in the working manifest must survive a rolled-back commit too
    mpath = vault / "cues" / CUE / "stemset.toml"
    mpath.write_text(mpath.read_text().replace('role = "pads"', 'role = "pads" # warm'))
    edited = mpath.read_text()
    write_set(tmp_path / "v2", gains={"STR": 0.5}, roles={"STR": 220.0, "BRS": 330.0, "PERC": 82.41})
    marker = tmp_path / "paused"
    proc = _start(vault, "commit", CUE, tmp_path / "v2", "-m", "second", pause=point, marker=marker)
    _wait_for(marker, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    _fsck(vault)
    head = git(vault, "rev-parse", "HEAD")
    assert head == old_head if point != "after-commit" else head != old_head
    # verify repairs what the killed run left and then finds nothing wrong
    rep = sv.ok("-C", vault, "verify", "--json").json()
    assert rep["ok"], rep["problems"]
    assert git(vault, "status", "--porcelain", "--", "cues") in ("", f" M cues/{CUE}/stemset.toml\n")
    if point != "after-commit":
        assert (vault / "cues" / CUE / "1M03_PAD.wav").exists()  # the removed stem is back
        assert mpath.read_text() == edited
    # and the next commit works without manual repair
    doc = sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "again", "--json").json() \
        if point != "after-commit" else None
    if doc:
        assert doc["version"] == "2.0" and doc["removed"] == ["1M03_PAD.wav"]
        assert "# warm" not in mpath.read_text()  # PAD is gone, with its table
    versions = [v["version"] for v in sv.ok("-C", vault, "log", "--json").json()]
    assert versions == ["2.0", "1.0"]
    _fsck(vault)
    assert sv.ok("-C", vault, "verify", "--json").json()["ok"]


def test_stale_index_lock_from_a_killed_git_is_cleared(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    (vault / ".git" / "index.lock").write_bytes(b"")  # what a SIGKILLed `git add` leaves
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1")
    assert not (vault / ".git" / "index.lock").exists()
    _fsck(vault)


def test_index_lock_held_by_a_live_process_is_refused_clearly(
        vault: Path, sv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_set(tmp_path / "v1")
    lock = vault / ".git" / "index.lock"
    holder = subprocess.Popen([sys.executable, "-c",
                               f"f = open({str(lock)!r}, 'w'); import time; time.sleep(30)"])
    try:
        deadline = time.monotonic() + 10
        while not lock.exists():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        monkeypatch.setenv("STEMVAULT_LOCK_WAIT", "0.5")
        head = git(vault, "rev-parse", "HEAD")
        r = sv("-C", vault, "commit", CUE, tmp_path / "v1")
        assert r.code == 2 and "index.lock" in r.err and r.err.count("\n") == 1
        assert git(vault, "rev-parse", "HEAD") == head and lock.exists()
    finally:
        holder.kill()
        holder.wait()
    # the holder is gone: its lock is now stale and the commit goes through
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1")


def test_two_commits_at_once(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "a")
    write_set(tmp_path / "b", gains={"STR": 0.5})
    marker = tmp_path / "paused"
    # The first commit holds the lock until the test releases it: no timing assumptions.
    first = _start(vault, "commit", CUE, tmp_path / "a", "-m", "A", pause="after-copy", marker=marker,
                   pause_s=120)
    _wait_for(marker, first)
    refused = _start(vault, "commit", CUE, tmp_path / "b", "-m", "B", lock_wait=0.3)
    _, err = refused.communicate(timeout=60)
    assert refused.returncode == 2
    assert err.decode().startswith("error: another stemvault command") and err.count(b"\n") == 1
    waiter = _start(vault, "commit", CUE, tmp_path / "b", "-m", "B", lock_wait=120)
    (tmp_path / "paused.go").touch()
    assert first.wait(timeout=60) == 0, first.communicate()
    assert waiter.wait(timeout=60) == 0, waiter.communicate()
    log = sv.ok("-C", vault, "log", "--json").json()
    assert [(v["version"], v["summary"]) for v in log] == [("2.0", "B"), ("1.0", "A")]
    _fsck(vault)
    assert sv.ok("-C", vault, "verify", "--json").json()["ok"]
