"""A journal that makes a commit all-or-nothing, even when the process is killed.

git moves HEAD atomically, so the committed history is always either the old version or the new
one. What a killed commit can leave half-done is the working folder and the index: stems copied,
a manifest rewritten, files staged. Before touching anything a commit writes
``.git/stemvault/txn.json`` (the old HEAD, the paths it will touch, the manifest as the user
left it). The next writer, under the vault lock, finds the journal and puts those paths back as
they are at HEAD — or, when HEAD has already moved to the new version, simply drops the journal.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vcs import git

if TYPE_CHECKING:
    from vcs.vault import Vault

__all__ = ["begin", "end", "pending", "recover", "rollback"]


def _path(vault: Vault) -> Path:
    return vault.git_dir / "stemvault" / "txn.json"


def begin(vault: Vault, *, old_head: str | None, paths: list[str], manifest_path: str,
          manifest_text: str | None) -> None:
    """Record what is about to change (written atomically)."""
    p = _path(vault)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".tmp")
    data: dict[str, Any] = {"old_head": old_head, "paths": paths, "manifest_path": manifest_path,
                            "manifest_text": manifest_text, "pid": os.getpid()}
    tmp.write_text(json.dumps(data))
    os.replace(tmp, p)


def pending(vault: Vault) -> bool:
    """A commit was interrupted and its journal awaits recovery."""
    return _path(vault).exists()


def end(vault: Vault) -> None:
    _path(vault).unlink(missing_ok=True)


def rollback(vault: Vault, data: dict[str, Any]) -> None:
    """Put the journal's paths back to HEAD, and the user's manifest back as it was."""
    paths = [p for p in data.get("paths", []) if p]
    if not paths:
        return
    root = vault.root
    if git.head(root):
        git.run("reset", "-q", "HEAD", "--", *paths, cwd=root, check=False)
        present = [p for p in paths if git.rev_parse(f"HEAD:{p}", cwd=root)]
        if present:
            git.run("checkout", "-q", "HEAD", "--", *present, cwd=root)
    git.run("clean", "-fdq", "--", *paths, cwd=root, check=False)
    text = data.get("manifest_text")
    mpath = data.get("manifest_path")
    if text is not None and mpath:
        target = root / mpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def recover(vault: Vault) -> bool:
    """Finish what a killed commit left (call under the vault lock). True when it did something."""
    import shutil

    shutil.rmtree(vault.git_dir / "stemvault" / "incoming", ignore_errors=True)
    p = _path(vault)
    if not p.exists():
        return False
    try:
        data = json.loads(p.read_text())
    except (OSError, ValueError):
        data = {}
    if data and git.head(vault.root) == data.get("old_head"):
        rollback(vault, data)
    end(vault)
    return True
