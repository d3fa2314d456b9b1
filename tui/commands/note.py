"""stemvault note CUE@VER TC TEXT [--stem S] — a review note on an existing version.

``stemvault note CUE@VER --at BAR|BEAT TEXT`` places it by the version's tempo map instead.
"""

from __future__ import annotations

import dataclasses

import click

from tui.commands.common import open_vault
from tui.output import emit_json, plain
from vcs.errors import UsageError
from vcs.review import add_bar_beats, add_note


@click.command("note")
@click.argument("ref", metavar="CUE@VER")
@click.argument("words", metavar="[TC] TEXT", nargs=-1, required=True)
@click.option("--at", "at", metavar="BAR|BEAT",
              help="Place the note by the cue's tempo map (tempo.mid): 17|3, 17|3|240 (ticks, 960 to a "
                   "quarter) or 17.3; instead of TC.")
@click.option("--stem", help="The stem the note is about (file name, or its role abbreviation).")
@click.option("--author", metavar="'NAME <EMAIL>'",
              help="Who wrote the note (default: $STEMVAULT_AUTHOR, else git's user.name and user.email).")
@click.option("--json", "as_json", is_flag=True, help="Print the note as JSON.")
def note_cmd(ref: str, words: tuple[str, ...], at: str | None, stem: str | None, author: str | None,
             as_json: bool) -> int:
    """Add a review note at timecode TC (or at --at BAR|BEAT) to a version (no new version is made)."""
    want = 1 if at is not None else 2
    if len(words) != want:
        usage = "note CUE@VER --at BAR|BEAT TEXT" if at is not None else "note CUE@VER TC TEXT"
        raise UsageError(f"expected {usage} (quote a text of several words; {len(words)} given after CUE@VER)")
    tc, text = (None, words[0]) if at is not None else (words[0], words[1])
    vault = open_vault()
    v = vault.resolve(ref)
    n = add_note(vault, v, tc, text, stem=stem, at=at, author=author)
    add_bar_beats(vault, [dataclasses.replace(v, notes=[n])])
    if as_json:
        emit_json({"cue": v.cue, "version": str(v.version), "commit": v.commit, **n.to_dict()})
    else:
        where = f" on {plain(n.stem)}" if n.stem else ""
        bb = f" ({n.bar_beat})" if n.bar_beat else ""
        click.echo(f"Noted on {v.ref} at {n.tc}{bb}{where}: {plain(n.text)}")
    return 0
