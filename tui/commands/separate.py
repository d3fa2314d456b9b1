"""stemvault separate MIX --cue CUE — stems from a finished mix by AI separation, as a version
that says so (or, with --to DIR, only the files)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tui.commands.common import open_vault, print_findings
from tui.output import emit_json, plain

if TYPE_CHECKING:
    from vcs.separate import SeparateResult


def result_doc(r: SeparateResult) -> dict[str, Any]:
    """The ``--json`` document: the provenance, the files, and the version when committed."""
    from tui.commands.commit import result_doc as commit_doc

    d: dict[str, Any] = {"provenance": r.provenance, "files": r.files,
                         "clipped_samples": r.separation.clipped,
                         "folder": str(r.folder) if r.folder else None, "committed": r.commit is not None}
    if r.commit is not None:
        d["version"] = commit_doc(r.commit)
    return d


def _progress() -> Any:
    """Progress on stderr: one line rewritten on a terminal, a line per 10 % otherwise."""
    tty = sys.stderr.isatty()
    last = [-1]

    def report(share: float) -> None:
        pct = int(share * 100)
        if tty:
            click.echo(f"\rseparating: {pct:3d} %", err=True, nl=pct >= 100)
        elif pct // 10 > last[0]:
            last[0] = pct // 10
            click.echo(f"separating: {pct} %", err=True)

    return report


@click.command("separate")
@click.argument("mix", type=click.Path(path_type=Path))
@click.option("--cue", required=True, help="The cue the stems are of (names them; the version's cue).")
@click.option("--model", default="htdemucs", show_default=True,
              help="The model: MODEL_REPO/NAME.onnx (htdemucs, htdemucs_6s, ...).")
@click.option("--model-repo", type=click.Path(path_type=Path),
              help="The folder holding NAME.onnx (default: [separate] model_repo in stemvault.toml).")
@click.option("--to", "to", type=click.Path(path_type=Path),
              help="Only write the files into this folder (no version is made).")
@click.option("--overlap", type=float, default=0.25, show_default=True,
              help="Share of each model segment that overlaps the next (0 to 0.5).")
@click.option("--shifts", type=int, default=0, show_default=True,
              help="Average this many runs over the mix shifted by up to 0.5 s (each costs a run).")
@click.option("-m", "--message", "summary", default="", help="The version's summary.")
@click.option("--minor", is_flag=True, help="A tweak: bump the minor version (1.0 → 1.1).")
@click.option("--allow-errors", metavar="REASON",
              help="Commit although the checks found errors; the reason is recorded with the version.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def separate_cmd(mix: Path, cue: str, model: str, model_repo: Path | None, to: Path | None, overlap: float,
                 shifts: int, summary: str, minor: bool, allow_errors: str | None, as_json: bool) -> int:
    """Separate MIX into stems (drums, bass, other, vocals [, guitar, piano]) plus a residual that
    makes them null against the mix exactly; commit them with the mix as a new version of CUE."""
    from vcs.errors import VaultError
    from vcs.separate import separate_mix  # the separation (and its optional runtime): only here

    if to is None:
        vault = open_vault()
    else:
        try:  # only for [separate] model_repo: --to needs no vault
            vault = open_vault()
        except VaultError:
            vault = None
    r = separate_mix(mix, cue, vault=vault, to=to, model=model, model_repo=model_repo, overlap=overlap,
                     shifts=shifts, summary=summary, minor=minor, allow_errors=allow_errors,
                     progress=None if as_json else _progress())
    if as_json:
        emit_json(result_doc(r))
        return 0
    p, s = r.provenance, r.separation
    res = "a digital null (the model's stems sum to the mix)" if s.residual_db is None else \
        f"residual {s.residual_db:.1f} dB (peak {s.residual_peak_dbfs:.1f} dBFS)"
    if r.commit is not None:
        v = r.commit.version
        click.echo(click.style(f"{v.cue} v{v.version}", bold=True) + f" committed ({v.commit[:10]}): separated by "
                   f"{plain(p['model'])} from {plain(p['mix_file'])} ({p['mix_sha256'][:12]}), {res}")
    else:
        click.echo(f"wrote {len(r.files)} files to {plain(str(r.folder))}: separated by {plain(p['model'])} "
                   f"from {plain(p['mix_file'])}, {res}")
    click.echo(f"    stems: {plain(', '.join(r.files[n] for n in s.sources))}; {plain(r.files['residual'])} "
               "makes them sum to the mix exactly")
    clipped = {k: n for k, n in s.clipped.items() if n}
    if clipped:
        click.secho("    clipped (over full scale, kept in the residual): "
                    + ", ".join(f"{k} {n} samples" for k, n in clipped.items()), fg="yellow")
    if r.commit is not None:
        print_findings(r.commit.findings)
        nt = r.commit.null_test
        if nt and nt.get("ran") is not False:
            val = nt.get("residual_db")
            click.echo(f"    null test: {'digital null' if val is None else f'residual {val:.1f} dB'}")
    return 0
