"""What the player screen shows before (and without) any audio, read in its worker: the rows
from the versions' manifests and analysis records, the timeline, the changed regions; and the
words it says where nothing can play (the render command).

Public surface:
    PlayerLayout, read_layout(vault, a, b), timeline(manifests), render_command(a, b, mode, match, *, preset),
    why_no_sound(error)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from audio.timecode import FrameRate, parse_frame_rate
from tui.widgets.stem_row import Curve
from vcs.errors import VaultError
from vcs.manifest import Manifest
from vcs.models import Version
from vcs.playsession import MUTED_BY_DEFAULT, NOT_SUMMED
from vcs.records import load_record
from vcs.vault import Vault

__all__ = ["PlayerLayout", "read_layout", "render_command", "timeline", "why_no_sound"]


@dataclass
class PlayerLayout:
    """What the screen shows before (and without) any audio: from manifests and records."""

    names: list[str]
    roles: dict[str, str]
    defaults: dict[str, tuple[bool, bool]]  # name -> (mute, solo) as the manifests say
    curves: dict[str, dict[str, Curve | None]]  # side ("a"/"b") -> name -> curve
    present: dict[str, set[str]]  # side -> the stems of that version
    sample_rate: int
    start: int
    frames: int
    rate: FrameRate
    regions: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # name -> changed spans
    warning: str | None = None


def timeline(manifests: list[Manifest]) -> tuple[int, int, int]:
    """(sample rate, start, frames) of the versions' audio, from what their manifests measured."""
    rate, starts, ends = 0, [], []
    for m in manifests:
        for e in m.stems:
            sr, n = e.measured.get("sample_rate"), e.measured.get("frames")
            if e.kind == "tempo" or not isinstance(sr, int) or sr <= 0 or not isinstance(n, int):
                continue
            rate = rate or sr
            t = e.measured.get("time_reference")
            t = t if isinstance(t, int) and t >= 0 else 0
            starts.append(t)
            ends.append(t + n)
    if not starts:
        return 48000, 0, 0
    return rate, min(starts), max(ends) - min(starts)


def render_command(a: Version, b: Version | None, mode: str, match: bool, *, preset: str | None = None) -> str:
    """The command that bounces what this screen would play, for a machine without sound."""
    cmd = f"stemvault play {a.ref}"
    if b is not None:
        cmd += f" --vs {b.ref}"
        if mode != "a":
            cmd += f" --start-in {mode}"
        if match:
            cmd += " --match-loudness"
    if preset:
        cmd += f" --preset {preset}"
    return cmd + " --render out.wav"


def why_no_sound(e: Exception) -> str:
    """The reason of a NoAudioDevice without its long advice (the screen gives its own)."""
    text = str(e)
    for cut in (": listen another way", ": choose another --device"):
        text = text.split(cut, 1)[0]
    return text


def read_layout(vault: Vault, a: Version, b: Version | None) -> PlayerLayout:
    """The rows of the player from the versions' manifests and analysis records (no audio
    needed), with the changed regions between ``b`` and ``a`` (from the records).

    Raises:
        VaultError: a manifest cannot be read.
    """
    sides = [("a", a)] + ([("b", b)] if b else [])
    manifests = {k: vault.manifest_at(v) for k, v in sides}
    sr, start, frames = timeline(list(manifests.values()))
    fr = manifests["a"].frame_rate or vault.config.frame_rate
    rate = fr if isinstance(fr, FrameRate) else parse_frame_rate(fr)
    names: list[str] = []
    roles: dict[str, str] = {}
    defaults: dict[str, tuple[bool, bool]] = {}
    curves: dict[str, dict[str, Curve | None]] = {}
    present: dict[str, set[str]] = {}
    for k, v in sides:
        curves[k], present[k] = {}, set()
        for e in manifests[k].stems:
            if e.kind in NOT_SUMMED:
                continue
            if e.file not in roles:
                names.append(e.file)
                roles[e.file] = e.role
                defaults[e.file] = (e.mute or e.kind in MUTED_BY_DEFAULT, e.solo)
            present[k].add(e.file)
            t = e.measured.get("time_reference")
            offset = (t if isinstance(t, int) and t >= 0 else 0) - start
            curves[k][e.file] = Curve.from_record(load_record(vault, e.sha256, v.commit), offset)
    layout = PlayerLayout(names, roles, defaults, curves, present, sr, start, frames, rate)
    if b is not None:
        from vcs.diff import diff_versions

        try:
            d = diff_versions(vault, b, a)
        except VaultError as err:
            layout.warning = f"changed regions unknown: {err}"
        else:
            for f in d.stems:
                if f.regions:
                    entry = manifests["a"].stem(f.name)
                    t = entry.measured.get("time_reference") if entry else None
                    off = (t if isinstance(t, int) and t >= 0 else 0) - start
                    layout.regions[f.name] = [(off + round(r.start_s * sr), off + round(r.end_s * sr))
                                              for r in f.regions]
    return layout
