"""stemvault show CUE[@VER] — one version: manifest, notes, approval."""

from __future__ import annotations

from typing import Any

import click

from tui.commands.common import (
    echo_changed_outside,
    echo_version_line,
    open_vault,
    print_findings,
    version_doc,
)
from tui.output import emit_json, plain
from vcs.models import Version
from vcs.outside import OutsideChange, changed_outside
from vcs.review import add_bar_beats
from vcs.vault import Vault


def _outside(vault: Vault, v: Version) -> OutsideChange | None:
    """The plain-git change after ``v``, when ``v`` is its cue's latest version."""
    latest = vault.resolve(v.cue)
    return changed_outside(vault, latest) if latest.commit == v.commit else None



def _length(frames: Any, sr: Any) -> str:
    if not frames or not sr:
        return "?"
    s = frames / sr
    return f"{int(s // 60)}:{s % 60:06.3f}"


def _num(x: Any) -> str:
    return "—" if x is None else f"{x:.1f}"


@click.command("show")
@click.argument("ref", metavar="CUE[@VER]")
@click.option("--json", "as_json", is_flag=True, help="Print the version as JSON.")
def show_cmd(ref: str, as_json: bool) -> int:
    """One version of a cue: its files, notes and approval."""
    vault = open_vault()
    v = vault.resolve(ref)
    manifest = vault.manifest_at(v)
    add_bar_beats(vault, [v])  # notes get their bar|beat where the version has a tempo map
    change = _outside(vault, v)
    if as_json:
        emit_json({**version_doc(v, manifest), "changed_outside": change.to_dict() if change else None})
        return 0
    echo_version_line(v)
    if change:
        echo_changed_outside(change)
    click.echo(f"    commit {v.commit}  by {plain(v.author)} <{plain(v.email)}>  {v.date}")
    if v.summary and "\n" in v.summary:
        for line in v.summary.splitlines()[1:]:
            click.echo(f"    {plain(line)}")
    click.echo(f"    mix: {plain(manifest.mix) if manifest.mix else 'none'}")
    click.echo("")
    width = max([len(s.file) for s in manifest.stems] + [4])
    click.echo(f"  {'file':{width}}  {'role':11} {'kind':6} {'format':13} {'rate':>6} {'bits':>4} "
               f"{'ch':>2} {'length':>10} {'start':>11} {'LUFS':>6} {'dBTP':>6}  sha256")
    for s in manifest.stems:
        m = s.measured
        fmt = f"{m.get('format', '')} {m.get('subtype', '')}".strip()
        click.echo(f"  {plain(s.file):{width}}  {plain(s.role)[:11]:11} {s.kind[:6]:6} {fmt[:13]:13} "
                   f"{m.get('sample_rate', ''):>6} {m.get('bit_depth') or '':>4} {m.get('channels', ''):>2} "
                   f"{_length(m.get('frames'), m.get('sample_rate')):>10} {m.get('start_tc') or '—':>11} "
                   f"{_num(m.get('integrated_lufs')):>6} {_num(m.get('true_peak_dbtp')):>6}  "
                   f"{str(m.get('sha256', ''))[:12]}")
    findings = manifest.extra.get("finding", [])
    checks = manifest.extra.get("checks") or {}
    if checks.get("null_test_residual_db") is not None or findings:
        click.echo("")
    if checks.get("null_test_residual_db") is not None:
        click.echo(f"    null test: residual {checks['null_test_residual_db']:.1f} dB")
    if checks.get("allowed_errors"):
        click.echo(f"    committed despite {checks.get('errors', '?')} check errors: {plain(checks['allowed_errors'])}")
    print_findings(findings)
    return 0
