"""The server's guard: what ``stemvault hook pre-receive`` refuses, and the hook script itself.

Public surface:
    RefUpdate (dataclass), parse_updates(text) -> list[RefUpdate]
    check_push(repo, updates, env=None) -> list[str]   one line per refusal ([] accepts the push)
    hook_script() -> str; install_hook(repo) -> Path
    refusals_in(push_output) -> list[str]   what a declining hook said, for the pusher

A push is refused when it would: delete or move an approval tag; add an approval tag that is not
on the version it names, or that is not an approval under the vault's rules (not signed by a supervisor's trusted key where signatures are
required; by someone who is not a supervisor where supervisors are listed); commit audio into
git itself instead of as an LFS pointer; commit a manifest (or stemvault.toml) that does not
parse; give a cue a version number that is not above its previous one. The rules (roles,
``[approvals]``, trusted keys) are read from the repository's ``main`` branch as it was before
the push (from the pushed ``main`` only when the repository has none yet), so a push cannot
change the rules it is judged by.

The hook runs in the bare repository with the pushed objects in git's quarantine: every git
call passes ``env`` (GIT_OBJECT_DIRECTORY and friends) or it would not see them.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vcs import git
from vcs.config import CONFIG_NAME, Config
from vcs.errors import UsageError, VaultError, cannot_write
from vcs.lfs import POINTER_MAX, parse_pointer
from vcs.manifest import MANIFEST_NAME, Manifest, parse_data
from vcs.models import Version
from vcs.trust import Trust, Verifier, judge
from vcs.vault import CUES_DIR, parse_approval_tag, version_from_message

__all__ = ["RefUpdate", "check_push", "hook_script", "install_hook", "parse_updates", "quarantine_env", "refusals_in"]

ZERO = "0" * 40
MAIN = "refs/heads/main"
_APPROVAL = re.compile(r"^refs/tags/(?P<cue>[^/]+)/v(?P<version>[^/]+)/approved$")
_AUDIO = ("wav", "bwf", "rf64", "w64", "aif", "aiff", "aifc", "flac", "caf", "mp3", "ogg", "opus", "m4a", "aac")


@dataclass(frozen=True)
class RefUpdate:
    old: str
    new: str
    ref: str


def parse_updates(text: str) -> list[RefUpdate]:
    """pre-receive's standard input: ``<old> <new> <ref>`` per line."""
    out = []
    for line in text.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3:
            out.append(RefUpdate(*parts))
    return out


def quarantine_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables through which git shows a hook the objects of the push being received
    (vcs.git.run drops every other GIT_* variable)."""
    environ = os.environ if environ is None else environ
    keep = ("GIT_QUARANTINE_PATH", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES")
    return {k: environ[k] for k in keep if k in environ}


def _is_audio(path: str) -> bool:
    # audio.probe.AUDIO_EXTENSIONS, without importing soundfile into every push
    return "." in path and path.rsplit(".", 1)[1].lower() in _AUDIO


class _Push:
    def __init__(self, repo: Path, updates: list[RefUpdate], env: Mapping[str, str]) -> None:
        self.repo, self.updates, self.env = repo, updates, dict(env)
        self.refusals: list[str] = []

    def read(self, kind: str, rev: str) -> bytes | None:
        return git.read_object(kind, rev, cwd=self.repo, env=self.env)

    def rules(self) -> Trust | str:
        """The vault's rules from main before the push (or the pushed main, for the first
        push); a reason when they cannot be read."""
        source = MAIN
        if git.rev_parse(MAIN, cwd=self.repo) is None:
            pushed = [u.new for u in self.updates if u.ref == MAIN and u.new != ZERO]
            if not pushed:
                return Trust(Config.parse("", Path(CONFIG_NAME)), None, None)
            source = pushed[0]
        text = self.read("blob", f"{source}:{CONFIG_NAME}")
        try:
            cfg = Config.parse((text or b"").decode("utf-8"), Path(CONFIG_NAME))
        except (UsageError, UnicodeDecodeError) as e:
            return f"{CONFIG_NAME} on main cannot be read ({e})"
        return Trust(cfg, self.read("blob", f"{source}:{cfg.allowed_signers}"),
                     self.read("blob", f"{source}:{cfg.gpg_keys}"))

    def check(self) -> list[str]:
        rules: Trust | str | None = None
        for u in self.updates:
            m = _APPROVAL.match(u.ref)
            if m:
                rules = rules if rules is not None else self.rules()
                self.approval(u, m["cue"], m["version"], rules)
            elif u.ref.startswith("refs/heads/") and u.new != ZERO:
                self.branch(u)
        return self.refusals

    def refuse(self, text: str) -> None:
        self.refusals.append(text)

    # ----- approval tags ----------------------------------------------------------------------
    def approval(self, u: RefUpdate, cue: str, version: str, rules: Trust | str) -> None:
        name = u.ref.removeprefix("refs/tags/")
        if u.new == ZERO:
            self.refuse(f"deleting the approval tag {name} is refused: approvals are never deleted")
            return
        if u.old != ZERO:
            self.refuse(f"moving the approval tag {name} is refused: approvals are never moved "
                        f"(approve the new version with its own tag)")
            return
        raw = self.read("tag", u.new) if git.object_type(u.new, cwd=self.repo, env=self.env) == "tag" else None
        a = parse_approval_tag(name, raw) if raw is not None else None
        if raw is None or a is None:
            self.refuse(f"{name} is named like an approval but is not one stemvault wrote: "
                        f"approve with `stemvault approve {cue}@{version}`")
            return
        v = self.version_at(a.commit)
        if v is None or (v.cue, str(v.version)) != (cue, version) or (a.cue, a.version) != (cue, version):
            self.refuse(f"the approval {name} is on commit {a.commit[:10]}, which is not the version {cue}@{version}: "
                        f"approve with `stemvault approve {cue}@{version}`")
            return
        if isinstance(rules, str):
            self.refuse(f"the approval {name} cannot be checked: {rules}")
            return
        judge(a, u.new, raw, Verifier(rules, self.repo, self.env))
        if not a.counts:
            self.refuse(f"the approval {name} by {a.by} <{a.email}> is not an approval here: {a.why}")

    def version_at(self, commit: str) -> Version | None:
        """The version ``commit`` is, or None (not a commit, not a version)."""
        if git.object_type(commit, cwd=self.repo, env=self.env) != "commit":
            return None
        raw = self.read("commit", commit) or b""
        return version_from_message(commit, "", "", "", raw.decode("utf-8", "surrogateescape").partition("\n\n")[2])

    # ----- branches -----------------------------------------------------------------------------
    def branch(self, u: RefUpdate) -> None:
        for c in git.new_commits(u.new, cwd=self.repo, env=self.env):
            raw = self.read("commit", c)
            if raw is None:
                continue
            header, _, body = raw.decode("utf-8", "surrogateescape").partition("\n\n")
            parents = [ln[7:] for ln in header.split("\n") if ln.startswith("parent ")]
            self.files(c, parents[0] if parents else git.EMPTY_TREE)
            self.version(c, body, parents)

    def files(self, c: str, parent: str) -> None:
        for ch in git.diff_tree(parent, c, cwd=self.repo, env=self.env):
            if ch.status not in ("A", "M", "T") or ch.new == ZERO:
                continue
            short = c[:10]
            if _is_audio(ch.path):
                small = git.object_size(ch.new, cwd=self.repo, env=self.env) <= POINTER_MAX
                data = self.read("blob", ch.new) if small else None
                if data is None or parse_pointer(data) is None:
                    self.refuse(f"commit {short}: {ch.path} is audio committed into git itself, not as a "
                                "git-lfs pointer: install git-lfs (git lfs install) and commit it with stemvault")
            elif ch.path.startswith(f"{CUES_DIR}/") and ch.path.endswith(f"/{MANIFEST_NAME}"):
                try:
                    Manifest.from_data(parse_data(self.read("blob", ch.new) or b""))
                except (VaultError, ValueError, UnicodeDecodeError) as e:
                    self.refuse(f"commit {short}: {ch.path} does not parse ({_one_line(e)}): fix it and commit again")
            elif ch.path == CONFIG_NAME:
                try:
                    Config.parse((self.read("blob", ch.new) or b"").decode("utf-8"), Path(CONFIG_NAME))
                except (VaultError, UnicodeDecodeError) as e:
                    self.refuse(f"commit {short}: {CONFIG_NAME} does not parse ({_one_line(e)}): fix it and commit again")

    def version(self, c: str, body: str, parents: list[str]) -> None:
        v = version_from_message(c, "", "", "", body)
        if v is None or not parents:
            return
        fields = git.log_z("%H%x00%B", "--grep=^Stemvault-Cue: ", parents[0], "--", f"{CUES_DIR}/{v.cue}/",
                           cwd=self.repo, env=self.env) or []
        for i in range(0, len(fields) - 1, 2):
            prev = version_from_message(fields[i].strip("\n"), "", "", "", fields[i + 1])
            if prev is None or prev.cue != v.cue:
                continue
            if v.version <= prev.version:
                how = "repeats" if v.version == prev.version else "is lower than"
                self.refuse(f"commit {c[:10]}: {v.cue} version {v.version} {how} version {prev.version} "
                            f"(commit {prev.commit[:10]}): a new version's number must be higher; commit "
                            "it again with stemvault")
            return


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())


def check_push(repo: Path, updates: list[RefUpdate], env: Mapping[str, str] | None = None) -> list[str]:
    """Why the push of ``updates`` into the bare repository ``repo`` is refused: one line per
    reason, [] when it passes. ``env``: the hook's quarantine variables (quarantine_env())."""
    return _Push(repo, updates, env or {}).check()


def refusals_in(push_output: str) -> list[str]:
    """What a server's pre-receive hook said when it declined a push (git shows its lines as
    ``remote: error: …``): the reasons, or [] when no hook declined it."""
    if "pre-receive hook declined" not in push_output:
        return []
    return [ln.removeprefix("remote: error: ").strip() for ln in push_output.splitlines()
            if ln.startswith("remote: error: ")] or ["its pre-receive hook declined it"]


def hook_script() -> str:
    """The pre-receive hook: runs this very stemvault (this Python, this code) on the push."""
    root = Path(__file__).resolve().parent.parent  # the folder holding vcs/ and tui/
    py = shlex.quote(sys.executable)
    return ("#!/bin/sh\n"
            "# stemvault's guard (written by `stemvault server init`): refuses pushes that would break\n"
            "# the vault's approvals, audio or manifests; see docs/supervisor.md.\n"
            f"PYTHONPATH={shlex.quote(str(root))}${{PYTHONPATH:+:$PYTHONPATH}} exec {py} -m tui.cli hook pre-receive\n")


def install_hook(repo: Path) -> Path:
    """Write ``hooks/pre-receive`` into the bare repository ``repo`` (replacing stemvault's own
    earlier one); its path."""
    path = repo / "hooks" / "pre-receive"
    try:
        mine = "# stemvault's guard" in path.read_text(errors="replace")
    except FileNotFoundError:
        mine = True
    except OSError as e:
        raise cannot_write(e, path.parent) from None
    if not mine:  # someone's own hook: never overwritten
        raise UsageError(f"{path} exists and is not stemvault's: move it aside (and run it from a hook of "
                         "your own after stemvault's, if you need both), then install again")
    try:
        path.parent.mkdir(exist_ok=True)
        path.write_text(hook_script())
        path.chmod(0o755)
    except OSError as e:
        raise cannot_write(e, path.parent) from None
    return path
