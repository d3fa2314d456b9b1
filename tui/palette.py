"""The command palette's verbs (ctrl+p): open cue…, diff with…, play, note, approve, commit, verify.

Each verb runs the same action as its key, so a screen another module builds (player, note,
approve, commit) is reached the same way from a key and from the palette.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

__all__ = ["VerbsProvider"]

# (palette text, help, action name): the action runs on the current screen when it has it,
# else on the app (tui.app.StemvaultApp.run_verb).
VERBS: list[tuple[str, str, str]] = [
    ("Play", "play the highlighted version (A/B with the marked one)", "play"),
    ("Note", "write a note on the highlighted version", "note"),
    ("Approve", "approve the highlighted version", "approve"),
    ("Commit", "commit a folder as a new version of this cue", "commit"),
    ("Verify", "check files against manifests, LFS objects and approvals", "verify"),
    ("Diff with…", "compare the highlighted version with another (Space marks one)", "diff_with"),
]


class VerbsProvider(Provider):
    """stemvault's verbs, the cues to open and (on a history screen) the versions to diff with."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        app: Any = self.app  # tui.app.StemvaultApp (not imported: no cycle with tui.app)
        out: list[tuple[str, str, Callable[[], object]]] = [
            (text, help_, partial(app.run_verb, action)) for text, help_, action in VERBS]
        for cue in app.cues:
            out.append((f"Open cue {cue}", "its history and diffs", partial(app.open_cue, cue)))
        screen = self.screen
        versions = getattr(screen, "versions", None)
        mark = getattr(screen, "mark_version", None)
        if versions and callable(mark) and getattr(screen, "cue", None):
            for v in versions:
                out.append((f"Diff with {v.ref}", "mark this version: the pane compares against it",
                            partial(mark, str(v.version))))
        return out

    async def discover(self) -> Hits:
        for text, help_, command in self._commands():
            if not text.startswith("Diff with ") or text == "Diff with…":
                yield DiscoveryHit(text, command, help=help_)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, help_, command in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text, help=help_)
