"""`stemvault demo`: the vault it builds is marked as a demo (by vcs), and only a demo is rebuilt."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import Runner, git
from vcs.demo import DEMO_MARK, is_demo_vault


def test_the_demo_vault_is_marked_and_rebuilt_only_when_it_is_one(tmp_path: Path, sv: Runner) -> None:
    demo = tmp_path / "demo"
    sv.ok("demo", demo, "--no-tui", "--seconds", "2")
    assert (demo / "stemvault.toml").read_text().startswith(DEMO_MARK + "\n")
    assert is_demo_vault(demo)
    first = git(demo, "log", "--reverse", "--format=%an|%s").splitlines()[:2]
    assert first[1] == "Ada Moreau|Mark as the demo vault", first
    assert git(demo, "status", "--porcelain") == ""
    sv.ok("demo", demo, "--no-tui", "--seconds", "2", "--fresh")
    assert is_demo_vault(demo)
    real = tmp_path / "real"
    sv.ok("init", real)
    (real / "keep.txt").write_text("mine")
    r = sv("demo", real, "--no-tui", "--fresh")
    assert r.code == 2 and "is not a demo vault" in r.err
    assert not is_demo_vault(real) and (real / "keep.txt").read_text() == "mine"
