"""Names of the field: cue numbers, version numbers, version references, stem roles.

Public surface:
    normalize_cue(text) -> str; CUE_PATTERN
    VersionNumber (MAJOR.MINOR), parse_version(text)
    VersionRef (cue, version | "approved" | None), parse_ref(text)
    infer_role(file_name, cue) -> str | None; is_mix_name(file_name) -> bool
    short_name(file_name, cue) -> str   the name without the cue prefix and extension (``STR``)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

from audio.names import without_cue
from vcs.errors import UsageError

__all__ = ["ROLE_ABBREVIATIONS", "VersionNumber", "VersionRef", "infer_role", "is_mix_name",
           "normalize_cue", "parse_ref", "parse_version", "short_name"]

# Film cues: reel + M + number, with an optional letter and a joined range (1M03, 2M14A,
# 4M01-02); library tracks and other works may use any short code of letters, digits, _ and -.
_CUE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,39})$")
CUE_PATTERN = _CUE.pattern


def normalize_cue(text: str) -> str:
    """Upper-cased cue name, validated (it becomes a folder and part of tag names).

    Raises:
        UsageError: for an empty name, a path, spaces or characters git refs cannot hold.
    """
    t = text or ""
    if not _CUE.fullmatch(t) or t.endswith("-") or "--" in t:
        raise UsageError(
            f"invalid cue name {text!r}: use letters, digits, '_' and '-' (e.g. 1M03, 2M14A, 4M01-02)"
        )
    return t.upper()


@total_ordering
@dataclass(frozen=True)
class VersionNumber:
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, VersionNumber):
            return NotImplemented
        return (self.major, self.minor) < (other.major, other.minor)

    def next(self, *, minor: bool) -> VersionNumber:
        """The version after this one: a tweak bumps the minor, a new version the major."""
        return VersionNumber(self.major, self.minor + 1) if minor else VersionNumber(self.major + 1, 0)


_VER = re.compile(r"^v?(\d{1,4})\.(\d{1,4})$")


def parse_version(text: str) -> VersionNumber:
    m = _VER.match(text.strip())
    if not m:
        raise UsageError(f"invalid version {text!r}: write MAJOR.MINOR, e.g. 2.0 or 1.1")
    return VersionNumber(int(m.group(1)), int(m.group(2)))


@dataclass(frozen=True)
class VersionRef:
    """``1M03`` (latest), ``1M03@2.1``, ``1M03@approved`` (latest approved)."""

    cue: str
    version: VersionNumber | None = None
    approved: bool = False

    def __str__(self) -> str:
        if self.approved:
            return f"{self.cue}@approved"
        return f"{self.cue}@{self.version}" if self.version else self.cue


def parse_ref(text: str) -> VersionRef:
    cue, sep, ver = text.partition("@")
    c = normalize_cue(cue)
    if not sep:
        return VersionRef(c)
    if ver.strip().lower() in ("approved", "latest-approved"):
        return VersionRef(c, approved=True)
    if ver.strip().lower() in ("latest", "head", ""):
        return VersionRef(c)
    return VersionRef(c, parse_version(ver))


# Abbreviations found in stem file names, and the role (instrument family) each names.
ROLE_ABBREVIATIONS: dict[str, str] = {
    "STR": "strings", "STRS": "strings", "STRINGS": "strings", "VLN": "strings", "VLA": "strings",
    "VC": "strings", "CB": "strings",
    "BRS": "brass", "BRASS": "brass", "HRN": "brass", "HORNS": "brass", "TPT": "brass", "TBN": "brass",
    "WW": "woodwinds", "WWS": "woodwinds", "WINDS": "woodwinds", "WOODWINDS": "woodwinds", "FL": "woodwinds",
    "PERC": "percussion", "PRC": "percussion", "PERCUSSION": "percussion",
    "DRM": "drums", "DRMS": "drums", "DRUMS": "drums", "DR": "drums", "KIT": "drums",
    "BASS": "bass", "BS": "bass", "BSS": "bass",
    "SYN": "synths", "SYNTH": "synths", "SYNTHS": "synths", "SYNS": "synths", "ELEC": "synths",
    "PAD": "pads", "PADS": "pads",
    "KEYS": "keys", "PNO": "keys", "PIANO": "keys", "KB": "keys",
    "GTR": "guitars", "GTRS": "guitars", "GUITAR": "guitars", "GUITARS": "guitars",
    "CHOIR": "choir", "CHR": "choir", "CHORUS": "choir",
    "VOX": "vocals", "VOC": "vocals", "VOCALS": "vocals", "LEADVOX": "vocals", "BGV": "vocals",
    "MEL": "melody", "MELODY": "melody", "LEAD": "melody", "LD": "melody",
    "FX": "fx", "SFX": "fx", "EFX": "fx", "DSGN": "fx",
    "HARP": "harp", "HRP": "harp", "CEL": "keys", "ORCH": "orchestra", "AMB": "ambience",
    "OTHER": "other", "MISC": "other",
    "RESIDUAL": "residual",  # what a separation's stems leave of the mix (stemvault separate)
    "MIX": "mix", "PM": "mix", "PRINTMASTER": "mix", "FULLMIX": "mix", "MASTER": "mix",
}
_TOKEN = re.compile(r"[A-Za-z]+")


def infer_role(file_name: str, cue: str | None = None) -> str | None:
    """The role a stem's file name announces (``1M03_STR.wav`` → ``strings``), or None."""
    stem = without_cue(file_name.rsplit(".", 1)[0], cue)
    for token in reversed(_TOKEN.findall(stem)):
        role = ROLE_ABBREVIATIONS.get(token.upper())
        if role:
            return role
    return None


def short_name(name: str, cue: str) -> str:
    """A file name without the cue prefix and the extension: ``1M03_STR.wav`` → ``STR``."""
    return without_cue(name.rsplit(".", 1)[0], cue, "_-") or name


def is_mix_name(file_name: str) -> bool:
    """The name rule for the mix: ``*_MIX*``, ``*Mix*``, ``printmaster`` (any case)."""
    stem = file_name.rsplit(".", 1)[0]
    return bool(re.search(r"_MIX|Mix|MIX|printmaster", stem, re.IGNORECASE)) and not re.search(
        r"remix|premix|mixed", stem, re.IGNORECASE
    )
