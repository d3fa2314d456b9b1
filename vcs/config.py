"""The project file ``stemvault.toml``: name, frame rate, policies, naming rule, targets, roles.

Public surface:
    Config (dataclass), Config.load(path), default_config_text(name, frame_rate) -> str

People edit this file by hand; stemvault only reads it (and writes it once, at ``init``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audio.errors import BadTimecode
from audio.timecode import FrameRate, parse_frame_rate
from vcs.errors import UsageError

__all__ = ["CONFIG_NAME", "Config", "default_config_text"]

CONFIG_NAME = "stemvault.toml"


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
    roles.add(tomlkit.comment("who does what (emails); enforced when working with a shared remote"))
    roles.add("supervisors", tomlkit.array())
    doc.add("roles", roles)
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

    @classmethod
    def load(cls, path: Path) -> Config:
        """Read ``stemvault.toml``.

        Raises:
            UsageError: when it is missing, does not parse, or names an unknown frame rate.
        """
        try:
            raw = _parse(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"{path} is missing: run `stemvault init` to create a vault") from None
        except (ValueError, UnicodeDecodeError) as e:  # what _parse raises
            raise UsageError(f"{path.name} does not parse ({e}): fix the file by hand") from None
        project = raw.get("project", {})
        policy = raw.get("policy", {})
        naming = raw.get("naming", {})
        try:
            rate = parse_frame_rate(project.get("frame_rate", "24"))
        except BadTimecode as e:
            raise UsageError(f"{path.name}: {e}") from None
        return cls(
            name=str(project.get("name", path.parent.name)),
            frame_rate=rate,
            sample_rate=int(policy.get("sample_rate", 48000)),
            bit_depth=int(policy.get("bit_depth", 24)),
            lossless_only=bool(policy.get("lossless_only", True)),
            naming_rule=str(naming.get("rule", cls.naming_rule)),
            mix_patterns=list(naming.get("mix", ["*_MIX*", "*Mix*", "*printmaster*"])),
            loudness=dict(raw.get("loudness", {})),
            checks=dict(raw.get("checks", {})),
            supervisors=list(raw.get("roles", {}).get("supervisors", [])),
        )


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
