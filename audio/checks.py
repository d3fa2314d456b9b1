"""Checks of a stem set: names, formats, null test, tails, levels — findings with stable codes.

Public surface:
    Finding (dataclass), CheckSettings (dataclass)
    check_set(analysis, settings) -> list[Finding]
    null_skip_reason(analysis, mix) -> str | None   why the null test did not run (None: it ran)
    CODES: {code: (severity, title)} — documented in docs/checks.md

Checks read only what ``audio.analysis`` measured (records, probes, the null test), so they run
the same on an export folder, a committed version, or a clone without the audio when records
are there.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

from audio.analysis import SetAnalysis
from audio.names import without_cue
from audio.probe import LOSSLESS_HINT, codec_name
from audio.timecode import FrameRate, Timecode, parse_frame_rate

__all__ = ["CODES", "CheckSettings", "Finding", "check_set", "null_skip_reason", "start_tc"]

ERROR, WARNING, INFO = "error", "warning", "info"

CODES: dict[str, tuple[str, str]] = {
    "name-characters": (ERROR, "spaces or characters that break transfers in a file name"),
    "name-generic": (ERROR, "a name that says nothing (Stem1, Audio 01, Bounce, Untitled)"),
    "name-cue-prefix": (WARNING, "the file name does not start with the cue"),
    "name-role": (WARNING, "no recognised role in the file name"),
    "name-rule": (WARNING, "the file name does not match the vault's naming rule"),
    "name-extension-case": (INFO, "an upper-case extension (tracked by LFS all the same)"),
    "format-lossy": (ERROR, "a lossy file (MP3, Vorbis, Opus...), whatever its extension"),
    "format-sample-rate": (ERROR, "files of the set at different sample rates"),
    "format-bit-depth": (ERROR, "files of the set at different bit depths"),
    "format-length": (ERROR, "files of the set of different lengths (in samples)"),
    "format-start": (ERROR, "files of the set with different start timecodes"),
    "policy-sample-rate": (WARNING, "a sample rate other than the project's"),
    "policy-bit-depth": (WARNING, "a bit depth other than the project's"),
    "no-timecode": (INFO, "no BWF start timecode (bext TimeReference)"),
    "ixml-unreadable": (WARNING, "a WAV whose iXML chunk cannot be read: its track names are unknown"),
    "bwf-unreadable": (WARNING, "a WAV whose BWF metadata (bext, iXML) cannot be read: its start timecode is unknown"),
    "null-test": (ERROR, "the stems do not sum to the mix"),
    "null-missing": (WARNING, "something in the mix is missing from the stems in one region"),
    "no-mix": (INFO, "no mix to null-test the stems against"),
    "null-skipped": (WARNING, "the null test did not run (the message says why)"),
    "check-skipped": (WARNING, "a check that could not run (the message says which and why)"),
    "tail-cut": (WARNING, "a stem ends before its tail has decayed"),
    "clipping": (ERROR, "clipped samples (runs at full scale)"),
    "true-peak": (WARNING, "true peak over the ceiling"),
    "dc-offset": (WARNING, "DC offset"),
    "silent": (WARNING, "a silent stem"),
    "mono-as-stereo": (WARNING, "left and right identical: a mono stem passed as stereo"),
    "polarity": (ERROR, "left and right in inverted polarity"),
    "loudness-target": (WARNING, "the mix's integrated loudness is off the project's target"),
}

_GENERIC = re.compile(r"^(stem|track|audio|bounce|untitled|new[ _-]?track|export|file|mixdown|output)"
                      r"[ _-]*\d*$", re.IGNORECASE)
_SAFE = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass
class Finding:
    severity: str
    code: str
    file: str | None
    message: str
    tc: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CheckSettings:
    """What to check against: the vault's settings, or defaults outside a vault."""

    frame_rate: FrameRate = field(default_factory=lambda: parse_frame_rate("24"))
    cue: str | None = None
    naming_rule: str | None = None
    sample_rate: int = 48000
    bit_depth: int = 24
    lossless_only: bool = True
    null_test_max_db: float = -60.0
    tail_margin_db: float = 20.0
    tail_audible_db: float = -90.0  # a cut below this is inaudible
    true_peak_max_dbtp: float = -1.0
    dc_max_db: float = -50.0
    integrated_lufs: float | None = None
    tolerance_lu: float = 1.0
    mix: str | None = None
    roles: dict[str, str | None] = field(default_factory=dict)  # file -> role (None: unknown)


def start_tc(time_reference: int | None, sample_rate: int, rate: FrameRate) -> str | None:
    if time_reference is None or sample_rate <= 0:
        return None
    return str(Timecode.from_samples(time_reference, sample_rate, rate))


def _tc_at(seconds: float, tref: int | None, sr: int, rate: FrameRate) -> str:
    base = (tref or 0) / sr if sr else 0.0
    return str(Timecode.from_seconds(base + seconds, rate))


def _length_differences(a: SetAnalysis) -> dict[str, str]:
    """Files whose duration differs from the set's (that of the most files), in time: files at
    different sample rates are the same length when their durations (frames / rate) agree within
    one sample period at the lower of the two rates."""
    lengths: dict[tuple[int, int], list[str]] = {}
    for n, p in a.probes.items():
        if p.frames is not None and p.sample_rate:
            lengths.setdefault((p.frames, p.sample_rate), []).append(n)
    if len(lengths) < 2:
        return {}
    common = max(lengths, key=lambda k: len(lengths[k]))
    frames0, rate0 = common

    def said(frames: int, rate: int) -> str:
        return f"{frames / rate:.3f} s ({frames} samples at {rate} Hz)"

    out: dict[str, str] = {}
    for (frames, rate), ns in lengths.items():
        if abs(frames / rate - frames0 / rate0) < 1 / min(rate, rate0) - 1e-12:
            continue  # the same duration at another rate (or the common length itself)
        for n in ns:
            out[n] = f"{n} is {said(frames, rate)} where the set is {said(frames0, rate0)}"
    return out


def check_set(a: SetAnalysis, s: CheckSettings, *, time_refs: dict[str, int | None] | None = None,
              records: dict[str, dict[str, Any]] | None = None,
              bwf_errors: dict[str, str] | None = None, ixml_errors: dict[str, str] | None = None) -> list[Finding]:
    """Every finding for the set ``a`` (records may come from ``records`` when ``a`` skipped them;
    ``bwf_errors``: why a file's BWF metadata could not be read, from ``bwf_metadata``)."""
    time_refs = time_refs or {}
    recs = {n: (a.records.get(n) or (records or {}).get(n)) for n in a.probes}
    out: list[Finding] = []

    def add(code: str, file: str | None, message: str, tc: str | None = None) -> None:
        out.append(Finding(CODES[code][0], code, file, message, tc))

    names = list(a.probes)
    rule_broken = False
    for n in names:
        stem = n.rsplit(".", 1)[0]
        ext = n.rsplit(".", 1)[1] if "." in n else ""
        if not _SAFE.match(n):
            bad = sorted({c for c in n if not re.match(r"[A-Za-z0-9._-]", c)})
            add("name-characters", n, f"{n}: {' '.join(repr(c) for c in bad)} in the name break transfers; "
                "use letters, digits, '_', '-' and '.'")
        bare = without_cue(stem, s.cue)
        if _GENERIC.match(bare) or _GENERIC.match(stem):
            add("name-generic", n, f"{n} tells nobody what it is: name it after the cue and its role, "
                f"e.g. {s.cue or '1M03'}_STR.wav")
        if s.cue and not stem.upper().startswith(s.cue.upper()):
            add("name-cue-prefix", n, f"{n} does not start with the cue {s.cue}")
        if s.roles.get(n, "x") is None and n != s.mix:
            add("name-role", n, f"{n}: no recognised role (STR, BRS, WW, PERC, DRM, BASS, SYN, PAD, "
                "CHOIR, VOX, FX, ...) in the name")
        if s.naming_rule:
            pattern = s.naming_rule.replace("{cue}", re.escape(s.cue or ""))
            try:
                if not re.match(pattern, n):
                    add("name-rule", n, f"{n} does not match the naming rule {s.naming_rule}")
            except re.error as e:
                if not rule_broken:  # said once for the set, not once per file
                    rule_broken = True
                    add("check-skipped", None, f"the naming rule {s.naming_rule!r} is not a valid pattern ({e}): "
                        "file names were not checked against it; fix [naming] rule in stemvault.toml")
        if ext and ext != ext.lower():
            add("name-extension-case", n, f"{n}: upper-case extension .{ext}")

    for n, p in a.probes.items():
        if p.lossy:
            add("format-lossy", n, f"{n} is lossy ({codec_name(p)}): {LOSSLESS_HINT}")
    for attr, code, unit in (("sample_rate", "format-sample-rate", " Hz"), ("bit_depth", "format-bit-depth", "-bit")):
        values: dict[Any, list[str]] = {}
        for n, p in a.probes.items():
            if getattr(p, attr) is not None:  # a lossy file has no bit depth: format-lossy says so
                values.setdefault(getattr(p, attr), []).append(n)
        if len(values) > 1:
            common = max(values, key=lambda v: len(values[v]))
            for v, ns in values.items():
                if v != common:
                    for n in ns:
                        add(code, n, f"{n} is {v}{unit} where the set is {common}{unit}")
    for n, message in _length_differences(a).items():
        add("format-length", n, message)
    out.extend(_start_findings(a, s, names, time_refs))
    for n, p in a.probes.items():
        if s.sample_rate and p.sample_rate != s.sample_rate:
            add("policy-sample-rate", n, f"{n} is {p.sample_rate} Hz; the project asks for {s.sample_rate} Hz")
        if s.bit_depth and p.bit_depth and p.bit_depth != s.bit_depth and p.subtype != "FLOAT":
            add("policy-bit-depth", n, f"{n} is {p.bit_depth}-bit; the project asks for {s.bit_depth}-bit")
    for n, why in (bwf_errors or {}).items():
        add("bwf-unreadable", n, f"{n}: its BWF metadata (bext) cannot be read ({why}): the start timecode "
            "is unknown; re-export the file from the DAW")
    for n, why in (ixml_errors or {}).items():
        add("ixml-unreadable", n, f"{n}: its iXML chunk cannot be read ({why}): its track names are "
            "unknown (the start timecode, from bext, is not affected); re-export the file from the DAW")
    if names and all(time_refs.get(n) is None for n in names) and not bwf_errors:
        add("no-timecode", None, "no file carries a BWF start timecode: notes will count from 00:00:00:00")

    # the null test
    nt = a.null_test
    if s.mix is None:
        add("no-mix", None, "no mix in the set: name it *_MIX* or pass --mix to null-test the stems")
    elif nt is None:
        why = null_skip_reason(a, s.mix) or "the analysis did not null-test the stems"
        add("null-skipped", s.mix, f"the null test against {s.mix} did not run: {why}")
    elif nt["residual_db"] is not None:
        mix_p = a.probes[s.mix]
        tref = time_refs.get(s.mix)
        worst_tc = _tc_at(nt["worst_s"] or 0.0, tref, mix_p.sample_rate, s.frame_rate)
        if nt["residual_db"] > s.null_test_max_db:
            add("null-test", s.mix, f"the stems do not null against {s.mix}: residual "
                f"{nt['residual_db']:.1f} dB (limit {s.null_test_max_db:.0f} dB), worst at {worst_tc}", worst_tc)
        blocks = [b for b in nt["blocks_db"] if b is not None]
        if blocks and nt["residual_db"] > s.null_test_max_db:
            loud = [i for i, b in enumerate(nt["blocks_db"]) if b is not None and b > -6]
            if loud and len(loud) < 0.8 * len(nt["blocks_db"]):
                add("null-missing", s.mix, f"the mix holds something no stem has from "
                    f"{_tc_at(loud[0], tref, mix_p.sample_rate, s.frame_rate)} to "
                    f"{_tc_at(loud[-1] + 1, tref, mix_p.sample_rate, s.frame_rate)}: a stem missing?",
                    _tc_at(loud[0], tref, mix_p.sample_rate, s.frame_rate))

    for n, r in recs.items():
        if r is None:
            add("check-skipped", n, f"{n} was not measured (no analysis record): its level checks (clipping, "
                "true peak, DC offset, stereo, tail) did not run; check the folder again")
            continue
        p = a.probes[n]
        tref = time_refs.get(n)
        loudness: dict[str, Any] = r.get("loudness") or {}
        peak = r.get("sample_peak_dbfs")
        if peak is None:
            add("silent", n, f"{n} is digital silence")
            continue
        if r.get("clipped_runs"):
            add("clipping", n, f"{n} clips: {r['clipped_runs']} runs of 3+ samples at full scale")
        tp = loudness.get("true_peak_dbtp")
        if tp is not None and tp > s.true_peak_max_dbtp:
            add("true-peak", n, f"{n}: true peak {tp:+.1f} dBTP over the ceiling {s.true_peak_max_dbtp:+.1f} dBTP")
        for c, dc in enumerate(r.get("dc_offset_db") or []):
            if dc is not None and dc > s.dc_max_db:
                add("dc-offset", n, f"{n}: DC offset {dc:.0f} dBFS on channel {c + 1}")
                break
        st = r.get("stereo") or {}
        if st.get("identical"):
            add("mono-as-stereo", n, f"{n}: left and right are identical (mono passed as stereo)")
        if st.get("inverted"):
            add("polarity", n, f"{n}: right is left inverted (polarity flipped)")
        tail = r.get("tail") or {}
        last = tail.get("last_100ms_db")
        if last is not None and n != s.mix:
            floor = tail.get("noise_floor_db")
            # A stem loud from start to end has no measurable floor; a real one sits below -60 dBFS.
            floor = min(floor if floor is not None else -60.0, -60.0)
            if last > floor + s.tail_margin_db and last > s.tail_audible_db:
                end_tc = _tc_at(p.frames / p.sample_rate, tref, p.sample_rate, s.frame_rate)
                add("tail-cut", n, f"{n} is cut off at its end ({end_tc}): the last 100 ms are at "
                    f"{last:.0f} dB, {last - floor:.0f} dB above the noise floor — bounce it with its tail", end_tc)
    if s.integrated_lufs is not None and not (s.mix and recs.get(s.mix)):
        add("check-skipped", s.mix, f"the loudness target ({s.integrated_lufs:.1f} LUFS) was not checked: "
            + ("no mix in the set" if not s.mix else f"{s.mix} was not measured"))
    elif s.integrated_lufs is not None and s.mix:
        il = ((recs[s.mix] or {}).get("loudness") or {}).get("integrated_lufs")
        if il is None:
            add("check-skipped", s.mix, f"the loudness target ({s.integrated_lufs:.1f} LUFS) was not checked: "
                f"{s.mix} has no integrated loudness (silent, or shorter than 400 ms)")
        elif abs(il - s.integrated_lufs) > s.tolerance_lu:
            add("loudness-target", s.mix, f"{s.mix}: {il:.1f} LUFS integrated, target {s.integrated_lufs:.1f} "
                f"± {s.tolerance_lu:.1f}")
    return out


def null_skip_reason(a: SetAnalysis, mix: str | None) -> str | None:
    """Why the null test of ``a`` against ``mix`` did not run, in words (None when it ran).

    The analysis null-tests only files it can sum sample for sample: one sample rate, the
    mix's channel count, and at least one stem besides the mix.
    """
    if a.null_test is not None:
        return None
    if mix is None:
        return "no mix in the set"
    if mix not in a.probes:
        return f"the mix {mix} is not in the set"
    mp = a.probes[mix]
    stems = [n for n in a.probes if n != mix]
    if not stems:
        return f"the set holds only the mix {mix}, no stems to sum"
    odd_rate = [n for n in stems if a.probes[n].sample_rate != mp.sample_rate]
    if odd_rate:
        shown = _first_four([f"{n} ({a.probes[n].sample_rate} Hz)" for n in odd_rate])
        return (f"the files do not share one sample rate ({shown} where the mix is "
                f"{mp.sample_rate} Hz): stems cannot be summed sample for sample across rates")
    odd_ch = [n for n in stems if a.probes[n].channels != mp.channels]
    if odd_ch:
        shown = _first_four([f"{n} ({a.probes[n].channels} ch)" for n in odd_ch])
        return (f"the stems' channel counts differ from the mix's ({shown} where the mix has "
                f"{mp.channels}): a stem is summed only into a mix of its own layout")
    return None


def _first_four(items: list[str]) -> str:
    """``a, b, c, d and 3 more``: the first four of a list said in a message."""
    more = f" and {len(items) - 4} more" if len(items) > 4 else ""
    return ", ".join(items[:4]) + more


def _start_findings(a: SetAnalysis, s: CheckSettings, names: list[str],
                    time_refs: dict[str, int | None]) -> list[Finding]:
    """``format-start``: files whose start differs from the set's.

    A TimeReference counts samples at the file's own rate, so starts are compared as times
    (TimeReference / rate). Two starts are the same when they differ by less than one sample
    at the lower of the two rates: a timecode that falls between two samples at 44.1 kHz is
    written rounded, and that is not an offset. At one rate this is plain equality.
    """
    groups: list[tuple[Fraction | None, int, list[str]]] = []  # (start, rate of the first file, files)
    for n in names:
        tref, sr = time_refs.get(n), a.probes[n].sample_rate
        t = Fraction(tref, sr) if tref is not None and sr > 0 else None
        for g in groups:
            gt, gsr, members = g
            if (t is None and gt is None) or (t is not None and gt is not None
                                              and abs(t - gt) < Fraction(1, min(sr, gsr))):
                members.append(n)
                break
        else:
            groups.append((t, sr, [n]))
    if len(groups) < 2:
        return []
    common = max(groups, key=lambda g: len(g[2]))
    set_tc = start_tc(time_refs.get(common[2][0]), common[1], s.frame_rate) or "no timecode"
    out = []
    for g in groups:
        if g is common:
            continue
        for n in g[2]:
            sr = a.probes[n].sample_rate
            own = start_tc(time_refs.get(n), sr, s.frame_rate) or "no timecode"
            detail = ""
            if own == set_tc and g[0] is not None and common[0] is not None:
                # Same frame, different sample: say by how much.
                detail = f" ({float(g[0] - common[0]) * sr:+.0f} samples at {sr} Hz)"
            out.append(Finding(CODES["format-start"][0], "format-start", n,
                               f"{n} starts at {own} where the set starts at {set_tc}{detail}"))
    return out
