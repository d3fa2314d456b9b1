"""The Textual app. Small on purpose: screens live in tui/screens, widgets in tui/widgets."""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from tui.messages import OpenCue
from tui.output import plain
from tui.palette import VerbsProvider
from tui.screens.help import HelpScreen
from tui.screens.history import HistoryScreen
from tui.screens.vault import VaultScreen
from vcs.errors import VaultError
from vcs.naming import parse_ref
from vcs.vault import Vault

__all__ = ["StemvaultApp", "make_app"]


class StemvaultApp(App[None]):
    """stemvault's terminal UI on one vault (``self.vault``, opened once, shared by every screen).

    ``start``: a ``CUE`` or ``CUE@VER`` to open on that cue's history, that version selected.
    """

    CSS_PATH = "app.tcss"
    TITLE = "stemvault"
    COMMANDS = App.COMMANDS | {VerbsProvider}
    BINDINGS = [
        Binding("question_mark", "help", "Keys", key_display="?"),
        Binding("ctrl+q", "quit", "Quit", show=False),
    ]

    def __init__(self, vault_path: Path, start: str | None = None) -> None:
        super().__init__()
        self.vault_path = vault_path
        self.vault = Vault(Path(vault_path))
        self.start = start
        self.cues: list[str] = []  # kept by the vault screen: the palette's "Open cue …"

    def on_mount(self) -> None:
        _ = self.vault.objects  # made here, once: workers then share it (its reads are locked)
        self.push_screen(VaultScreen(self.vault))
        if self.start:
            r = parse_ref(self.start)
            self.push_screen(HistoryScreen(self.vault, r.cue, None if r.version is None else str(r.version)))

    def on_unmount(self) -> None:
        self.vault.close()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that failed unexpectedly (a bug): said to the user; the app goes on. (The
        workers report the errors they expect themselves.)"""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            e = event.worker.error
            self.notify(plain(f"unexpected {type(e).__name__}: {e}"), title="Something went wrong",
                        severity="error", markup=False)

    @on(OpenCue)
    def _open_cue(self, message: OpenCue) -> None:
        self.open_cue(message.cue, message.select)

    def open_cue(self, cue: str, select: str | None = None) -> None:
        """Show ``cue``'s history (on top of the vault screen)."""
        while isinstance(self.screen, (HistoryScreen, HelpScreen)):
            self.pop_screen()
        self.push_screen(HistoryScreen(self.vault, cue, select))

    async def run_verb(self, action: str) -> None:
        """A palette verb: the current screen's action of that name, else the app's."""
        if hasattr(self.screen, f"action_{action}"):
            await self.screen.run_action(action)
        elif hasattr(self, f"action_{action}"):
            await self.run_action(action)
        else:
            self.notify(f"{action}: open a cue first (Enter on the vault screen)", markup=False)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
            return
        keys: list[tuple[str, str]] = []
        seen = set()
        # The screen's own keys first, then the app's, a focused widget's generic ones (a table's
        # cursor keys) after: at 80x24 what the screen is for must not fall below the fold.
        def own(cls: type) -> set[str]:  # the actions a class declares itself (not Textual's defaults)
            return {b.action for b in cls.__dict__.get("BINDINGS", []) if isinstance(b, Binding)}

        mine, app = own(type(self.screen)), own(type(self))
        active = sorted(self.active_bindings.values(),
                        key=lambda a: (not (a.node is self.screen and a.binding.action in mine),
                                       not (a.node is self and a.binding.action in app)))
        for binding in active:
            b = binding.binding
            if b.description and b.description not in seen and b.action != "help":
                seen.add(b.description)
                keys.append((self.get_key_display(b), b.description))
        keys += [("?", "these keys (Esc closes)"), ("ctrl+p", "command palette: every verb, by name"),
                 ("ctrl+q", "quit")]
        title = getattr(self.screen, "HELP_TITLE", type(self.screen).__name__)
        self.push_screen(HelpScreen(title, keys))

    def action_commit(self) -> None:
        from tui.screens.commit import CommitScreen  # when asked: the app starts without it

        self.push_screen(CommitScreen(self.vault, None))

    def action_verify(self) -> None:
        self.notify("verifying the vault…", markup=False)
        self._verify()

    @work(thread=True, exclusive=True, exit_on_error=False, group="verify")
    def _verify(self) -> None:
        from vcs.verify import verify

        try:
            report = verify(self.vault)
        except VaultError as e:
            self.call_from_thread(self.notify, plain(str(e)), title="verify failed", severity="error",
                                  markup=False)
            return
        if report.ok:
            msg, severity = f"verify: all good ({report.files_checked} files checked)", "information"
        else:
            msg, severity = (f"verify: {len(report.problems)} problem(s) — run `stemvault verify` "
                             "for the list"), "warning"
        self.call_from_thread(self.notify, msg, severity=severity, markup=False)


def make_app(vault_path: Path, start: str | None = None) -> StemvaultApp:
    """The app on the vault at ``vault_path``; used by the CLI and by the tests."""
    return StemvaultApp(Path(vault_path), start)
