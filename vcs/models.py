"""The vault's domain objects: Version, Note, Approval.

They are plain dataclasses, read from git objects (commit messages, git notes, annotated tags)
without ever touching LFS content, and serialised by ``to_dict`` for ``--json`` output.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from vcs.naming import VersionNumber

__all__ = ["Approval", "Note", "Version", "is_timecode", "note_order", "parse_trailers"]

TRAILER_PREFIX = "Stemvault-"


def _opt_str(x: Any) -> str | None:
    return None if x is None else str(x)


def is_timecode(text: str) -> bool:
    """Whether ``text`` parses as a timecode at some frame rate (HH:MM:SS:FF, frames < 60):
    the grammar every note's timecode read from git must have."""
    from audio.errors import BadTimecode
    from audio.timecode import parse_frame_rate, parse_timecode

    try:
        parse_timecode(text, parse_frame_rate("60"))
    except BadTimecode:
        return False
    return True


def parse_trailers(message: str) -> dict[str, list[str]]:
    """``Stemvault-*`` trailers of the message's last paragraph, by key, in order."""
    paragraphs = message.rstrip("\n").split("\n\n")
    out: dict[str, list[str]] = {}
    for line in paragraphs[-1].split("\n") if paragraphs else []:
        key, sep, value = line.partition(": ")
        if sep and key.startswith(TRAILER_PREFIX):
            out.setdefault(key[len(TRAILER_PREFIX):], []).append(value)
    return out


@dataclass
class Note:
    """A remark tied to a moment of a version: given at commit time, or a review note later."""

    tc: str
    text: str
    author: str | None = None
    stem: str | None = None
    date: str | None = None
    email: str | None = None
    source: str = "review"  # "commit" (written with the version) or "review" (git note)
    # Where the note falls in the version's tempo map (``17|3``): never stored, computed when
    # shown (vcs.review.add_bar_beats), so notes written before the map was read get it too.
    bar_beat: str | None = None
    damaged: str | None = None
    """Why this record read from git is not a valid note (its timecode does not parse), or None.
    A damaged note is still shown, marked, so that nothing a reviewer wrote is hidden."""

    def to_json_line(self) -> str:
        d = {k: v for k, v in asdict(self).items()
             if v is not None and k not in ("source", "bar_beat", "damaged")}
        return json.dumps(d, ensure_ascii=True, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str) -> Note:
        """A note from its JSON object, read from git (so untrusted: every field made a string,
        and a timecode that does not parse marks the note ``damaged``). A stored "bar_beat" is
        ignored: it is computed from the tempo map, not trusted from git.

        Raises:
            ValueError: when ``d`` is not a JSON object.
        """
        if not isinstance(d, dict):
            raise ValueError("a note is a JSON object")
        note = cls(
            tc=str(d.get("tc", "")), text=str(d.get("text", "")),
            author=_opt_str(d.get("author")), stem=_opt_str(d.get("stem")), date=_opt_str(d.get("date")),
            email=_opt_str(d.get("email")), source=source,
        )
        if not is_timecode(note.tc):
            note.damaged = "its timecode does not parse"
        return note

    def to_dict(self) -> dict[str, Any]:
        return {"tc": self.tc, "text": self.text, "author": self.author, "stem": self.stem,
                "date": self.date, "source": self.source, "bar_beat": self.bar_beat,
                "damaged": self.damaged}


_TC_FIELDS = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})[:;.](\d{2,3})$")


def _date_key(date: str | None) -> float:
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(str(date)).timestamp()
    except (TypeError, ValueError, OverflowError):
        return float("inf")


def note_order(n: Note) -> tuple[Any, ...]:
    """Sort key of a version's notes: by timecode (labels sort as the frames they name, at any
    one frame rate), then by date; a timecode that does not parse goes last."""
    m = _TC_FIELDS.match(n.tc)
    where: tuple[Any, ...] = (0, *(int(g) for g in m.groups())) if m else (1, n.tc)
    return (where, _date_key(n.date))


@dataclass
class Approval:
    """A supervisor's approval of one version: an annotated tag bound to the files' checksums."""

    tag: str
    cue: str
    version: str
    by: str
    email: str
    date: str
    message: str
    signed: bool
    commit: str
    files: dict[str, str] = field(default_factory=dict)  # file -> sha256 recorded at approval
    # Set by vcs.trust.judge against the vault's trusted keys and [roles]; ``by``/``email`` are
    # the tag's tagger (what git records), never the message text.
    verified: bool = False  # git verified the signature with a trusted key of a supervisor
    signer: str = ""  # whose key signed, as the trusted keys name it ("" when unknown)
    key: str = ""  # the signing key's fingerprint ("" when unsigned or unreadable)
    why: str = ""  # why it is not verified ("" when verified)
    counts: bool = True  # an approval under the vault's rules ([approvals], [roles])

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "email": self.email, "date": self.date, "message": self.message,
                "signed": self.signed, "verified": self.verified, "signer": self.signer or None,
                "key": self.key or None, "why_not_verified": self.why or None, "tag": self.tag}


@dataclass
class Version:
    """One version of one cue: a commit that changed that cue's folder."""

    cue: str
    version: VersionNumber
    commit: str
    author: str
    email: str
    date: str
    summary: str
    change: str  # "new" (a new creative pass) or "tweak"
    notes: list[Note] = field(default_factory=list)
    delta: str = ""
    approval: Approval | None = None
    # An approval tag on this version that does not count under the vault's rules (unsigned
    # where signatures are required, a key that is not a supervisor's...): its ``why`` says why.
    void_approval: Approval | None = None
    # {"file": "tempo.mid", "error": None or why it cannot be read}: set by
    # vcs.review.add_bar_beats on versions with a tempo map and notes; None otherwise.
    tempo_map: dict[str, Any] | None = None
    # How the stems were made when not exported from a session: {"kind": "separated", "model": ...}
    # (the Stemvault-Provenance trailer, written by `stemvault separate`); None for an export.
    provenance: dict[str, Any] | None = None

    @property
    def ref(self) -> str:
        return f"{self.cue}@{self.version}"

    def provenance_line(self) -> str | None:
        """``separated by demucs htdemucs (onnx 1a2b3c4d5e6f) from mix.wav (9f8e7d6c5b4a), residual
        -31.4 dB`` for a separated version, None for an export. Untrusted text (from git): the
        caller escapes it where shown."""
        p = self.provenance
        if not p or p.get("kind") != "separated":
            return None

        def s(k: str, n: int = 200) -> str:
            v = p.get(k)
            return str(v)[:n] if v is not None else "?"

        res = p.get("residual_db")
        level = "a digital null" if res is None else \
            f"residual {res:.1f} dB" if isinstance(res, int | float) and not isinstance(res, bool) else "residual ?"
        return (f"separated by {s('method', 40)} {s('model', 64)} (weights {s('model_sha256', 12)}) from "
                f"{s('mix_file')} ({s('mix_sha256', 12)}), {level}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "cue": self.cue, "version": str(self.version), "commit": self.commit,
            "author": self.author, "email": self.email, "date": self.date,
            "summary": self.summary, "change": self.change, "delta": self.delta,
            "notes": [n.to_dict() for n in self.notes],
            "tempo_map": self.tempo_map,
            "approved": self.approval.to_dict() if self.approval else None,
            "void_approval": self.void_approval.to_dict() if self.void_approval else None,
            "provenance": self.provenance,
        }
