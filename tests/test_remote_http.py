"""An HTTP LFS server for a team (issue 12, scope 2): giftless (from PyPI, installed by the `dev`
extra) on 127.0.0.1 with local storage. The vault's committed ``.lfsconfig`` names it, so every
clone finds it; the git repository itself is a plain bare repository here (any git host works the
same way). stemvault's verbs: push, lazy clone, fetch --stem, pull; and a same-size corrupted
object is refused by stemvault's push (giftless does not check sha256 on upload)."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import CUE, Runner, git, lfs_objects, sha256, write_set
from tests.sshd import skip_or_fail


@dataclass(frozen=True)
class Giftless:
    port: int
    storage: Path

    def lfs_url(self, repo: str) -> str:
        return f"http://127.0.0.1:{self.port}/{repo}.git/info/lfs"  # giftless: /ORG/REPO.git/info/lfs

    def objects(self, repo: str) -> set[str]:
        """The oids giftless stores for ``repo`` ("org/name")."""
        root = self.storage / repo
        return {p.name for p in root.iterdir() if p.is_file()} if root.exists() else set()


@pytest.fixture(scope="module")
def giftless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Giftless]:
    if importlib.util.find_spec("giftless") is None or importlib.util.find_spec("waitress") is None:
        skip_or_fail("giftless is not installed: `./dev test` installs it (the `dev` extra: "
                     "pip install -c constraints.txt -e '.[dev]')")
    d = tmp_path_factory.mktemp("giftless")
    storage = d / "lfs-storage"
    (d / "giftless.yaml").write_text(
        'AUTH_PROVIDERS: ["giftless.auth.allow_anon:read_write"]\n'
        "LEGACY_ENDPOINTS: false\n"
        "TRANSFER_ADAPTERS:\n"
        "  basic:\n"
        "    factory: giftless.transfer.basic_streaming:factory\n"
        "    options:\n"
        "      storage_class: giftless.storage.local_storage:LocalStorage\n"
        f"      storage_options: {{path: {storage}}}\n"
        "PRE_AUTHORIZED_ACTION_PROVIDER:\n"
        "  options: {private_key: test-only-key-at-least-32-bytes-long-xxxxxxxx}\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (d / "giftless.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "waitress", "--host=127.0.0.1", f"--port={port}",
                             "giftless.wsgi_entrypoint:app"],
                            env={**os.environ, "GIFTLESS_CONFIG_FILE": str(d / "giftless.yaml")},
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"giftless did not start (exit {proc.poll()}): "
                                         f"{(d / 'giftless.log').read_text()}") from None
                time.sleep(0.05)
        yield Giftless(port, storage)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _oids(vault: Path, sv: Runner, ref: str) -> dict[str, str]:
    return {s["file"]: s["sha256"] for s in sv.ok("-C", vault, "show", ref, "--json").json()["stems"]}


def _bare_objects(bare: Path) -> set[str]:
    root = bare / "lfs" / "objects"
    return {p.name for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _shared_vault(vault: Path, giftless: Giftless, repo: str, tmp_path: Path) -> Path:
    """The vault with a committed .lfsconfig naming giftless, and a bare git remote `origin`."""
    git(vault, "config", "-f", ".lfsconfig", "lfs.url", giftless.lfs_url(repo))
    git(vault, "add", ".lfsconfig")
    git(vault, "commit", "-qm", "LFS objects live on the team's LFS server")
    bare = tmp_path / "git" / "film.git"
    bare.parent.mkdir()
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(vault, "remote", "add", "origin", str(bare))
    return bare


def test_push_lazy_clone_fetch_and_pull_through_giftless(giftless: Giftless, vault: Path, sv: Runner,
                                                        tmp_path: Path) -> None:
    repo = "team/film"
    bare = _shared_vault(vault, giftless, repo, tmp_path)
    v1 = write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    sv.ok("-C", vault, "push")
    # the audio is on the LFS server, not in the git repository
    assert giftless.objects(repo) == set(v1.values())
    assert _bare_objects(bare) == set()

    lazy = tmp_path / "laptop"
    sv.ok("clone", bare, lazy, "--lazy")
    assert lfs_objects(lazy) == set()
    assert git(lazy, "config", "-f", ".lfsconfig", "lfs.url").strip() == giftless.lfs_url(repo)
    sv.ok("-C", lazy, "log")
    want = v1["1M03_STR.wav"]
    got = sv.ok("-C", lazy, "fetch", f"{CUE}@1.0", "--stem", "STR", "--json").json()
    assert [(g["file"], g["oid"]) for g in got] == [("1M03_STR.wav", want)]
    assert lfs_objects(lazy) == {want}
    assert sha256(lazy / "cues" / CUE / "1M03_STR.wav") == want

    # a second version from the composer: the lazy clone pulls it without audio, then fetches one stem
    v2 = write_set(tmp_path / "v2", gains={"BRS": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    sv.ok("-C", vault, "push")
    assert giftless.objects(repo) == set(v1.values()) | set(v2.values())
    sv.ok("-C", lazy, "pull")
    assert lfs_objects(lazy) == {want}
    assert sv.ok("-C", lazy, "diff", f"{CUE}@1.0", f"{CUE}@2.0", "--json").json()
    sv.ok("-C", lazy, "fetch", f"{CUE}@2.0", "--stem", "BRS")
    assert lfs_objects(lazy) == {want, v2["1M03_BRS.wav"]}
    assert sha256(lazy / "cues" / CUE / "1M03_BRS.wav") == v2["1M03_BRS.wav"]
    assert git(lazy, "status", "--porcelain") == ""

    # a full clone gets every file of the latest version from giftless
    full = tmp_path / "full"
    sv.ok("clone", bare, full)
    for f, oid in v2.items():
        assert sha256(full / "cues" / CUE / f) == oid
    assert sv.ok("-C", full, "verify", "--json").json()["ok"]


def test_a_corrupted_object_is_refused_before_giftless_sees_it(giftless: Giftless, vault: Path, sv: Runner,
                                                               tmp_path: Path) -> None:
    """giftless stores whatever arrives with the right size; stemvault's push hashes first."""
    repo = "team/corrupt"
    bare = _shared_vault(vault, giftless, repo, tmp_path)
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    oid = _oids(vault, sv, f"{CUE}@1.0")["1M03_PERC.wav"]
    obj = vault / ".git/lfs/objects" / oid[:2] / oid[2:4] / oid
    data = bytearray(obj.read_bytes())
    data[len(data) // 2] ^= 0x01  # same size: git-lfs and giftless would both take it
    obj.chmod(0o644)
    obj.write_bytes(bytes(data))
    r = sv("-C", vault, "push")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1
    assert "1M03_PERC.wav" in r.err and oid in r.err
    assert giftless.objects(repo) == set()
    assert git(bare, "for-each-ref") == ""
