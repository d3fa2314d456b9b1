"""stemvault commit CUE SOURCE_DIR — a new version of a cue from an export folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tui.commands.common import open_vault, print_findings, version_doc
from tui.output import emit_json, plain

if TYPE_CHECKING:
    from vcs.commit import CommitResult


def result_doc(r: CommitResult) -> dict[str, Any]:
    d = version_doc(r.version, r.manifest)
    d.update(added=r.added, removed=r.removed, changed=r.changed, meta_only=r.meta_only, unchanged=r.unchanged, renamed=r.renamed,
             reexported=r.reexported,
             ignored=r.ignored, new_lfs_objects=r.new_lfs_objects, analyzed=r.analyzed,
             findings=[f.to_dict() for f in r.findings], null_test=r.null_test, committed=True,
             replaced_outside=r.replaced_outside.to_dict() if r.replaced_outside else None)
    return d


@click.command("commit")
@click.argument("cue")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-m", "--message", "summary", default="", help="What this version is (the summary).")
@click.option("--note", "notes", multiple=True, metavar="'TC TEXT'",
              help="A note at a timecode, e.g. --note '01:00:12:05 brass enters early' (repeatable).")
@click.option("--minor", is_flag=True, help="A tweak: bump the minor version (1.0 → 1.1).")
@click.option("--major", is_flag=True, help="A new version (the default): 1.1 → 2.0.")
@click.option("--mix", help="Which file is the mix (default: the name rule, e.g. *_MIX*).")
@click.option("--allow-errors", metavar="REASON",
              help="Commit although the checks found errors; the reason is recorded with the version.")
@click.option("--json", "as_json", is_flag=True, help="Print the new version as JSON.")
def commit_cmd(cue: str, source: Path, summary: str, notes: tuple[str, ...], minor: bool,
               major: bool, mix: str | None, allow_errors: str | None, as_json: bool) -> int:
    """Commit the stems in SOURCE as a new version of CUE."""
    if minor and major:
        raise click.UsageError("--minor and --major contradict each other: choose one")
    from vcs.commit import ChecksRefused, commit_version  # heavy (analysis): only when committing

    vault = open_vault()
    try:
        r = commit_version(vault, cue, source, summary=summary, notes=list(notes), minor=minor, mix=mix,
                           allow_errors=allow_errors)
    except ChecksRefused as e:
        if as_json:
            emit_json({"committed": False, "findings": [f.to_dict() for f in e.findings]})
        else:
            print_findings(e.findings, err=True)
        raise
    if as_json:
        emit_json(result_doc(r))
        return 0
    v = r.version
    click.echo(click.style(f"{v.cue} v{v.version}", bold=True) + f" committed ({v.commit[:10]}): "
               f"{len(r.added)} added, {len(r.changed)} changed"
               + (f" ({len(r.meta_only)} of them header only)" if r.meta_only else "")
               + f", {len(r.removed)} removed, {len(r.renamed)} renamed, "
               f"{len(r.unchanged)} unchanged; {r.new_lfs_objects} new LFS objects")
    if r.reexported:
        click.echo(f"    {len(r.reexported)} re-exported with the same audio and only a restamped header "
                   "(description, dates): the vault keeps its files")
    click.echo(f"    delta: {plain(v.delta)}")
    if r.replaced_outside:
        click.secho(f"    replaces {plain(r.replaced_outside.describe())}: the export is the new "
                    "version (that commit stays in git's history)", fg="yellow")
    if r.manifest.mix:
        click.echo(f"    mix: {plain(r.manifest.mix)} ({r.manifest.mix_from})")
    else:
        click.echo("    mix: none found (name it *_MIX* or pass --mix FILE)")
    print_findings(r.findings)
    if r.null_test and r.null_test.get("ran") is False:
        if r.manifest.mix:  # without a mix, the mix line above already says so
            click.echo(f"    null test: not run ({plain(r.null_test['reason'])})")
    elif r.null_test:
        res = r.null_test["residual_db"]
        click.echo(f"    null test: {'digital null' if res is None else f'residual {res:.1f} dB'}")
    if r.ignored:
        click.echo(f"    ignored (not audio): {plain(', '.join(r.ignored))}")
    return 0
