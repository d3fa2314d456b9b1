"""stemvault server init — a bare repository to share vaults through over SSH."""

from __future__ import annotations

from pathlib import Path

import click

from tui.output import plain


@click.group("server")
def server_cmd() -> None:
    """Set up the machine vaults push to and clone from over SSH."""


@server_cmd.command("init")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--link", "link_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Symlink stemvault's git-lfs-transfer into this folder (one on the SSH PATH).")
def server_init_cmd(path: Path, link_dir: Path | None) -> int:
    """Create a bare repository at PATH that vaults push to as ssh://HOST/PATH."""
    from vcs.server import check_link, init_server, link_transfer, transfer_script

    if link_dir is not None:
        check_link(link_dir)  # a link that cannot be made refuses before the repository is made
    rep = init_server(path)
    click.echo(f"made bare repository {plain(str(rep.path))} (with stemvault's pre-receive hook)")
    if link_dir is not None:
        link = link_transfer(link_dir)
        click.echo(f"linked {plain(str(link))} -> {plain(str(transfer_script()))}")
    elif rep.transfer is None:
        click.echo(f"git-lfs-transfer is not on the PATH of SSH sessions: link it with "
                   f"ln -s {plain(str(transfer_script()))} /usr/local/bin/  (or: --link /usr/local/bin)")
    return 0
