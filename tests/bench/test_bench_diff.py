"""Benchmark (issue: diffs between versions): `stemvault diff` from analysis records only, vs
`git diff --stat` of the same two commits, in the same run.

Two versions of a 24-stem set (5 min each, 48 kHz/24-bit): the second re-seeds one stem (so it
and the mix change everywhere: the shift detector runs on both). The vault is built once and kept
in tests/bench/out (git ignores it). Timed: the diff function in-process (a fresh Vault each run,
so GitPython's start is counted), the CLI as a subprocess (Python start-up and imports included),
and `git diff --stat A B`; medians of STEMVAULT_BENCH_DIFF_REPS (default 9) runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.common import OUT, SECONDS, STEMS, cached_set, median, report, timed
from tui.cli import main
from tui.commands.diff import run_diff
from vcs.vault import Vault

REPS = int(os.environ.get("STEMVAULT_BENCH_DIFF_REPS", "9"))
ROOT = Path(__file__).resolve().parents[2]


def _vault() -> Path:
    vault = OUT / f"diff-vault-{STEMS}x{int(SECONDS)}s"
    done = vault / ".git" / "stemvault-bench-complete"
    if done.exists():
        return vault
    import shutil

    shutil.rmtree(vault, ignore_errors=True)
    v1 = cached_set("commit-v1", seed=1)
    v2 = _second_version(v1, OUT / f"diff-v2-{STEMS}x{int(SECONDS)}s")
    assert main(["init", str(vault)]) == 0
    assert main(["-C", str(vault), "commit", "1M03", str(v1), "-m", "v1", "--allow-errors", "bench"]) == 0
    assert main(["-C", str(vault), "commit", "1M03", str(v2), "-m", "v2", "--allow-errors", "bench"]) == 0
    done.write_text("ok")
    return vault


def _second_version(v1: Path, folder: Path) -> Path:
    """v1 with stem 3 re-seeded and the mix summed again: what ``cached_set("commit-v2",
    changed=3)`` writes, built from v1 instead of synthesizing all 23 stems again."""
    import shutil

    import numpy as np
    import soundfile as sf

    from tests.bench.common import SR, _music_block, stem_names

    done = folder / ".complete"
    if done.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    names = stem_names()
    for n in names[:-1]:
        if n != names[3]:
            shutil.copyfile(v1 / n, folder / n)
    rng = np.random.default_rng(1 * 1000 + 3 + 7777)
    block = SR * 10
    srcs = [sf.SoundFile(folder / n if n != names[3] else v1 / n) for n in names[:-1]]
    new = sf.SoundFile(folder / names[3], "w", SR, 2, subtype="PCM_24")
    mix = sf.SoundFile(folder / names[-1], "w", SR, 2, subtype="PCM_24")
    try:
        left = int(SECONDS * SR)
        while left > 0:
            n = min(block, left)
            total = np.zeros((n, 2))
            for i, f in enumerate(srcs):
                x = f.read(n, dtype="float64", always_2d=True)
                if i == 3:
                    x = _music_block(rng, n, 55.0 * 2 ** (3 % 5))
                    x = np.floor(np.clip(x, -1, 1 - 2**-23) * 2**23) / 2**23
                    new.write(x)
                total += x
            mix.write(np.clip(total, -1, 1 - 2**-23))
            left -= n
    finally:
        for f in [*srcs, new, mix]:
            f.close()
    done.write_text("ok")
    return folder


@pytest.mark.timeout(0)  # building the vault once takes many minutes
def test_bench_diff() -> None:
    vault = _vault()
    v = Vault(vault)
    a, b = v.resolve("1M03@1.0"), v.resolve("1M03@2.0")
    v.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rows: dict[str, list[float]] = {"diff_in_process": [], "diff_cli": [], "git_diff_stat": []}
    for _ in range(REPS):
        def inproc() -> None:
            vv = Vault(vault)
            try:
                d = run_diff(vv, "1M03@1.0", "1M03@2.0")
                assert sum(s.status != "unchanged" for s in d.stems) == 1 and d.mix and d.mix.status == "changed"
            finally:
                vv.close()
        rows["diff_in_process"].append(timed(inproc))
        rows["diff_cli"].append(timed(lambda: subprocess.run(
            [sys.executable, "-m", "tui.cli", "-C", str(vault), "diff", "1M03@1.0", "1M03@2.0", "--json"],
            env=env, check=True, stdout=subprocess.DEVNULL)))
        rows["git_diff_stat"].append(timed(lambda: subprocess.run(
            ["git", "diff", "--stat", a.commit, b.commit], cwd=vault, check=True, stdout=subprocess.DEVNULL)))
    med = {k: round(median(x) * 1000, 1) for k, x in rows.items()}
    g = med["git_diff_stat"]
    report("diff", {
        "runs_ms": {k: [round(t * 1000, 1) for t in x] for k, x in rows.items()}, "median_ms": med,
        "ratio_in_process_vs_git_diff_stat": round(med["diff_in_process"] / g, 2),
        "ratio_cli_vs_git_diff_stat": round(med["diff_cli"] / g, 2),
    })
