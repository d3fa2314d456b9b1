"""The demo vault's mark: a vault built by ``stemvault demo`` says so in its config's first line,
so that ``demo --fresh`` rebuilds only a demo vault, never someone's real one.

Public surface:
    DEMO_MARK
    mark_demo_vault(vault): add the mark and commit it
    is_demo_vault(path) -> bool
"""

from __future__ import annotations

from pathlib import Path

from vcs import git
from vcs.config import CONFIG_NAME
from vcs.vault import Vault

__all__ = ["DEMO_MARK", "is_demo_vault", "mark_demo_vault"]

DEMO_MARK = "# stemvault demo vault"


def mark_demo_vault(vault: Vault) -> None:
    """Put the mark at the top of the vault's config and commit it (as git's current identity)."""
    cfg = vault.root / CONFIG_NAME
    cfg.write_text(DEMO_MARK + "\n" + cfg.read_text())
    git.commit("Mark as the demo vault", CONFIG_NAME, cwd=vault.root)


def is_demo_vault(path: Path) -> bool:
    cfg = path / CONFIG_NAME
    try:
        return cfg.read_text().startswith(DEMO_MARK)
    except OSError:
        return False
