"""The project file ``stemvault.toml``: name, frame rate, policies, naming rule, targets, roles.

Public surface:
    Config (dataclass), Config.load(path), default_config_text(name, frame_rate) -> str

People edit this file by hand; stemvault only reads it (and writes it once, at ``init``).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from audio.errors import BadTimecode
from audio.timecode import FrameRate, parse_frame_rate
from vcs.errors import UsageError

__all__ = ["CONFIG_NAME", "Config", "default_config_text"]

CONFIG_NAME = "stemvault.toml"
_T = TypeVar("_T")

# Every table and key Config.load reads (and default_config_text writes, and docs/manifest.md lists).
KNOWN_KEYS: dict[str, list[str]] = {
    "project": ["name", "frame_rate"],
    "policy": ["sample_rate", "bit_depth", "lossless_only"],
    "naming": ["rule", "mix"],
    "loudness": ["integrated_lufs", "tolerance_lu", "true_peak_max_dbtp"],
    "checks": ["null_test_max_db", "tail_margin_db", "dc_max_db"],
    "roles": ["supervisors", "composers", "editors"],
    "approvals": ["require_signature", "allowed_signers", "gpg_keys"],
    "separate": ["model_repo"],
    # read by vcs.delivery (stemvault export): the delivery naming rule and the cue sheet's fields
    "delivery": ["naming", "film", "sync", "sync_mix", "names"],
    "cuesheet": ["composer", "publisher", "pro", "usage", "cues"],
}

# Where the vault keeps the keys it trusts, unless [approvals] names other files (vault-relative).
ALLOWED_SIGNERS = ".stemvault/allowed_signers"
GPG_KEYS = ".stemvault/trusted_keys.asc"


def default_config_text(name: str, frame_rate: str) -> str:
    import tomlkit  # writing keeps comments; reading (load) uses tomllib, many times faster

    """The commented ``stemvault.toml`` a new vault starts with."""
    doc = tomlkit.document()
    doc.add(tomlkit.comment("stemvault project settings: edit by hand; every command reads them."))
    doc.add(tomlkit.nl())
    project = tomlkit.table()
    project.add("name", name)
    project.add("frame_rate", frame_rate)
    project["frame_rate"].comment("23.976, 24, 25, 29.97, 29.97df, 30, 48, 50, 59.94, 60")
    doc.add("project", project)

    policy = tomlkit.table()
    policy.add("sample_rate", 48000)
    policy["sample_rate"].comment("expected sample rate of every stem (0: any, but one per set)")
    policy.add("bit_depth", 24)
    policy["bit_depth"].comment("expected bit depth (0: any, but one per set)")
    policy.add("lossless_only", True)
    doc.add("policy", policy)

    naming = tomlkit.table()
    naming.add("rule", r"^{cue}_[A-Za-z0-9]+([_-][A-Za-z0-9]+)*\.[A-Za-z0-9]+$")
    naming["rule"].comment("regular expression every file name must match; {cue} is the cue name")
    naming.add("mix", ["*_MIX*", "*Mix*", "*printmaster*"])
    naming["mix"].comment("which file is the mix when commit is not given --mix")
    doc.add("naming", naming)

    loud = tomlkit.table()
    loud.add(tomlkit.comment("targets for the mix; leave integrated_lufs out for none"))
    loud.add(tomlkit.comment("integrated_lufs = -24.0   # -24 LKFS broadcast, -23 LUFS R128, -14 streaming"))
    loud.add("tolerance_lu", 1.0)
    loud.add("true_peak_max_dbtp", -1.0)
    doc.add("loudness", loud)

    checks = tomlkit.table()
    checks.add("null_test_max_db", -60.0)
    checks["null_test_max_db"].comment("residual of stems vs mix, dB below the mix")
    checks.add("tail_margin_db", 20.0)
    checks["tail_margin_db"].comment("a stem's last 100 ms this far above its noise floor is cut off")
    doc.add("checks", checks)

    roles = tomlkit.table()
    roles.add(tomlkit.comment("who does what (emails and/or key fingerprints); an empty list: anyone"))
    roles.add("supervisors", tomlkit.array())
    doc.add("roles", roles)

    approvals = tomlkit.table()
    approvals.add(tomlkit.comment("true: only approvals signed with a supervisor's key the vault trusts count"))
    approvals.add(tomlkit.comment("(keys: .stemvault/allowed_signers for SSH, .stemvault/trusted_keys.asc for GPG)"))
    approvals.add("require_signature", False)
    doc.add("approvals", approvals)
    return tomlkit.dumps(doc)


@dataclass
class Config:
    """The settings of one vault, with defaults for anything the file leaves out."""

    name: str
    frame_rate: FrameRate
    sample_rate: int = 48000
    bit_depth: int = 24
    lossless_only: bool = True
    naming_rule: str = r"^{cue}_[A-Za-z0-9]+([_-][A-Za-z0-9]+)*\.[A-Za-z0-9]+$"
    mix_patterns: list[str] = field(default_factory=lambda: ["*_MIX*", "*Mix*", "*printmaster*"])
    loudness: dict[str, float] = field(default_factory=dict)
    checks: dict[str, float] = field(default_factory=dict)
    supervisors: list[str] = field(default_factory=list)
    composers: list[str] = field(default_factory=list)
    editors: list[str] = field(default_factory=list)
    require_signature: bool = False
    allowed_signers: str = ALLOWED_SIGNERS  # vault-relative: SSH keys, git's allowed-signers format
    gpg_keys: str = GPG_KEYS  # vault-relative: ASCII-armoured OpenPGP public keys
    model_repo: str = ""  # [separate] model_repo: the folder of separation weights (stemvault separate)

    @classmethod
    def load(cls, path: Path) -> Config:
        """Read ``stemvault.toml``.

        Raises:
            UsageError: when it is missing, does not parse, or a value is of the wrong type or out
                of range (an unknown frame rate, a naming rule that is not a regular expression):
                one line naming the file and the key.
        """
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UsageError(f"{path} is missing: run `stemvault init` to create a vault") from None
        except UnicodeDecodeError as e:
            raise UsageError(f"{path.name} does not parse ({e}): fix the file by hand") from None
        return cls.parse(text, path)

    @classmethod
    def parse(cls, text: str, path: Path) -> Config:
        """The settings in ``text``, the content of ``path`` (named in errors; the server hook
        reads the file from a branch, not from disk).

        Raises:
            UsageError: as ``load``.
        """
        try:
            raw = _parse(text)
        except ValueError as e:  # what _parse raises
            raise UsageError(f"{path.name} does not parse ({e}): fix the file by hand") from None
        v = _Validator(path, raw)
        v.known_keys()
        project, policy, naming = v.table("project"), v.table("policy"), v.table("naming")
        loudness, checks, roles = v.table("loudness"), v.table("checks"), v.table("roles")
        approvals = v.table("approvals")
        separate = v.table("separate")
        rate_value = project.get("frame_rate", "24")
        if isinstance(rate_value, bool) or not isinstance(rate_value, str | int | float):
            v.fail("project", "frame_rate", rate_value, 'a frame rate in quotes, e.g. frame_rate = "23.976"')
        try:
            rate = parse_frame_rate(rate_value)
        except BadTimecode as e:
            raise UsageError(f"{path}: project.frame_rate: {e}") from None
        rule = v.value(naming, "naming", "rule", str, "a regular expression in quotes", cls.naming_rule)
        try:
            re.compile(rule.replace("{cue}", re.escape("1M03")))
        except re.error as e:
            raise UsageError(f"{path}: naming.rule {rule!r} is not a regular expression ({e.msg}): "
                             "fix it by hand (a rule that does not compile would check nothing)") from None
        return cls(
            name=v.value(project, "project", "name", str, "a name in quotes", path.parent.name),
            frame_rate=rate,
            sample_rate=v.count(policy, "policy", "sample_rate", 48000, "48000 (0: any)"),
            bit_depth=v.count(policy, "policy", "bit_depth", 24, "24 (0: any)"),
            lossless_only=v.value(policy, "policy", "lossless_only", bool, "true or false", True),
            naming_rule=rule,
            mix_patterns=v.strings(naming, "naming", "mix", ["*_MIX*", "*Mix*", "*printmaster*"],
                                   'a list of patterns, e.g. ["*_MIX*"]'),
            loudness=v.numbers(loudness, "loudness"),
            checks=v.numbers(checks, "checks"),
            supervisors=v.strings(roles, "roles", "supervisors", [], _WHO),
            composers=v.strings(roles, "roles", "composers", [], _WHO),
            editors=v.strings(roles, "roles", "editors", [], _WHO),
            require_signature=v.value(approvals, "approvals", "require_signature", bool, "true or false", False),
            allowed_signers=v.vault_path(approvals, "approvals", "allowed_signers", ALLOWED_SIGNERS),
            gpg_keys=v.vault_path(approvals, "approvals", "gpg_keys", GPG_KEYS),
            model_repo=v.value(separate, "separate", "model_repo", str, 'a folder in quotes, e.g. "models"', ""),
        )


_WHO = 'a list of emails and/or key fingerprints, e.g. ["sue@example.com", "SHA256:…"]'



class _Validator:
    """Reads typed values out of the parsed file; a value of the wrong type is a one-line
    UsageError naming the file and the key, never a traceback or a silent default."""

    def __init__(self, path: Path, raw: dict[str, Any]) -> None:
        self.path, self.raw = path, raw

    def known_keys(self) -> None:
        """An unknown table or key (a misspelt ``integrated_lfus``) is an error naming the key and
        the nearest known one: a setting that is silently ignored is a check silently off."""
        for section, t in self.raw.items():
            if section not in KNOWN_KEYS:
                self.unknown("", section, list(KNOWN_KEYS))
            if isinstance(t, dict):
                for key in t:
                    if key not in KNOWN_KEYS[section]:
                        self.unknown(section, key, KNOWN_KEYS[section])

    def unknown(self, section: str, key: str, known: list[str]) -> NoReturn:
        where = f"{section}.{key}" if section else key
        near = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean {section + '.' if section else ''}{near[0]}?" if near else \
            f"known {'keys of [' + section + ']' if section else 'tables'}: {', '.join(known)}"
        raise UsageError(f"{self.path}: {where} is an unknown setting ({hint}): fix the file by hand")

    def fail(self, section: str, key: str, value: Any, want: str) -> NoReturn:
        where = f"{section}.{key}" if section else key
        raise UsageError(f"{self.path}: {where} must be {want}, not {value!r}: fix the file by hand")

    def table(self, section: str) -> dict[str, Any]:
        t = self.raw.get(section, {})
        if not isinstance(t, dict):
            self.fail("", section, t, f"a table: a [{section}] section")
        return t

    def value(self, table: dict[str, Any], section: str, key: str, typ: type[_T], want: str, default: _T) -> _T:
        x = table.get(key, default)
        # bool is an int to Python, never to a person writing a config.
        if not isinstance(x, typ) or (typ is not bool and isinstance(x, bool)):
            self.fail(section, key, x, want)
        return x

    def count(self, table: dict[str, Any], section: str, key: str, default: int, example: str) -> int:
        x = self.value(table, section, key, int, f"a whole number ≥ 0, e.g. {example}", default)
        if x < 0:
            self.fail(section, key, x, f"a whole number ≥ 0, e.g. {example}")
        return x

    def strings(self, table: dict[str, Any], section: str, key: str, default: list[str], want: str) -> list[str]:
        x = table.get(key, default)
        if not isinstance(x, list) or not all(isinstance(i, str) for i in x):
            self.fail(section, key, x, want)
        return list(x)

    def vault_path(self, table: dict[str, Any], section: str, key: str, default: str) -> str:
        """A file inside the vault, as a relative path with forward slashes."""
        x = self.value(table, section, key, str, "a path inside the vault in quotes", default)
        parts = x.replace("\\", "/").split("/")
        if not x or x.startswith("/") or ":" in parts[0] or ".." in parts:
            self.fail(section, key, x, f'a path inside the vault, e.g. "{default}"')
        return x

    def numbers(self, table: dict[str, Any], section: str) -> dict[str, float]:
        out: dict[str, float] = {}
        for key, x in table.items():
            if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
                self.fail(section, key, x, "a number without quotes, e.g. -24.0")
            out[key] = float(x)
        return out


def _parse(text: str) -> dict[str, Any]:
    """TOML as plain data: the standard parser (Python 3.11+), else tomlkit (3.10)."""
    try:
        import tomllib
    except ModuleNotFoundError:
        import tomlkit
        import tomlkit.exceptions

        try:
            raw: dict[str, Any] = tomlkit.parse(text).unwrap()
        except tomlkit.exceptions.TOMLKitError as e:
            raise ValueError(str(e)) from None
        return raw
    return tomllib.loads(text)
