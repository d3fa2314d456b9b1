"""The approve dialog: what is being approved, then ``stemvault approve`` on confirm."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, Static

from tui.text import literal
from vcs import git
from vcs.errors import VaultError
from vcs.models import Approval, Version
from vcs.review import approve
from vcs.vault import Vault, approval_tag

__all__ = ["ApproveDialog"]


@dataclass
class _Facts:
    files: int
    checksums: int
    sign_default: bool
    signing_key: str | None


class ApproveDialog(ModalScreen[Approval | None]):
    """Approve ``version``: shows the cue and version, its files and how many checksums the
    approval binds, the open notes, whether the tag will be signed, and a message. Enter (in the
    message) or Ctrl+S approves in a worker and dismisses with the Approval; Esc with None."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "approve", "Approve"),
    ]

    def __init__(self, vault: Vault, version: Version) -> None:
        super().__init__()
        self.vault = vault
        self.version = version
        self.busy = False

    def compose(self) -> ComposeResult:
        v = self.version
        with Vertical(id="approve-dialog", classes="dialog"):
            yield Label(Text.assemble("Approve ", literal(v.ref, "bold")), classes="dialog-title")
            yield Static(self._what(None), id="approve-what")
            yield Checkbox("sign the approval tag", id="approve-sign", compact=True)
            with Horizontal(classes="dialog-row"):
                yield Label("message ", classes="dialog-label")
                yield Input(placeholder="optional; Enter approves, Esc cancels", id="approve-message", compact=True)
            yield Static("", id="approve-error", classes="dialog-error")

    def _what(self, facts: _Facts | None) -> Text:
        v = self.version
        n = len(v.notes)
        lines = [
            Text.assemble("cue ", literal(v.cue, "bold"), "  version ", literal(str(v.version), "bold"),
                          f" ({v.change})  by ", literal(v.author)),
            Text.assemble("summary: ", literal(v.summary or "—")),
        ]
        if facts is None:
            lines.append(Text("files: reading the manifest…"))
        else:
            lines.append(Text(f"files: {facts.files}, {facts.checksums} sha256 checksums bound to the approval"))
        lines.append(Text(f"open notes: {n}" + (" — read them before approving" if n else "")))
        if v.approval is not None:
            lines.append(Text.assemble(("already approved", "bold"), " by ", literal(v.approval.by), " on ",
                                       literal(v.approval.date)))
        return Text("\n").join(lines)

    def on_mount(self) -> None:
        self.query_one("#approve-message", Input).focus()
        self.load_facts()

    @work(thread=True, exclusive=True, exit_on_error=False, group="approve-facts")
    def load_facts(self) -> None:
        try:
            stems = self.vault.manifest_at(self.version).stems
            gpg = (git.config_get("tag.gpgSign", cwd=self.vault.root) or "").lower() in ("true", "yes", "on", "1")
            key = git.config_get("user.signingkey", cwd=self.vault.root)
        except VaultError as e:
            self.app.call_from_thread(self._error, str(e))
            return
        # a vault that requires signed approvals ([approvals] require_signature): ticked
        facts = _Facts(len(stems), sum(1 for s in stems if s.sha256), gpg or self.vault.config.require_signature, key)
        self.app.call_from_thread(self._facts, facts)

    def _facts(self, facts: _Facts) -> None:
        self.query_one("#approve-what", Static).update(self._what(facts))
        box = self.query_one("#approve-sign", Checkbox)
        box.value = facts.sign_default
        if facts.signing_key:
            box.label = Text.assemble("sign the approval tag with ", literal(facts.signing_key))
        else:
            box.label = Text("sign the approval tag (with git's default key)")

    def _error(self, text: str) -> None:
        self.busy = False
        self.query_one("#approve-error", Static).update(literal(f"error: {text}", "bold"))

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.action_approve()

    def action_approve(self) -> None:
        if self.busy:
            return
        self.busy = True
        self.query_one("#approve-error", Static).update(
            Text(f"approving as tag {approval_tag(self.version.cue, str(self.version.version))}…"))
        self.do_approve(self.query_one("#approve-message", Input).value,
                        self.query_one("#approve-sign", Checkbox).value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="approve-write")
    def do_approve(self, message: str, sign: bool) -> None:
        try:
            approval = approve(self.vault, self.version, message=message, sign=sign)
        except VaultError as e:
            self.app.call_from_thread(self._error, str(e))
            return
        except Exception as e:  # said in the dialog, never a traceback
            self.app.call_from_thread(self._error, f"not approved: {e}")
            return
        self.app.call_from_thread(self.dismiss, approval)

    def action_cancel(self) -> None:
        self.dismiss(None)
