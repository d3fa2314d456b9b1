"""stemvault analyze [CUE[@VER]] — build the analysis records older versions lack, from the audio here."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from tui.commands.common import open_vault
from tui.output import emit_json, plain
from vcs.errors import UsageError
from vcs.vault import Vault

if TYPE_CHECKING:
    from vcs.analyze import AnalyzeResult


def run_analyze(vault: Vault, refs: list[str]) -> AnalyzeResult:
    """Records for every version named (``1M03`` means all of 1M03's versions; none: all)."""
    from vcs.analyze import build_missing_records

    versions = [v for ref in refs for v in vault.select(ref)] if refs else vault.versions()
    return build_missing_records(vault, versions)


@click.command("analyze")
@click.argument("refs", nargs=-1, metavar="[CUE[@VER]]...")
@click.option("--json", "as_json", is_flag=True, help="Print what was built as JSON.")
def analyze_cmd(refs: tuple[str, ...], as_json: bool) -> int:
    """Build missing analysis records (versions made by an older stemvault, or by hand).

    Reads the audio from this clone (its LFS store, or the working folder) and commits the
    records, so that diff works on those versions — later also in clones without the audio.
    Exit 2 when some audio is not here (the message says what to fetch).
    """
    vault = open_vault()
    res = run_analyze(vault, list(refs))
    if as_json:
        emit_json(res.to_dict())
    else:
        for b in res.built:
            click.echo(f"  analyzed {plain(b)}")
        if res.built:
            click.echo(f"{len(res.built)} records built and committed ({(res.commit or '')[:10]}); "
                       f"{res.present} were there already.")
        elif not res.no_audio:
            click.echo(f"Nothing to do: every file has its analysis record ({res.present}).")
    if res.no_audio:
        shown = ", ".join(res.no_audio[:4]) + (f" and {len(res.no_audio) - 4} more" if len(res.no_audio) > 4 else "")
        raise UsageError(f"no audio in this clone for {shown}: fetch it ({'; '.join(res.fetch)}) and run "
                         "stemvault analyze again")
    return 0
