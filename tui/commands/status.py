"""stemvault status [--remote NAME] [--json] — asks the remote: ahead/behind, what is not pushed
yet (versions, notes, approvals), which audio of each cue's latest version is here."""

from __future__ import annotations

import click

from tui.commands.common import open_vault
from tui.output import emit_json, plain


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@click.command("status")
@click.option("--remote", "remote", default="origin", show_default=True, metavar="NAME",
              help="The remote to compare with.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status_cmd(remote: str, as_json: bool) -> int:
    """Ask the remote, then show commits ahead/behind, versions, notes and approvals not pushed
    yet, and how much of each cue's latest audio is here."""
    from vcs.remote import status

    st = status(open_vault(), remote)
    if as_json:
        emit_json(st)
        return 0
    if st["remote"] is None:
        click.echo("no remote (a vault of its own: `git remote add origin URL` to share it)")
    else:
        where = f"{st['remote']} ({plain(st['url'])})"
        if not st["checked"]:
            click.secho(f"! could not ask {where}: {plain(st['error'])} — as of the last contact:", fg="yellow")
        if st["ahead"] is None:
            click.echo(f"{where}: nothing pushed or pulled yet")
        else:
            click.echo(f"{where}: {_n(st['ahead'], 'commit')} to push, {st['behind']} to pull"
                       + (" · lazy clone (no audio unless fetched)" if st["lazy"] else ""))
        if st["versions_not_pushed"]:
            click.echo(f"  versions not pushed: {', '.join(plain(v) for v in st['versions_not_pushed'])}")
        if st["notes_not_pushed"]:
            click.echo("  notes not pushed: " + ", ".join(
                f"{plain(n['version'])} ({_n(n['lines'], 'note')})" for n in st["notes_not_pushed"]))
        if st["approvals_not_pushed"]:
            click.echo(f"  approvals not pushed: {', '.join(plain(t) for t in st['approvals_not_pushed'])}")
    for c in st["cues"]:
        click.echo(f"{c['version']}  audio here: {c['objects_local']}/{c['objects_needed']} objects" + (
            f"  (not here: {', '.join(plain(f) for f in c['missing'])})" if c["missing"] else ""))
    return 0
