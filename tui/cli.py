"""The ``stemvault`` command: verbs on a vault, or the TUI when given none.

Exit codes (docs/cli.md): 0 fine; 1 the thing checked has problems; 2 bad usage or unreadable
input (including: not in a vault, git-lfs missing, the vault busy); 3 a bug (an unexpected
error); 130 interrupted.

A domain error (``VaultError``, ``AudioError``: raised on purpose, where the user's input is read)
prints one line, ``error: ...``, on stderr and exits with its ``exit_code``. Anything else is a
bug, never reclassified as bad input: one line naming the exception and the log file that holds
its full traceback (``crash_log_dir()``), exit 3.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
import warnings
from pathlib import Path

import click

from audio.errors import AudioError
from tui.commands.analyze import analyze_cmd
from tui.commands.approve import approve_cmd
from tui.commands.check import check_cmd
from tui.commands.clone import clone_cmd
from tui.commands.commit import commit_cmd
from tui.commands.demo import demo_cmd
from tui.commands.diff import diff_cmd
from tui.commands.export import export_cmd
from tui.commands.fetch import fetch_cmd
from tui.commands.hook import hook_cmd
from tui.commands.init import init_cmd
from tui.commands.log import log_cmd
from tui.commands.note import note_cmd
from tui.commands.play import play_cmd
from tui.commands.pull import pull_cmd
from tui.commands.push import push_cmd
from tui.commands.separate import separate_cmd
from tui.commands.server import server_cmd
from tui.commands.show import show_cmd
from tui.commands.status import status_cmd
from tui.commands.tui import tui_cmd
from tui.commands.verify import verify_cmd
from tui.output import plain
from tui.terminal import NO_TERMINAL, has_terminal
from vcs.errors import VaultError

__all__ = ["EXIT_BUG", "cli", "crash_log_dir", "main"]

EXIT_BUG = 3  # an unexpected error: a bug in stemvault (docs/cli.md)


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-C", "directory", type=click.Path(path_type=Path, file_okay=False),
              help="Work in the vault at this folder instead of the current one.")
@click.version_option(package_name="stemvault")
@click.pass_context
def cli(ctx: click.Context, directory: Path | None) -> int:
    """Version, review and deliver music stem sets in git + git-lfs.

    With no command, opens the TUI on the vault in the current folder.
    """
    if ctx.invoked_subcommand is None:
        if not has_terminal():
            raise click.UsageError(NO_TERMINAL)
        from tui.app import make_app
        from vcs.vault import Vault

        vault = Vault.find(directory)
        make_app(vault.root).run()
    return 0


for _cmd in (init_cmd, check_cmd, commit_cmd, log_cmd, show_cmd, note_cmd, approve_cmd, verify_cmd, demo_cmd,
             play_cmd, diff_cmd, analyze_cmd, tui_cmd, clone_cmd, fetch_cmd, push_cmd, pull_cmd, status_cmd,
             server_cmd, hook_cmd, separate_cmd, export_cmd):
    cli.add_command(_cmd)


def _fail(message: str, code: int) -> int:
    click.echo(f"error: {plain(message)}", err=True)
    return code


def crash_log_dir() -> Path:
    """Where the traceback of an unexpected error goes: $XDG_STATE_HOME/stemvault, else
    ~/.local/state/stemvault."""
    state = os.environ.get("XDG_STATE_HOME", "").strip()
    base = Path(state) if state and Path(state).is_absolute() else Path.home() / ".local" / "state"
    return base / "stemvault"


def _crash(e: Exception, argv: list[str] | None) -> int:
    """A bug: one line naming the exception and the file with its traceback (on stderr if that
    file cannot be written)."""
    trace = traceback.format_exc()
    head = f"unexpected {type(e).__name__}: {e}"
    try:
        folder = crash_log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        path = folder / f"crash-{stamp}-{os.getpid()}.log"
        args = sys.argv[1:] if argv is None else argv
        path.write_text(f"stemvault {' '.join(args)}\n{trace}", encoding="utf-8", errors="replace")
    except OSError as log_error:
        click.echo(trace, err=True, nl=False)
        return _fail(f"{head} — the trace is above (could not write a log: {log_error})", EXIT_BUG)
    return _fail(f"{head} — the full trace is in {path}", EXIT_BUG)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    """A Python warning that reaches the user (SlowFilterWarning): one line, not source lines."""
    click.echo(f"warning: {plain(str(message))}", err=True)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; map domain errors to one line and an exit code."""
    warnings.showwarning = _show_warning
    try:
        rv = cli.main(args=argv, prog_name="stemvault", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except click.UsageError as e:
        cmd = e.ctx.command_path if e.ctx else "stemvault"
        return _fail(f"{e.format_message()} (see `{cmd} --help`)", 2)
    except click.ClickException as e:
        return _fail(e.format_message(), e.exit_code)
    except VaultError as e:
        return _fail(str(e), e.exit_code)
    except AudioError as e:
        return _fail(str(e), e.exit_code)
    except Exception as e:  # a bug: said as such, never passed off as bad input
        return _crash(e, argv)
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
