"""stemvault pull — bring new versions, merge review notes, copy approvals."""

from __future__ import annotations

import click

from tui.commands.common import open_vault
from tui.output import plain


@click.command("pull")
@click.option("--remote", "remote", default="origin", show_default=True, metavar="NAME",
              help="The remote to pull from.")
def pull_cmd(remote: str) -> int:
    """Fast-forward to the remote's versions; merge its review notes; copy its approval tags."""
    from vcs.remote import pull

    rep = pull(open_vault(), remote)
    click.echo(f"pulled {rep.commits} commit{'s' if rep.commits != 1 else ''}, {len(rep.tags_new)} approval "
               f"tags" + (f"; {rep.notes_merged} versions' notes merged" if rep.notes_merged else ""))
    for t in rep.tags_differ:
        click.secho(f"! tag {plain(t)} differs here and on the remote: left as it is on both sides", fg="yellow")
    return 0
