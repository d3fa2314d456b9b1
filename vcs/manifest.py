"""The manifest of a stem set at one version: ``cues/<CUE>/stemset.toml``.

Public surface:
    MANIFEST_NAME, DESCRIPTIVE, KINDS
    StemEntry, Manifest (dataclasses); Manifest.from_toml(text); Manifest.to_toml(previous)
    parse_data(text) -> dict; Manifest.from_data(dict)   (the two halves of from_toml)

The file is meant to be read in a diff and edited by hand: one ``[[stem]]`` table per file in
a stable order, its descriptive fields (role, instrument, kind, mute, solo, notes) first and
yours to change; the measured facts in a ``[stem.measured]`` table that stemvault rewrites on
every commit. Rewriting goes through tomlkit on the previous text, so comments and hand edits
survive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vcs.errors import UsageError

if TYPE_CHECKING:
    from tomlkit.items import Table

__all__ = ["DESCRIPTIVE", "KINDS", "MANIFEST_NAME", "Manifest", "StemEntry", "parse_data"]

MANIFEST_NAME = "stemset.toml"
SCHEMA = 1
DESCRIPTIVE = ("role", "instrument", "kind", "mute", "solo", "notes")
KINDS = ("stem", "mix", "dry", "processed", "fx", "alt", "reference", "tempo")

_HEADER = (
    "Manifest of cue {cue}, written by stemvault.",
    "Descriptive fields (role, instrument, kind, mute, solo, notes) are yours to edit by hand;",
    "the [stem.measured] tables are rewritten by stemvault on every commit.",
)


@dataclass
class StemEntry:
    """One file of the set: what people say about it, and what was measured."""

    file: str
    role: str = ""
    instrument: str = ""
    kind: str = "stem"
    mute: bool = False
    solo: bool = False
    notes: str = ""
    measured: dict[str, Any] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return str(self.measured.get("sha256", ""))

    @property
    def size(self) -> int:
        return int(self.measured.get("size", 0))

    def descriptive(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in DESCRIPTIVE}


@dataclass
class Manifest:
    """A stem set at one version."""

    cue: str
    version: str
    frame_rate: str
    stems: list[StemEntry]
    mix: str | None = None
    mix_from: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # set-level facts (findings, checks...)

    def stem(self, file: str) -> StemEntry | None:
        for s in self.stems:
            if s.file == file:
                return s
        return None

    @classmethod
    def from_toml(cls, text: str | bytes) -> Manifest:
        """Parse a manifest.

        Raises:
            UsageError: when the text is not a manifest stemvault can read.
        """
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return cls.from_data(_parse(text))

    @classmethod
    def from_data(cls, raw: dict[str, Any]) -> Manifest:
        """A manifest from its TOML parsed to plain data (what ``parse_data`` returns).

        Raises:
            UsageError: when the data is not a manifest stemvault can read.
        """
        # Read from git, maybe edited by hand: a table of the wrong shape is a one-line error.
        cue = raw.get("cue", {})
        if not isinstance(cue, dict):
            raise UsageError(f"{MANIFEST_NAME}: cue must be a [cue] table, not {cue!r}: fix it by hand")
        stem_list = raw.get("stem", [])
        if not isinstance(stem_list, list):
            raise UsageError(f"{MANIFEST_NAME}: stem must be [[stem]] tables, not {stem_list!r}: fix it by hand")
        stems = []
        for t in stem_list:
            if not isinstance(t, dict) or not isinstance(t.get("file"), str):
                raise UsageError(f"{MANIFEST_NAME}: every [[stem]] needs a file = \"...\" line")
            if not isinstance(t.get("measured", {}), dict):
                raise UsageError(f"{MANIFEST_NAME}: the measured part of {t['file']!r} must be a "
                                 f"[stem.measured] table, not {t['measured']!r}: fix it by hand")
            stems.append(StemEntry(
                file=str(t["file"]),
                role=str(t.get("role", "")),
                instrument=str(t.get("instrument", "")),
                kind=str(t.get("kind", "stem")),
                mute=bool(t.get("mute", False)),
                solo=bool(t.get("solo", False)),
                notes=str(t.get("notes", "")),
                measured=dict(t.get("measured", {})),
            ))
        extra = {k: v for k, v in raw.items() if k not in ("schema", "cue", "stem")}
        return cls(
            cue=str(cue.get("name", "")),
            version=str(cue.get("version", "")),
            frame_rate=str(cue.get("frame_rate", "24")),
            mix=cue.get("mix") or None,
            mix_from=str(cue.get("mix_from", "")),
            stems=stems,
            extra=extra,
        )

    def to_toml(self, previous: str | None = None) -> str:
        """This manifest as TOML, written over ``previous`` so that its comments survive.

        Descriptive fields are taken from this object (the caller merged hand edits into it);
        measured tables are replaced whole.
        """
        # tomlkit only here, where comments must survive: reading uses tomllib, and every
        # command's start (`stemvault log`, `diff`) skips tomlkit's import.
        import tomlkit
        import tomlkit.exceptions
        from tomlkit.items import AoT, Table

        doc = None
        if previous:
            try:
                doc = tomlkit.parse(previous)
            except tomlkit.exceptions.TOMLKitError:
                doc = None
        if doc is None:
            doc = tomlkit.document()
            for line in _HEADER:
                doc.add(tomlkit.comment(line.format(cue=self.cue)))
            doc.add("schema", SCHEMA)
        else:
            doc["schema"] = SCHEMA

        existing = doc.get("cue")
        cue: Table = existing if isinstance(existing, Table) else tomlkit.table()
        doc["cue"] = cue
        cue["name"] = self.cue
        cue["version"] = self.version
        cue["frame_rate"] = self.frame_rate
        if self.mix:
            cue["mix"] = self.mix
            cue["mix_from"] = self.mix_from
        else:
            for k in ("mix", "mix_from"):
                if k in cue:
                    del cue[k]

        old_tables: dict[str, Table] = {}
        old = doc.get("stem")
        if isinstance(old, AoT):
            for ot in old.body:
                if "file" in ot:
                    old_tables[str(ot["file"])] = ot
        aot = tomlkit.aot()
        for s in self.stems:
            t = old_tables.get(s.file)
            if t is None:
                t = tomlkit.table()
                t["file"] = s.file
            for k in DESCRIPTIVE:
                t[k] = getattr(s, k)
            m = tomlkit.table()
            for k, v in s.measured.items():
                if v is not None:  # TOML has no null: absent means unknown
                    m[k] = v
            t["measured"] = m
            aot.append(t)
        if "stem" in doc:
            del doc["stem"]
        for k, v in self.extra.items():
            doc[k] = _toml_value(v)
        doc["stem"] = aot  # last, so that set-level tables stay above the per-file ones
        return tomlkit.dumps(doc)


def parse_data(text: str | bytes) -> dict[str, Any]:
    """A manifest's TOML as plain data (dicts, lists, str, int, float, bool, dates).

    Raises:
        UsageError: when it does not parse.
    """
    return _parse(text.decode("utf-8", "replace") if isinstance(text, bytes) else text)


def _parse(text: str) -> dict[str, Any]:
    """TOML as plain data. Reading needs no round-trip: the standard parser (Python 3.11+) is many
    times faster than tomlkit, which ``to_toml`` keeps for writing so that comments survive."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomlkit
        import tomlkit.exceptions

        try:
            raw: dict[str, Any] = tomlkit.parse(text).unwrap()
        except tomlkit.exceptions.TOMLKitError as e:
            raise UsageError(f"{MANIFEST_NAME} does not parse ({e}): fix it by hand") from None
        return raw
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{MANIFEST_NAME} does not parse ({e}): fix it by hand") from None


def _toml_value(v: Any) -> Any:
    """Plain data as TOML: None dropped (TOML has no null), lists of tables as [[arrays]]."""
    import tomlkit

    if isinstance(v, dict):
        t = tomlkit.table()
        for k, x in v.items():
            if x is not None:
                t[k] = _toml_value(x)
        return t
    if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
        aot = tomlkit.aot()
        for x in v:
            aot.append(_toml_value(x))
        return aot
    return v
