"""stemvault hook pre-receive — the server's guard, run by git in a bare repository on a push."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tui.output import plain


@click.group("hook")
def hook_cmd() -> None:
    """Git hooks stemvault installs (``server init`` writes them)."""


@hook_cmd.command("pre-receive")
def pre_receive_cmd() -> int:
    """Read git's ref updates on stdin; refuse the push (exit 1), one `error:` line per reason."""
    from vcs.hook import check_push, parse_updates, quarantine_env

    updates = parse_updates(sys.stdin.read())
    refusals = check_push(Path.cwd(), updates, quarantine_env())
    for line in refusals:
        click.echo(f"error: {plain(line)}", err=True)
    return 1 if refusals else 0


@hook_cmd.command("install")
@click.argument("repo", type=click.Path(path_type=Path, file_okay=False, exists=True))
def install_cmd(repo: Path) -> int:
    """Write the pre-receive hook into the bare repository REPO (one made before `server init`
    installed it, or after stemvault moved)."""
    from vcs import git
    from vcs.errors import UsageError
    from vcs.hook import install_hook

    if git.bare_git_dir(repo) is None:
        raise UsageError(f"{repo} is not a bare git repository: give the server's repository (film.git)")
    click.echo(f"wrote {plain(str(install_hook(repo)))}")
    return 0
