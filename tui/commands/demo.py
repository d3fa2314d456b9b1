"""stemvault demo [PATH] — a vault of synthesized music to try everything on.

Three cues, several versions each, made the way a composer would: an export folder per
version, committed with a summary and notes; an editor's review notes; a supervisor's approval.
The music is synthesized (pads, bass, drums, melody, strings, brass, choir, FX, with reverb
tails) and each set's mix is the exact sum of its stems.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from demo_music import Arrangement

from tui.terminal import has_terminal
from vcs.demo import is_demo_vault, mark_demo_vault
from vcs.errors import UsageError
from vcs.vault import Vault

COMPOSER = ("Ada Moreau", "ada@composer.example")
EDITOR = ("Eli Brandt", "eli@editorial.example")
SUPERVISOR = ("Sam Okafor", "sam@musicsup.example")


@contextlib.contextmanager
def as_person(who: tuple[str, str]) -> Iterator[None]:
    """Act as ``who`` for git (author and committer), restoring the environment after."""
    keys = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(dict(zip(keys, (who[0], who[1], who[0], who[1]), strict=True)))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass
class Step:
    """One version of one cue in the demo's story."""

    cue: str
    summary: str
    arrangement: Arrangement
    minor: bool = False
    notes: list[str] = field(default_factory=list)
    review: list[tuple[str, str, str | None]] = field(default_factory=list)  # tc, text, stem
    approve: str | None = None


def story(seconds: float) -> list[Step]:
    """The demo's versions, in the order they were made."""
    from demo_music import Arrangement, Edit, Part  # synthesis only when a demo is built

    def a(cue: str, parts: list[Part], edits: list[Edit] | None = None, **kw: Any) -> Arrangement:
        return Arrangement(cue=cue, seconds=seconds, parts=parts, edits=edits or [], **kw)

    titles = [Part("pad"), Part("bass"), Part("drums"), Part("melody"), Part("strings"), Part("fx")]
    titles_v2 = [Part("bass"), Part("drums"), Part("melody", seed_offset=1), Part("strings"), Part("fx")]
    chase = [Part("strings"), Part("brass"), Part("pad"), Part("bass", gain_db=-2), Part("drums")]
    chase_v11 = chase
    chase_v2 = [*chase, Part("choir")]
    end = [Part("pad"), Part("melody"), Part("bass"), Part("drums", gain_db=-6)]
    t = seconds

    def at(cue: str, fraction: float) -> str:
        """The timecode ``fraction`` of the way into ``cue`` (notes stay inside any --seconds)."""
        from audio.timecode import Timecode, parse_frame_rate

        return str(Timecode.from_seconds(_STARTS[cue] + fraction * t, parse_frame_rate("24")))

    return [
        Step("1M01", "first pass at the opening titles",
             a("1M01", titles, tempo_bpm=92, key="D minor", seed=11),
             notes=[f"{at('1M01', 1 / 6)} melody enters on the title card"]),
        Step("1M03", "chase, first pass", a("1M03", chase, tempo_bpm=132, key="E minor", seed=23),
             notes=[f"{at('1M03', 0.02)} brass stabs hit the cut to the alley"]),
        Step("1M03", "softer brass under dialogue",
             a("1M03", chase_v11, [Edit("brass", 0.4 * t, 0.6 * t, gain_db=-4.0)],
               tempo_bpm=132, key="E minor", seed=23), minor=True,
             review=[(at("1M03", 0.42), "strings too loud under dialogue", "1M03_STR.wav")]),
        Step("2M14A", "end credits, sketch", a("2M14A", end, tempo_bpm=76, key="F major", seed=5),
             review=[(at("2M14A", 0.125), "lovely — can the drums wait until the second phrase?", None)]),
        Step("1M01", "new melody, pad out",
             a("1M01", titles_v2, [Edit("melody", 0.25 * t, 0.5 * t, rewrite=True)],
               tempo_bpm=92, key="D minor", seed=11),
             notes=[f"{at('1M01', 0.25)} new melody from here", f"{at('1M01', 0)} pad removed: too thick with VO"]),
        Step("1M03", "choir added, strings rewritten in the middle",
             a("1M03", chase_v2, [Edit("brass", 0.4 * t, 0.6 * t, gain_db=-4.0),
                                  Edit("strings", 0.3 * t, 0.55 * t, rewrite=True)],
               tempo_bpm=132, key="E minor", seed=23),
             notes=[f"{at('1M03', 0.3)} strings rewritten through the alley", f"{at('1M03', 0)} choir doubles the brass"],
             review=[(at("1M03", 0.515), "the choir swell lands right on the cut — great", "1M03_CHOIR.wav")],
             approve="approved for the temp dub"),
    ]


_STARTS = {"1M01": 3600.0, "1M03": 3600.0 + 130.0, "2M14A": 2 * 3600.0 + 14 * 60.0}


def build_demo(path: Path, *, seconds: float = 24.0, progress: bool = False) -> Vault:
    """Create the demo vault at ``path`` (which must not exist, or be empty)."""
    from demo_music import write_stem_set
    from vcs.commit import commit_version  # heavy (analysis): only when a demo is built
    from vcs.review import add_note, approve

    with as_person(COMPOSER):
        vault = Vault.init(path, name="The Long Night (demo)", frame_rate="24")
    with as_person(COMPOSER):
        mark_demo_vault(vault)
    with tempfile.TemporaryDirectory(prefix="stemvault-demo-") as tmp:
        for i, step in enumerate(story(seconds)):
            folder = Path(tmp) / f"{step.cue}_{i}"
            folder.mkdir()
            write_stem_set(step.arrangement, folder, start_tc_seconds=_STARTS[step.cue])
            with as_person(COMPOSER):
                r = commit_version(vault, step.cue, folder, summary=step.summary,
                                   notes=step.notes, minor=step.minor)
            if progress:
                click.echo(f"  {r.version.ref:12} {step.summary}")
            with as_person(EDITOR):
                for tc, text, stem in step.review:
                    add_note(vault, r.version, tc, text, stem=stem)
            if step.approve:
                with as_person(SUPERVISOR):
                    approve(vault, vault.resolve(r.version.ref), message=step.approve)
    return vault


@click.command("demo")
@click.argument("path", type=click.Path(path_type=Path), default="stemvault-demo")
@click.option("--no-tui", is_flag=True, help="Only build the vault.")
@click.option("--fresh", is_flag=True, help="Rebuild an existing demo vault at PATH.")
@click.option("--seconds", default=24.0, show_default=True, help="Length of each cue's music.")
def demo_cmd(path: Path, no_tui: bool, fresh: bool, seconds: float) -> int:
    """Build a demo vault of synthesized music, then open the TUI on it."""
    path = path.expanduser().resolve()
    if path.exists() and any(path.iterdir()):
        if not is_demo_vault(path):
            raise UsageError(f"{path} exists and is not a demo vault: give another PATH")
        if fresh:
            shutil.rmtree(path)
    if not path.exists() or not any(path.iterdir()):
        click.echo(f"Building a demo vault in {path} ...")
        build_demo(path, seconds=seconds, progress=True)
    if no_tui or not has_terminal():
        # Without a terminal (a script, `ssh host stemvault demo`) the vault is what was asked for.
        why = "" if no_tui else " (no terminal here, so the TUI was not opened: `ssh -t` for it)"
        click.echo(f"Demo vault ready: cd {path} && stemvault log{why}")
        return 0
    from tui.app import make_app

    make_app(path).run()
    return 0
