"""Who wrote it, who approved it: people, roles, and approvals checked against trusted keys.

Public surface:
    person(author, identity) -> (name, email)   --author, else STEMVAULT_AUTHOR, else git's identity
    parse_person(text) -> (name, email)
    Trust (dataclass): the vault's rules (roles, [approvals]) and its trusted keys;
        Trust.of_folder(root, config), Trust(config, signers, gpg_keys)
    Verifier(trust, cwd, env=None): git verifies tag signatures against those keys only
    judge(approval, oid, raw, verifier) -> Approval   fills verified/signer/key/why/counts
    signature_words(approval), void_reason(approval, config): the words people read
    require_role(config, role, email, what)         a role's list, when the vault has one

What a delivery asks — who approved a version, when, signed, verified, why not — is
vcs.approvals.approval_status (it needs the Vault, which uses this module).

An approval is **verified** only when git verifies its signature against the keys the vault
trusts (the committed allowed-signers file for SSH keys, the committed OpenPGP key file for GPG)
and the key belongs to a supervisor of ``[roles]`` (by e-mail or key fingerprint). Everything
else is "signed, not verified" or unsigned, and the name on it is only what its tagger typed.
With ``[approvals] require_signature = true``, only verified approvals count.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import tempfile
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from vcs import git
from vcs.config import Config
from vcs.errors import UsageError
from vcs.models import Approval

__all__ = ["Signature", "Trust", "Verifier", "judge", "parse_person", "person", "require_role", "signature_words",
           "void_reason"]

AUTHOR_ENV = "STEMVAULT_AUTHOR"
_PERSON = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<(?P<email>[^<>\s]+)>\s*$")


def parse_person(text: str) -> tuple[str, str]:
    """``"Sue Park <sue@example.com>"`` → (name, email); a bare e-mail is both.

    Raises:
        UsageError: anything else (a name alone cannot be matched against roles or keys).
    """
    if not all(c.isprintable() for c in text):  # a name is a line of text, never a terminal command
        raise UsageError(f"the author {text!r} has control characters: write 'Name <email>'")
    m = _PERSON.match(text)
    if m and m["name"]:
        return m["name"], m["email"]
    bare = text.strip()
    if re.fullmatch(r"[^<>\s@]+@[^<>\s@]+", bare):
        return bare, bare
    raise UsageError(f"the author must be 'Name <email>' (like git's), not {text!r}: "
                     "e.g. --author 'Sue Park <sue@example.com>'")


def person(author: str | None, identity: Callable[[], tuple[str, str]]) -> tuple[str, str]:
    """Who is writing a note or an approval: ``author`` (``--author``), else ``$STEMVAULT_AUTHOR``
    (set per person on a shared account: ``ssh -o SetEnv=STEMVAULT_AUTHOR=...``), else
    ``identity()`` (git's: ``Vault.identity``).

    Raises:
        UsageError: a malformed author, or no identity at all.
    """
    if author is not None:
        return parse_person(author)
    env = os.environ.get(AUTHOR_ENV, "")
    if env.strip():
        try:
            return parse_person(env)
        except UsageError as e:
            raise UsageError(f"{AUTHOR_ENV}: {e}") from None
    return identity()


def _norm(entry: str) -> str:
    """A role entry or an identity as compared: e-mails in lower case, OpenPGP fingerprints in
    upper-case hex without spaces, SSH fingerprints (``SHA256:…``, case-sensitive) as they are."""
    e = entry.strip()
    if e.startswith("SHA256:"):
        return e
    hexed = e.replace(" ", "")
    if re.fullmatch(r"(0x)?[0-9A-Fa-f]{16,40}", hexed):
        return hexed.upper().removeprefix("0X")
    return e.lower()


def _listed(who: list[str], *ids: str) -> bool:
    entries = {_norm(e) for e in who}
    return any(i and _norm(i) in entries for i in ids)


def require_role(config: Config, role: str, email: str, what: str) -> None:
    """Refuse ``what`` unless ``email`` is in the vault's ``[roles] <role>`` list(s); a role
    with an empty or no list restricts nothing. ``role``: "supervisors", "composers", "editors",
    or "any" (any of them). A claim checked against a claim: the guard against mistakes; what
    cannot be forged is a signature (judge)."""
    names = ["supervisors", "composers", "editors"] if role == "any" else [role]
    lists = [getattr(config, n) for n in names]
    if not any(lists) or any(_listed(w, email) for w in lists):
        return
    roles = " or ".join(names)
    how = "" if role == "composers" else " (--author 'Name <email>')"
    raise UsageError(f"{email} is not among the {roles} in stemvault.toml [roles]: {what} as one of "
                     f"them{how}, or ask a supervisor to add you")


@dataclass(frozen=True)
class Trust:
    """What the vault trusts: its roles, its [approvals] settings, its trusted keys (the bytes
    of the files, or None when missing) and the paths they were read from (for messages)."""

    config: Config
    signers: bytes | None
    gpg_keys: bytes | None

    @classmethod
    def of_config(cls, config: Config, signers: bytes | None, gpg_keys: bytes | None) -> Trust:
        return cls(config, signers, gpg_keys)

    @classmethod
    def of_folder(cls, root: Path, config: Config) -> Trust:
        """A vault's working folder: its stemvault.toml (``config``) and key files, as every
        command reads them."""
        def read(rel: str) -> bytes | None:
            try:
                return (root / rel).read_bytes()
            except OSError:
                return None
        return cls(config, read(config.allowed_signers), read(config.gpg_keys))

    @property
    def stamp(self) -> str:
        """Changes whenever what is trusted changes (a cache key)."""
        h = hashlib.sha256()
        for part in (self.signers, self.gpg_keys, "\0".join(self.config.supervisors).encode(),
                     str(self.config.require_signature).encode()):
            h.update(b"-" if part is None else b"+" + hashlib.sha256(part).digest())
        return h.hexdigest()


@dataclass(frozen=True)
class Signature:
    """What git said about one tag's signature, read with the vault's trusted keys only."""

    ok: bool  # git verified it with a trusted key
    kind: str  # "ssh", "gpg" or "" (not signed)
    principal: str = ""  # the allowed-signers principal, or the OpenPGP user id
    email: str = ""
    keys: tuple[str, ...] = ()  # fingerprints (OpenPGP: signing key and primary key)
    why: str = ""  # why not ok


_SSH_GOOD = re.compile(r'^Good "git" signature for (?P<who>.+?) with \S+ key (?P<fp>SHA256:\S+)', re.M)
_SSH_UNTRUSTED = re.compile(r'^Good "git" signature with \S+ key (?P<fp>SHA256:\S+)', re.M)


def _kind(raw: bytes) -> str:
    if b"\n-----BEGIN SSH SIGNATURE-----" in raw:
        return "ssh"
    if b"\n-----BEGIN PGP SIGNATURE-----" in raw or b"\n-----BEGIN SIGNED MESSAGE-----" in raw:
        return "gpg"
    return ""


class Verifier:
    """Runs ``git verify-tag`` for tags of one repository against ``trust``'s keys only: the
    allowed-signers bytes in a private file, the OpenPGP keys imported into a throwaway keyring
    (each key given ultimate owner trust: being in the vault's key file is what trusts it).
    Results are cached by tag object id, and with ``cache_dir`` on disk too, by tag object and
    trusted keys (a `log` of a vault with many signed approvals runs git once per approval, not
    once per approval per command); the private files go when the verifier is collected."""

    def __init__(self, trust: Trust, cwd: Path, env: Mapping[str, str] | None = None,
                 cache_dir: Path | None = None) -> None:
        self.trust, self.cwd, self.env, self.cache_dir = trust, cwd, dict(env or {}), cache_dir
        self._dir: Path | None = None
        self._gpg_ready = False
        self._cache: dict[str, Signature] = {}
        self._ran_git = False

    def _workdir(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="sv-trust-"))
            (self._dir / "gnupg").mkdir(mode=0o700)
            (self._dir / "allowed_signers").write_bytes(self.trust.signers or b"")
            weakref.finalize(self, _cleanup, self._dir)
        return self._dir

    def _gpg_home(self) -> Path:
        home = self._workdir() / "gnupg"
        if not self._gpg_ready and self.trust.gpg_keys and shutil.which("gpg"):
            git.gpg_trust_keys(home, self.trust.gpg_keys)
        self._gpg_ready = True
        return home

    def check(self, oid: str, raw: bytes) -> Signature:
        """The signature of tag object ``oid`` (whose bytes are ``raw``)."""
        if oid in self._cache:
            return self._cache[oid]
        stored = self._disk(oid)
        sig = stored if stored is not None else self._check(oid, raw)
        self._cache[oid] = sig
        if stored is None and self._ran_git and (sig.ok or not sig.why.startswith("git does not verify")):
            self._disk(oid, sig)  # not a failure this machine may not explain (a missing ssh-keygen)
        return sig

    def _disk(self, oid: str, sig: Signature | None = None) -> Signature | None:
        """Read (``sig`` None) or write the stored result for ``oid``; never an error."""
        if self.cache_dir is None or not oid.isalnum():
            return None
        cfg = self.trust.config
        key = hashlib.sha256(f"{oid}\0{self.trust.stamp}\0{cfg.allowed_signers}\0{cfg.gpg_keys}".encode()).hexdigest()
        path = self.cache_dir / f"{key}.json"
        if sig is None:
            try:
                d = json.loads(path.read_text())
                return Signature(bool(d["ok"]), str(d["kind"]), str(d["principal"]), str(d["email"]),
                                 tuple(str(k) for k in d["keys"]), str(d["why"]))
            except (OSError, ValueError, KeyError, TypeError):
                return None
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(dataclasses.asdict(sig)))
            os.replace(tmp, path)
        return None

    def _check(self, oid: str, raw: bytes) -> Signature:
        self._ran_git = False
        kind = _kind(raw)
        if not kind:
            return Signature(False, "", why="not signed")
        cfg = self.trust.config
        if kind == "ssh" and not self.trust.signers:
            return Signature(False, kind, why=f"signed with an SSH key, but the vault trusts none "
                                              f"({cfg.allowed_signers} is missing or empty)")
        if kind == "gpg" and not self.trust.gpg_keys:
            return Signature(False, kind, why=f"signed with an OpenPGP key, but the vault trusts none "
                                              f"({cfg.gpg_keys} is missing or empty)")
        if kind == "gpg" and shutil.which("gpg") is None:
            return Signature(False, kind, why="signed with an OpenPGP key, and gpg is not installed here "
                                              "to check it (apt-get install gnupg)")
        home = self._gpg_home() if kind == "gpg" else self._workdir() / "gnupg"
        ok, out = git.verify_tag(oid, cwd=self.cwd, allowed_signers=self._workdir() / "allowed_signers",
                                 gnupghome=home, env=self.env)
        self._ran_git = True
        return _ssh_result(ok, out, cfg) if kind == "ssh" else _gpg_result(ok, out, cfg)


def _cleanup(d: Path) -> None:
    if (d / "gnupg" / "S.gpg-agent").exists():
        git.gpg_stop(d / "gnupg")
    shutil.rmtree(d, ignore_errors=True)


def _last_line(out: str) -> str:
    lines = [ln.strip() for ln in out.splitlines() if ln.strip() and not ln.startswith("[GNUPG:]")]
    return lines[-1] if lines else "no message"


_BROKEN = ("the signature does not verify: the tag was changed after it was signed, or its "
           "signature block is damaged")


def _ssh_result(ok: bool, out: str, cfg: Config) -> Signature:
    good = _SSH_GOOD.search(out)
    if ok and good:
        who = good["who"].strip()
        return Signature(True, "ssh", who, who if "@" in who else "", (good["fp"],))
    untrusted = _SSH_UNTRUSTED.search(out)
    if untrusted:
        return Signature(False, "ssh", keys=(untrusted["fp"],),
                         why=f"signed with SSH key {untrusted['fp']}, which is not among the vault's "
                             f"trusted keys ({cfg.allowed_signers})")
    if "Signature verification failed" in out or "incorrect signature" in out or "Couldn't" in out \
            or "Could not verify" in out or "invalid format" in out:
        return Signature(False, "ssh", why=_BROKEN)
    return Signature(False, "ssh", why=f"git does not verify the signature ({_last_line(out)})")


def _gpg_result(ok: bool, out: str, cfg: Config) -> Signature:
    status: dict[str, list[str]] = {}
    for ln in out.splitlines():
        if ln.startswith("[GNUPG:] "):
            word, _, rest = ln[9:].partition(" ")
            status.setdefault(word, []).append(rest)
    if ok and "GOODSIG" in status and "VALIDSIG" in status:
        uid = status["GOODSIG"][0].partition(" ")[2]
        m = re.search(r"<([^<>\s]+)>\s*$", uid)
        fields = status["VALIDSIG"][0].split()
        keys = tuple(dict.fromkeys([fields[0], fields[-1]])) if fields else ()
        return Signature(True, "gpg", uid, m[1] if m else "", keys)
    if "NO_PUBKEY" in status:
        keyid = status["NO_PUBKEY"][0].split()[0] if status["NO_PUBKEY"][0] else "?"
        return Signature(False, "gpg", keys=(keyid,),
                         why=f"signed with OpenPGP key {keyid}, which is not among the vault's trusted "
                             f"keys ({cfg.gpg_keys})")
    if "BADSIG" in status or "ERRSIG" in status or "NODATA" in status or "no signature found" in out:
        return Signature(False, "gpg", why=_BROKEN)
    if any(k in status for k in ("EXPKEYSIG", "REVKEYSIG", "EXPSIG")):
        return Signature(False, "gpg", why="signed with an OpenPGP key that has expired or been revoked")
    return Signature(False, "gpg", why=f"git does not verify the signature ({_last_line(out)})")


def judge(a: Approval, oid: str, raw: bytes, verifier: Verifier) -> Approval:
    """Fill ``a``'s verified/signer/key/why/counts from its tag object (``oid``, ``raw``).

    Verified: git verified the signature with a trusted key, and that key is a supervisor's
    (its principal or user id e-mail, or its fingerprint, is in ``[roles] supervisors``; no
    supervisors listed: any trusted key). Counts: verified, when the vault requires signatures;
    otherwise when no supervisors are listed or the tagger's e-mail is among them.
    """
    cfg = verifier.trust.config
    sig = verifier.check(oid, raw)
    a.signed = bool(sig.kind)
    a.key = sig.keys[-1] if sig.keys else ""
    a.signer = sig.principal
    if sig.ok:
        if not cfg.supervisors or _listed(cfg.supervisors, sig.email, sig.principal, *sig.keys):
            a.verified, a.why = True, ""
        else:
            a.verified = False
            a.why = (f"signed with the key of {sig.principal or sig.email} ({a.key}), who is not a supervisor "
                     "in stemvault.toml [roles]")
    else:
        a.verified, a.why = False, sig.why
    if cfg.require_signature:
        a.counts = a.verified
        if not a.counts:
            a.why += "; this vault requires verified signatures on approvals ([approvals] require_signature)"
    else:
        a.counts = a.verified or not cfg.supervisors or _listed(cfg.supervisors, a.email)
        if not a.counts and not a.signed:
            a.why = f"not signed, and the tagger {a.email} is not a supervisor in stemvault.toml [roles]"
    return a


def signature_words(a: Approval) -> str:
    """How an approval is signed, for people: "signed, verified (key of …)", "signed, not
    verified: …" or "not signed"."""
    if a.verified:
        return f"signed, verified (key of {a.signer or a.email}, {a.key})"
    if a.signed:
        return f"signed, not verified: {a.why}"
    return "not signed"


def void_reason(a: Approval, cfg: Config) -> str:
    """Why an approval that does not count is not an approval, in one phrase."""
    return a.why
