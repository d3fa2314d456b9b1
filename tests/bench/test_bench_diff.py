"""Benchmark (issue: diffs between versions): `stemvault diff` from analysis records only, vs
`git diff --stat` of the same two commits, in the same run.

Versions of a 24-stem set (5 min each, 48 kHz/24-bit): 2.0 re-seeds one stem (so it and the mix
change everywhere: the shift detector runs on both), 3.0 halves one stem's level over 10 s (one
region in it and in the mix); each is diffed against 1.0. The vault is built once and kept
in tests/bench/out (git ignores it). Timed: the diff function in-process (a fresh Vault each run,
so GitPython's start is counted), the CLI as a subprocess (Python start-up and imports included),
and `git diff --stat A B`, interleaved; medians of STEMVAULT_BENCH_DIFF_INPROC_REPS (25) in-process
runs, STEMVAULT_BENCH_DIFF_REPS (9) CLI runs, and a git run after each. The load average is
reported with the figures: the machine may be shared.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.bench.common import OUT, SECONDS, STEMS, cached_set, median, report, timed
from tui.cli import main
from tui.commands.diff import run_diff
from vcs.vault import Vault

if TYPE_CHECKING:
    from vcs.diff import VersionDiff

REPS = int(os.environ.get("STEMVAULT_BENCH_DIFF_REPS", "9"))  # CLI runs (each starts Python)
IN_PROCESS_REPS = int(os.environ.get("STEMVAULT_BENCH_DIFF_INPROC_REPS", "25"))
ROOT = Path(__file__).resolve().parents[2]


def _vault() -> Path:
    """1.0; 2.0 (one stem re-seeded: it and the mix differ everywhere); 3.0 (from 1.0: one stem
    at half level over 10 s, the mix there too: one region each)."""
    vault = OUT / f"diff-vault-{STEMS}x{int(SECONDS)}s"
    done = vault / ".git" / "stemvault-bench-complete"
    if done.exists():
        third = vault / ".git" / "stemvault-bench-complete-3"
        if not third.exists():
            v3 = _third_version(cached_set("diff-v1", seed=1), OUT / f"diff-v3-{STEMS}x{int(SECONDS)}s")
            assert main(["-C", str(vault), "commit", "1M03", str(v3), "-m", "v3", "--allow-errors", "bench"]) == 0
            third.write_text("ok")
        return vault
    import shutil

    shutil.rmtree(vault, ignore_errors=True)
    # Its own sets (not the commit bench's), so the two benches never rebuild each other's.
    v1 = cached_set("diff-v1", seed=1)
    v2 = _second_version(v1, OUT / f"diff-v2-{STEMS}x{int(SECONDS)}s")
    assert main(["init", str(vault)]) == 0
    assert main(["-C", str(vault), "commit", "1M03", str(v1), "-m", "v1", "--allow-errors", "bench"]) == 0
    assert main(["-C", str(vault), "commit", "1M03", str(v2), "-m", "v2", "--allow-errors", "bench"]) == 0
    done.write_text("ok")
    return _vault()


def _start_folder(folder: Path, done: Path) -> bool:
    """False when ``folder`` was built completely before; else make it anew, empty."""
    import shutil

    if done.exists():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return True


def _third_version(v1: Path, folder: Path) -> Path:
    """v1 copied, with stem 5 at half level from 2:00 to 2:10 and the mix changed to match
    (exactly: the new stem is on the 24-bit grid, so the null test still holds)."""
    import shutil

    import soundfile as sf

    from tests.bench.common import SR, stem_names

    done = folder / ".complete"
    if not _start_folder(folder, done):
        return folder
    names = stem_names()
    for n in names:
        shutil.copyfile(v1 / n, folder / n)
    lo, n = 120 * SR, 10 * SR
    with sf.SoundFile(folder / names[5], "r+") as st, sf.SoundFile(folder / names[-1], "r+") as mx:
        st.seek(lo)
        old = st.read(n, dtype="float64", always_2d=True)
        new = (old * 2**23 // 2) / 2**23
        st.seek(lo)
        st.write(new)
        mx.seek(lo)
        mix = mx.read(n, dtype="float64", always_2d=True)
        mx.seek(lo)
        mx.write(mix - old + new)
    done.write_text("ok")
    return folder


def _second_version(v1: Path, folder: Path) -> Path:
    """v1 with stem 3 re-seeded and the mix summed again: what ``cached_set("commit-v2",
    changed=3)`` writes, built from v1 instead of synthesizing all 23 stems again."""
    import shutil

    import numpy as np
    import soundfile as sf

    from tests.bench.common import SR, _music_block, stem_names

    done = folder / ".complete"
    if not _start_folder(folder, done):
        return folder
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


# (name, to version, what the diff must find): a stem re-seeded (the shift detector runs on it and
# on the mix: the costly case), and one region of one stem (the common case).
PAIRS = [("reseeded_stem", "2.0", "changed everywhere"), ("one_region", "3.0", "one region")]


def _check(d: VersionDiff, what: str) -> None:
    changed = [s for s in d.stems if s.status != "unchanged"]
    assert len(changed) == 1 and d.mix is not None and d.mix.status == "changed", d.delta
    if what == "one region":
        assert len(changed[0].regions) == 1 and len(d.mix.regions) == 1, d.delta
    else:
        assert changed[0].whole and d.mix.whole, d.delta


@pytest.mark.timeout(0)  # building the vault once takes many minutes
def test_bench_diff() -> None:
    if STEMS < 7 or SECONDS < 130:  # the versions change stem 3, and stem 5 from 2:00 to 2:10
        pytest.skip(f"the diff bench needs STEMVAULT_BENCH_STEMS >= 7 and _SECONDS >= 130 "
                    f"(got {STEMS} and {SECONDS})")
    vault = _vault()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out: dict[str, object] = {}
    for name, to, what in PAIRS:
        v = Vault(vault)
        a, b = v.resolve("1M03@1.0"), v.resolve(f"1M03@{to}")
        v.close()
        rows: dict[str, list[float]] = {"diff_in_process": [], "diff_cli": [], "git_diff_stat": []}

        def inproc(to: str = to, what: str = what) -> None:
            vv = Vault(vault)
            try:
                _check(run_diff(vv, "1M03@1.0", f"1M03@{to}"), what)
            finally:
                vv.close()

        def git_stat(a: str = a.commit, b: str = b.commit) -> None:
            subprocess.run(["git", "diff", "--stat", a, b], cwd=vault, check=True, stdout=subprocess.DEVNULL)

        inproc()  # warm the page cache (and the parsed-manifest cache), as git's first run would be
        git_stat()
        load = [os.getloadavg()[0]]
        # Interleaved, so that a burst of load from another job hits both sides of a ratio alike.
        for i in range(max(REPS, IN_PROCESS_REPS)):
            if i < IN_PROCESS_REPS:
                rows["diff_in_process"].append(timed(inproc))
            if i < REPS:
                rows["diff_cli"].append(timed(lambda to=to: subprocess.run(
                    [sys.executable, "-m", "tui.cli", "-C", str(vault), "diff", "1M03@1.0", f"1M03@{to}", "--json"],
                    env=env, check=True, stdout=subprocess.DEVNULL)))
            rows["git_diff_stat"].append(timed(git_stat))
        load.append(os.getloadavg()[0])
        med = {k: round(median(x) * 1000, 1) for k, x in rows.items()}
        g = med["git_diff_stat"]
        out[name] = {
            "versions": f"1.0 -> {to}", "loadavg_1min_before_after": [round(x, 2) for x in load],
            "median_ms": med,
            "ratio_in_process_vs_git_diff_stat": round(med["diff_in_process"] / g, 2),
            "ratio_cli_vs_git_diff_stat": round(med["diff_cli"] / g, 2),
            "runs_ms": {k: [round(t * 1000, 1) for t in x] for k, x in rows.items()},
        }
    report("diff", out)
