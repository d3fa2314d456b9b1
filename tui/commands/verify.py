"""stemvault verify [CUE[@VER]] — files against manifests, LFS objects and approvals."""

from __future__ import annotations

import click

from tui.commands.common import open_vault
from tui.output import emit_json, plain


@click.command("verify")
@click.argument("ref", required=False, metavar="[CUE[@VER]]")
@click.option("--json", "as_json", is_flag=True, help="Print {ok, problems} as JSON.")
def verify_cmd(ref: str | None, as_json: bool) -> int:
    """Check every file against its manifest checksum and LFS object; approvals against content."""
    from vcs.verify import verify  # audio.probe (soundfile, numpy): only when verifying

    vault = open_vault()
    report = verify(vault, ref)
    if as_json:
        emit_json(report.to_dict())
    else:
        for p in report.problems:
            click.secho(f"✗ {p.version}  {plain(p.file)}  [{p.kind}] {plain(p.message)}", fg="red")
        if report.not_local:
            unsure = sum(1 for n in report.not_local if n.get("held_by") == "lfs.url")
            click.echo(f"{len(report.not_local)} files are not downloaded here (not a problem: "
                       "fetch them to check their content)" + (
                           f"; {unsure} of them are in no remote branch: safe only if the LFS server "
                           "(lfs.url) has them" if unsure else ""))
        n = len(report.problems)
        state = "OK" if report.ok else f"{n} problem{'' if n == 1 else 's'}"
        click.echo(f"{state}: {len(report.versions)} versions, {report.files_checked} files, "
                   f"{report.objects_hashed} LFS objects hashed")
    return 0 if report.ok else 1
