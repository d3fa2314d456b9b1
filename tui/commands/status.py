"""stemvault status — ahead/behind the remote; which audio of each cue's latest version is here."""

from __future__ import annotations

import click

from tui.commands.common import open_vault
from tui.output import emit_json, plain


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status_cmd(as_json: bool) -> int:
    """Commits ahead/behind the remote (as of the last push, pull or clone) and the local audio."""
    from vcs.remote import status

    st = status(open_vault())
    if as_json:
        emit_json(st)
        return 0
    if st["remote"] is None:
        click.echo("no remote (a vault of its own: `git remote add origin URL` to share it)")
    elif st["ahead"] is None:
        click.echo(f"{st['remote']} ({plain(st['url'])}): nothing pushed or pulled yet")
    else:
        click.echo(f"{st['remote']} ({plain(st['url'])}): {st['ahead']} commits to push, "
                   f"{st['behind']} to pull" + (" · lazy clone (no audio unless fetched)" if st["lazy"] else ""))
    for c in st["cues"]:
        n, m = len(c["local"]), len(c["missing"])
        click.echo(f"{c['version']}  audio here: {n}/{n + m}" + (
            f"  (not here: {', '.join(plain(f) for f in c['missing'])})" if m else ""))
    return 0
