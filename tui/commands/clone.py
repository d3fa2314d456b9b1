"""stemvault clone URL [DIR] [--lazy] — a copy of a shared vault (lazy: no audio)."""

from __future__ import annotations

from pathlib import Path

import click

from tui.output import plain


@click.command("clone")
@click.argument("url")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option("--lazy", is_flag=True,
              help="History, manifests, notes and analysis only: no audio now or with later pulls "
                   "(fetch chosen stems with `stemvault fetch`).")
def clone_cmd(url: str, directory: Path | None, lazy: bool) -> int:
    """Clone the vault at URL into DIR (default: the URL's last part, without .git)."""
    from vcs.remote import clone

    dest = clone(url, directory, lazy=lazy)
    click.echo(f"cloned {plain(url)} into {plain(str(dest))}" + (" (lazy: no audio; `stemvault fetch` "
                                                                  "brings chosen stems)" if lazy else ""))
    return 0
