"""stemvault log [CUE] — versions with delta notes, notes, approvals."""

from __future__ import annotations

from typing import Any

import click

from tui.commands.common import echo_changed_outside, echo_version_line, open_vault
from tui.output import emit_json
from vcs.models import Version
from vcs.naming import normalize_cue
from vcs.outside import OutsideChange, changed_outside_of
from vcs.review import add_bar_beats


def _docs(versions: list[Version], outside: dict[str, OutsideChange]) -> list[dict[str, Any]]:
    """The documents, each cue's latest version carrying ``changed_outside`` (else null)."""
    docs, seen = [], set()
    for v in versions:
        d = v.to_dict()
        change = outside.get(v.cue) if v.cue not in seen else None
        d["changed_outside"] = change.to_dict() if change else None
        seen.add(v.cue)
        docs.append(d)
    return docs



@click.command("log")
@click.argument("cue", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, newest first.")
def log_cmd(cue: str | None, as_json: bool) -> int:
    """Versions of CUE (or of every cue), newest first."""
    vault = open_vault()
    c = normalize_cue(cue) if cue else None
    versions = vault.versions(c)
    add_bar_beats(vault, versions)  # notes get their bar|beat where the version has a tempo map
    outside = changed_outside_of(vault, versions)
    if as_json:
        emit_json(_docs(versions, outside))
        return 0
    if not versions:
        click.echo(f"No versions of {c} yet." if c else "No versions yet: stemvault commit CUE FOLDER")
        return 0
    seen: set[str] = set()
    for v in versions:
        echo_version_line(v)
        if v.cue in outside and v.cue not in seen:
            echo_changed_outside(outside[v.cue])
        seen.add(v.cue)
    return 0
