"""stemvault init PATH — create a vault."""

from __future__ import annotations

from pathlib import Path

import click

from audio.errors import AudioError
from vcs.errors import UsageError
from vcs.vault import Vault


def run_init(path: Path, *, name: str | None = None, frame_rate: str = "24") -> Vault:
    try:
        return Vault.init(path, name=name, frame_rate=frame_rate)
    except AudioError as e:  # an unknown frame rate
        raise UsageError(str(e)) from None


@click.command("init")
@click.argument("path", type=click.Path(path_type=Path), default=".")
@click.option("--name", help="Project name (default: the folder's name).")
@click.option("--frame-rate", default="24", show_default=True,
              help="23.976, 24, 25, 29.97, 29.97df, 30, 48, 50, 59.94, 60")
def init_cmd(path: Path, name: str | None, frame_rate: str) -> int:
    """Create a vault: git + git-lfs, .gitattributes, stemvault.toml."""
    vault = run_init(path, name=name, frame_rate=frame_rate)
    click.echo(f"Created vault {vault.config.name} in {vault.root} ({vault.config.frame_rate} fps)")
    click.echo(f"Next: stemvault commit 1M01 /path/to/exported/stems -m 'first pass'  (inside {vault.root})")
    return 0
