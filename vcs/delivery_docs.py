"""The documents of a delivery package: CHANGELOG.md, CUESHEET.csv, README.txt (vcs.delivery).

Public surface:
    changelog(version, history) -> str
    cuesheet([(version, manifest)], settings, title=None) -> str
    readme(version, manifest, files, approval) -> str

Everything read from the vault (notes, summaries, names, approval comments) is data here:
control characters escaped (vcs.text.visible), Markdown's markup characters backslashed in
CHANGELOG.md, and a CSV cell a spreadsheet would run as a formula made text.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from vcs.delivery_names import CUESHEET_COLUMNS, DeliverySettings
from vcs.manifest import Manifest
from vcs.models import Version
from vcs.text import visible
from vcs.trust import signature_words

__all__ = ["changelog", "cuesheet", "readme"]

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|!])")


def _md(text: str | None) -> str:
    """User text in Markdown as data: control characters escaped, markup characters backslashed."""
    return _MD_SPECIAL.sub(r"\\\1", visible(text))


def changelog(v: Version, history: list[Version]) -> str:
    """CHANGELOG.md of ``v``'s cue up to ``v`` (``history``: its versions, newest first)."""
    lines = [f"# {v.cue}: change log up to v{v.version}", ""]
    for x in history:
        kind = "tweak" if x.change == "tweak" else "new version"
        lines.append(f"## v{x.version} ({kind}): {_md(x.date[:10])}, {_md(x.author)}")
        lines.append("")
        if x.summary:
            lines.append(_md(x.summary))
            lines.append("")
        if x.delta:
            lines.append(f"- Delta: {_md(x.delta)}")
        for n in x.notes:
            where = f" [{_md(n.stem)}]" if n.stem else ""
            src = "with the version" if n.source == "commit" else "review"
            lines.append(f"- Note {_md(n.tc)}{where}: {_md(n.text)} ({_md(n.author)}, {_md((n.date or '')[:10])}, {src})")
        if x.approval:
            a = x.approval
            msg = f": {_md(a.message)}" if a.message else ""
            # "signed" alone is what issue 13 forbids: a signature counts only when verified
            sig = f" ({_md(signature_words(a))})" if a.signed else ""
            lines.append(f"- Approved by {_md(a.by)} on {_md(a.date[:10])}{sig}{msg}")
        elif x.void_approval:
            a = x.void_approval
            lines.append(f"- Approval {_md(a.tag)} by {_md(a.by)} on {_md(a.date[:10])} does not count: "
                         f"{_md(a.why or 'the vault rules it out')}")
        lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: a leading = + @ (or - not starting a number) is a
    formula to Excel and LibreOffice, so it gets a leading apostrophe."""
    t = visible(text)
    if t[:1] in ("=", "+", "@") or (t[:1] == "-" and not re.match(r"^-\d", t)):
        return "'" + t
    return t


def cuesheet(items: list[tuple[Version, Manifest]], settings: DeliverySettings, title: str | None = None) -> str:
    """CUESHEET.csv: one row per version, the columns of CUESHEET_COLUMNS, empty where unknown."""
    from audio.errors import BadTimecode
    from audio.timecode import Timecode, parse_frame_rate

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CUESHEET_COLUMNS)
    for v, m in items:
        ref = next((s for s in m.stems if s.file == m.mix), None) or next(
            (s for s in m.stems if "sample_rate" in s.measured), None)
        start = end = duration = ""
        if ref is not None:
            mm = ref.measured
            try:
                rate = parse_frame_rate(m.frame_rate)
                sr, frames = int(mm["sample_rate"]), int(mm["frames"])
                tref = int(mm.get("time_reference") or 0)
                if mm.get("time_reference") is not None:
                    start = str(Timecode.from_samples(tref, sr, rate))
                    end = str(Timecode.from_samples(tref + frames, sr, rate))
                duration = str(Timecode.from_samples(frames, sr, rate))
            except (KeyError, ValueError, TypeError, ArithmeticError, BadTimecode):
                pass  # a fact the manifest lacks or holds damaged: the cell stays empty
        t = (title if len(items) == 1 and title else None) or settings.cue_field(v.cue, "title")
        row = [v.cue, t, str(v.version), start, end, duration, settings.cue_field(v.cue, "usage"),
               settings.cue_field(v.cue, "composer"), settings.cue_field(v.cue, "publisher"),
               settings.cue_field(v.cue, "pro")]
        w.writerow([_cell(c) for c in row])
    return buf.getvalue()


def readme(v: Version, manifest: Manifest, files: list[dict[str, Any]], approval: dict[str, Any] | None) -> str:
    """README.txt for the receiver: what is inside, what sums to the mix, how to check."""
    stems = [f for f in files if f.get("kind") == "stem" and "/" not in f["file"]]
    mix = next((f for f in files if f.get("source") == manifest.mix and "/" not in f["file"]), None)
    lines = [f"Delivery of cue {v.cue}, version {v.version} (stemvault, commit {v.commit[:12]})", ""]
    a = approval
    if a:
        lines += [f"Approved by {visible(a['by'])} <{visible(a['email'])}> on {visible(a['date'])} "
                  f"({visible(a['signature'])})" + (f": {visible(a['message'])}" if a["message"] else ""), ""]
    else:
        void = v.void_approval
        lines += [f"NOT APPROVED: its approval {visible(void.tag)} does not count "
                  f"({visible(void.why or 'the vault rules it out')})." if void is not None else
                  "NOT APPROVED: this version had no approval when it was exported.", ""]
    lines.append("Files:")
    for f in files:
        extra = ""
        if f.get("integrated_lufs") is not None:
            extra = f"  {f['integrated_lufs']} LUFS, true peak {f.get('true_peak_dbtp')} dBTP"
        lines.append(f"  {visible(f['file'])}  ({f.get('kind', '')}{', from ' + visible(f['source']) if f.get('source') else ''}){extra}")
    lines.append("")
    if mix and stems:
        lines += [f"The stems ({len(stems)}) sum to the mix {visible(mix['file'])}:"]
        lines += [f"  {visible(s['file'])}" for s in stems]
        null = (manifest.extra.get("checks") or {}).get("null_test_residual_db") \
            if isinstance(manifest.extra.get("checks"), dict) else None
        if null is not None:
            lines.append(f"Null test at commit: residual {null} dB below the mix.")
        lines.append("")
    lines += [
        "Other files: stemset.toml (the manifest as committed), DELIVERY.json (every file with its",
        "sha256, md5 and size, the approval record and the check results), CHANGELOG.md (every",
        "version up to this one, with notes and approvals), CUESHEET.csv.",
        "",
        "To check that everything arrived intact, in this folder:",
        "  sha256sum -c SHA256SUMS        (macOS: shasum -a 256 -c SHA256SUMS)",
        "  md5sum -c MD5SUMS              (macOS: md5 -r each file and compare)",
        "  stemvault verify .             (both, and the files against DELIVERY.json)",
        "",
        "previews/ (if present) holds MP3 previews for quick listening: they are not part of the",
        "delivery and not in the checksums.",
        "",
    ]
    return "\n".join(lines)
