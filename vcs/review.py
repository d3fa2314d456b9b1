"""Review notes (git notes) and approvals (annotated tags) on existing versions.

Public surface:
    add_note(vault, version, tc, text, stem=None, at=None, author=None) -> Note
    approve(vault, version, message="", sign=False, author=None) -> Approval
    version_span(manifest, rate) -> (first, last) Timecode | None
    check_in_span(tc, span, ref)          a note's timecode must lie within the version
    tempo_map_of(vault, version, manifest) -> TempoMap | None   (BadTempoMap when unreadable)
    add_bar_beats(vault, versions)        fill Note.bar_beat from each version's tempo map

Neither makes a new version: a note is a line in ``refs/notes/stemvault`` attached to the
version's commit; an approval is the tag ``<cue>/v<version>/approved`` whose message records who
approved and the sha256 of every file of that version's manifest.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from fractions import Fraction

from audio.errors import AudioError, BadTempoMap
from audio.tempo import TempoMap, parse_bar_beat
from audio.timecode import FrameRate, Timecode, parse_timecode
from vcs import git
from vcs.errors import GitFailed, UsageError
from vcs.lfs import parse_pointer
from vcs.manifest import Manifest
from vcs.models import Approval, Note, Version
from vcs.text import visible
from vcs.trust import judge, person, require_role, void_reason
from vcs.vault import CUES_DIR, NOTES_REF, Vault, approval_tag, parse_approval_tag

__all__ = ["add_bar_beats", "add_note", "approve", "check_in_span", "tempo_map_of", "version_span"]


def _now() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


def version_span(manifest: Manifest, rate: FrameRate) -> tuple[Timecode, Timecode] | None:
    """The timecodes a version runs from and to, as ``play`` counts them: from the earliest
    start of its audio files (their BWF start; 00:00:00:00 for a file without one) to the
    latest end (start + frames / sample rate), which is not itself inside (a note lies in
    [first, last)). None when the manifest measured no audio."""
    starts: list[Fraction] = []
    ends: list[Fraction] = []
    for e in manifest.stems:
        m = e.measured
        sr, frames = m.get("sample_rate"), m.get("frames")
        if e.kind == "tempo" or not isinstance(sr, int) or sr <= 0 or not isinstance(frames, int):
            continue
        tref = m.get("time_reference")
        start = Fraction(tref if isinstance(tref, int) and tref >= 0 else 0, sr)
        starts.append(start)
        ends.append(start + Fraction(frames, sr))
    if not starts:
        return None
    # The end is the first frame boundary at or after the audio's end: [first, last) holds every
    # frame that starts inside the audio, as play's --from accepts them.
    return Timecode.from_seconds(min(starts), rate), Timecode(math.ceil(max(ends) * rate.rate), rate)


def check_in_span(t: Timecode, span: tuple[Timecode, Timecode] | None, ref: str) -> None:
    """A note's timecode must lie within the version: in [first, last), the rule of play's
    ``--from`` (the exact end is after the last frame of audio, so it is refused).

    Raises:
        UsageError: naming the version's span.
    """
    if span is None:
        return
    first, last = span
    if not first.frames <= t.frames < last.frames:
        where = "before the cue starts" if t.frames < first.frames else "after the cue ends"
        raise UsageError(f"timecode {t} is {where}: {ref} runs {first}–{last}; give a timecode in that span")


def _tempo_entry(manifest: Manifest) -> str | None:
    for e in manifest.stems:
        if e.kind == "tempo":
            return e.file
    return None


def tempo_map_of(vault: Vault, version: Version, manifest: Manifest) -> TempoMap | None:
    """The version's tempo map, read from its commit (git's object store, not the working
    folder: it works in a clone with no audio downloaded), or None when it has none.

    Raises:
        BadTempoMap: when the file is there but cannot be read as a tempo map.
    """
    name = _tempo_entry(manifest)
    if name is None:
        return None
    got = vault.objects.read_rev_oid(f"{version.commit}:{CUES_DIR}/{version.cue}/{name}")
    if got is None:
        raise BadTempoMap(f"{name} is listed in the manifest but missing from commit {version.commit[:10]}")
    data = got[1]
    if parse_pointer(data) is not None:
        raise BadTempoMap(f"{name} was stored in git-lfs, not in git: commit it again as a plain file")
    return TempoMap.from_midi(data)


def _map_zero(span: tuple[Timecode, Timecode] | None, rate: FrameRate, tmap: TempoMap) -> Fraction:
    """The instant (seconds since midnight) of the tempo map's time zero: the map's own SMPTE
    offset when it carries one (not 00:00:00:00), else the cue's start timecode (00:00:00:00
    when the files carry none)."""
    if tmap.zero_seconds is not None:
        return tmap.zero_seconds
    return Fraction(span[0].frames) / rate.rate if span else Fraction(0)


def add_bar_beats(vault: Vault, versions: list[Version]) -> None:
    """Set ``bar_beat`` on the notes of every version that has a tempo map, and ``tempo_map``
    on the version (``{"file", "error"}``). Computed when shown, so old notes get it too. An
    unreadable map is reported on the version (``error``), never raised."""
    for v in versions:
        for n in v.notes:
            n.bar_beat = None
        if not v.notes:
            continue
        try:
            manifest = vault.manifest_at(v)
        except UsageError:
            continue
        name = _tempo_entry(manifest)
        if name is None:
            continue
        try:
            tmap = tempo_map_of(vault, v, manifest)
        except BadTempoMap as e:
            v.tempo_map = {"file": name, "error": str(e)}
            continue
        v.tempo_map = {"file": name, "error": None}
        assert tmap is not None
        rate = vault.config.frame_rate  # the rate notes are written at
        zero = _map_zero(version_span(manifest, rate), rate, tmap)
        for n in v.notes:
            try:
                t = parse_timecode(n.tc, rate)
            except AudioError:
                continue
            a = Fraction(t.frames) / rate.rate - zero
            pos = tmap.position_of_span(a, a + 1 / rate.rate)
            n.bar_beat = str(pos) if pos is not None else None


def add_note(vault: Vault, version: Version, tc: str | None, text: str, *, stem: str | None = None,
             at: str | None = None, author: str | None = None) -> Note:
    """Attach a review note to ``version`` at timecode ``tc``, or at the bar|beat ``at`` (from
    the version's tempo map; converted to the frame that holds it at the vault's frame rate).
    ``author`` (``Name <email>``): who wrote it, else $STEMVAULT_AUTHOR, else git's identity.

    Raises:
        UsageError: bad timecode or bar|beat, a position outside the version, no or an
            unreadable tempo map for ``at``, empty text, a stem that is not in the version, a
            malformed author, or an author in none of the vault's [roles].
    """
    name, email = person(author, vault.identity)
    require_role(vault.config, "any", email, "write notes")
    if (tc is None) == (at is None):
        raise UsageError("give the note's place as a timecode or as --at BAR|BEAT (one of them)")
    rate = vault.config.frame_rate
    manifest = vault.manifest_at(version)
    span = version_span(manifest, rate)
    if at is not None:
        try:
            pos = parse_bar_beat(at)
            tmap = tempo_map_of(vault, version, manifest)
        except BadTempoMap as e:
            raise UsageError(f"{version.ref}: {e}") from None
        if tmap is None:
            raise UsageError(f"{version.ref} has no tempo map (tempo.mid): give a timecode instead of --at")
        try:
            secs = tmap.seconds_of(pos)
        except BadTempoMap as e:
            raise UsageError(str(e)) from None
        t = Timecode.from_seconds(_map_zero(span, rate, tmap) + secs, rate)
        if span is not None and t >= span[1]:
            raise UsageError(f"{pos} is at {t}, after the cue ends: {version.ref} runs {span[0]}–{span[1]}")
    else:
        assert tc is not None
        try:
            t = parse_timecode(tc, rate)
        except AudioError as e:
            raise UsageError(str(e)) from None
    check_in_span(t, span, version.ref)
    if not text.strip():
        raise UsageError("the note is empty: say what you heard")
    if stem is not None:
        files = [s.file for s in manifest.stems]
        if stem not in files:
            want = stem.lower()
            match = [f for f in files if f.rsplit(".", 1)[0].lower() in (want, f"{version.cue.lower()}_{want}")]
            if len(match) != 1:
                raise UsageError(f"{version.ref} has no stem {stem!r} (stems: {', '.join(files)})")
            stem = match[0]
    note = Note(tc=str(t), text=text, author=name, email=email, stem=stem, date=_now())
    with vault.writing():
        old = git.notes_show(NOTES_REF, version.commit, cwd=vault.root)
        body = old.rstrip(b"\n") + (b"\n" if old.strip() else b"") + note.to_json_line().encode() + b"\n"
        blob = git.hash_object(body, cwd=vault.root)
        # The blob is reused verbatim: no message clean-up touches the user's text.
        git.notes_add_blob(NOTES_REF, version.commit, blob, cwd=vault.root, who=(name, email))
    return note


def approve(vault: Vault, version: Version, *, message: str = "", sign: bool = False,
            author: str | None = None) -> Approval:
    """Approve ``version``: an annotated (optionally signed) tag bound to its files' checksums,
    whose tagger is ``author`` (``Name <email>``), else $STEMVAULT_AUTHOR, else git's identity.
    The new tag is judged like any other (vcs.trust.judge); one that would not count under the
    vault's rules is deleted again, and the error says why.

    Raises:
        UsageError: when the version is already approved, signing is not set up, the vault
            requires a signature and ``sign`` is off, or the approval would not count (not a
            supervisor, a key the vault does not trust).
    """
    tag = approval_tag(version.cue, str(version.version))
    if version.void_approval:
        raise UsageError(f"{version.ref} has an approval tag that does not count ({tag}: "
                         f"{void_reason(version.void_approval, vault.config)}): delete it "
                         f"(git tag -d {tag}) and approve again")
    if version.approval or git.rev_parse(f"refs/tags/{tag}", cwd=vault.root):
        raise UsageError(f"{version.ref} is already approved (tag {tag})")
    name, email = person(author, vault.identity)
    if vault.config.require_signature and not sign:
        raise UsageError("this vault requires signed approvals ([approvals] require_signature in "
                         "stemvault.toml): approve with --sign")
    if not sign:  # a signed approval is judged by its key (supervisors may be listed by fingerprint)
        require_role(vault.config, "supervisors", email, "approve")
    manifest = vault.manifest_at(version)
    meta = {"cue": version.cue, "version": str(version.version), "by": name, "email": email,
            "date": _now(), "message": message, "commit": version.commit}
    lines = [f"Approved {version.cue} v{version.version} by {visible(name)}", ""]
    if message.strip():
        lines += ["    " + visible(m) for m in message.strip().split("\n")] + [""]
    lines.append(f"Stemvault-Approval: {json.dumps(meta, ensure_ascii=True, sort_keys=True)}")
    for s in manifest.stems:
        rec = {"file": s.file, "sha256": s.sha256, "size": s.size}
        lines.append(f"Stemvault-File: {json.dumps(rec, ensure_ascii=True, sort_keys=True)}")
    text = "\n".join(lines) + "\n"
    with vault.writing():
        try:
            git.tag_annotated(tag, version.commit, text.encode(), cwd=vault.root, sign=sign,
                              tagger=(name, email))
        except GitFailed as e:
            if sign:
                raise UsageError(
                    "signing the approval failed: set up git signing (user.signingkey, and "
                    f"gpg.format for SSH keys) or approve without --sign ({e.stderr.strip().splitlines()[-1] if e.stderr.strip() else e})"
                ) from None
            raise
        oid = git.rev_parse(f"refs/tags/{tag}", cwd=vault.root)
        assert oid is not None
        raw = vault.objects.read(oid)
        a = parse_approval_tag(tag, raw)
        assert a is not None
        judge(a, oid, raw, vault.verifier())
        if sign and not a.signed:
            # git (2.39) writes the tag unsigned and exits 0 when ssh-keygen cannot load the key
            git.delete_tag(tag, cwd=vault.root)
            raise UsageError("signing the approval failed: git made the tag without a signature (is "
                             "user.signingkey a key file that exists?); set up git signing or approve "
                             "without --sign")
        if not a.counts:
            git.delete_tag(tag, cwd=vault.root)  # an approval that is not one is not left behind
            raise UsageError(f"not approved: {void_reason(a, vault.config)}")
    return a
