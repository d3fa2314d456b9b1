"""stemvault verify [CUE[@VER] | PATH] — files against manifests, LFS objects and approvals; or a
delivery (a package folder or zip made by ``stemvault export``) against its checksums."""

from __future__ import annotations

from pathlib import Path

import click

from tui.commands.common import open_vault
from tui.output import emit_json, plain


@click.command("verify")
@click.argument("ref", required=False, metavar="[CUE[@VER] | PATH]")
@click.option("--json", "as_json", is_flag=True, help="Print {ok, problems} as JSON.")
def verify_cmd(ref: str | None, as_json: bool) -> int:
    """Check every file against its manifest checksum and LFS object; approvals against content.

    Given the folder or zip of a delivery, check it instead (no vault needed): every file
    against SHA256SUMS, MD5SUMS and DELIVERY.json; missing, extra and damaged files named.
    """
    from vcs.verify import verify  # audio.probe (soundfile, numpy): only when verifying

    if ref is not None and _delivery_path(ref) is not None:
        return _verify_delivery(_delivery_path(ref), as_json)  # type: ignore[arg-type]
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


def _delivery_path(ref: str) -> Path | None:
    """``ref`` as a delivery's folder or zip, or None when it is a cue reference. A path (with a
    ``/``, or a ``.zip``) that exists is a delivery to check (refused with a reason when it is
    none); a bare name is a cue unless it is a folder holding a package."""
    from vcs.delivery_check import is_delivery

    p = Path(ref).expanduser()
    pathlike = "/" in ref or ref.lower().endswith(".zip")  # never a cue name (letters, digits, _ and -)
    if p.exists() and (pathlike or is_delivery(p)):
        return p
    if pathlike:
        from vcs.errors import UsageError

        raise UsageError(f"{ref} does not exist: give the folder or zip of a delivery (or a cue, CUE[@VER])")
    return None


def _verify_delivery(path: Path, as_json: bool) -> int:
    from vcs.delivery_check import verify_delivery

    report = verify_delivery(path)
    if as_json:
        emit_json(report.to_dict())
    else:
        for p in report.problems:
            click.secho(f"✗ {plain(p.file)}  [{p.kind}] {plain(p.message)}", fg="red")
        n = len(report.problems)
        state = "OK" if report.ok else f"{n} problem{'' if n == 1 else 's'}"
        what = f"{plain(report.cue)}@{plain(report.version)} " if report.cue else ""
        click.echo(f"{state}: delivery {what}at {plain(str(path))}, {report.files_checked} files checked")
    return 0 if report.ok else 1
