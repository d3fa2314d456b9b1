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
    # The measured table is read from git and may have been edited by hand: never trust a type.
    if not isinstance(frames, int | float) or not isinstance(sr, int | float) or not frames or not sr:
        return "?"
    s = frames / sr
    return f"{int(s // 60)}:{s % 60:06.3f}"


def _num(x: Any) -> str:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return "—" if x is None else plain(str(x))
    return f"{x:.1f}"


def _p(x: Any) -> str:
    """A value from the manifest, terminal-safe (control characters escaped)."""
    return plain("" if x is None else str(x))


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
    click.echo(f"    mix: {_p(manifest.mix) if manifest.mix else 'none'}")
    click.echo("")
    width = max([len(_p(s.file)) for s in manifest.stems] + [4])
    role_w = max([len(_p(s.role)) for s in manifest.stems] + [11])
    kind_w = max([len(_p(s.kind)) for s in manifest.stems] + [6])
    click.echo(f"  {'file':{width}}  {'role':{role_w}} {'kind':{kind_w}} {'format':13} {'rate':>6} {'bits':>4} "
               f"{'ch':>2} {'length':>10} {'start':>11} {'LUFS':>6} {'dBTP':>6}  sha256")
    for s in manifest.stems:
        m = s.measured
        fmt = f"{_p(m.get('format', ''))} {_p(m.get('subtype', ''))}".strip()
        click.echo(f"  {_p(s.file):{width}}  {_p(s.role):{role_w}} {_p(s.kind):{kind_w}} {fmt[:13]:13} "
                   f"{_p(m.get('sample_rate', '')):>6} {_p(m.get('bit_depth') or ''):>4} "
                   f"{_p(m.get('channels', '')):>2} "
                   f"{_length(m.get('frames'), m.get('sample_rate')):>10} {_p(m.get('start_tc') or '—'):>11} "
                   f"{_num(m.get('integrated_lufs')):>6} {_num(m.get('true_peak_dbtp')):>6}  "
                   f"{_p(m.get('sha256', ''))[:12]}")
    findings = manifest.extra.get("finding", [])
    findings = findings if isinstance(findings, list) else []
    checks = manifest.extra.get("checks") or {}
    checks = checks if isinstance(checks, dict) else {}
    residual = checks.get("null_test_residual_db")
    residual = residual if isinstance(residual, int | float) and not isinstance(residual, bool) else None
    if residual is not None or findings:
        click.echo("")
    if residual is not None:
        click.echo(f"    null test: residual {residual:.1f} dB")
    if checks.get("allowed_errors"):
        click.echo(f"    committed despite {_p(checks.get('errors', '?'))} check errors: "
                   f"{_p(checks['allowed_errors'])}")
    print_findings(findings)
    return 0
