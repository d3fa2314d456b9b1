"""What the lower modules of ``vcs`` need of a vault: its folders and its object reader.

``vcs.txn`` (the commit journal) and ``vcs.records`` (analysis records) take a ``VaultPaths``
rather than the whole ``Vault``, so they do not depend on ``vcs.vault`` (which depends on
them). A ``Vault`` is one; so is anything with these three attributes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from vcs import git

__all__ = ["VaultPaths"]


class VaultPaths(Protocol):
    @property
    def root(self) -> Path:
        """The vault's folder (git's work tree)."""

    @property
    def git_dir(self) -> Path:
        """Its ``.git`` folder."""

    @property
    def objects(self) -> git.Objects:
        """Reads git objects (blobs, commits, tags) by oid or by ``<commit>:<path>``."""
