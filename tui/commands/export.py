"""stemvault export CUE@VER DEST [--zip] [--naming film|sync] [--title T] [--loudness T1,T2]
[--loudness-stems] [--ceiling DBTP] [--previews] [--allow-unapproved] [--force] | --all-approved DEST
— a delivery package built from the version's committed content."""

from __future__ import annotations

from pathlib import Path

import click

from tui.commands.common import open_vault
from tui.output import emit_json, plain


def _targets(text: str | None) -> list[float]:
    if not text:
        return []
    out = []
    for part in text.split(","):
        try:
            t = float(part.strip())
        except ValueError:
            raise click.BadParameter(f"{part.strip()!r} is not a loudness in LUFS; write e.g. -24,-14",
                                     param_hint="--loudness") from None
        if not -70.0 <= t <= 0.0:
            raise click.BadParameter(f"{t:g} LUFS is outside -70..0", param_hint="--loudness")
        out.append(t)
    return list(dict.fromkeys(out))


@click.command("export")
@click.argument("args", nargs=-1, metavar="CUE@VER DEST | --all-approved DEST")
@click.option("--all-approved", "all_approved", is_flag=True,
              help="Every cue's latest approved version, and one cue sheet, into DEST.")
@click.option("--zip", "as_zip", is_flag=True, help="One .zip (stored, not compressed) instead of a folder.")
@click.option("--naming", type=click.Choice(["film", "sync"]), default=None,
              help="Delivered file names: film (1M03_v4.0_STR.wav) or sync (Arrival (Strings Stem).wav); "
                   "default: [delivery] naming in stemvault.toml.")
@click.option("--title", default=None, help="The title in sync names and the cue sheet.")
@click.option("--loudness", "loudness", default=None, metavar="T1,T2",
              help="Extra copies of the mix gain-normalised to these integrated targets (LUFS), e.g. -24,-14.")
@click.option("--loudness-stems", is_flag=True, help="Loudness copies of the stems too, with the mix's gain.")
@click.option("--ceiling", "ceiling", type=float, default=-1.0, show_default=True,
              help="True-peak ceiling of loudness copies (dBTP): the gain stops there.")
@click.option("--previews", is_flag=True, help="MP3 previews (mix; stereo fold-down of 5.1/7.1 stems), "
                                               "outside the checksums.")
@click.option("--allow-unapproved", is_flag=True, help="Deliver a version with no approval without a warning.")
@click.option("--force", is_flag=True, help="Replace an existing package of the same name.")
@click.option("--json", "as_json", is_flag=True, help="Print what was delivered as JSON.")
def export_cmd(args: tuple[str, ...], all_approved: bool, as_zip: bool, naming: str | None, title: str | None,
               loudness: str | None, loudness_stems: bool, ceiling: float, previews: bool,
               allow_unapproved: bool, force: bool, as_json: bool) -> int:
    """Deliver a version: stems and mix by the naming rule, manifest, SHA256SUMS and MD5SUMS,
    change log, cue sheet, README, approval record and check results."""
    from vcs.delivery import ExportOptions, export, export_all_approved

    if all_approved and len(args) != 1:
        raise click.UsageError("--all-approved takes one DEST folder: stemvault export --all-approved DEST")
    if not all_approved and len(args) != 2:
        raise click.UsageError("give a version and a folder: stemvault export CUE@VER DEST")
    if not args[-1].strip():
        raise click.UsageError("DEST is empty: give the folder the package goes into")
    if title is not None and not title.strip():
        raise click.BadParameter("the title is empty: give one, or leave --title out (the title is then "
                                 "[cuesheet.cues.CUE] title in stemvault.toml, else the cue)", param_hint="--title")
    if not -20.0 <= ceiling <= 0.0:
        raise click.BadParameter(f"{ceiling:g} dBTP is outside -20..0", param_hint="--ceiling")
    targets = _targets(loudness)
    if loudness_stems and not targets:
        raise click.UsageError("--loudness-stems goes with --loudness TARGETS")
    opts = ExportOptions(zip=as_zip, naming=naming, title=title, loudness=targets, loudness_stems=loudness_stems,
                         ceiling_dbtp=ceiling, previews=previews, allow_unapproved=allow_unapproved, force=force)
    vault = open_vault()

    def progress(line: str) -> None:
        if not as_json:
            click.echo(plain(line), err=True)

    if all_approved:
        reports, skipped, sheet = export_all_approved(vault, Path(args[0]), opts, progress)
    else:
        reports, skipped, sheet = [export(vault, args[0], Path(args[1]), opts, progress)], [], None
    for r in reports:
        for w in r.warnings:
            click.echo(f"warning: {plain(w)}", err=True)
    if as_json:
        emit_json({"packages": [r.to_dict() for r in reports], "skipped": skipped, "cuesheet": sheet}
                  if all_approved else reports[0].to_dict())
        return 0
    for r in reports:
        a = r.approval
        state = f"approved by {plain(a['by'])} on {plain(a['date'][:10])}" if a else "NOT approved"
        click.echo(f"✓ {r.version} delivered to {plain(r.path)} ({len(r.files)} files, {state})")
        for c in r.loudness:
            for f in c["files"]:
                click.echo(f"    {plain(f['file'])}: {f['integrated_lufs']} LUFS, true peak {f['true_peak_dbtp']} dBTP"
                           f"{' (stopped by the ceiling)' if c['limited_by_ceiling'] else ''}")
        for p in r.previews:
            click.echo(f"    preview: {plain(p)}")
    if skipped:
        click.echo(f"not approved, not delivered: {', '.join(skipped)}")
    if sheet:
        click.echo(f"cue sheet: {plain(sheet)}")
    click.echo("check it with: stemvault verify PATH (or sha256sum -c SHA256SUMS inside it)")
    return 0
