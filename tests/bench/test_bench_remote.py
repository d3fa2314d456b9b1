"""Benchmark (issue 12: working together over SSH): what a lazy clone costs on the wire, how long
it takes next to a full `git clone`, and how fast `stemvault fetch` moves audio through our
`git-lfs-transfer` next to `scp` of the same objects.

The vault: STEMVAULT_BENCH_REMOTE_CUES (10) cues × _VERSIONS (10) versions × _STEMS (12) stems
of _SECONDS (60) s, stereo 48 kHz/24-bit (17.3 MB per file); the last stem is the mix, the exact
sum of the others. Version 1 of each cue is new audio; each later version re-seeds 1–3 stems of
the one before (so the mix changes too) and keeps the others byte for byte, so the versions share
LFS objects as a real vault does. Every version goes through `stemvault commit` (analysis,
checks, records committed), the vault goes to a bare repository made by `stemvault server init`
with `stemvault push` over SSH (objects through git-lfs-transfer). The server repository is kept
in STEMVAULT_BENCH_REMOTE_DIR (/tmp/stemvault-bench-remote) so that reruns skip the build.

The server: Debian's sshd on 127.0.0.1 (tests/sshd.py), whose sessions find a
`git-lfs-transfer` that runs this checkout's vcs.lfs_transfer.

Measured:
- bytes: every TCP byte between the client's ssh and sshd (both directions, SSH framing and
  encryption included) through a counting relay on 127.0.0.1, for `stemvault clone --lazy`, then
  `stemvault log` and `stemvault diff` of every pair of neighbouring versions in the clone;
  divided by the audio bytes (the sizes of the distinct LFS objects on the server).
- clone time: `stemvault clone --lazy` vs plain `git clone` (git-lfs smudges the checked-out
  versions' audio over the same ssh URL), interleaved, straight to sshd (no relay), median of
  STEMVAULT_BENCH_REMOTE_REPS (3).
- fetch throughput: `stemvault fetch CUE@VER --all` for every version (every object of the vault
  arrives, checked; the latest versions are also checked out) vs one `scp -O` of the same object
  files from the server's lfs/objects (same count and bytes), and `git lfs fetch --all` (one
  git-lfs run for everything: the transfer program without the per-version start-up),
  interleaved, medians of STEMVAULT_BENCH_REMOTE_FETCH_REPS (= _REPS); one version's 12 objects
  likewise (one `stemvault fetch --all` vs one scp). `scp -O`: the classic scp protocol, because
  the test sshd has no sftp subsystem (OpenSSH 9's scp uses sftp by default); same ssh options
  and cipher as git's ssh.
Each step's wall time and CPU seconds, on the client (this process's finished children) and on the
server (sshd's finished sessions), are reported; so is the 1-min load average: the machine may be
shared. STEMVAULT_BENCH_REMOTE_PARTS (bytes,clone,fetch) picks the parts to run; the others keep
their figures from tests/bench/out/remote.json.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.bench.common import OUT, ROLES, SR, _music_block, median, report
from tests.sshd import Sshd, running_sshd

ROOT = Path(__file__).resolve().parents[2]
CUES = int(os.environ.get("STEMVAULT_BENCH_REMOTE_CUES", "10"))
VERSIONS = int(os.environ.get("STEMVAULT_BENCH_REMOTE_VERSIONS", "10"))
STEMS = int(os.environ.get("STEMVAULT_BENCH_REMOTE_STEMS", "12"))
SECONDS = float(os.environ.get("STEMVAULT_BENCH_REMOTE_SECONDS", "60"))
REPS = int(os.environ.get("STEMVAULT_BENCH_REMOTE_REPS", "3"))
# Which parts run (bytes, clone, fetch); a part not run keeps its figures from the last report.
PARTS = set(os.environ.get("STEMVAULT_BENCH_REMOTE_PARTS", "bytes,clone,fetch").split(","))
FETCH_REPS = int(os.environ.get("STEMVAULT_BENCH_REMOTE_FETCH_REPS", str(REPS)))
CACHE = Path(os.environ.get("STEMVAULT_BENCH_REMOTE_DIR", "/tmp/stemvault-bench-remote"))
STEMVAULT = str(Path(sys.executable).parent / "stemvault")
GENERATOR = 1  # in the cache folder's name: a vault made by an older generator is not reused
SIZE = f"{CUES}x{VERSIONS}x{STEMS}x{int(SECONDS)}s-g{GENERATOR}"
IDENTITY = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@x",
            "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "b@x"}


def cue_name(i: int) -> str:
    return f"1M{i + 1:02d}"


def names(cue: str) -> list[str]:
    return [*(f"{cue}_{ROLES[i]}.wav" for i in range(STEMS - 1)), f"{cue}_MIX.wav"]


# ----- the vault ------------------------------------------------------------------------------

def _write_stem(path: Path, seed: int, role: int) -> None:
    rng = np.random.default_rng(seed)
    x = _music_block(rng, int(SECONDS * SR), 55.0 * 2 ** (role % 5))
    sf.write(path, np.floor(np.clip(x, -1, 1 - 2**-23) * 2**23) / 2**23, SR, subtype="PCM_24")


def _write_mix(folder: Path, cue: str) -> None:
    files = names(cue)
    mix = sum(sf.read(folder / f, dtype="float64", always_2d=True)[0] for f in files[:-1])
    assert isinstance(mix, np.ndarray) and np.abs(mix).max() < 1.0, "the bench mix clips"
    sf.write(folder / files[-1], mix, SR, subtype="PCM_24")


def _export(folder: Path, cue_i: int, version: int) -> list[str]:
    """Make ``folder`` version ``version`` (1-based) of cue ``cue_i``: version 1 all new, later
    versions re-seed 1–3 stems of the previous one (and the mix). The files changed."""
    cue = cue_name(cue_i)
    files = names(cue)
    if version == 1:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        changed = list(range(STEMS - 1))
    else:
        rng = np.random.default_rng(cue_i * 100 + version)
        k = int(rng.integers(1, 4))
        changed = sorted(int(i) for i in rng.choice(STEMS - 1, size=min(k, STEMS - 1), replace=False))
    for i in changed:
        _write_stem(folder / files[i], cue_i * 10_000 + version * 100 + i, i)
    _write_mix(folder, cue)
    return [files[i] for i in changed] + [files[-1]]


def _sv(*args: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([STEMVAULT, *map(str, args)], cwd=cwd, env=env, check=True,
                          capture_output=True)


def _run(*args: str | Path, cwd: Path, env: dict[str, str]) -> None:
    subprocess.run([str(a) for a in args], cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)


def _server_repo(sshd: Sshd, env: dict[str, str]) -> Path:
    """The bare repository on the 'server', built once (cached in CACHE)."""
    bare = CACHE / f"server-{SIZE}.git"
    done = CACHE / f"server-{SIZE}.complete"
    if done.exists():
        return bare
    shutil.rmtree(bare, ignore_errors=True)
    work = CACHE / "build"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    vault = work / "vault"
    t0 = time.perf_counter()
    _sv("init", vault, cwd=work, env=env)
    for c in range(CUES):
        export = work / "export"
        for v in range(1, VERSIONS + 1):
            _export(export, c, v)
            _sv("-C", vault, "commit", cue_name(c), export, "-m", f"v{v}", cwd=work, env=env)
            print(f"built {cue_name(c)} v{v} at {time.perf_counter() - t0:.0f} s", flush=True)
    _sv("server", "init", bare, cwd=work, env=env)
    subprocess.run(["git", "remote", "add", "origin", _url(sshd, bare)], cwd=vault, env=env, check=True)
    subprocess.run(["git", "config", "lfs.ssh.automultiplex", "false"], cwd=vault, env=env, check=True)
    t1 = time.perf_counter()
    _sv("-C", vault, "push", cwd=work, env=env)
    print(f"pushed in {time.perf_counter() - t1:.0f} s", flush=True)
    (CACHE / f"build-{SIZE}.txt").write_text(
        f"build (synthesis + commits) {t1 - t0:.0f} s, push over ssh {time.perf_counter() - t1:.0f} s\n")
    shutil.rmtree(work)  # the composer's vault is not needed again: the server holds everything
    done.write_text("ok")
    return bare


# ----- the network --------------------------------------------------------------------------

def _url(sshd: Sshd, bare: Path, port: int | None = None) -> str:
    return f"ssh://{sshd.user}@127.0.0.1:{port or sshd.port}{bare}"


class Relay:
    """A TCP relay 127.0.0.1:port → sshd that counts the bytes it carries, both directions."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.up = 0  # client → server
        self.down = 0  # server → client
        self.connections = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._pipe, args=(client, server, "up"), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, "down"), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, way: str) -> None:
        try:
            while data := src.recv(1 << 16):
                dst.sendall(data)
                with self.lock:
                    setattr(self, way, getattr(self, way) + len(data))
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def total(self) -> int:
        with self.lock:
            return self.up + self.down

    def close(self) -> None:
        self.sock.close()


@contextmanager
def _server(d: Path) -> Iterator[Sshd]:
    bin_dir = d / "bin"
    bin_dir.mkdir(parents=True)
    wrapper = bin_dir / "git-lfs-transfer"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m vcs.lfs_transfer "$@"\n')
    wrapper.chmod(0o755)
    with running_sshd(d, path=f"{bin_dir}:/usr/local/bin:/usr/bin:/bin") as sshd:
        yield sshd


def _lfs_objects(git_dir: Path) -> list[Path]:
    root = git_dir / "lfs" / "objects"
    return sorted(p for p in root.rglob("*") if p.is_file() and len(p.name) == 64) if root.exists() else []


def _sshd_pid(d: Path) -> int | None:
    """The listening sshd started with ``d``/cfg (its reaped children's CPU is the server side's)."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(d / "cfg") in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    return int(proc.name)
            except OSError:
                continue
    return None


class Meter:
    """Wall time and CPU seconds of one step: on the client (this process's waited-for children:
    git, git-lfs, ssh, scp, stemvault) and on the server (sshd's and its finished sessions'
    children: the transfer program, git upload-pack, scp -f)."""

    def __init__(self, sshd_pid: int | None) -> None:
        self.pid = sshd_pid
        self.tick = os.sysconf("SC_CLK_TCK")

    def _server(self) -> float:
        if self.pid is None:
            return float("nan")
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / self.tick  # utime stime cutime cstime

    def __call__(self, fn: Callable[[], object]) -> dict[str, float]:
        c0, s0, t0 = _children_cpu(), self._server(), time.perf_counter()
        fn()
        t1 = time.perf_counter()
        time.sleep(0.2)  # let sshd reap the session that just ended
        return {"wall": t1 - t0, "client_cpu": _children_cpu() - c0, "server_cpu": self._server() - s0}


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _medians(rows: dict[str, list[dict[str, float]]]) -> dict[str, float]:
    return {k: median([r["wall"] for r in v]) for k, v in rows.items()}


def _summary(rows: dict[str, list[dict[str, float]]]) -> dict[str, object]:
    return {"median_s": {k: round(v, 2) for k, v in _medians(rows).items()},
            "median_cpu_s": {k: {"client": round(median([r["client_cpu"] for r in v]), 2),
                                 "server": round(median([r["server_cpu"] for r in v]), 2)} for k, v in rows.items()},
            "runs_s": {k: [round(r["wall"], 2) for r in v] for k, v in rows.items()}}


def _version_oids(clone: Path, ref: str, env: dict[str, str]) -> set[str]:
    import json

    shown = json.loads(_sv("-C", clone, "show", ref, "--json", cwd=clone, env=env).stdout)
    return {st["sha256"] for st in shown["stems"]}


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _versions(clone: Path, env: dict[str, str]) -> list[tuple[str, str]]:
    import json

    log = json.loads(_sv("-C", clone, "log", "--json", cwd=clone, env=env).stdout)
    return [(v["cue"], v["version"]) for v in log]


@pytest.mark.timeout(0)  # building the vault takes many minutes; each rep moves gigabytes
def test_bench_remote(tmp_path_factory: pytest.TempPathFactory) -> None:
    if subprocess.run(["git", "lfs", "version"], capture_output=True).returncode != 0:
        pytest.skip("git-lfs is not installed (apt-get install git-lfs)")
    CACHE.mkdir(parents=True, exist_ok=True)
    home = tmp_path_factory.mktemp("home")
    env = {**os.environ, **IDENTITY, "HOME": str(home), "LC_ALL": "C.UTF-8", "GIT_TERMINAL_PROMPT": "0",
           "PYTHONPATH": str(ROOT)}
    subprocess.run(["git", "lfs", "install", "--skip-repo"], env=env, check=True, stdout=subprocess.DEVNULL)
    # git-lfs 3.3 can hang with SSH multiplexing on (issue 12): off for the plain git runs too.
    env["GIT_CONFIG_COUNT"] = "1"
    env["GIT_CONFIG_KEY_0"] = "lfs.ssh.automultiplex"
    env["GIT_CONFIG_VALUE_0"] = "false"
    sshd_dir = tmp_path_factory.mktemp("sshd")
    with _server(sshd_dir) as sshd:
        env["GIT_SSH_COMMAND"] = sshd.git_ssh_command()
        t_build = time.perf_counter()
        bare = _server_repo(sshd, env)
        built_now = time.perf_counter() - t_build
        objects = _lfs_objects(bare)
        audio = sum(p.stat().st_size for p in objects)
        scratch = CACHE / "runs"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        previous = OUT / "remote.json"
        kept = json.loads(previous.read_text()) if previous.exists() else {}
        out: dict[str, object] = {
            **{k: kept[k] for k in ("bytes", "clone", "fetch") if k in kept and k not in PARTS},
            "stems": STEMS, "seconds": SECONDS, "reps": REPS,  # this bench's, not common.py's
            "vault": {"cues": CUES, "versions_per_cue": VERSIONS, "stems": STEMS, "seconds": SECONDS,
                      "format": "stereo 48 kHz 24-bit WAV", "lfs_objects": len(objects), "audio_bytes": audio,
                      "built_this_run_s": round(built_now, 1),
                      "build_log": (CACHE / f"build-{SIZE}.txt").read_text().strip()
                      if (CACHE / f"build-{SIZE}.txt").exists() else None}}

        # --- bytes on the wire: lazy clone + log + diff of neighbours, through the counting relay
        lazy = scratch / "lazy-counted"
        versions = _part_bytes(sshd, bare, env, lazy, out, audio) if "bytes" in PARTS else []
        url = _url(sshd, bare)
        if not versions:
            _sv("clone", url, lazy, "--lazy", cwd=scratch, env=env)
            versions = _versions(lazy, env)
        meter = Meter(_sshd_pid(sshd_dir))
        if "clone" in PARTS:
            _part_clone(url, scratch, env, meter, out)
        if "fetch" in PARTS:
            _part_fetch(sshd, url, scratch, env, meter, out, objects, versions)
        shutil.rmtree(scratch, ignore_errors=True)
    report("remote", out)


def _part_bytes(sshd: Sshd, bare: Path, env: dict[str, str], lazy: Path, out: dict[str, object],
                audio: int) -> list[tuple[str, str]]:
    """Lazy clone, log, diff of every pair of neighbours, through the counting relay; the versions."""
    relay = Relay(sshd.port)
    # git's ssh gets the port from GIT_SSH_COMMAND's -p (ssh keeps the first -p it is given)
    counted = {**env, "GIT_SSH_COMMAND": dataclasses.replace(sshd, port=relay.port).git_ssh_command()}
    load = [_load()]
    t = time.perf_counter()
    _sv("clone", _url(sshd, bare, relay.port), lazy, "--lazy", cwd=lazy.parent, env=counted)
    clone_bytes, clone_conns = relay.total(), relay.connections
    t_clone = time.perf_counter() - t
    assert _lfs_objects(lazy / ".git") == []
    versions = _versions(lazy, counted)
    assert len(versions) == CUES * VERSIONS, versions
    pairs = 0
    by_cue: dict[str, list[str]] = {}
    for cue, ver in versions:
        by_cue.setdefault(cue, []).append(ver)
    t = time.perf_counter()
    for cue, vers in by_cue.items():
        vers = sorted(vers, key=lambda s: tuple(int(x) for x in s.split(".")))
        for a, b in itertools.pairwise(vers):
            _sv("-C", lazy, "diff", f"{cue}@{a}", f"{cue}@{b}", cwd=lazy, env=counted)
            pairs += 1
    t_diffs = time.perf_counter() - t
    assert _lfs_objects(lazy / ".git") == []  # nothing fetched audio
    total = relay.total()
    log_diff_conns = relay.connections - clone_conns
    lazy_size = _du(lazy)  # the whole clone: .git (history, records, caches) and the pointers
    # what one `fetch CUE@VER --all` costs in connections and bytes (not part of the fraction)
    before, conns = relay.total(), relay.connections
    cue, ver = versions[-1]
    _sv("-C", lazy, "fetch", f"{cue}@{ver}", "--all", cwd=lazy, env=counted)
    one_fetch = {"version": f"{cue}@{ver}", "ssh_connections": relay.connections - conns,
                 "wire_bytes": relay.total() - before,
                 "object_bytes": sum(p.stat().st_size for p in _lfs_objects(lazy / ".git"))}
    relay.close()
    load.append(_load())
    out["bytes"] = {
        "lazy_clone_bytes": clone_bytes, "ssh_connections_clone": clone_conns,
        "log_and_diffs_bytes": total - clone_bytes, "ssh_connections_log_and_diffs": log_diff_conns,
        "diff_pairs": pairs, "total_bytes": total, "audio_bytes": audio,
        "fraction_of_audio_pct": round(100 * total / audio, 3), "target_pct": 1.0,
        "lazy_clone_on_disk_bytes": lazy_size,
        "lazy_clone_s_via_relay": round(t_clone, 1), "log_and_diffs_s": round(t_diffs, 1),
        "loadavg_before_after": load, "one_fetch_through_the_relay": one_fetch}
    report("remote", out)  # each part as it is done: a full run takes long
    return versions


def _part_clone(url: str, scratch: Path, env: dict[str, str], meter: Meter, out: dict[str, object]) -> None:
    """`stemvault clone --lazy` vs plain `git clone` (smudging the checked-out audio), interleaved."""
    rows: dict[str, list[dict[str, float]]] = {"stemvault_clone_lazy": [], "git_clone_full": []}
    load = [_load()]
    smudged = 0
    for i in range(REPS):
        d = scratch / f"lazy{i}"
        rows["stemvault_clone_lazy"].append(meter(partial(_sv, "clone", url, d, "--lazy", cwd=scratch, env=env)))
        shutil.rmtree(d)
        d = scratch / f"full{i}"
        rows["git_clone_full"].append(meter(partial(_run, "git", "clone", "--quiet", url, d, cwd=scratch, env=env)))
        smudged = len(_lfs_objects(d / ".git"))
        assert smudged == CUES * STEMS  # every cue's latest version came down, nothing more
        shutil.rmtree(d)
    load.append(_load())
    med = _medians(rows)
    out["clone"] = {**_summary(rows), "loadavg_before_after": load, "full_clone_lfs_objects": smudged,
                    "ratio_lazy_vs_full": round(med["stemvault_clone_lazy"] / med["git_clone_full"], 3)}
    report("remote", out)


def _part_fetch(sshd: Sshd, url: str, scratch: Path, env: dict[str, str], meter: Meter, out: dict[str, object],
                objects: list[Path], versions: list[tuple[str, str]]) -> None:
    """Every version's audio by `stemvault fetch CUE@VER --all`, and by one `git lfs fetch --all`,
    vs one `scp -O` of the same object files; one version's likewise. Interleaved, reported
    after every rep."""
    audio = sum(p.stat().st_size for p in objects)
    base = scratch / "fetch-base"
    _sv("clone", url, base, "--lazy", cwd=scratch, env=env)
    scp = ["scp", "-O", "-T", "-q", *sshd.ssh_options().replace("-p ", "-P ", 1).split()]

    def scp_args(files: list[Path]) -> list[str]:
        # one remote argument naming every file: the classic protocol sends them all over one
        # connection (one argument per file would open one connection each); -T: scp does not
        # check the names that come back against the one argument (they are the same files)
        return [*scp, f"{sshd.user}@127.0.0.1:" + " ".join(str(p) for p in files)]

    def fresh(name: str) -> Path:
        d = scratch / name
        shutil.copytree(base, d, symlinks=True)
        return d

    one_cue, one_ver = versions[0]  # a cue's latest version: its files are also checked out
    wanted = _version_oids(base, f"{one_cue}@{one_ver}", env)
    one = [o for o in objects if o.name in wanted]
    one_bytes = sum(p.stat().st_size for p in one)
    rows: dict[str, list[dict[str, float]]] = {
        "stemvault_fetch_one_version": [], "scp_one_version": [],
        "stemvault_fetch_all_versions": [], "git_lfs_fetch_all": [], "scp_all": []}
    size_of = {k: one_bytes if "one_version" in k else audio for k in rows}
    loads = [_load()]
    for i in range(FETCH_REPS):
        d = fresh(f"one{i}")
        rows["stemvault_fetch_one_version"].append(meter(partial(
            _sv, "-C", d, "fetch", f"{one_cue}@{one_ver}", "--all", cwd=d, env=env)))
        assert len(_lfs_objects(d / ".git")) == len(one)
        shutil.rmtree(d)
        d = scratch / f"scp-one{i}"
        d.mkdir()
        rows["scp_one_version"].append(meter(partial(_run, *scp_args(one), d, cwd=scratch, env=env)))
        assert sum(p.stat().st_size for p in d.iterdir()) == one_bytes
        shutil.rmtree(d)

        d = scratch / f"scp{i}"
        d.mkdir()
        rows["scp_all"].append(meter(partial(_run, *scp_args(objects), d, cwd=scratch, env=env)))
        assert sum(p.stat().st_size for p in d.iterdir()) == audio
        shutil.rmtree(d)

        d = fresh(f"lfsall{i}")
        rows["git_lfs_fetch_all"].append(meter(partial(
            _run, "git", "-c", "lfs.fetchexclude=", "lfs", "fetch", "--all", "origin", cwd=d, env=env)))
        assert len(_lfs_objects(d / ".git")) == len(objects)
        shutil.rmtree(d)

        d = fresh(f"fetch{i}")

        def fetch_all(d: Path = d) -> None:
            for cue, ver in versions:
                _sv("-C", d, "fetch", f"{cue}@{ver}", "--all", cwd=d, env=env)

        rows["stemvault_fetch_all_versions"].append(meter(fetch_all))
        assert {p.name for p in _lfs_objects(d / ".git")} == {p.name for p in objects}
        shutil.rmtree(d)
        loads.append(_load())

        med = _medians(rows)
        out["fetch"] = {
            "objects": len(objects), "bytes": audio, "fetch_calls": len(versions), "reps_done": i + 1,
            "one_version": {"version": f"{one_cue}@{one_ver}", "objects": len(one), "bytes": one_bytes},
            **_summary(rows),
            "MB_per_s": {k: round(size_of[k] / v / 1e6, 1) for k, v in med.items()},
            "ratio_vs_scp": {
                "stemvault_fetch_one_version": round(med["scp_one_version"] / med["stemvault_fetch_one_version"], 3),
                "stemvault_fetch_all_versions": round(med["scp_all"] / med["stemvault_fetch_all_versions"], 3),
                "git_lfs_fetch_all": round(med["scp_all"] / med["git_lfs_fetch_all"], 3)},
            "target_vs_scp": 0.8, "loadavg_before_each_rep_and_after": loads}
        report("remote", out)
