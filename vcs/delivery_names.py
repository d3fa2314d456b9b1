"""The delivery naming rule and the cue sheet's settings: ``[delivery]`` and ``[cuesheet]`` of
stemvault.toml (docs/manifest.md), used by ``stemvault export`` (vcs.delivery).

Public surface:
    DeliverySettings (dataclass), DeliverySettings.load(vault)
    delivery_names(settings, version, manifest, title=None, naming=None) -> {vault file: delivered name}
    safe_name(name, policy, what) -> str     a name in [A-Za-z0-9._ ()-], mapped or refused
    package_name(version, day) -> "1M03_v4.0_2026-12-02"
    CUESHEET_COLUMNS
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vcs.config import CONFIG_NAME
from vcs.errors import UsageError
from vcs.manifest import Manifest
from vcs.models import Version
from vcs.naming import short_name
from vcs.text import visible

if TYPE_CHECKING:
    from vcs.vault import Vault

__all__ = ["CUESHEET_COLUMNS", "DeliverySettings", "delivery_names", "package_name", "safe_name"]

CUESHEET_COLUMNS = ("cue", "title", "version", "start_tc", "end_tc", "duration", "usage", "composer",
                    "publisher", "pro")
_SAFE = re.compile(r"^[A-Za-z0-9._ ()-]+$")
_UNSAFE_CHAR = re.compile(r"[^A-Za-z0-9._ ()-]")
_DEFAULTS = {"film": "{cue}_v{version}_{stem}", "sync": "{title} ({Role} Stem)",
             "sync_mix": "{title} (Full Mix)"}
_PLACEHOLDERS = ("cue", "version", "stem", "role", "Role", "title")


@dataclass
class DeliverySettings:
    """``[delivery]`` and ``[cuesheet]`` of stemvault.toml (docs/vault.md), with defaults."""

    naming: str = "film"
    film: str = _DEFAULTS["film"]
    sync: str = _DEFAULTS["sync"]
    sync_mix: str = _DEFAULTS["sync_mix"]
    names: str = "map"  # "map" (fold to the safe set) or "refuse"
    cuesheet: dict[str, str] = field(default_factory=dict)  # composer, publisher, pro, usage
    cues: dict[str, dict[str, str]] = field(default_factory=dict)  # per cue: title, usage, ...

    @classmethod
    def load(cls, vault: Vault) -> DeliverySettings:
        """Read the settings (Config.load has already refused unknown keys).

        Raises:
            UsageError: a value of the wrong type or an unknown naming or names policy.
        """
        import tomllib

        path = vault.root / CONFIG_NAME
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        d, c = raw.get("delivery", {}), raw.get("cuesheet", {})
        s = cls()

        def text(table: dict[str, Any], section: str, key: str, default: str) -> str:
            x = table.get(key, default)
            if not isinstance(x, str):
                raise UsageError(f"{path}: {section}.{key} must be text in quotes, not {x!r}: fix the file by hand")
            return x

        s.naming = text(d, "delivery", "naming", s.naming)
        if s.naming not in ("film", "sync"):
            raise UsageError(f"{path}: delivery.naming must be \"film\" or \"sync\", not {s.naming!r}: "
                             "fix the file by hand")
        for key in ("film", "sync", "sync_mix"):
            pattern = text(d, "delivery", key, getattr(s, key))
            _check_pattern(pattern, f"{path}: delivery.{key}")
            setattr(s, key, pattern)
        s.names = text(d, "delivery", "names", s.names)
        if s.names not in ("map", "refuse"):
            raise UsageError(f"{path}: delivery.names must be \"map\" or \"refuse\", not {s.names!r}: "
                             "fix the file by hand")
        for key in ("composer", "publisher", "pro", "usage"):
            if key in c:
                s.cuesheet[key] = text(c, "cuesheet", key, "")
        cues = c.get("cues", {})
        if not isinstance(cues, dict) or not all(isinstance(v, dict) for v in cues.values()):
            raise UsageError(f"{path}: cuesheet.cues must be tables, e.g. [cuesheet.cues.1M03] with "
                             "title = \"Arrival\": fix the file by hand")
        for cue, t in cues.items():
            s.cues[str(cue).upper()] = {k: text(t, f"cuesheet.cues.{cue}", k, "")
                                        for k in ("title", *CUESHEET_COLUMNS[6:]) if k in t}
        return s

    def cue_field(self, cue: str, key: str) -> str:
        return self.cues.get(cue, {}).get(key) or self.cuesheet.get(key, "")


def _check_pattern(pattern: str, where: str) -> None:
    import string

    try:
        for _text, name, spec, conv in string.Formatter().parse(pattern):
            # placeholders only: attribute or index access, conversions and format specs are
            # Python's (a width of 10**9 builds a gigabyte-long name), not a name pattern
            if name is not None and (name not in _PLACEHOLDERS or spec or conv):
                raise ValueError(f"{{{name}{'!' + conv if conv else ''}{':' + spec if spec else ''}}} "
                                 "is not a placeholder")
        pattern.format(**dict.fromkeys(_PLACEHOLDERS, "x"))
    except (KeyError, IndexError, ValueError) as e:
        raise UsageError(f"{where}: {pattern!r} is not a name pattern ({e}); use the placeholders "
                         f"{', '.join('{' + p + '}' for p in _PLACEHOLDERS)}: fix the file by hand") from None


def safe_name(name: str, policy: str, what: str) -> str:
    """``name`` in the delivery character set ``[A-Za-z0-9._ ()-]``: unchanged when it is in it;
    else, with ``policy`` "map", accents folded (é → e) and every other character made ``_``;
    with "refuse", an error. A name that would be empty or hidden (a leading dot) is refused.

    Raises:
        UsageError: as said.
    """
    if not _SAFE.fullmatch(name):
        if policy == "refuse":
            bad = sorted(set(_UNSAFE_CHAR.findall(name)))
            raise UsageError(f"the delivered name of {visible(what)} would be {visible(name)!r}, with characters "
                             f"outside [A-Za-z0-9._ ()-] ({visible(''.join(bad))!r}): rename it, or set "
                             "[delivery] names = \"map\" in stemvault.toml")
        folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        name = _UNSAFE_CHAR.sub("_", folded if len(folded) >= len(name) // 2 else name)
    name = name.strip()
    if not name or name.startswith(".") or name in (".", ".."):
        raise UsageError(f"the delivered name of {visible(what)} would be {visible(name)!r} (empty or hidden): "
                         "rename it, or change the [delivery] pattern in stemvault.toml")
    return name


def delivery_names(settings: DeliverySettings, v: Version, manifest: Manifest,
                   title: str | None = None, naming: str | None = None) -> dict[str, str]:
    """{vault file name: delivered file name} for every file of the manifest, by the naming rule
    (``naming`` overrides ``[delivery] naming``). Non-audio files (a tempo map) keep the film
    pattern. Two files given one name is an error naming both.

    Raises:
        UsageError: a name outside the safe set (policy "refuse"), an empty name, two files with one name.
    """
    rule = naming or settings.naming
    title = title if title is not None else (settings.cue_field(v.cue, "title") or v.cue)
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for s in manifest.stems:
        _base, dot, ext = s.file.rpartition(".")
        ext = ext if dot else ""
        short = short_name(s.file, v.cue)
        role = s.role or short
        fields = {"cue": v.cue, "version": str(v.version), "stem": short, "role": role,
                  "Role": role[:1].upper() + role[1:], "title": title}
        if rule == "sync" and s.kind != "tempo":
            pattern = settings.sync_mix if s.kind == "mix" or s.file == manifest.mix else settings.sync
        else:
            pattern = settings.film
        name = safe_name(pattern.format(**fields), settings.names, s.file)
        name = f"{name}.{ext.lower()}" if ext else name
        name = safe_name(name, settings.names, s.file)
        key = name.lower()  # a receiver on macOS or Windows: names differing in case collide
        if key in seen:
            raise UsageError(f"{seen[key]} and {s.file} would both be delivered as {name!r}: give the "
                             "[delivery] pattern a {stem} (the file's short name), e.g. "
                             "sync = \"{title} ({stem} Stem)\"")
        seen[key] = s.file
        out[s.file] = name
    return out


def package_name(v: Version, day: dt.date) -> str:
    """The folder (and zip) name of a package: ``1M03_v4.0_2026-12-02`` (the export's date)."""
    return f"{v.cue}_v{v.version}_{day.isoformat()}"
