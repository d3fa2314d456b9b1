"""Running the checks on an export folder or a committed version.

Public surface:
    CheckReport (dataclass), settings_for(config, cue, mix, roles)
    check_folder(source, *, config=None, frame_rate="24", cue=None, mix=None) -> CheckReport
    check_version(vault, version) -> CheckReport
    choose_mix(names, mix, patterns) -> (name | None, how)
"""

from __future__ import annotations

import fnmatch
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audio.analysis import FileSpec, SetAnalysis, analyze_set, bwf_metadata
from audio.checks import CheckSettings, Finding, check_set, null_skip_reason, start_tc
from audio.errors import AnalysisCancelled, AudioError
from audio.probe import is_audio_name
from audio.timecode import FrameRate, parse_frame_rate
from vcs.config import Config
from vcs.errors import Cancelled, SourceError, UsageError
from vcs.exportdir import entry_problem
from vcs.lfs import object_path
from vcs.models import Version
from vcs.naming import infer_role

__all__ = ["CheckReport", "check_folder", "check_version", "choose_mix", "run_checks", "settings_for"]

DEFAULT_MIX_PATTERNS = ["*_MIX*", "*Mix*", "*printmaster*"]


@dataclass
class CheckReport:
    analysis: SetAnalysis
    findings: list[Finding]
    settings: CheckSettings
    time_refs: dict[str, int | None] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def file_rows(self) -> list[dict[str, Any]]:
        rows = []
        for name, p in self.analysis.probes.items():
            rec = self.analysis.records.get(name) or {}
            loud = rec.get("loudness") or {}
            tref = self.time_refs.get(name)
            rows.append({
                "file": name, "format": p.format, "subtype": p.subtype, "sample_rate": p.sample_rate,
                "bit_depth": p.bit_depth, "channels": p.channels, "layout": rec.get("layout", p.layout),
                "frames": p.frames, "time_reference": tref,
                "start_tc": start_tc(tref, p.sample_rate, self.settings.frame_rate),
                "integrated_lufs": loud.get("integrated_lufs"), "lra_lu": loud.get("lra_lu"),
                "true_peak_dbtp": loud.get("true_peak_dbtp"),
                "max_momentary_lufs": loud.get("max_momentary_lufs"),
                "max_short_term_lufs": loud.get("max_short_term_lufs"),
                "sha256": self.analysis.sha256.get(name),
            })
        return rows

    def null_test_doc(self) -> dict[str, Any]:
        """The null test for people and JSON: ``{ran: true, mix, residual_db, worst_tc,
        worst_residual_db}`` when it ran, ``{ran: false, mix, reason}`` when it could not."""
        nt = self.analysis.null_test
        if nt is None:
            mix = self.settings.mix
            return {"ran": False, "mix": mix,
                    "reason": null_skip_reason(self.analysis, mix) or "the analysis did not null-test the stems"}
        mix = nt["mix"]
        p = self.analysis.probes[mix]
        tref = self.time_refs.get(mix) or 0
        worst = None
        if nt["worst_s"] is not None:
            worst = start_tc(tref + int(nt["worst_s"] * p.sample_rate), p.sample_rate, self.settings.frame_rate)
        return {"ran": True, "mix": mix, "residual_db": nt["residual_db"], "worst_tc": worst,
                "worst_residual_db": nt["worst_residual_db"]}

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "files": self.file_rows(), "findings": [f.to_dict() for f in self.findings],
                "null_test": self.null_test_doc()}


def choose_mix(names: list[str], mix: str | None, patterns: list[str]) -> tuple[str | None, str]:
    """Which file is the mix: ``mix`` when given, else the one file matching ``patterns``."""
    if mix:
        m = Path(mix).name
        if m not in names:
            raise UsageError(f"--mix {mix}: no such audio file in the set")
        return m, "--mix"
    hits = [n for n in names if any(fnmatch.fnmatch(n.lower(), pat.lower()) for pat in patterns)]
    if len(hits) > 1:
        raise UsageError(f"several files look like the mix ({', '.join(hits)}): say which with --mix FILE")
    return (hits[0], "name rule") if hits else (None, "")


def settings_for(config: Config | None, *, frame_rate: FrameRate, cue: str | None, mix: str | None,
                 roles: dict[str, str | None]) -> CheckSettings:
    s = CheckSettings(frame_rate=frame_rate, cue=cue, mix=mix, roles=roles)
    if config is None:
        return s
    s.naming_rule = config.naming_rule
    s.sample_rate, s.bit_depth, s.lossless_only = config.sample_rate, config.bit_depth, config.lossless_only
    c, lo = config.checks, config.loudness
    s.null_test_max_db = float(c.get("null_test_max_db", s.null_test_max_db))
    s.tail_margin_db = float(c.get("tail_margin_db", s.tail_margin_db))
    s.dc_max_db = float(c.get("dc_max_db", s.dc_max_db))
    s.true_peak_max_dbtp = float(lo.get("true_peak_max_dbtp", s.true_peak_max_dbtp))
    s.integrated_lufs = float(lo["integrated_lufs"]) if "integrated_lufs" in lo else None
    s.tolerance_lu = float(lo.get("tolerance_lu", s.tolerance_lu))
    return s


def run_checks(specs: list[FileSpec], *, config: Config | None, rate: FrameRate, cue: str | None,
         mix: str | None, skip: set[str] | None = None,
         known: dict[str, dict[str, Any]] | None = None, progress: Callable[[str, float], None] | None = None,
         cancel: threading.Event | None = None) -> CheckReport:
    """Analyze ``specs`` in one pass and check them (``skip``: files whose record is ``known``).

    ``progress`` and ``cancel``: see ``audio.analysis.analyze_set``; a cancel raises Cancelled.
    """
    names = [s.name for s in specs]
    try:
        analysis = analyze_set(specs, mix=mix, skip=skip or set(), progress=progress, cancel=cancel)
    except AnalysisCancelled:
        raise Cancelled("cancelled: nothing was committed") from None
    except AudioError as e:
        raise SourceError(str(e)) from None
    bwf = {s.name: bwf_metadata(s.path) for s in specs}
    time_refs = {n: m.get("time_reference") for n, m in bwf.items()}
    bwf_errors = {n: m["bwf_error"] for n, m in bwf.items() if "bwf_error" in m}
    roles = {n: infer_role(n, cue) for n in names}
    settings = settings_for(config, frame_rate=rate, cue=cue, mix=mix, roles=roles)
    ixml_errors = {n: m["ixml_error"] for n, m in bwf.items() if "ixml_error" in m}
    findings = check_set(analysis, settings, time_refs=time_refs, records=known, bwf_errors=bwf_errors,
                         ixml_errors=ixml_errors)
    return CheckReport(analysis, findings, settings, time_refs)


def check_folder(source: Path, *, config: Config | None = None, frame_rate: str | FrameRate = "24",
                 cue: str | None = None, mix: str | None = None) -> CheckReport:
    """Analyze and check the audio files of an export folder.

    Raises:
        SourceError: missing/empty folder, no audio, an unreadable file.
        UsageError: a bad --mix.
    """
    if not source.is_dir():
        raise SourceError(f"{source}: no such folder" if not source.exists() else
                          f"{source} is not a folder: give the folder your stems were exported to")
    try:
        entries = sorted(e.name for e in os.scandir(source) if _usable(e))
    except OSError as e:
        raise SourceError(f"{source}: cannot read it ({e.strerror})") from None
    names = [n for n in entries if is_audio_name(n)]
    if not names:
        raise SourceError(f"{source} holds no audio files (.wav, .bwf, .aif, .flac, ...): is it the right folder?")
    rate = frame_rate if isinstance(frame_rate, FrameRate) else _rate(frame_rate)
    patterns = config.mix_patterns if config else DEFAULT_MIX_PATTERNS
    mix_name, _ = choose_mix(names, mix, patterns)
    if cue is None:
        cue = _guess_cue(names)
    return run_checks([FileSpec(source / n, n) for n in names], config=config, rate=rate, cue=cue, mix=mix_name)


def _usable(e: os.DirEntry[str]) -> bool:
    """A file to check; raises SourceError for a dangling symlink or an audio name that is no file."""
    if e.name.startswith("."):
        return False
    problem = entry_problem(e, wanted=is_audio_name(e.name))
    if problem:
        raise SourceError(problem)
    return e.is_file()


def check_version(vault: Any, v: Version) -> CheckReport:
    """Check a committed version from the vault's local LFS objects.

    Raises:
        UsageError: when some audio of the version is not downloaded here.
    """
    manifest = vault.manifest_at(v)
    specs, missing = [], []
    for s in manifest.stems:
        if s.kind == "tempo":
            continue
        p = object_path(vault.git_dir, s.sha256)
        if not p.exists():
            missing.append(s.file)
        specs.append(FileSpec(p, s.file))
    if missing:
        raise UsageError(f"{v.ref}: {len(missing)} files are not downloaded here ({', '.join(missing[:3])}"
                         f"{'...' if len(missing) > 3 else ''}): fetch them with "
                         f"git lfs pull --include='cues/{v.cue}/*'")
    return run_checks(specs, config=vault.config, rate=vault.config.frame_rate, cue=v.cue, mix=manifest.mix)


def _rate(text: str) -> FrameRate:
    try:
        return parse_frame_rate(text)
    except AudioError as e:
        raise UsageError(str(e)) from None


def _guess_cue(names: list[str]) -> str | None:
    """The cue the files are named after, when they agree (``1M03_STR.wav`` → ``1M03``)."""
    prefixes = {n.split("_", 1)[0].upper() for n in names if "_" in n}
    return prefixes.pop() if len(prefixes) == 1 else None
