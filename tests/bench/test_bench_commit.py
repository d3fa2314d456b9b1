"""Benchmark (issue: the vault): `stemvault commit` vs plain `git add` + `git commit` with git-lfs.

`stemvault commit` includes the whole analysis (sha256, loudness, true peak, overview,
fingerprints, envelope, null test) and the checks; git-lfs alone hashes and copies.

A clean stem set (the checks pass: no --allow-errors) of 24 stereo stems × 5 min, 48 kHz/24-bit
(about 2 GB), first version, then a version
with one stem changed (a full re-export: every file written anew, one with different audio).
Timed side by side in one run, alternating, median of STEMVAULT_BENCH_REPS.

Peer, version 1: the files are copied into a git-lfs repository's work tree, then `git add` +
`git commit` (copy timed separately, so the ratio is given both with and without it).
Peer, version 2: the re-exported files are copied over the work tree (all of them, as a re-export
does), then `git add` + `git commit`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.common import CONTENT, OUT, REPS, cached_set, median, report, timed

ENV = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@x",
       "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "b@x"}


# The installed entry point, next to this Python (the venv need not be on PATH).
STEMVAULT = str(Path(sys.executable).parent / "stemvault")


def sh(*args: str, cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, env=ENV, check=True, stdout=subprocess.DEVNULL)


def stemvault(*args: str | Path, cwd: Path) -> None:
    subprocess.run([STEMVAULT, *map(str, args)], cwd=cwd, env=ENV, check=True, stdout=subprocess.DEVNULL)


def plain_repo(path: Path) -> None:
    sh("git", "init", "-q", "-b", "main", str(path), cwd=path.parent)
    sh("git", "lfs", "install", "--local", cwd=path)
    sh("git", "lfs", "track", "*.wav", cwd=path)
    sh("git", "add", ".gitattributes", cwd=path)
    sh("git", "commit", "-qm", "init", cwd=path)


def copy_all(src: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for p in sorted(src.glob("*.wav")):
        shutil.copyfile(p, dest / p.name)


def _load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0]) if Path("/proc/loadavg").exists() else -1.0


@pytest.mark.timeout(0)  # full size takes minutes: pytest's 300 s default killed it
def test_bench_commit() -> None:
    if subprocess.run(["git", "lfs", "version"], capture_output=True).returncode != 0:
        pytest.skip("git-lfs is not installed (apt-get install git-lfs): it is the peer of this benchmark")
    load = [_load()]
    v1 = cached_set("commit-v1", seed=1)
    v2 = cached_set("commit-v2", seed=1, changed=3)
    work = OUT / "commit-work"
    rows: dict[str, list[float]] = {k: [] for k in (
        "stemvault_v1", "git_v1_add_commit", "git_v1_copy", "stemvault_v2", "git_v2_add_commit", "git_v2_copy")}
    for _ in range(REPS):
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        # --- plain git + git-lfs
        repo = work / "plain"
        repo.mkdir()
        plain_repo(repo)
        rows["git_v1_copy"].append(timed(lambda: copy_all(v1, repo / "cues/1M03")))
        rows["git_v1_add_commit"].append(timed(lambda: (sh("git", "add", "-A", cwd=repo),
                                                        sh("git", "commit", "-qm", "v1", cwd=repo))))
        rows["git_v2_copy"].append(timed(lambda: copy_all(v2, repo / "cues/1M03")))
        rows["git_v2_add_commit"].append(timed(lambda: (sh("git", "add", "-A", cwd=repo),
                                                        sh("git", "commit", "-qm", "v2", cwd=repo))))
        shutil.rmtree(repo)
        # --- stemvault
        vault = work / "vault"
        stemvault("init", vault, cwd=work)
        rows["stemvault_v1"].append(timed(lambda: stemvault("commit", "1M03", v1, "-m", "v1", cwd=vault)))
        rows["stemvault_v2"].append(timed(lambda: stemvault("commit", "1M03", v2, "-m", "v2", cwd=vault)))
        shutil.rmtree(vault)
        load.append(_load())
    med = {k: round(median(v), 2) for k, v in rows.items()}
    g1 = med["git_v1_add_commit"]
    g2 = med["git_v2_add_commit"]
    report("commit", {
        "content": CONTENT, "loadavg_1min": load, "runs_s": rows, "median_s": med,
        "ratio_v1_vs_git_add_commit": round(med["stemvault_v1"] / g1, 2),
        "ratio_v1_vs_copy_plus_git": round(med["stemvault_v1"] / (g1 + med["git_v1_copy"]), 2),
        "ratio_v2_vs_git_add_commit": round(med["stemvault_v2"] / g2, 2),
        "ratio_v2_vs_copy_plus_git": round(med["stemvault_v2"] / (g2 + med["git_v2_copy"]), 2),
        "target": "<= 2x git-lfs alone (git add + git commit), analysis and checks included",
    })
    shutil.rmtree(work, ignore_errors=True)
