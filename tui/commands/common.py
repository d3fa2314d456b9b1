"""What the command wrappers share: finding the vault, describing versions for people."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tui.output import plain
from vcs.manifest import Manifest
from vcs.models import Version
from vcs.outside import OutsideChange
from vcs.trust import signature_words
from vcs.vault import Vault


def require_terminal() -> None:
    """Refuse to start the TUI without a terminal (exit 2): see tui.terminal.NO_TERMINAL.

    Raises:
        click.UsageError: stdin or stdout is not a terminal.
    """
    from tui.terminal import NO_TERMINAL, has_terminal

    if not has_terminal():
        raise click.UsageError(NO_TERMINAL)


def open_vault() -> Vault:
    """The vault the command works in: ``-C PATH`` on the command line, else the current folder."""
    ctx = click.get_current_context()
    root = ctx.find_root().params.get("directory")
    return Vault.find(Path(root) if root else None)


def stem_dict(s: Any) -> dict[str, Any]:
    m = s.measured
    return {"file": s.file, "role": s.role, "instrument": s.instrument, "kind": s.kind,
            "mute": s.mute, "solo": s.solo, "notes": s.notes,
            "sha256": m.get("sha256"), "size": m.get("size"), "sample_rate": m.get("sample_rate"),
            "bit_depth": m.get("bit_depth"), "channels": m.get("channels"),
            "frames": m.get("frames"), "format": m.get("format"), "subtype": m.get("subtype"),
            "duration_s": m.get("duration_s"), "start_tc": m.get("start_tc"),
            "time_reference": m.get("time_reference"), "integrated_lufs": m.get("integrated_lufs"),
            "lra_lu": m.get("lra_lu"), "true_peak_dbtp": m.get("true_peak_dbtp"), "layout": m.get("layout")}


def version_doc(v: Version, manifest: Manifest) -> dict[str, Any]:
    """The ``show --json`` document of one version."""
    d = v.to_dict()
    d["stems"] = [stem_dict(s) for s in manifest.stems]
    d["mix"] = manifest.mix
    d["findings"] = list(manifest.extra.get("finding", []))
    d["checks"] = manifest.extra.get("checks")
    d["frame_rate"] = manifest.frame_rate
    return d


def echo_version_line(v: Version) -> None:
    """A version, its delta, notes and approval, for people. Every field read from git is shown
    through ``plain`` (control characters escaped); a damaged note is shown and marked."""
    date = v.date[:16].replace("T", " ")
    kind = "tweak" if v.change == "tweak" else "new"
    click.echo(click.style(plain(f"{v.cue} v{v.version}"), bold=True) + f"  {kind:5}  {plain(date)}  "
               f"{plain(v.author)}  {plain(v.summary.splitlines()[0] if v.summary else '')}")
    if v.delta:
        click.echo(f"    delta: {plain(v.delta)}")
    if (made := v.provenance_line()) is not None:  # stemvault separate: never taken for an export
        click.secho(f"    {plain(made)}", fg="magenta")
    for n in v.notes:
        where = f" [{plain(n.stem)}]" if n.stem else ""
        who = f" — {plain(n.author)}" if n.author else ""
        tag = "" if n.source == "review" else " (with the version)"
        tc = f"damaged note ({n.damaged}: '{plain(n.tc)}')" if n.damaged else plain(n.tc)
        bb = f" {plain(n.bar_beat)}" if n.bar_beat else ""
        click.echo(f"    {tc}{bb}{where}  {plain(n.text)}{who}{tag}")
    if v.tempo_map and v.tempo_map.get("error"):
        click.echo(f"    tempo map unreadable ({plain(v.tempo_map['file'])}: {plain(v.tempo_map['error'])}): "
                   "notes shown without bar|beat")
    if v.approval:
        a = v.approval
        sig = f", {signature_words(a)}" if a.signed else ""
        msg = f": {plain(a.message)}" if a.message else ""
        click.echo(click.style(f"    ✓ approved by {plain(a.by)} on {plain(a.date[:10])}{plain(sig)}{msg}",
                               fg="green" if a.verified or not a.signed else "yellow"))
    elif v.void_approval:
        a = v.void_approval
        click.echo(click.style(f"    ✗ not approved: the approval tag {plain(a.tag)} by {plain(a.by)} on "
                               f"{plain(a.date[:10])} does not count ({plain(a.why)})", fg="red"))


_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}


def print_findings(findings: list[Any], *, err: bool = False) -> None:
    """Findings of the checks, one line each (user-controlled names shown escaped)."""
    for f in findings:
        d = f if isinstance(f, dict) else f.to_dict() if hasattr(f, "to_dict") else {"message": f}
        sev = plain(str(d.get("severity", "")))
        click.secho(f"    {sev:7} {plain(str(d.get('code', ''))):20} {plain(str(d.get('message', '')))}",
                    fg=_STYLE.get(sev), err=err)


def echo_changed_outside(change: OutsideChange) -> None:
    """The mark under a cue's latest version whose files were changed with plain git after it."""
    click.secho(f"    ! {plain(change.describe())}: the branch tip is not this version; "
                "see `stemvault verify`", fg="yellow")
