"""stemvault push — send new versions with their audio, review notes and approvals."""

from __future__ import annotations

import click

from tui.commands.common import open_vault
from tui.output import plain


@click.command("push")
@click.option("--remote", "remote", default="origin", show_default=True, metavar="NAME",
              help="The remote to push to.")
def push_cmd(remote: str) -> int:
    """Send commits, audio (each object checked against its oid first), notes and approval tags."""
    from vcs.remote import push

    rep = push(open_vault(), remote)
    click.echo(f"pushed {rep.commits} commit{'s' if rep.commits != 1 else ''}, {rep.objects_checked} audio "
               f"objects checked, {len(rep.tags_pushed)} approval tags"
               + (f"; {rep.notes_merged} versions' notes merged from the remote" if rep.notes_merged else ""))
    for t in rep.tags_differ:
        click.secho(f"! tag {plain(t)} differs here and on the remote: left as it is on both sides", fg="yellow")
    return 0
