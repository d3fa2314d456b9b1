"""stemvault note CUE@VER TC TEXT [--stem S] — a review note on an existing version."""

from __future__ import annotations

import click

from tui.commands.common import open_vault
from tui.output import emit_json, plain
from vcs.review import add_note


@click.command("note")
@click.argument("ref", metavar="CUE@VER")
@click.argument("tc", metavar="TC")
@click.argument("text")
@click.option("--stem", help="The stem the note is about (file name, or its role abbreviation).")
@click.option("--json", "as_json", is_flag=True, help="Print the note as JSON.")
def note_cmd(ref: str, tc: str, text: str, stem: str | None, as_json: bool) -> int:
    """Add a review note at timecode TC to a version (no new version is made)."""
    vault = open_vault()
    v = vault.resolve(ref)
    n = add_note(vault, v, tc, text, stem=stem)
    if as_json:
        emit_json({"cue": v.cue, "version": str(v.version), "commit": v.commit, **n.to_dict()})
    else:
        where = f" on {plain(n.stem)}" if n.stem else ""
        click.echo(f"Noted on {v.ref} at {n.tc}{where}: {plain(n.text)}")
    return 0
