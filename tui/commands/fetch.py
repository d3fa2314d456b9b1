"""stemvault fetch CUE[@VER] [--stem S]... [--all] [--remote NAME] [--progress] — download chosen
audio into a (lazy) clone."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from tui.commands.common import open_vault
from tui.output import emit_json, plain

if TYPE_CHECKING:
    from vcs.remote import FetchProgress


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class _Progress:
    """Objects and bytes on stderr: one line rewritten in place on a terminal; elsewhere (with
    --progress) a line each time an object has arrived."""

    def __init__(self, ref: str, terminal: bool) -> None:
        self.ref, self.terminal = ref, terminal
        self.last: tuple[int, int] | None = None
        self.drawn = False

    def __call__(self, p: FetchProgress) -> None:
        line = (f"fetching {plain(self.ref)}: {p.objects_done}/{p.objects_total} objects, "
                f"{_mb(p.bytes_done)} of {_mb(p.bytes_total)}")
        if self.terminal:
            if (p.objects_done, p.bytes_done) != self.last:
                click.echo("\r\x1b[K" + line, err=True, nl=False)
                self.drawn = True
        elif self.last is None or p.objects_done != self.last[0]:
            click.echo(line, err=True)
        self.last = (p.objects_done, p.bytes_done)

    def end(self) -> None:
        if self.drawn:
            click.echo("", err=True)


@click.command("fetch")
@click.argument("ref", metavar="CUE[@VER]")
@click.option("--stem", "stems", multiple=True, help="A stem to fetch (file name or role); repeatable.")
@click.option("--all", "all_stems", is_flag=True, help="Every file of the version (the default without --stem).")
@click.option("--remote", "remote", default="origin", show_default=True, metavar="NAME",
              help="The remote to fetch from.")
@click.option("--progress", "show_progress", is_flag=True,
              help="Show objects and bytes on stderr even when it is not a terminal (on a terminal it is shown anyway).")
@click.option("--json", "as_json", is_flag=True, help="Print the fetched objects as JSON.")
def fetch_cmd(ref: str, stems: tuple[str, ...], all_stems: bool, remote: str, show_progress: bool,
              as_json: bool) -> int:
    """Download exactly the audio of a version (or of some of its stems), checked against its oids."""
    from vcs.remote import fetch_audio

    terminal = sys.stderr.isatty()
    progress = _Progress(ref, terminal) if terminal or show_progress else None
    try:
        got = fetch_audio(open_vault(), ref, list(stems), all_stems=all_stems, remote=remote, progress=progress)
    finally:
        if progress is not None:
            progress.end()
    if as_json:
        emit_json([{"version": g.version, "file": g.file, "oid": g.oid, "size": g.size} for g in got])
    else:
        for g in got:
            click.echo(f"✓ {g.version}  {plain(g.file)}  {g.size} bytes  sha256 {g.oid[:12]} checked")
    return 0
