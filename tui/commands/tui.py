"""stemvault tui [CUE[@VER]] — the review app, opened on a cue's history when one is named."""

from __future__ import annotations

import click

__all__ = ["tui_cmd"]


@click.command("tui")
@click.argument("ref", required=False, metavar="[CUE[@VER]]")
def tui_cmd(ref: str | None) -> int:
    """Open the review app; with CUE or CUE@VER, on that cue's history with that version selected.

    The same as `stemvault` with no command. Needs a terminal (use `ssh -t` over SSH).
    """
    from tui.commands.common import open_vault, require_terminal

    require_terminal()
    vault = open_vault()
    start = None
    try:
        if ref is not None:
            v = vault.resolve(ref)  # an unknown cue or version: one error line, exit 2
            start = f"{v.cue}@{v.version}"
    finally:
        vault.close()
    from tui.app import make_app

    make_app(vault.root, start).run()
    return 0
