"""stemvault diff CUE@A CUE@B — what changed, in which file, where in time; works without the audio."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from tui.commands.common import open_vault
from tui.output import emit_json, plain
from vcs.vault import Vault

if TYPE_CHECKING:  # vcs.diff (numpy) is imported when a diff runs, not at every start
    from vcs.diff import FileDiff, VersionDiff


def run_diff(vault: Vault, ref_a: str, ref_b: str, *, exact: bool = False) -> VersionDiff:
    """The diff of two versions (``--json`` is ``run_diff(...).to_dict()``)."""
    from vcs.diff import diff_versions

    # One history walk for both refs, without notes and approvals (the diff does not show them).
    va, vb = vault.resolve_many([ref_a, ref_b], details=False)
    return diff_versions(vault, va, vb, exact=exact)


_MARK = {"added": "+", "removed": "−", "changed": "~", "moved": "→", "renamed": "r", "metadata": "*",
         "unchanged": "="}


def _secs(x: float) -> str:
    return f"{x:.1f} s" if x < 60 else f"{int(x // 60)} min {x % 60:04.1f} s"


def _regions(f: FileDiff) -> str:
    if f.whole:
        return "changed everywhere"
    if not f.regions:
        return "changed"
    shown = [f"{r.start_tc}–{r.end_tc} ({_secs(r.end_s - r.start_s)})"
             + (f" residual {r.residual_db:.1f} dB" if r.exact and r.residual_db is not None else "")
             for r in f.regions[:4]]
    more = f" and {len(f.regions) - 4} more" if len(f.regions) > 4 else ""
    return "changed " + ", ".join(shown) + more


def describe(f: FileDiff) -> str:
    """One file's change in words (no name, no mark)."""
    bits: list[str] = []
    if f.status == "added":
        return "added"
    if f.status == "removed":
        return "removed"
    if f.renamed_from:
        bits.append(f"renamed from {plain(f.renamed_from)}" + (" (same audio)" if f.status == "renamed" else ""))
    if f.status == "metadata":
        bits.append("metadata only (same audio, different header)")
    elif f.status == "moved" and f.shift_samples is not None:
        ms = 1000 * f.shift_samples / (f.sample_rate or 48000)
        how = "exactly" if f.shift_exact else "≈"
        bits.append(f"moved {ms:+.1f} ms ({how} {f.shift_samples:+d} samples), otherwise the same")
    elif f.status == "changed":
        if f.kind == "tempo":
            bits.append("tempo map changed")
        else:
            bits.append(_regions(f))
            if f.whole and not f.shift_estimable:
                bits.append("(these records cannot tell a move in time: `stemvault analyze` anew, or diff --exact)")
    if f.status in ("changed", "moved"):
        if f.loudness_delta_lu:
            bits.append(f"{f.loudness_delta_lu:+.1f} LU")
        if f.true_peak_delta_db:
            bits.append(f"peak {f.true_peak_delta_db:+.1f} dB")
        if f.lra_delta_lu:
            bits.append(f"LRA {f.lra_delta_lu:+.1f} LU")
    if f.length_delta_s and abs(f.length_delta_s) >= 0.001:
        word = "longer" if f.length_delta_s > 0 else "shorter"
        bits.append(f"tail {word} by {abs(f.length_delta_s):.{1 if abs(f.length_delta_s) >= 0.1 else 3}f} s")
    fmt = [c for c in f.fields if c.field in ("format", "subtype", "sample_rate", "bit_depth", "channels",
                                              "layout", "start_tc")]
    for c in fmt:
        bits.append(f"{c.field.replace('_', ' ')} {plain(str(c.old))} → {plain(str(c.new))}")
    # The whole file's residual, unless its one region already says it (the same figure).
    said = len(f.regions) == 1 and f.regions[0].exact and f.regions[0].residual_db is not None
    if f.residual_db is not None and f.status == "changed" and not said:
        bits.append(f"residual {f.residual_db:.1f} dB" if len(f.regions) <= 1 else
                    f"residual {f.residual_db:.1f} dB overall")
    return "   ".join(bits) or "unchanged"


def _descriptive(d: VersionDiff) -> list[str]:
    out = []
    for f in d.files():
        for c in f.fields:
            if c.field in ("role", "instrument", "kind", "mute", "solo", "notes"):
                out.append(f"{plain(f.name)} {c.field} {plain(str(c.old)) or '(none)'} → "
                           f"{plain(str(c.new)) or '(none)'}")
    return out


def _null(d: VersionDiff) -> str:
    a, b = d.null_test.get("a"), d.null_test.get("b")
    pa, pb = d.null_test.get("a_passes"), d.null_test.get("b_passes")
    sa, sb = d.null_test.get("a_skipped"), d.null_test.get("b_skipped")
    if sb:
        return f"null test not run in B ({sb})"
    if sa and pb is not None:
        return f"null test {'passes' if pb else 'fails'} ({_db(b)}; not run in A)"
    if pa is None and pb is None:
        return ""
    if pb is None:
        return "no mix to null-test any more"
    if pa == pb or pa is None:
        word = "passes" if pb else "fails"
        return f"null test {word} ({_db(b)})" if a == b or pa is None else f"null test {word} ({_db(a)} → {_db(b)})"
    return f"null test now {'passes' if pb else 'fails'} ({_db(b)}, was {_db(a)})"


def _db(x: float | None) -> str:
    return "no residual" if x is None else f"{x:.0f} dB"


def print_diff(d: VersionDiff) -> None:
    a, b = d.a, d.b
    click.echo(click.style(f"{a['cue']}@{a['version']} → {b['cue']}@{b['version']}", bold=True)
               + ("  (exact: on the samples)" if d.exact else ""))
    shown = [f for f in d.stems if f.status != "unchanged" or f.fields]
    width = max([len(plain(f.name)) for f in shown] + [8])
    for f in shown:
        click.echo(f"  {_MARK[f.status]} {plain(f.name):{width}}  {describe(f)}")
    same = [f for f in d.stems if f.status == "unchanged" and not f.fields]
    if same:
        first = plain(same[0].name)
        click.echo(f"  = {first}{' …' if len(same) > 1 else ''} unchanged ({len(same)})")
    mix_bits = []
    if d.mix is not None:
        mix_bits.append(describe(d.mix) if d.mix.status not in ("unchanged",) else "unchanged")
    nt = _null(d)
    if nt:
        mix_bits.append(nt)
    if mix_bits:
        click.echo(f"  mix: {'; '.join(mix_bits)}")
    words = [f"{plain(c.field)} {plain(_short(c.old))} → {plain(_short(c.new))}" for c in d.manifest]
    words += _descriptive(d)
    click.echo(f"  manifest: {'; '.join(words) if words else 'no descriptive or set-level change'}")
    click.echo(f"  delta: {plain(d.delta)}")


def _short(v: Any) -> str:
    if v is None or v == "":
        return "(none)"
    s = str(v)
    return s if len(s) <= 40 else s[:39] + "…"


@click.command("diff")
@click.argument("ref_a", metavar="CUE@A")
@click.argument("ref_b", metavar="CUE@B")
@click.option("--exact", is_flag=True,
              help="Confirm on the samples (needs the audio of the changed files in this clone).")
@click.option("--json", "as_json", is_flag=True, help="Print the diff as JSON.")
def diff_cmd(ref_a: str, ref_b: str, exact: bool, as_json: bool) -> int:
    """What changed from CUE@A to CUE@B: files, regions in timecode, loudness, manifest.

    Works from the analysis records, without the audio; --exact reads the samples.
    """
    vault = open_vault()
    d = run_diff(vault, ref_a, ref_b, exact=exact)
    if as_json:
        emit_json(d.to_dict())
    else:
        print_diff(d)
    return 0
