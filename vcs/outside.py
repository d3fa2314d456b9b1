"""Changes made to a cue outside stemvault: plain-git commits, and approval tags that moved.

Public surface:
    OutsideCommit, OutsideChange (dataclasses)
    changed_outside(vault, latest) -> OutsideChange | None      (one cue)
    changed_outside_all(vault, latest_by_cue) -> dict[cue, OutsideChange]
    changed_outside_of(vault, versions) -> dict[cue, OutsideChange]   (log: newest-first lists)
    ApprovalTag (dataclass), approval_tags(vault) -> list[ApprovalTag]
    commit_line(vault, commit) -> 'abc1234 (Eli Mixer: "choir up 4 dB")'

A version is a commit stemvault made; anything may still commit after it with plain git. Such a
commit changes what the branch tip (and so the working folder) holds for the cue while `log`
still calls the version current. Here the tip's cue folder is compared with the folder at the
cue's latest version — git objects only, no audio read — and the commits since that version
that touched the differing files are named. The manifest alone does not count: its descriptive
fields may be edited by hand between versions (docs/manifest.md); every other file does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vcs import git
from vcs.lfs import POINTER_MAX, parse_pointer
from vcs.manifest import MANIFEST_NAME
from vcs.models import Approval

if TYPE_CHECKING:
    from vcs.models import Version
    from vcs.vault import Vault

__all__ = ["ApprovalTag", "OutsideChange", "OutsideCommit", "approval_tags", "changed_outside",
           "changed_outside_all", "changed_outside_of", "commit_line"]

_CUES = "cues"
_MAX_COMMITS = 20  # named in a report; more are summarised by their number


@dataclass
class OutsideCommit:
    """A commit after a cue's latest version that changed its files without being a version."""

    commit: str
    short: str
    author: str
    email: str
    date: str
    subject: str
    files: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return f"{self.short} ({self.author}: \"{self.subject}\")"

    def to_dict(self) -> dict[str, Any]:
        return {"commit": self.commit, "short": self.short, "author": self.author, "email": self.email,
                "date": self.date, "subject": self.subject, "files": self.files}


@dataclass
class OutsideChange:
    """How the branch tip's folder of ``cue`` differs from its latest version ``after``."""

    cue: str
    after: str  # the latest version, "1M03@2.0"
    after_commit: str
    approved: bool  # the latest version is approved
    files: dict[str, str] = field(default_factory=dict)  # file -> "changed" | "added" | "removed"
    commits: list[OutsideCommit] = field(default_factory=list)  # oldest first
    more_commits: int = 0

    def by(self) -> str:
        """``after 1M03@2.0 in commit abc1234 (Eli Mixer: "choir up 4 dB")``."""
        if not self.commits:
            return f"after {self.after} (no commit after the version explains it: HEAD was moved)"
        by = "; ".join(c.describe() for c in self.commits)
        if self.more_commits:
            by += f" and {self.more_commits} more"
        return f"after {self.after} in commit{'s' if len(self.commits) > 1 else ''} {by}"

    def describe(self) -> str:
        """One line: which files, after which version, by which commits."""
        files = ", ".join(f"{f} {how}" for f, how in self.files.items())
        return f"{files} outside stemvault {self.by()}"

    def to_dict(self) -> dict[str, Any]:
        return {"cue": self.cue, "after": self.after, "after_commit": self.after_commit,
                "approved": self.approved, "files": dict(self.files),
                "commits": [c.to_dict() for c in self.commits], "more_commits": self.more_commits}


def _tree_oid(vault: Vault, commit: str, cue: str) -> str | None:
    got = vault.objects.read_rev_oid(f"{commit}:{_CUES}/{cue}")
    return got[0] if got else None


def _same_file(vault: Vault, old_oid: str, new_oid: str) -> bool:
    """Two blobs hold the same file: the same blob, or LFS pointers to the same object."""
    if old_oid == new_oid:
        return True
    a, b = (parse_pointer(vault.objects.read(o)) for o in (old_oid, new_oid))
    return a is not None and a == b


def _differences(vault: Vault, cue: str, since: str) -> dict[str, str]:
    """Files (not the manifest) of the cue folder that differ between ``since`` and HEAD."""
    files: dict[str, str] = {}
    for ch in git.diff_tree(since, "HEAD", f"{_CUES}/{cue}/", cwd=vault.root):
        name = ch.path[len(f"{_CUES}/{cue}/"):]
        if name == MANIFEST_NAME:
            continue
        if ch.status.startswith("A"):
            files[name] = "added"
        elif ch.status.startswith("D"):
            files[name] = "removed"
        elif not _same_file(vault, ch.old, ch.new):
            files[name] = "changed"
    return dict(sorted(files.items()))


def _commits(vault: Vault, cue: str, since: str, files: list[str]) -> tuple[list[OutsideCommit], int]:
    paths = [f"{_CUES}/{cue}/{f}" for f in files]
    commits = [OutsideCommit(c.oid, c.short, c.author, c.email, c.date, c.subject)
               for c in git.commits(f"{since}..HEAD", *paths, cwd=vault.root, reverse=True)]
    named, more = commits[-_MAX_COMMITS:], max(0, len(commits) - _MAX_COMMITS)
    for c in named:
        c.files = sorted(p.rsplit("/", 1)[-1] for p in git.touched_by(c.commit, *paths, cwd=vault.root))
    return named, more


def changed_outside(vault: Vault, latest: Version, *, head: str | None = None,
                    head_tree: str | None = None) -> OutsideChange | None:
    """How HEAD's folder of ``latest.cue`` differs from ``latest`` (the cue's latest version),
    or None when it holds the version's files. ``head``/``head_tree``: already known."""
    head = head or git.head(vault.root)
    if head is None or head == latest.commit:
        return None
    tree = head_tree if head_tree is not None else _tree_oid(vault, head, latest.cue)
    if tree is not None and tree == _tree_oid(vault, latest.commit, latest.cue):
        return None
    files = _differences(vault, latest.cue, latest.commit)
    if not files:
        return None  # only the manifest's descriptive fields were edited
    commits, more = _commits(vault, latest.cue, latest.commit, list(files))
    return OutsideChange(cue=latest.cue, after=latest.ref, after_commit=latest.commit,
                         approved=latest.approval is not None, files=files, commits=commits,
                         more_commits=more)


def changed_outside_all(vault: Vault, latest_by_cue: dict[str, Version]) -> dict[str, OutsideChange]:
    """:func:`changed_outside` for several cues: one ``ls-tree`` of HEAD, then only the cues
    whose folder is not the one of their latest version are looked at further."""
    head = git.head(vault.root)
    if head is None or not latest_by_cue:
        return {}
    trees = {e.path.rsplit("/", 1)[-1]: e.oid
             for e in git.ls_tree(head, f"{_CUES}/", cwd=vault.root, recursive=False) if e.type == "tree"}
    out = {}
    for cue, v in latest_by_cue.items():
        change = changed_outside(vault, v, head=head, head_tree=trees.get(cue, ""))
        if change is not None:
            out[cue] = change
    return out


def changed_outside_of(vault: Vault, versions: list[Version]) -> dict[str, OutsideChange]:
    """Outside changes of the cues of ``versions`` (newest first, as ``vault.versions()`` gives
    them: the first of each cue is its latest version)."""
    latest: dict[str, Version] = {}
    for v in versions:
        latest.setdefault(v.cue, v)
    return changed_outside_all(vault, latest)


# ----- approval tags -------------------------------------------------------------------------

_TAG = re.compile(r"^(?P<cue>[^/]+)/v(?P<version>[^/]+)/approved$")


@dataclass
class ApprovalTag:
    """A tag named like an approval (``1M03/v2.0/approved``), readable or not."""

    name: str
    cue: str  # from the name
    version: str  # from the name
    target: str  # the commit it points at (peeled)
    approval: Approval | None  # None: a lightweight tag, or a message stemvault cannot read
    annotated: bool


def approval_tags(vault: Vault) -> list[ApprovalTag]:
    """Every tag named ``<cue>/v<version>/approved``, in name order."""
    from vcs.vault import parse_approval_tag  # vcs.vault imports nothing of this module

    tags = []
    for ref in git.for_each_ref("refs/tags/", cwd=vault.root):
        m = _TAG.match(ref.name)
        if not m:
            continue
        annotated = ref.type == "tag"
        approval = parse_approval_tag(ref.name, vault.objects.read(ref.oid)) if annotated else None
        tags.append(ApprovalTag(ref.name, m["cue"], m["version"], ref.peeled if annotated else ref.oid,
                                approval, annotated))
    return sorted(tags, key=lambda t: t.name)


def commit_line(vault: Vault, commit: str) -> str:
    """``abc1234 (Eli Mixer: "choir up 4 dB")``: a commit as a report names it."""
    found = git.commits(commit, cwd=vault.root, max_count=1, check=False)
    if not found:
        return commit[:10]
    return f"{found[0].short} ({found[0].author}: \"{found[0].subject.strip()}\")"


def working_file_differs(vault: Vault, path: str) -> bool:
    """Whether the working file ``path`` (relative to the vault) differs from the LFS pointer
    git's index holds for it, by its bytes hashed: the answer when git says "modified" but its
    LFS clean filter could not run (not configured, a damaged object, a read-only vault). A
    working file that is the pointer itself (a clone without the audio) does not differ."""
    from audio.probe import hash_file  # numpy and soundfile: not at the command line's start

    index = git.staged(path, cwd=vault.root)
    if len(index) != 1:
        return True
    ptr = parse_pointer(vault.objects.read(next(iter(index.values()))))
    if ptr is None:
        return True
    try:
        file = vault.root / path
        if file.stat().st_size <= POINTER_MAX and parse_pointer(file.read_bytes()) == ptr:
            return False
        sha, size = hash_file(file)
    except OSError:
        return True
    return (sha, size) != (ptr.oid, ptr.size)
