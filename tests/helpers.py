"""Test helpers: synthesized stem sets on disk, running the CLI, reading git directly."""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from tui.cli import main

SR = 48000
CUE = "1M03"
ROLES = {"STR": 220.0, "BRS": 330.0, "PERC": 82.41, "PAD": 146.83}


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Runner:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *args: str | Path) -> Result:
        self.capsys.readouterr()
        code = main([str(a) for a in args])
        cap = self.capsys.readouterr()
        return Result(code, cap.out, cap.err)

    def ok(self, *args: str | Path) -> Result:
        r = self(*args)
        assert r.code == 0, f"stemvault {' '.join(map(str, args))} → {r.code}\n{r.out}\n{r.err}"
        return r


def tone(freq: float, seconds: float, amp: float = 0.2, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    x = amp * np.sin(2 * np.pi * freq * t) * (1 - np.exp(-t * 20))
    return np.stack([x, 0.9 * x], axis=1)


def write_set(folder: Path, *, cue: str = CUE, seconds: float = 2.0, gains: dict[str, float] | None = None,
              roles: dict[str, float] | None = None, mix: bool = True, subtype: str = "PCM_24") -> dict[str, str]:
    """Write a stem set (one tone per role) and its mix; return {file name: sha256}."""
    folder.mkdir(parents=True, exist_ok=True)
    gains = gains or {}
    stems = {}
    for role, f in (roles or ROLES).items():
        stems[role] = tone(f, seconds) * gains.get(role, 1.0)
        sf.write(folder / f"{cue}_{role}.wav", stems[role], SR, subtype=subtype)
    if mix:
        sf.write(folder / f"{cue}_MIX.wav", sum(stems.values()), SR, subtype=subtype)
    return {p.name: sha256(p) for p in folder.iterdir()}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          input=input).stdout.decode()


def git_bytes(cwd: Path, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True).stdout


def lfs_objects(vault: Path) -> set[str]:
    root = vault / ".git" / "lfs" / "objects"
    return {p.name for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def snapshot(path: Path) -> dict[str, str]:
    """Every file under ``path`` (outside .git) with its hash: to assert nothing changed."""
    return {str(p.relative_to(path)): sha256(p) for p in sorted(path.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(path).parts}


def vault_state(vault: Path) -> tuple[str, str, dict[str, str]]:
    """HEAD, `git status`, and the files: what a failed command must leave unchanged."""
    return (git(vault, "rev-parse", "HEAD"), git(vault, "status", "--porcelain"), snapshot(vault))
