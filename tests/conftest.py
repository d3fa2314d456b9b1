"""Fixtures: a private HOME with a git identity and git-lfs filters, real vaults in tmp_path."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import Runner


@pytest.fixture(scope="session")
def _home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    env = {**os.environ, "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1"}
    for k in ("user.name=Ada Composer", "user.email=ada@composer.example", "init.defaultBranch=main"):
        key, val = k.split("=", 1)
        subprocess.run(["git", "config", "--global", key, val], env=env, check=True)
    subprocess.run(["git", "lfs", "install", "--skip-repo"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return home


@pytest.fixture(autouse=True)
def home(_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test runs with its own HOME: the user's git config never leaks in or out."""
    monkeypatch.setenv("HOME", str(_home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("STEMVAULT_LOCK_WAIT", "5")
    for k in list(os.environ):
        if k.startswith("GIT_") and k != "GIT_CONFIG_NOSYSTEM":
            monkeypatch.delenv(k)
    return _home


@pytest.fixture
def sv(capsys: pytest.CaptureFixture[str]) -> Runner:
    """Run ``stemvault`` in-process: ``sv("-C", vault, "log", "--json")`` → Result."""
    return Runner(capsys)


@pytest.fixture
def vault(tmp_path: Path, sv: Runner) -> Path:
    """An empty vault."""
    path = tmp_path / "film"
    sv.ok("init", str(path))
    return path
