"""Benchmark (issue 15): `stemvault export` vs `cp -r` of the same files plus `sha256sum` and
`md5sum` over the copies, in one run.

The set: STEMVAULT_BENCH_STEMS stereo stems × STEMVAULT_BENCH_SECONDS, 48 kHz/24-bit (24 × 5 min
by default, about 2 GB), committed and approved once (not timed). Each repetition exports the
approved version into an empty folder (the stemvault process, start-up included: copies from the
LFS store hashed sha256 + md5 as they are written, fsync'd, manifest, change log, cue sheet,
README, DELIVERY.json, SHA256SUMS, MD5SUMS, the rename into place), then runs the peer: `cp -r`
of the set's folder, `sha256sum` and `md5sum` over the copied files. The order alternates; the
median of STEMVAULT_BENCH_REPS is reported, wall-clock and CPU seconds (user + system of the
child processes: on a loaded machine the wall clock measures the neighbours). The peer is also timed with a final `sync`, since the
export fsyncs every file it writes and `cp` does not.

Target: export ≤ 0.8 × the peer (one read per file, the two hashes while copying).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.common import CONTENT, OUT, REPS, cached_set, median, report, timed

ENV = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@x",
       "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "b@x"}
STEMVAULT = str(Path(sys.executable).parent / "stemvault")


def _stemvault(*args: str | Path, cwd: Path) -> None:
    subprocess.run([STEMVAULT, *map(str, args)], cwd=cwd, env=ENV, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def _sh(script: str, cwd: Path) -> None:
    subprocess.run(["bash", "-c", script], cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def _cpu_children() -> float:
    """User + system CPU seconds of every finished child process so far (bash, cp, sha256sum and
    md5sum are children of the shell, which waits for them): a figure the load barely moves."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0]) if Path("/proc/loadavg").exists() else -1.0


@pytest.mark.timeout(0)
def test_bench_export() -> None:
    for tool in ("sha256sum", "md5sum", "cp"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is the peer of this benchmark")
    src = cached_set("export", seed=5)
    work = OUT / "export-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    vault = work / "vault"
    _stemvault("init", vault, cwd=work)
    _stemvault("-C", vault, "commit", "1M03", src, "-m", "bench", cwd=work)
    _stemvault("-C", vault, "approve", "1M03@1.0", cwd=work)
    size = sum(p.stat().st_size for p in src.glob("*.wav"))
    load = [_load()]
    rows: dict[str, list[float]] = {"export": [], "cp_sha256sum_md5sum": [], "cp_sha256sum_md5sum_sync": []}
    cpu: dict[str, list[float]] = {k: [] for k in rows}
    peer = ("cp -r {src} {dst} && cd {dst} && sha256sum *.wav >/dev/null && md5sum *.wav >/dev/null")
    for i in range(REPS):
        for which in (("export", "peer", "peer_sync") if i % 2 == 0 else ("peer_sync", "peer", "export")):
            out = work / "out"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            _sh("sync", work)  # what the previous step left dirty is not charged to the next
            before = _cpu_children()
            if which == "export":
                key = "export"
                rows[key].append(timed(lambda: _stemvault("-C", vault, "export", "1M03@approved", out,
                                                          cwd=work)))
            else:
                script = peer.format(src=src, dst=out / "copy") + (" && sync" if which == "peer_sync" else "")
                key = "cp_sha256sum_md5sum" + ("_sync" if which == "peer_sync" else "")
                rows[key].append(timed(lambda s=script: _sh(s, work)))  # type: ignore[misc]
            cpu[key].append(round(_cpu_children() - before, 2))
        load.append(_load())
    med = {k: round(median(v), 2) for k, v in rows.items()}
    med_cpu = {k: round(median(v), 2) for k, v in cpu.items()}
    report("export", {
        "content": CONTENT, "bytes": size, "loadavg_1min": load, "runs_s": rows, "median_s": med,
        "cpu_s": cpu, "median_cpu_s": med_cpu,
        "cpu_ratio_vs_cp_sha256sum_md5sum": round(med_cpu["export"] / med_cpu["cp_sha256sum_md5sum"], 2),
        "ratio_vs_cp_sha256sum_md5sum": round(med["export"] / med["cp_sha256sum_md5sum"], 2),
        "ratio_vs_cp_sha256sum_md5sum_sync": round(med["export"] / med["cp_sha256sum_md5sum_sync"], 2),
        "target": "<= 0.8x cp -r + sha256sum + md5sum",
    })
    shutil.rmtree(work, ignore_errors=True)
