"""stemvault fetch CUE[@VER] [--stem S]... [--all] — download chosen audio into a (lazy) clone."""

from __future__ import annotations

import click

from tui.commands.common import open_vault
from tui.output import emit_json, plain


@click.command("fetch")
@click.argument("ref", metavar="CUE[@VER]")
@click.option("--stem", "stems", multiple=True, help="A stem to fetch (file name or role); repeatable.")
@click.option("--all", "all_stems", is_flag=True, help="Every file of the version (the default without --stem).")
@click.option("--remote", "remote", default="origin", show_default=True, metavar="NAME",
              help="The remote to fetch from.")
@click.option("--json", "as_json", is_flag=True, help="Print the fetched objects as JSON.")
def fetch_cmd(ref: str, stems: tuple[str, ...], all_stems: bool, remote: str, as_json: bool) -> int:
    """Download exactly the audio of a version (or of some of its stems), checked against its oids."""
    from vcs.remote import fetch_audio

    got = fetch_audio(open_vault(), ref, list(stems), all_stems=all_stems, remote=remote)
    if as_json:
        emit_json([{"version": g.version, "file": g.file, "oid": g.oid, "size": g.size} for g in got])
    else:
        for g in got:
            click.echo(f"✓ {g.version}  {plain(g.file)}  {g.size} bytes  sha256 {g.oid[:12]} checked")
    return 0
