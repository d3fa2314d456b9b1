"""stemvault server init: a bare repository to share vaults through over SSH, and the
git-lfs-transfer link a non-interactive SSH session needs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.helpers import Runner, git
from vcs.server import TRANSFER, transfer_on_path, transfer_script


def test_init_makes_a_bare_repository_on_main(sv: Runner, tmp_path: Path) -> None:
    path = tmp_path / "srv" / "film.git"
    r = sv.ok("server", "init", path)
    assert str(path) in r.out
    assert git(path, "rev-parse", "--is-bare-repository").strip() == "true"
    assert git(path, "symbolic-ref", "HEAD").strip() == "refs/heads/main"


def test_a_second_init_or_a_non_empty_folder_is_refused_and_left_alone(sv: Runner, tmp_path: Path) -> None:
    path = tmp_path / "film.git"
    sv.ok("server", "init", path)
    before = sorted(p.relative_to(path) for p in path.rglob("*"))
    r = sv("server", "init", path)
    assert r.code == 2 and r.err.startswith("error: ") and r.err.count("\n") == 1
    assert "not an empty folder" in r.err
    assert sorted(p.relative_to(path) for p in path.rglob("*")) == before
    stuff = tmp_path / "stuff"
    stuff.mkdir()
    (stuff / "keep.txt").write_text("mine")
    assert sv("server", "init", stuff).code == 2
    assert [p.name for p in stuff.iterdir()] == ["keep.txt"]
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    assert sv("server", "init", a_file).code == 2 and a_file.read_text() == "x"


def test_an_uncreatable_path_is_one_line(sv: Runner, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):  # root writes anywhere: make the parent a file instead
            ro.chmod(0o755)
            ro.rmdir()
            ro.write_text("")
        r = sv("server", "init", ro / "film.git")
        assert r.code == 2 and r.err.startswith("error: ") and r.err.count("\n") == 1
    finally:
        if ro.is_dir():
            ro.chmod(0o755)


def test_init_says_how_to_link_git_lfs_transfer_when_ssh_would_not_find_it(sv: Runner, tmp_path: Path) -> None:
    r = sv.ok("server", "init", tmp_path / "film.git")
    if transfer_on_path() is None:
        assert f"ln -s {transfer_script()} /usr/local/bin/" in r.out
    else:
        assert "ln -s" not in r.out


def test_link_makes_a_working_git_lfs_transfer(sv: Runner, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    path = tmp_path / "film.git"
    r = sv.ok("server", "init", path, "--link", bin_dir)
    link = bin_dir / TRANSFER
    assert link.is_symlink() and link.resolve() == transfer_script().resolve()
    assert "ln -s" not in r.out
    assert transfer_on_path(str(bin_dir)) == str(link)
    # it speaks the protocol: the version advertisement, then a clean quit
    proc = subprocess.run([str(link), str(path), "upload"], input=b"0000", capture_output=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert proc.returncode == 0, proc.stderr
    assert b"version=1" in proc.stdout
    # a second --link to the same target is fine; a different file there is refused, not replaced
    sv.ok("server", "init", tmp_path / "two.git", "--link", bin_dir)
    other = tmp_path / "bin2"
    other.mkdir()
    (other / TRANSFER).write_text("#!/bin/sh\n")
    r = sv("server", "init", tmp_path / "three.git", "--link", other)
    assert r.code == 2 and "exists" in r.err
    assert (other / TRANSFER).read_text() == "#!/bin/sh\n"
    assert not (tmp_path / "three.git").exists()  # refused before anything was made
