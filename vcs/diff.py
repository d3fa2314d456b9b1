"""What changed between two versions: in which file, where in time, by how much — without the audio.

Public surface:
    Region, FieldChange, FileDiff, VersionDiff (dataclasses; ``to_dict()`` is the ``--json`` form)
    diff_versions(vault, a, b, *, exact=False) -> VersionDiff
    diff_manifests(ma, mb, records_a, records_b, *, frame_rate) -> VersionDiff
    vault_records(vault, commit) -> Records   the records a diff reads, by sha256
    delta_notation(diff) -> str          the one-line delta of docs/delta-notation.md
    RecordsMissing                       a changed file has no analysis record (exit 2)
    AnalyzeResult, build_missing_records (vcs.analyze; re-exported)

Everything comes from the manifests and the analysis records (git blobs), so a clone without
the audio diffs the same. This module runs the diff; the parts live by concern:

    vcs.diffmodel   the data (Region, FieldChange, FileDiff, VersionDiff)
    vcs.matching    which file is which across the versions (name, content, role)
    vcs.compare     one file across the versions, from the manifests and the records
    vcs.setfields   the manifests' set-level fields that differ
    vcs.delta       the delta notation
    vcs.analyze     building the records a diff lacks (runs the analysis, commits)
    audio.envelope, audio.align, audio.exact   the signal processing (curves, moves, samples)

With ``exact=True`` (the audio in this clone), the samples themselves refine regions to the
first and last differing sample, give each region's residual level, and a move to the sample.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audio.errors import BadTimecode
from audio.timecode import FrameRate, parse_frame_rate
from vcs.analyze import AnalyzeResult, build_missing_records, local_audio
from vcs.compare import file_diff, tc_fn
from vcs.delta import delta_notation
from vcs.diffmodel import NULL_PASS_DB, FieldChange, FileDiff, Records, Region, VersionDiff
from vcs.errors import RecordsMissing
from vcs.manifest import Manifest
from vcs.matching import match
from vcs.naming import short_name
from vcs.records import load_record
from vcs.setfields import manifest_fields

if TYPE_CHECKING:
    from vcs.models import Version
    from vcs.vault import Vault

__all__ = ["AnalyzeResult", "FieldChange", "FileDiff", "RecordsMissing", "Region", "VersionDiff",
           "build_missing_records", "delta_notation", "diff_manifests", "diff_versions", "short_name",
           "vault_records"]


def diff_manifests(ma: Manifest, mb: Manifest, records_a: Records, records_b: Records, *,
                   frame_rate: FrameRate | str | None = None, a: dict[str, str] | None = None,
                   b: dict[str, str] | None = None, null_limit_db: float = NULL_PASS_DB) -> VersionDiff:
    """Compare two manifests, reading analysis records through ``records_a/_b(sha256)``."""
    rate = frame_rate if isinstance(frame_rate, FrameRate) else _rate(frame_rate or mb.frame_rate)
    mix_a = ma.stem(ma.mix) if ma.mix else None
    mix_b = mb.stem(mb.mix) if mb.mix else None
    sa = [e for e in ma.stems if e is not mix_a]
    sb = [e for e in mb.stems if e is not mix_b]
    pairs, removed, added = match(sa, sb, ma.cue, mb.cue, records_a, records_b)
    order = {e.file: i for i, e in enumerate(sb)}
    stems = [file_diff(x, y, how, records_a, records_b, rate) for x, y, how in pairs]
    stems.sort(key=lambda s: order.get(s.name, 0))
    stems += [file_diff(None, e, None, records_a, records_b, rate) for e in added]
    stems += [file_diff(e, None, None, records_a, records_b, rate) for e in removed]
    mix = None
    if mix_a or mix_b:
        mix = file_diff(mix_a, mix_b, "name" if mix_a and mix_b else None, records_a, records_b, rate)
    nt: dict[str, Any] = {}
    for side, m in (("a", ma), ("b", mb)):
        res = (m.extra.get("checks") or {}).get("null_test_residual_db")
        nt[side] = res
        # No residual at all (None) with a mix is a perfect null; without a mix there is no test;
        # a test that did not run (files at different rates) neither passes nor fails.
        skipped = (m.extra.get("checks") or {}).get("null_test_skipped")
        nt[f"{side}_passes"] = None if not m.mix or skipped else (res is None or float(res) <= null_limit_db)
        nt[f"{side}_skipped"] = str(skipped) if skipped else None
    out = VersionDiff(a=a or {"cue": ma.cue, "version": ma.version}, b=b or {"cue": mb.cue, "version": mb.version},
                      stems=stems, mix=mix, manifest=manifest_fields(ma, mb), null_test=nt,
                      null_limit_db=null_limit_db, cue=mb.cue)
    out.delta = delta_notation(out)
    return out


def _rate(name: str) -> FrameRate:
    try:
        return parse_frame_rate(name)
    except BadTimecode:
        return parse_frame_rate("24")


def vault_records(vault: Vault, commit: str | None = None) -> Records:
    """Records by sha256: the working folder, HEAD, then ``commit`` (cached)."""
    cache: dict[str, dict[str, Any] | None] = {}

    def get(sha: str) -> dict[str, Any] | None:
        if sha not in cache:
            rec = load_record(vault, sha)
            if rec is None and commit:
                rec = load_record(vault, sha, commit)
            cache[sha] = rec
        return cache[sha]
    return get


def diff_versions(vault: Vault, va: Version, vb: Version, *, exact: bool = False) -> VersionDiff:
    """Compare two versions (of one cue or of two cues) from their manifests and records.

    Raises:
        RecordsMissing: a file whose audio changed has no analysis record (exit 2): the message
            says how to build them (``stemvault analyze``), or what to fetch first.
        AudioMissing: ``exact`` and the audio of a changed file is not in this clone.
    """
    ma, mb = vault.manifest_at(va), vault.manifest_at(vb)
    limit = float(vault.config.checks.get("null_test_max_db", NULL_PASS_DB))
    d = diff_manifests(ma, mb, vault_records(vault, va.commit), vault_records(vault, vb.commit),
                       frame_rate=vault.config.frame_rate if not mb.frame_rate else None,
                       a={"cue": va.cue, "version": str(va.version)},
                       b={"cue": vb.cue, "version": str(vb.version)}, null_limit_db=limit)
    blind = [f for f in d.files() if f.no_record]
    if blind:
        _records_missing(vault, va, vb, ma, mb, blind)
    if exact:
        _exact(vault, d, va, vb, ma, mb)
        d.exact = True
        d.delta = delta_notation(d)
    return d


def _records_missing(vault: Vault, va: Version, vb: Version, ma: Manifest, mb: Manifest,
                     blind: list[FileDiff]) -> None:
    from vcs.audiofiles import fetch_hint

    lacking: list[tuple[Version, Manifest, str]] = []
    for f in blind:
        eb = mb.stem(f.name)
        ea = ma.stem(f.renamed_from or f.name)
        for v, m, e in ((va, ma, ea), (vb, mb, eb)):
            if e is not None and load_record(vault, e.sha256) is None and load_record(vault, e.sha256, v.commit) is None:
                lacking.append((v, m, e.file))
    names = sorted({f"{v.ref} {n}" for v, _, n in lacking})
    refs = sorted({v.ref for v, _, _ in lacking})
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    fetch = []
    for v in {v.ref: v for v, _, _ in lacking}.values():
        m = ma if v is va else mb
        absent = [n for vv, _, n in lacking if vv is v and m.stem(n) is not None
                  and not local_audio(vault, m.stem(n))]  # type: ignore[arg-type]
        if absent:
            fetch.append(fetch_hint(vault, v, absent))
    how = f"build them with `stemvault analyze {' '.join(refs)}`"
    if fetch:
        how = f"fetch the audio ({'; '.join(fetch)}), then {how}"
    raise RecordsMissing(f"no analysis record for {shown} (made by an older stemvault or by hand), so "
                         f"the diff cannot say where the audio changed: {how}", [n for _, _, n in lacking])




# ----- exact: on the samples ---------------------------------------------------------------------

def _exact(vault: Vault, d: VersionDiff, va: Version, vb: Version, ma: Manifest, mb: Manifest) -> None:
    from vcs.audiofiles import versions_audio

    todo = [f for f in d.files() if f.status in ("changed", "moved") and f.kind != "tempo"]
    if not todo:
        return
    names_b = [f.name for f in todo]
    names_a = [f.renamed_from or f.name for f in todo]
    mix_a = ma.mix if d.mix else None
    names_a = [mix_a if (f is d.mix and mix_a) else n for f, n in zip(todo, names_a, strict=True)]
    got_a, got_b = versions_audio(vault, [(va, ma, names_a), (vb, mb, names_b)])  # all that is missing, at once
    files_a = {x.name: x.path for x in got_a}
    files_b = {x.name: x.path for x in got_b}
    for f, na in zip(todo, names_a, strict=True):
        eb = mb.stem(f.name)
        assert eb is not None
        exact_file(f, files_a[na], files_b[f.name], tc=tc_fn(eb, _rate(mb.frame_rate)))



def exact_file(f: FileDiff, path_a: Path, path_b: Path, *, tc: Callable[[int], str]) -> None:
    """Refine ``f`` on the samples of both files: the exact shift of a move (or a move the
    records missed), region bounds to the sample, the residual level per region."""
    import soundfile as sf

    from audio.exact import differing_spans, exact_lag, residual

    with sf.SoundFile(str(path_a)) as A, sf.SoundFile(str(path_b)) as B:
        if A.samplerate != B.samplerate or A.channels != B.channels:
            return
        sr = A.samplerate
        f.sample_rate = sr
        if f.status == "moved" or f.whole:
            est = f.shift_samples or 0
            lag = exact_lag(A, B, est, radius=max(2 * 240, abs(est) // 10 + 480) if f.status == "moved" else 480)
            if lag is not None:
                res = residual(A, B, 0, max(A.frames, B.frames), lag)
                if res is None or res <= -90.0:
                    f.status, f.shift_samples, f.shift_exact, f.whole = "moved", lag, True, False
                    f.regions, f.residual_db = [], res
                    return
            if f.status == "moved":  # the envelopes agreed but the samples do not line up
                f.status, f.shift_samples, f.whole = "changed", None, True
                f.regions = [Region(0.0, B.frames / sr, tc(0), tc(B.frames))]
        spans = [(round(r.start_s * sr), round(r.end_s * sr)) for r in
                 f.regions or [Region(0.0, min(A.frames, B.frames) / sr, tc(0), tc(min(A.frames, B.frames)))]]
        found, f.residual_db = differing_spans(A, B, spans)
        f.regions = [Region(first / sr, last / sr, tc(first), tc(last), rdb, exact=True) for first, last, rdb in found]
