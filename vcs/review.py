"""Review notes (git notes) and approvals (annotated tags) on existing versions.

Public surface:
    add_note(vault, version, tc, text, stem=None) -> Note
    approve(vault, version, message="", sign=False) -> Approval

Neither makes a new version: a note is a line in ``refs/notes/stemvault`` attached to the
version's commit; an approval is the tag ``<cue>/v<version>/approved`` whose message records who
approved and the sha256 of every file of that version's manifest.
"""

from __future__ import annotations

import datetime as dt
import json

from audio.errors import AudioError
from audio.timecode import parse_timecode
from vcs import git
from vcs.errors import GitFailed, UsageError
from vcs.models import Approval, Note, Version, sanitize_line
from vcs.vault import NOTES_REF, Vault, approval_tag, parse_approval_tag

__all__ = ["add_note", "approve"]


def _now() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


def add_note(vault: Vault, version: Version, tc: str, text: str, *, stem: str | None = None) -> Note:
    """Attach a review note to ``version`` at timecode ``tc``.

    Raises:
        UsageError: bad timecode, empty text, or a stem that is not in the version.
    """
    try:
        t = parse_timecode(tc, vault.config.frame_rate)
    except AudioError as e:
        raise UsageError(str(e)) from None
    if not text.strip():
        raise UsageError("the note is empty: say what you heard")
    if stem is not None:
        files = [s.file for s in vault.manifest_at(version).stems]
        if stem not in files:
            want = stem.lower()
            match = [f for f in files if f.rsplit(".", 1)[0].lower() in (want, f"{version.cue.lower()}_{want}")]
            if len(match) != 1:
                raise UsageError(f"{version.ref} has no stem {stem!r} (stems: {', '.join(files)})")
            stem = match[0]
    name, email = vault.identity()
    note = Note(tc=str(t), text=text, author=name, email=email, stem=stem, date=_now())
    with vault.writing():
        old = git.notes_show(NOTES_REF, version.commit, cwd=vault.root)
        body = old.rstrip(b"\n") + (b"\n" if old.strip() else b"") + note.to_json_line().encode() + b"\n"
        blob = git.hash_object(body, cwd=vault.root)
        # The blob is reused verbatim: no message clean-up touches the user's text.
        git.notes_add_blob(NOTES_REF, version.commit, blob, cwd=vault.root)
    return note


def approve(vault: Vault, version: Version, *, message: str = "", sign: bool = False) -> Approval:
    """Approve ``version``: an annotated (optionally signed) tag bound to its files' checksums.

    Raises:
        UsageError: when the version is already approved, or signing is not set up.
    """
    tag = approval_tag(version.cue, str(version.version))
    if version.approval or git.rev_parse(f"refs/tags/{tag}", cwd=vault.root):
        raise UsageError(f"{version.ref} is already approved (tag {tag})")
    manifest = vault.manifest_at(version)
    name, email = vault.identity()
    meta = {"cue": version.cue, "version": str(version.version), "by": name, "email": email,
            "date": _now(), "message": message, "commit": version.commit}
    lines = [f"Approved {version.cue} v{version.version} by {sanitize_line(name)}", ""]
    if message.strip():
        lines += ["    " + sanitize_line(m) for m in message.strip().split("\n")] + [""]
    lines.append(f"Stemvault-Approval: {json.dumps(meta, ensure_ascii=True, sort_keys=True)}")
    for s in manifest.stems:
        rec = {"file": s.file, "sha256": s.sha256, "size": s.size}
        lines.append(f"Stemvault-File: {json.dumps(rec, ensure_ascii=True, sort_keys=True)}")
    text = "\n".join(lines) + "\n"
    with vault.writing():
        try:
            git.tag_annotated(tag, version.commit, text.encode(), cwd=vault.root, sign=sign)
        except GitFailed as e:
            if sign:
                raise UsageError(
                    "signing the approval failed: set up git signing (user.signingkey, and "
                    f"gpg.format for SSH keys) or approve without --sign ({e.stderr.strip().splitlines()[-1] if e.stderr.strip() else e})"
                ) from None
            raise
    oid = git.rev_parse(f"refs/tags/{tag}", cwd=vault.root)
    assert oid is not None
    a = parse_approval_tag(tag, vault.objects.read(oid))
    assert a is not None
    return a
