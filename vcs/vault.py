"""The vault: a git + git-lfs repository that stemvault creates and owns.

Public surface:
    Vault.find(start) / Vault.init(path, name, frame_rate) / Vault(root)
    vault.versions(cue) -> list[Version] (newest first), vault.cues(), vault.resolve(ref),
    vault.resolve_many(refs)
    vault.manifest_at(version), vault.tree(version), vault.writing() (lock + recovery)

History is read from git objects only — commit messages, ``refs/notes/stemvault``, annotated
tags and the manifests' blobs — so a clone without the LFS content browses the same history.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

from vcs import git, txn
from vcs.config import CONFIG_NAME, Config, default_config_text
from vcs.errors import NotAVault, UsageError, VaultError
from vcs.lfs import gitattributes_lines
from vcs.lock import clear_stale_index_lock, vault_lock
from vcs.manifest import MANIFEST_NAME, Manifest, parse_data
from vcs.models import Approval, Note, Version, note_order, parse_trailers
from vcs.naming import VersionRef, normalize_cue, parse_ref, parse_version
from vcs.records import ANALYSIS_DIR
from vcs.trust import Trust, Verifier, judge

__all__ = ["NOTES_REF", "Vault", "approval_tag"]

NOTES_REF = "refs/notes/stemvault"
CUES_DIR = "cues"
# What file managers drop into every folder they open: never part of a version, never in the way
# of a commit (vcs.commit leaves ignored files alone).
_GITIGNORE = "# stemvault: what file managers leave in folders\n.DS_Store\n._*\nThumbs.db\ndesktop.ini\n"
_GITATTRIBUTES_HEAD = "# stemvault: audio goes to git-lfs, matched in any letter case (*.wav and *.WAV)"


def approval_tag(cue: str, version: str) -> str:
    """The tag name of an approval: ``<cue>/v<version>/approved``."""
    return f"{cue}/v{version}/approved"


def _iso(ts: int, tz: str) -> str:
    sign = -1 if tz.startswith("-") else 1
    offset = dt.timedelta(hours=int(tz[1:3]), minutes=int(tz[3:5])) * sign
    return dt.datetime.fromtimestamp(ts, dt.timezone(offset)).isoformat()


class Vault:
    """A stemvault vault on disk. All reads and writes of versions go through it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.git_dir = root / ".git"
        self.config = Config.load(root / CONFIG_NAME)

    # ----- finding and creating -------------------------------------------------------------
    @classmethod
    def find(cls, start: Path | None = None) -> Vault:
        """The vault containing ``start`` (default: the current folder).

        Raises:
            NotAVault: when no folder up from ``start`` holds stemvault.toml and .git.
        """
        here = (start or Path.cwd()).resolve()
        for d in (here, *here.parents):
            if (d / CONFIG_NAME).is_file() and (d / ".git").is_dir():
                return cls(d)
        bare = _bare_repository(here)
        if bare is not None:
            raise NotAVault(
                f"{bare} is a bare git repository (a server copy, with no working folder): stemvault "
                f"works in a clone of it: `git clone {bare} FOLDER`, then run stemvault in FOLDER "
                "(or with -C FOLDER)"
            )
        raise NotAVault(
            f"{here} is not inside a stemvault vault: cd into one, or create one with "
            "`stemvault init PATH` (or try `stemvault demo`)"
        )

    @classmethod
    def init(cls, path: Path, *, name: str | None = None, frame_rate: str = "24") -> Vault:
        """Create a vault at ``path`` (a new or empty folder, or an existing git repository).

        Raises:
            UsageError: when ``path`` is already a vault, or is a non-empty folder that is not a
                git repository, or git does not know who the user is.
            ToolMissing: when git or git-lfs is missing.
        """
        from audio.probe import AUDIO_EXTENSIONS  # soundfile and numpy: only when creating a vault
        from audio.timecode import parse_frame_rate

        path = path.resolve()
        git.require_tools()
        rate = parse_frame_rate(frame_rate)  # fails before anything is created
        if (path / CONFIG_NAME).exists():
            raise UsageError(f"{path} is already a stemvault vault")
        if path.exists() and not path.is_dir():
            raise UsageError(f"{path} exists and is not a folder")
        if path.exists() and any(path.iterdir()) and not (path / ".git").is_dir():
            raise UsageError(f"{path} is a folder with files in it: init a vault in a new or empty folder")
        above = next(p for p in path.parents if p.exists())
        if not above.is_dir():
            raise UsageError(f"{above} is not a folder: give a path to a new or empty folder")
        who = git.identity(next(p for p in (path, *path.parents) if p.is_dir()))  # the folders may be new
        if who is None:
            raise UsageError(
                "git does not know who you are: run git config --global user.name 'Your Name' "
                "and git config --global user.email you@example.com, then try again"
            )
        created = not path.exists()
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError(f"cannot create {path}: {e.strerror}: check the path and its permissions") from e
        try:
            if not (path / ".git").is_dir():
                git.init(path)
            git.lfs_install_local(path)
            attrs = path / ".gitattributes"
            old = attrs.read_text() if attrs.exists() else ""
            lines = [_GITATTRIBUTES_HEAD, *gitattributes_lines(AUDIO_EXTENSIONS)]
            attrs.write_text(old + ("\n" if old and not old.endswith("\n") else "")
                             + "\n".join(lines) + "\n")
            ignore = path / ".gitignore"
            old = ignore.read_text() if ignore.exists() else ""
            ignore.write_text(old + ("\n" if old and not old.endswith("\n") else "") + _GITIGNORE)
            (path / CONFIG_NAME).write_text(
                default_config_text(name or path.name, rate.name), encoding="utf-8")
            (path / CUES_DIR).mkdir(exist_ok=True)
            (path / ANALYSIS_DIR).mkdir(parents=True, exist_ok=True)
            git.add(".gitattributes", ".gitignore", CONFIG_NAME, cwd=path)
            git.commit(f"Create vault {name or path.name}", cwd=path, author=who)
        except BaseException:
            if created:
                import shutil

                shutil.rmtree(path, ignore_errors=True)
            raise
        return cls(path)

    # ----- reading ---------------------------------------------------------------------------
    @cached_property
    def objects(self) -> git.Objects:
        return git.Objects(self.root)

    def close(self) -> None:
        if "objects" in self.__dict__:
            self.objects.close()

    def identity(self) -> tuple[str, str]:
        who = git.identity(self.root)
        if who is None:
            raise UsageError(
                "git does not know who you are: run git config user.name 'Your Name' and "
                "git config user.email you@example.com in this vault (or --global), then try again"
            )
        return who

    def cue_dir(self, cue: str) -> Path:
        return self.root / CUES_DIR / cue

    def _review_notes(self) -> dict[str, list[Note]]:
        out: dict[str, list[Note]] = {}
        for blob, commit in git.notes_list(NOTES_REF, cwd=self.root):
            out[commit] = parse_note_blob(self.objects.read(blob))
        return out

    def verifier(self) -> Verifier:
        """Checks approval signatures against the vault's trusted keys (vcs.trust); a new one
        when stemvault.toml or the key files changed (a pull), else the same, with its cache."""
        trust = Trust.of_folder(self.root, self.config)
        old = self.__dict__.get("_verifier")
        if old is None or old.trust.stamp != trust.stamp or old.trust.config is not self.config:
            old = self.__dict__["_verifier"] = Verifier(trust, self.root,
                                                        cache_dir=self.git_dir / "stemvault" / "verified")
        return old

    def _approvals(self) -> dict[str, Approval]:
        """Approval tags by the commit they are on, judged (vcs.trust.judge): ``counts`` says
        whether each is an approval under the vault's rules."""
        out: dict[str, Approval] = {}
        verifier: Verifier | None = None
        for ref in git.for_each_ref("refs/tags/", cwd=self.root):
            if ref.type != "tag" or not ref.name.endswith("/approved"):
                continue
            raw = self.objects.read(ref.oid)
            a = parse_approval_tag(ref.name, raw)
            if a is not None:
                verifier = verifier or self.verifier()
                out.setdefault(a.commit, judge(a, ref.oid, raw, verifier))
        return out

    def versions(self, cue: str | None = None, *, details: bool = True) -> list[Version]:
        """Every version (of ``cue``, or of all cues), newest first, with notes and approvals.

        ``details=False`` leaves out the review notes and approvals (two git calls fewer): for
        callers that only need which commit a version is, such as ``diff``.
        """
        args = ["--grep=^Stemvault-Cue: "]
        if cue:
            args += ["HEAD", "--", f"{CUES_DIR}/{cue}/"]
        fields = git.log_z("%H%x00%an%x00%ae%x00%aI%x00%B", *args, cwd=self.root)
        if fields is None:
            return []
        review = self._review_notes() if details else {}
        approvals = self._approvals() if details else {}
        versions: list[Version] = []
        for i in range(0, len(fields) - 4, 5):
            commit, author, email, date, body = fields[i:i + 5]
            commit = commit.strip("\n")
            v = version_from_message(commit, author, email, date, body)
            if v is None or (cue and v.cue != cue):
                continue
            v.notes += review.get(commit, [])
            v.notes.sort(key=note_order)  # by timecode, then date
            a = approvals.get(commit)
            if a is not None and a.counts:
                v.approval = a
            else:
                v.void_approval = a
            versions.append(v)
        return versions

    def cues(self) -> list[str]:
        """Cue names with at least one version, in cue order."""
        return sorted({v.cue for v in self.versions(details=False)}, key=_cue_sort_key)

    def resolve(self, ref: str | VersionRef) -> Version:
        """The version a reference names: ``1M03``, ``1M03@2.1``, ``1M03@approved``.

        Raises:
            UsageError: for an unknown cue or version.
        """
        return self.resolve_many([ref])[0]

    def resolve_many(self, refs: list[str | VersionRef], *, details: bool = True) -> list[Version]:
        """The versions several references name, walking each cue's history once (``diff``
        resolves two refs of one cue with one ``git log``). ``details=False``: without review
        notes and approvals, unless a reference asks for ``@approved``.

        Raises:
            UsageError: for an unknown cue or version.
        """
        parsed = [parse_ref(r) if isinstance(r, str) else r for r in refs]
        need_approvals = details or any(r.approved for r in parsed)
        history: dict[str, list[Version]] = {}
        out = []
        for r in parsed:
            if r.cue not in history:
                history[r.cue] = self.versions(r.cue, details=need_approvals)
            out.append(self._pick(r, history[r.cue]))
        return out

    def select(self, ref: str | None) -> list[Version]:
        """The versions a command's reference names: every version of the vault (None), every
        version of a cue (a bare ``1M03``), or the one ``1M03@2.1``, ``1M03@approved`` or
        ``1M03@latest`` names.

        Raises:
            UsageError: for an unknown cue or version.
        """
        if ref is None:
            return self.versions()
        r = parse_ref(ref)
        if r.version is None and not r.approved and "@" not in ref:
            vs = self.versions(r.cue)
            if not vs:
                self._pick(r, vs)  # raises, naming the known cues
            return vs
        return [self.resolve(r)]

    def _pick(self, r: VersionRef, vs: list[Version]) -> Version:
        if not vs:
            known = ", ".join(self.cues()) or "none yet"
            raise UsageError(f"cue {r.cue} has no versions in this vault (cues: {known})")
        if r.approved:
            for v in vs:
                if v.approval:
                    return v
            void = next((v for v in vs if v.void_approval), None)
            if void is not None and void.void_approval is not None:
                raise UsageError(f"no version of {r.cue} is approved: {void.void_approval.tag} does not count "
                                 f"({void.void_approval.why or 'the vault rules it out'}); delete it (git tag -d "
                                 f"{void.void_approval.tag}) and have a supervisor approve again "
                                 f"(`stemvault approve {void.ref} --sign`)")
            raise UsageError(f"no version of {r.cue} is approved yet (approve one with "
                             f"`stemvault approve {r.cue}@VERSION`)")
        if r.version is None:
            return vs[0]
        for v in vs:
            if v.version == r.version:
                return v
        have = ", ".join(str(v.version) for v in reversed(vs))
        raise UsageError(f"{r.cue} has no version {r.version} (versions: {have})")

    def tree(self, v: Version) -> list[git.LsTreeEntry]:
        """The files of ``v``'s cue folder at its commit."""
        return git.ls_tree(v.commit, f"{CUES_DIR}/{v.cue}/", cwd=self.root)

    def manifest_at(self, v: Version) -> Manifest:
        """The manifest of version ``v``, read from its commit (no LFS content needed)."""
        # By name on the cat-file process: no rev-parse subprocess.
        got = self.objects.read_rev_oid(f"{v.commit}:{CUES_DIR}/{v.cue}/{MANIFEST_NAME}")
        if got is None:
            raise UsageError(f"{v.ref} has no {MANIFEST_NAME} (commit {v.commit[:10]} was not made "
                             "by stemvault)")
        return Manifest.from_data(self._manifest_data(*got))

    def _manifest_data(self, oid: str, raw: bytes) -> dict[str, Any]:
        """The manifest blob ``oid`` parsed, through a cache of parsed blobs in
        ``.git/stemvault/manifests/<oid>.json``. Parsing TOML (pure Python) costs ~8 ms for a
        24-stem manifest, a JSON load a few hundred µs; a blob id names its content, so an
        entry is never stale. A cache that cannot be read or written is skipped, never an error."""
        if not oid.isalnum():  # an object id, never a path
            return parse_data(raw)
        path = self.git_dir / "stemvault" / "manifests" / f"{oid}.json"
        try:
            data: dict[str, Any] = json.loads(path.read_bytes())
            if isinstance(data, dict):
                return data
        except (OSError, ValueError):
            pass
        data = parse_data(raw)
        try:
            text = json.dumps(data, separators=(",", ":"))
        except (TypeError, ValueError):  # a TOML date has no JSON form: not cached
            return data
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            tmp.write_text(text)
            os.replace(tmp, path)
        return data

    # ----- writing ---------------------------------------------------------------------------
    def recover(self) -> None:
        """Repair what a killed writer left behind (a no-op when nothing is pending)."""
        if txn.pending(self) or (self.git_dir / "index.lock").exists():
            with self.writing():
                pass

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the vault's write lock, after repairing what a killed writer left behind."""
        with vault_lock(self.git_dir):
            clear_stale_index_lock(self.git_dir)
            txn.recover(self)
            yield


def _bare_repository(here: Path) -> Path | None:
    """The bare repository ``here`` is in, or None (asked only once no vault was found)."""
    if not here.is_dir():
        return None
    try:
        return git.bare_git_dir(here)
    except VaultError:  # no git: the usual message
        return None


def _cue_sort_key(cue: str) -> tuple[int, str]:
    import re

    m = re.match(r"^(\d+)M(\d+)(.*)$", cue)
    if m:
        return (0, f"{int(m.group(1)):04d}M{int(m.group(2)):04d}{m.group(3)}")
    return (1, cue)


def version_from_message(commit: str, author: str, email: str, date: str, body: str) -> Version | None:
    """A Version from a commit's message (its ``Stemvault-*`` trailers), or None."""
    t = parse_trailers(body)
    if "Cue" not in t or "Version" not in t:
        return None
    # Everything here is untrusted (anyone can write a commit message): a cue must be a cue name
    # and a version a version number, or the commit is not a version (skipped; `verify` judges
    # commits that change cues outside stemvault). Free text is kept as is, escaped where shown.
    try:
        cue = normalize_cue(t["Cue"][0].strip())
        number = parse_version(t["Version"][0])
        summary = json.loads(t["Summary"][0]) if "Summary" in t else body.split("\n", 1)[0]
        delta = json.loads(t["Delta"][0]) if "Delta" in t else ""
    except (ValueError, UsageError):
        return None  # not ours, or damaged: history shows what it can read
    notes: list[Note] = []
    for line in t.get("Note", []):
        # A note that is not a JSON object is skipped; one whose timecode does not parse is kept,
        # marked damaged (Note.from_dict).
        with contextlib.suppress(ValueError):
            notes.append(Note.from_dict(json.loads(line), "commit"))
    for n in notes:
        n.author = n.author or author
        n.email = n.email or email
        n.date = n.date or date
    change = t.get("Change", ["new"])[0].strip()
    provenance = None
    with contextlib.suppress(ValueError):  # damaged: the version is shown without it
        raw = json.loads(t["Provenance"][0]) if "Provenance" in t else None
        provenance = raw if isinstance(raw, dict) else None
    return Version(cue=cue, version=number, commit=commit, author=author,
                   email=email, date=date, summary=str(summary),
                   change="tweak" if change == "tweak" else "new", notes=notes, delta=str(delta),
                   provenance=provenance)


def parse_note_blob(data: bytes) -> list[Note]:
    """Review notes stored in one git note: one JSON object per line."""
    notes = []
    for line in data.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:  # not a JSON object: skipped; a timecode that does not parse: kept, marked damaged
            notes.append(Note.from_dict(json.loads(line), "review"))
        except ValueError:
            continue
    return notes


def parse_approval_tag(name: str, raw: bytes) -> Approval | None:
    """An Approval from a raw annotated tag object, or None when it is not one of ours."""
    text = raw.decode("utf-8", "replace")
    header, _, message = text.partition("\n\n")
    commit, tagger = "", ""
    for line in header.split("\n"):
        if line.startswith("object "):
            commit = line[7:].strip()
        elif line.startswith("tagger "):
            tagger = line[7:]
    signed = False
    for marker in ("\n-----BEGIN PGP SIGNATURE-----", "\n-----BEGIN SSH SIGNATURE-----",
                   "\n-----BEGIN SIGNED MESSAGE-----"):
        if marker in "\n" + message:
            message = ("\n" + message).split(marker, 1)[0].lstrip("\n")
            signed = True
    t = parse_trailers(message)
    if "Approval" not in t:
        return None
    # Untrusted like every record in git: a tag whose record does not parse, or whose cue and
    # version are not a cue name and a version number, is not an approval (never shown as one).
    try:
        meta = json.loads(t["Approval"][0])
        if not isinstance(meta, dict):
            return None
        normalize_cue(str(meta.get("cue", "")))
        parse_version(str(meta.get("version", "")))
        files = {}
        for f in t.get("File", []):
            d = json.loads(f)
            files[str(d["file"])] = str(d["sha256"])
    except (ValueError, KeyError, TypeError, UsageError):
        return None
    # Who approved is who git recorded as the tagger (the message text is anyone's to write);
    # whether that person's key signed it is vcs.trust.judge's question.
    by, email = str(meta.get("by", "")), str(meta.get("email", ""))
    tag_name, sep, rest = tagger.partition(" <")
    if sep and ">" in rest:
        by, email = tag_name, rest.split(">", 1)[0]
    date = str(meta.get("date", ""))
    if not date and tagger:
        parts = tagger.rsplit(" ", 2)
        with contextlib.suppress(ValueError, IndexError):
            date = _iso(int(parts[1]), parts[2])
    return Approval(tag=name, cue=str(meta.get("cue", "")), version=str(meta.get("version", "")),
                    by=by, email=email, date=date,
                    message=str(meta.get("message", "")), signed=signed, commit=commit, files=files)


