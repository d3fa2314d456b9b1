"""git's failures reach the user as what happened and what to do (issue 10: raw git stderr
turned into advice). Each case makes git really fail."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vcs import git
from vcs.errors import GitFailed, UsageError


def _fails(*args: str, cwd: Path) -> GitFailed:
    with pytest.raises(GitFailed) as e:
        git.run(*args, cwd=cwd)
    return e.value


def test_outside_a_repository(tmp_path: Path) -> None:
    e = _fails("status", cwd=tmp_path)
    assert "not a git repository" in e.stderr
    assert "cd into a vault, or create one with `stemvault init`" in str(e)


def test_a_damaged_object(tmp_path: Path) -> None:
    git.init(tmp_path)
    (tmp_path / "a.txt").write_text("hello\n")
    git.add("a.txt", cwd=tmp_path)
    git.commit("one", cwd=tmp_path, author=("A", "a@example.com"))
    blob = git.staged("a.txt", cwd=tmp_path)["a.txt"]
    obj = tmp_path / ".git" / "objects" / blob[:2] / blob[2:]
    os.chmod(obj, 0o644)
    obj.write_bytes(b"")  # a loose object truncated to nothing (a crash, a full disk)
    e = _fails("cat-file", "-p", blob, cwd=tmp_path)
    assert "git fsck" in str(e) and "damaged" in str(e)


def test_an_unreachable_remote(tmp_path: Path) -> None:
    git.init(tmp_path)
    e = _fails("ls-remote", f"file://{tmp_path / 'nowhere.git'}", cwd=tmp_path)
    assert "the remote could not be reached" in str(e)


def test_unknown_failures_keep_gits_words(tmp_path: Path) -> None:
    git.init(tmp_path)
    e = _fails("rev-parse", "--verify", "no-such-ref", cwd=tmp_path)
    assert str(e).startswith("git rev-parse --verify no-such-ref failed (128): fatal:")
    assert "—" not in str(e)


def test_init_under_a_missing_parent_creates_it(tmp_path: Path, sv) -> None:  # type: ignore[no-untyped-def]
    r = sv("init", tmp_path / "no-such-parent" / "film")
    assert r.code == 0, r.err  # it asked git who you are in a folder that did not exist: "git is not installed"
    assert (tmp_path / "no-such-parent" / "film" / "stemvault.toml").is_file()


def test_a_missing_folder_is_not_a_missing_git(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such folder"):
        git.run("status", cwd=tmp_path / "gone")
