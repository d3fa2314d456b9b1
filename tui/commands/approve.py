"""stemvault approve CUE@VER [-m MSG] [--sign] — approve a version."""

from __future__ import annotations

import click

from tui.commands.common import open_vault
from tui.output import emit_json, plain
from vcs.review import approve


@click.command("approve")
@click.argument("ref", metavar="CUE@VER")
@click.option("-m", "--message", default="", help="What the approval is for.")
@click.option("--sign", is_flag=True, help="Sign the approval tag with git's signing setup.")
@click.option("--author", metavar="'NAME <EMAIL>'",
              help="Who approves (default: $STEMVAULT_AUTHOR, else git's user.name and user.email).")
@click.option("--json", "as_json", is_flag=True, help="Print the approval as JSON.")
def approve_cmd(ref: str, message: str, sign: bool, author: str | None, as_json: bool) -> int:
    """Approve a version: a tag bound to the checksums of its files."""
    vault = open_vault()
    v = vault.resolve(ref)
    a = approve(vault, v, message=message, sign=sign, author=author)
    if as_json:
        emit_json({"cue": v.cue, "version": str(v.version), "commit": v.commit, **a.to_dict(),
                   "files": a.files})
    else:
        sig = (" (signed, verified)" if a.verified else
               f" (signed, not verified: {plain(a.why)})" if a.signed else "")
        click.echo(f"Approved {v.ref} by {plain(a.by)} <{plain(a.email)}> as tag {plain(a.tag)}{sig}: "
                   f"{len(a.files)} files bound by sha256")
    return 0
