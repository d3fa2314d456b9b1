"""stemvault log [CUE] — versions with delta notes, notes, approvals."""

from __future__ import annotations

from typing import Any

import click

from tui.commands.common import echo_version_line, open_vault
from tui.output import emit_json
from vcs.naming import normalize_cue
from vcs.review import add_bar_beats
from vcs.vault import Vault


def run_log(vault: Vault, cue: str | None = None) -> list[dict[str, Any]]:
    """Versions newest first (of one cue, or all), as the ``log --json`` documents."""
    versions = vault.versions(normalize_cue(cue) if cue else None)
    add_bar_beats(vault, versions)
    return [v.to_dict() for v in versions]


@click.command("log")
@click.argument("cue", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, newest first.")
def log_cmd(cue: str | None, as_json: bool) -> int:
    """Versions of CUE (or of every cue), newest first."""
    vault = open_vault()
    c = normalize_cue(cue) if cue else None
    versions = vault.versions(c)
    add_bar_beats(vault, versions)  # notes get their bar|beat where the version has a tempo map
    if as_json:
        emit_json([v.to_dict() for v in versions])
        return 0
    if not versions:
        click.echo(f"No versions of {c} yet." if c else "No versions yet: stemvault commit CUE FOLDER")
        return 0
    for v in versions:
        echo_version_line(v)
    return 0
