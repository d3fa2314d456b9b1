"""stemvault check SOURCE [--mix FILE] [--json] — lint an export folder or a committed version."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from tui.commands.common import open_vault, print_findings
from tui.output import emit_json, plain
from vcs.errors import NotAVault
from vcs.naming import parse_ref
from vcs.vault import Vault

if TYPE_CHECKING:
    from vcs.checking import CheckReport


def run_check(source: str, *, mix: str | None = None, frame_rate: str | None = None,
              cue: str | None = None) -> CheckReport:
    """Check a folder (path) or a version (``CUE@VER``, inside a vault)."""
    from vcs.checking import check_folder, check_version  # heavy: audio.analysis

    path = Path(source).expanduser()
    vault: Vault | None
    try:
        vault = open_vault()
    except NotAVault:
        vault = None
    if not path.exists() and vault is not None and "/" not in source:
        return check_version(vault, vault.resolve(parse_ref(source)))
    if vault is not None and frame_rate is None:
        return check_folder(path, config=vault.config, frame_rate=vault.config.frame_rate, cue=cue, mix=mix)
    return check_folder(path, frame_rate=frame_rate or "24", cue=cue, mix=mix)


def _fmt(v: float | None, unit: str = "") -> str:
    return "—" if v is None else f"{v:.1f}{unit}"


def print_report(r: CheckReport) -> None:
    rows = r.file_rows()
    width = max([len(plain(x["file"])) for x in rows] + [4])
    click.echo(f"  {'file':{width}}  {'format':14} {'start':12} {'LUFS':>6} {'LRA':>5} {'dBTP':>6}")
    for x in rows:
        fmt = f"{x['sample_rate'] // 1000 if x['sample_rate'] % 1000 == 0 else x['sample_rate'] / 1000}k/" \
              f"{x['bit_depth'] or '?'} {x['layout']}"
        click.echo(f"  {plain(x['file']):{width}}  {fmt[:14]:14} {x['start_tc'] or '—':12} "
                   f"{_fmt(x['integrated_lufs']):>6} {_fmt(x['lra_lu']):>5} {_fmt(x['true_peak_dbtp']):>6}")
    nt = r.null_test_doc()
    if not nt["ran"]:
        against = f" against {plain(nt['mix'])}" if nt["mix"] else ""
        click.echo(f"  null test{against}: not run ({plain(nt['reason'])})")
    else:
        res = "digital null" if nt["residual_db"] is None else f"residual {nt['residual_db']:.1f} dB"
        click.echo(f"  null test against {plain(nt['mix'])}: {res}"
                   + (f" (worst at {nt['worst_tc']})" if nt["worst_tc"] and nt["residual_db"] is not None else ""))
    if r.findings:
        click.echo("")
    print_findings(r.findings)
    errors = sum(f.severity == "error" for f in r.findings)
    warnings = sum(f.severity == "warning" for f in r.findings)
    click.echo(f"\n{'OK' if r.ok else 'NOT OK'}: {len(rows)} files, {errors} errors, {warnings} warnings")


@click.command("check")
@click.argument("source", metavar="SOURCE|CUE@VER")
@click.option("--mix", help="Which file is the mix (default: the name rule, e.g. *_MIX*).")
@click.option("--cue", help="The cue the files belong to (default: their common name prefix).")
@click.option("--frame-rate", help="Timecode rate outside a vault (default 24; in a vault: the vault's).")
@click.option("--json", "as_json", is_flag=True, help="Print {ok, files, findings, null_test} as JSON.")
def check_cmd(source: str, mix: str | None, cue: str | None, frame_rate: str | None, as_json: bool) -> int:
    """Check an export folder (or a committed version): formats, null test, tails, loudness, names."""
    report = run_check(source, mix=mix, frame_rate=frame_rate, cue=cue)
    if as_json:
        emit_json(report.to_dict())
    else:
        print_report(report)
    return 0 if report.ok else 1
