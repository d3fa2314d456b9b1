"""Approvals you can trust (issue 13): signatures verified against the vault's trusted keys and
its supervisors, required signatures, roles, and who wrote a note or an approval.

Everything is real: ssh-keygen keys, a throwaway GnuPG home with generated keys, `git tag -s`;
what is expected comes from which key made each signature and what the vault trusts."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomlkit

from tests.helpers import CUE, Runner, git, git_bytes, write_set

SUE = ("Sue Super", "sue@studio.example")  # the supervisor
CARL = ("Carl Composer", "carl@studio.example")  # a composer with a key of his own
TAG = f"{CUE}/v1.0/approved"


def ssh_key(tmp_path: Path, name: str) -> tuple[Path, str, str]:
    """(private key, public key line, SHA256 fingerprint) of a new ed25519 key."""
    key = tmp_path / "keys" / name
    key.parent.mkdir(exist_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    pub = key.with_suffix(".pub").read_text().strip()
    fp = subprocess.run(["ssh-keygen", "-lf", str(key.with_suffix(".pub"))], check=True, capture_output=True,
                        text=True).stdout.split()[1]
    assert fp.startswith("SHA256:")
    return key, pub, fp


def set_config(vault: Path, **tables: dict[str, object]) -> None:
    """Set keys of stemvault.toml's tables (by hand, as a person would) and commit it."""
    path = vault / "stemvault.toml"
    doc = tomlkit.parse(path.read_text())
    for table, values in tables.items():
        t = doc.setdefault(table, tomlkit.table())
        for k, v in values.items():
            t[k] = v
    path.write_text(tomlkit.dumps(doc))
    git(vault, "commit", "-qm", "settings", "--", "stemvault.toml")


def trust_ssh(vault: Path, *entries: tuple[str, str]) -> None:
    """Commit the vault's allowed signers: (principal, public key line) each."""
    f = vault / ".stemvault" / "allowed_signers"
    f.write_text("".join(f"{who} {pub}\n" for who, pub in entries))
    git(vault, "add", ".stemvault/allowed_signers")
    git(vault, "commit", "-qm", "trusted keys")


def sign_with_ssh(vault: Path, key: Path) -> None:
    git(vault, "config", "gpg.format", "ssh")
    git(vault, "config", "user.signingkey", str(key))


def as_person(vault: Path, who: tuple[str, str]) -> None:
    git(vault, "config", "user.name", who[0])
    git(vault, "config", "user.email", who[1])


@pytest.fixture
def one_version(vault: Path, sv: Runner, tmp_path: Path) -> Path:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    return vault


def shown(vault: Path, sv: Runner) -> dict[str, object]:
    return sv.ok("-C", vault, "show", f"{CUE}@1.0", "--json").json()  # type: ignore[no-any-return]


def verify_names_tag(vault: Path, sv: Runner, kind: str = "") -> dict[str, str]:
    """verify exits 1, and a problem names the approval tag; that problem."""
    r = sv("-C", vault, "verify", "--json")
    assert r.code == 1, r.out
    problems = [p for p in r.json()["problems"] if p["file"] == TAG]
    assert problems, r.out
    human = sv("-C", vault, "verify")
    assert human.code == 1 and TAG in human.out
    if kind:
        assert problems[0]["kind"] == kind
    return problems[0]  # type: ignore[no-any-return]


def git_verifies(vault: Path, signers: Path | None = None) -> bool:
    args = ["git"] + (["-c", f"gpg.ssh.allowedSignersFile={signers}"] if signers else []) + ["tag", "-v", TAG]
    return subprocess.run(args, cwd=vault, capture_output=True).returncode == 0


# ----- SSH keys -------------------------------------------------------------------------------

@pytest.mark.parametrize("required", [False, True], ids=["optional", "required"])
def test_a_supervisors_trusted_ssh_key_verifies(one_version: Path, sv: Runner, tmp_path: Path,
                                                 required: bool) -> None:
    vault = one_version
    key, pub, fp = ssh_key(tmp_path, "sue")
    set_config(vault, roles={"supervisors": [SUE[1]]}, approvals={"require_signature": required})
    trust_ssh(vault, (SUE[1], pub))
    as_person(vault, SUE)
    sign_with_ssh(vault, key)
    out = sv.ok("-C", vault, "approve", f"{CUE}@1.0", "--sign", "-m", "ok for the dub").out
    assert "signed, verified" in out
    a = shown(vault, sv)["approved"]
    assert isinstance(a, dict)
    assert (a["signed"], a["verified"], a["signer"], a["key"], a["by"], a["email"]) == \
        (True, True, SUE[1], fp, SUE[0], SUE[1])
    assert a["why_not_verified"] is None
    assert git_verifies(vault, vault / ".stemvault" / "allowed_signers")  # git agrees
    sv.ok("-C", vault, "verify")
    assert f"signed, verified (key of {SUE[1]}, {fp})" in sv.ok("-C", vault, "log").out
    assert sv.ok("-C", vault, "show", f"{CUE}@approved", "--json").json()["version"] == "1.0"
    # the result is kept (.git/stemvault/verified), and forgotten when the trusted keys change
    assert list((vault / ".git" / "stemvault" / "verified").glob("*.json"))
    trust_ssh(vault, ("someone@else.example", ssh_key(tmp_path, "other")[1]))
    a = shown(vault, sv)["void_approval" if required else "approved"]
    assert isinstance(a, dict) and a["verified"] is False and "not among the vault's trusted keys" in a["why_not_verified"]


def test_a_supervisor_listed_by_key_fingerprint_verifies(one_version: Path, sv: Runner, tmp_path: Path) -> None:
    vault = one_version
    key, pub, fp = ssh_key(tmp_path, "sue")
    set_config(vault, roles={"supervisors": [fp]}, approvals={"require_signature": True})
    trust_ssh(vault, ("sue", pub))  # a principal that is not an e-mail: the fingerprint decides
    sign_with_ssh(vault, key)
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "--sign")
    a = shown(vault, sv)["approved"]
    assert isinstance(a, dict) and a["verified"] is True and a["key"] == fp


def test_a_key_the_vault_does_not_trust_is_signed_not_verified(one_version: Path, sv: Runner,
                                                                 tmp_path: Path) -> None:
    vault = one_version
    _, sue_pub, _ = ssh_key(tmp_path, "sue")
    stranger, _, stranger_fp = ssh_key(tmp_path, "stranger")
    set_config(vault, roles={"supervisors": [SUE[1]]})
    trust_ssh(vault, (SUE[1], sue_pub))
    as_person(vault, SUE)
    sign_with_ssh(vault, stranger)
    out = sv.ok("-C", vault, "approve", f"{CUE}@1.0", "--sign").out  # not required: it counts, flagged
    assert "signed, not verified" in out
    a = shown(vault, sv)["approved"]
    assert isinstance(a, dict) and (a["signed"], a["verified"]) == (True, False)
    assert stranger_fp in a["why_not_verified"] and "not among the vault's trusted keys" in a["why_not_verified"]
    assert not git_verifies(vault, vault / ".stemvault" / "allowed_signers")
    p = verify_names_tag(vault, sv, "signature")
    assert stranger_fp in p["message"]
    assert "signed, not verified" in sv.ok("-C", vault, "log").out

    # the same tag where the vault requires signatures: not an approval at all
    set_config(vault, approvals={"require_signature": True})
    doc = shown(vault, sv)
    assert doc["approved"] is None and isinstance(doc["void_approval"], dict)
    assert "requires verified signatures" in doc["void_approval"]["why_not_verified"]
    assert verify_names_tag(vault, sv, "approval")
    assert "✗ not approved" in sv.ok("-C", vault, "log").out
    r = sv("-C", vault, "show", f"{CUE}@approved")
    assert r.code == 2 and "no version of 1M03 is approved" in r.err


def test_no_trusted_keys_file_means_not_verified(one_version: Path, sv: Runner, tmp_path: Path) -> None:
    vault = one_version
    key, pub, _ = ssh_key(tmp_path, "sue")
    # the user's own git config trusts the key: the vault's trusted keys are what count
    mine = tmp_path / "my_allowed"
    mine.write_text(f"{SUE[1]} {pub}\n")
    git(vault, "config", "gpg.ssh.allowedSignersFile", str(mine))
    sign_with_ssh(vault, key)
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "--sign")
    assert git_verifies(vault)  # git, with the user's file
    a = shown(vault, sv)["approved"]
    assert isinstance(a, dict) and a["verified"] is False
    assert ".stemvault/allowed_signers is missing" in a["why_not_verified"]
    verify_names_tag(vault, sv, "signature")


def test_a_composer_posing_as_the_supervisor_is_not_verified(one_version: Path, sv: Runner, tmp_path: Path) -> None:
    """Carl sets user.name and user.email to Sue's and signs with his own key, which the vault
    trusts as Carl's (he signs his own work with it): the key is not a supervisor's."""
    vault = one_version
    _, sue_pub, _ = ssh_key(tmp_path, "sue")
    carl_key, carl_pub, carl_fp = ssh_key(tmp_path, "carl")
    set_config(vault, roles={"supervisors": [SUE[1]], "composers": [CARL[1]]})
    trust_ssh(vault, (SUE[1], sue_pub), (CARL[1], carl_pub))
    as_person(vault, SUE)  # the forgery
    sign_with_ssh(vault, carl_key)
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "--sign")
    a = shown(vault, sv)["approved"]
    assert isinstance(a, dict)
    assert (a["by"], a["email"]) == SUE  # what the tagger typed…
    assert (a["verified"], a["signer"], a["key"]) == (False, CARL[1], carl_fp)  # …and whose key it is
    assert "who is not a supervisor" in a["why_not_verified"]
    assert git_verifies(vault, vault / ".stemvault" / "allowed_signers")  # a good signature, of Carl's
    verify_names_tag(vault, sv, "signature")
    log = sv.ok("-C", vault, "log").out
    assert "signed, not verified" in log and CARL[1] in log

    set_config(vault, approvals={"require_signature": True})
    assert shown(vault, sv)["approved"] is None
    verify_names_tag(vault, sv, "approval")
    # and he cannot approve anew either: the tag is refused and not left behind
    git(vault, "tag", "-d", TAG)
    r = sv("-C", vault, "approve", f"{CUE}@1.0", "--sign")
    assert r.code == 2 and "not a supervisor" in r.err and r.err.count("\n") == 1
    assert git(vault, "tag", "-l", TAG) == ""


def _rewrite_tag(vault: Path, change: re.Pattern[bytes] | None = None, kind: bytes = b"SSH") -> None:
    """Replace the approval tag by a copy whose signature block (or, with ``change``, whose
    message) was altered after signing."""
    raw = git_bytes(vault, "cat-file", "tag", TAG)
    head, sep, sig = raw.partition(b"-----BEGIN " + kind + b" SIGNATURE-----\n")
    assert sep
    if change is None:  # flip one character in the middle of the signature's base64
        i = len(sig) // 2
        sig = sig[:i] + (b"A" if sig[i:i + 1] != b"A" else b"B") + sig[i + 1:]
    else:
        head = change.sub(b"approved for a different reason", head, count=1)
    oid = git(vault, "hash-object", "-t", "tag", "-w", "--stdin", input=head + sep + sig).strip()
    git(vault, "update-ref", f"refs/tags/{TAG}", oid)


@pytest.mark.parametrize("damage", ["signature block", "message"])
def test_a_broken_signature_is_not_verified(one_version: Path, sv: Runner, tmp_path: Path, damage: str) -> None:
    vault = one_version
    key, pub, _ = ssh_key(tmp_path, "sue")
    set_config(vault, roles={"supervisors": [SUE[1]]})
    trust_ssh(vault, (SUE[1], pub))
    as_person(vault, SUE)
    sign_with_ssh(vault, key)
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "--sign", "-m", "ok")
    sv.ok("-C", vault, "verify")
    _rewrite_tag(vault, None if damage == "signature block" else re.compile(rb"    ok\n"))
    assert not git_verifies(vault, vault / ".stemvault" / "allowed_signers")
    a = shown(vault, sv)["approved"]
    assert isinstance(a, dict) and (a["signed"], a["verified"]) == (True, False)
    assert "does not verify" in a["why_not_verified"]
    verify_names_tag(vault, sv, "signature")


# ----- required signatures, roles ---------------------------------------------------------------

def test_unsigned_approvals_are_not_approvals_where_signatures_are_required(one_version: Path, sv: Runner) -> None:
    vault = one_version
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "-m", "fine")  # before the vault required signatures
    set_config(vault, approvals={"require_signature": True})
    doc = shown(vault, sv)
    assert doc["approved"] is None
    void = doc["void_approval"]
    assert isinstance(void, dict) and void["tag"] == TAG and void["signed"] is False
    assert void["why_not_verified"].startswith("not signed")
    p = verify_names_tag(vault, sv, "approval")
    assert "not approved" in p["message"]
    out = sv.ok("-C", vault, "show", f"{CUE}@1.0").out
    assert "✗ not approved" in out and TAG in out
    # approving anew says what to do, and nothing changes
    r = sv("-C", vault, "approve", f"{CUE}@1.0")
    assert r.code == 2 and f"git tag -d {TAG}" in r.err
    git(vault, "tag", "-d", TAG)
    r = sv("-C", vault, "approve", f"{CUE}@1.0")
    assert r.code == 2 and "--sign" in r.err and r.err.count("\n") == 1
    assert git(vault, "tag", "-l") == ""


def test_the_approval_status_a_delivery_reads(one_version: Path, sv: Runner) -> None:
    from vcs.approvals import approval_status
    from vcs.vault import Vault

    vault = one_version
    v = Vault(vault)
    s = approval_status(v, f"{CUE}@1.0")
    assert (s.approved, s.why) == (False, "not approved")
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "--author", f"{SUE[0]} <{SUE[1]}>")
    s = approval_status(Vault(vault), f"{CUE}@1.0")
    assert (s.approved, s.tag, s.by, s.email, s.signed, s.verified, s.why) == \
        (True, TAG, SUE[0], SUE[1], False, False, "not signed")
    set_config(vault, approvals={"require_signature": True})
    s = approval_status(Vault(vault), f"{CUE}@1.0")
    assert s.approved is False and s.tag == TAG and "requires verified signatures" in s.why


def test_roles_limit_who_approves_commits_and_notes(one_version: Path, sv: Runner, tmp_path: Path) -> None:
    vault = one_version
    set_config(vault, roles={"supervisors": [SUE[1]], "editors": ["eli@cutting.example"]})
    before = git(vault, "for-each-ref")
    r = sv("-C", vault, "approve", f"{CUE}@1.0")  # as the fixture's Ada: no role
    assert r.code == 2 and "not among the supervisors" in r.err and r.err.count("\n") == 1
    r = sv("-C", vault, "note", f"{CUE}@1.0", "00:00:01:00", "hm")
    assert r.code == 2 and "not among the supervisors or composers or editors" in r.err
    assert git(vault, "for-each-ref") == before
    sv.ok("-C", vault, "note", f"{CUE}@1.0", "00:00:01:00", "cut here", "--author", "Eli <eli@cutting.example>")
    # commits: composers only, once some are listed
    set_config(vault, roles={"composers": [CARL[1]]})
    write_set(tmp_path / "v2", gains={"STR": 0.5})
    before = git(vault, "for-each-ref")
    r = sv("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    assert r.code == 2 and "not among the composers" in r.err and r.err.count("\n") == 1
    assert git(vault, "for-each-ref") == before and git(vault, "status", "--porcelain") == ""
    as_person(vault, CARL)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "--author", f"{SUE[0]} <{SUE[1]}>")
    # an unsigned approval tagged by someone else (plain git) is not one where supervisors are listed
    git(vault, "tag", "-d", TAG)
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "--author", f"{SUE[0]} <{SUE[1]}>")
    raw = git_bytes(vault, "cat-file", "tag", TAG).replace(f"tagger {SUE[0]} <{SUE[1]}>".encode(),
                                                           b"tagger Ada Composer <ada@composer.example>")
    git(vault, "update-ref", f"refs/tags/{TAG}", git(vault, "hash-object", "-t", "tag", "-w", "--stdin",
                                                     input=raw).strip())
    doc = shown(vault, sv)
    assert doc["approved"] is None and "not a supervisor" in doc["void_approval"]["why_not_verified"]


# ----- who wrote it ---------------------------------------------------------------------------

def test_author_option_and_environment_on_note_and_approve(one_version: Path, sv: Runner,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    vault = one_version
    sv.ok("-C", vault, "note", f"{CUE}@1.0", "00:00:01:00", "by option", "--author", "Eli Editor <eli@x.example>")
    monkeypatch.setenv("STEMVAULT_AUTHOR", "Mo Mixer <mo@x.example>")
    sv.ok("-C", vault, "note", f"{CUE}@1.0", "00:00:01:01", "by environment")
    sv.ok("-C", vault, "note", f"{CUE}@1.0", "00:00:01:02", "option wins", "--author", "Eli Editor <eli@x.example>")
    sv.ok("-C", vault, "approve", f"{CUE}@1.0")
    notes = {n["text"]: n["author"] for n in shown(vault, sv)["notes"]}  # type: ignore[union-attr]
    assert notes == {"by option": "Eli Editor", "by environment": "Mo Mixer", "option wins": "Eli Editor"}
    raw = git(vault, "notes", "--ref=refs/notes/stemvault", "show", "HEAD~0")
    assert '"email": "mo@x.example"' in raw and '"email": "eli@x.example"' in raw
    assert git(vault, "for-each-ref", "--format=%(taggername) %(taggeremail)", f"refs/tags/{TAG}").strip() == \
        "Mo Mixer <mo@x.example>"
    a = shown(vault, sv)["approved"]
    assert isinstance(a, dict) and (a["by"], a["email"]) == ("Mo Mixer", "mo@x.example")


@pytest.mark.parametrize("bad", ["just a name", "<>", "Sue <not an email>", "Eve\x1b[2J <eve@x.example>"])
def test_a_malformed_author_is_one_error_line(one_version: Path, sv: Runner, bad: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    vault = one_version
    before = git(vault, "for-each-ref")
    for args in (["note", f"{CUE}@1.0", "00:00:01:00", "x", "--author", bad], ["approve", f"{CUE}@1.0", "--author", bad]):
        r = sv("-C", vault, *args)
        assert r.code == 2 and "Name <email>" in r.err and r.err.count("\n") == 1 and "\x1b" not in r.err
    monkeypatch.setenv("STEMVAULT_AUTHOR", bad)
    r = sv("-C", vault, "note", f"{CUE}@1.0", "00:00:01:00", "x")
    assert r.code == 2 and "STEMVAULT_AUTHOR" in r.err
    assert git(vault, "for-each-ref") == before


# ----- GPG ------------------------------------------------------------------------------------

@pytest.fixture
def gnupg(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A throwaway GNUPGHOME (short: gpg-agent's socket lives in it), its agent stopped after."""
    if shutil.which("gpg") is None:
        pytest.skip("gpg is not installed (apt-get install gnupg; `./dev test` as root installs it)")
    home = Path(tempfile.mkdtemp(prefix="svg", dir="/tmp"))
    home.chmod(0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    yield home
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, check=False)
    shutil.rmtree(home, ignore_errors=True)


def gpg_key(who: tuple[str, str]) -> str:
    """A new signing key for ``who`` in $GNUPGHOME; its fingerprint."""
    subprocess.run(["gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key", f"{who[0]} <{who[1]}>",
                    "ed25519", "sign", "never"], check=True, capture_output=True)
    out = subprocess.run(["gpg", "--list-keys", "--with-colons", who[1]], check=True, capture_output=True,
                         text=True).stdout
    return next(ln.split(":")[9] for ln in out.splitlines() if ln.startswith("fpr:"))


def trust_gpg(vault: Path, *fprs: str) -> None:
    armored = subprocess.run(["gpg", "--armor", "--export", *fprs], check=True, capture_output=True).stdout
    (vault / ".stemvault" / "trusted_keys.asc").write_bytes(armored)
    git(vault, "add", ".stemvault/trusted_keys.asc")
    git(vault, "commit", "-qm", "trusted keys")


@pytest.mark.parametrize("listed_by", ["email", "fingerprint"])
def test_gpg_signatures_verify_against_the_vaults_keys(one_version: Path, sv: Runner, gnupg: Path,
                                                       listed_by: str) -> None:
    vault = one_version
    sue = gpg_key(SUE)
    carl = gpg_key(CARL)  # in the signer's keyring, not in the vault's trusted keys
    set_config(vault, roles={"supervisors": [SUE[1] if listed_by == "email" else sue]},
               approvals={"require_signature": True})
    trust_gpg(vault, sue)
    as_person(vault, SUE)
    git(vault, "config", "user.signingkey", sue)
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "--sign")
    a = shown(vault, sv)["approved"]
    assert isinstance(a, dict) and (a["signed"], a["verified"], a["key"]) == (True, True, sue)
    assert SUE[1] in a["signer"]
    sv.ok("-C", vault, "verify")
    good = git(vault, "rev-parse", f"refs/tags/{TAG}").strip()
    for change in (None, re.compile(rb"Approved ")):  # a damaged signature block, a changed message
        _rewrite_tag(vault, change, b"PGP")
        assert not git_verifies(vault)
        a = shown(vault, sv)["void_approval"]
        assert isinstance(a, dict) and (a["signed"], a["verified"]) == (True, False)
        assert "does not verify" in a["why_not_verified"], a["why_not_verified"]
        verify_names_tag(vault, sv, "approval")
        git(vault, "update-ref", f"refs/tags/{TAG}", good)

    # the same, signed with Carl's key (the tagger still says Sue): not verified, not an approval
    git(vault, "tag", "-d", TAG)
    git(vault, "config", "user.signingkey", carl)
    set_config(vault, approvals={"require_signature": False})
    if listed_by == "fingerprint":  # the tagger's e-mail is no supervisor's either: not an approval
        r = sv("-C", vault, "approve", f"{CUE}@1.0", "--sign")
        assert r.code == 2 and carl[-16:] in r.err and git(vault, "tag", "-l") == ""
        return
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "--sign")
    a = shown(vault, sv)["approved"]
    assert isinstance(a, dict) and (a["signed"], a["verified"]) == (True, False)
    assert carl[-16:] in a["why_not_verified"] and "trusted keys" in a["why_not_verified"]
    assert git_verifies(vault)  # the signer's own keyring knows Carl: only the vault's keys count here
    verify_names_tag(vault, sv, "signature")
    set_config(vault, approvals={"require_signature": True})
    assert shown(vault, sv)["approved"] is None
    verify_names_tag(vault, sv, "approval")


def test_gpg_keys_are_read_from_the_vault_not_the_users_keyring(one_version: Path, sv: Runner, gnupg: Path) -> None:
    """No trusted_keys.asc in the vault: a key the user's keyring fully trusts verifies nothing."""
    vault = one_version
    sue = gpg_key(SUE)
    git(vault, "config", "user.signingkey", sue)
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "--sign")
    a = shown(vault, sv)["approved"]
    assert isinstance(a, dict) and a["verified"] is False and "trusted_keys.asc is missing" in a["why_not_verified"]


# ----- the TUI --------------------------------------------------------------------------------

async def _settle(pilot, cond, tries: int = 200) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        await pilot.pause(0.05)
        if cond():
            return
    raise AssertionError("the TUI never got there")


async def test_the_tui_says_signed_not_verified_and_not_approved(one_version: Path, sv: Runner,
                                                                 tmp_path: Path) -> None:
    from textual.widgets import DataTable

    from tui.app import make_app
    from tui.screens.history import DiffPane, HistoryScreen

    vault = one_version
    _, sue_pub, _ = ssh_key(tmp_path, "sue")
    trust_ssh(vault, (SUE[1], sue_pub))
    key, _, fp = ssh_key(tmp_path, "stranger")
    sign_with_ssh(vault, key)
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "--sign")  # a key the vault does not trust
    for required in (False, True):
        if required:
            set_config(vault, approvals={"require_signature": True})
        app = make_app(vault)
        async with app.run_test(size=(120, 30)) as pilot:
            table = app.screen.query_one("#cues", DataTable)
            await _settle(pilot, lambda: table.row_count == 1)  # noqa: B023
            assert str(table.get_row_at(0)[3]) == ("✗" if required else "✓")
            await pilot.press("enter")
            await _settle(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.pane is not None)  # noqa: B023
            text = app.screen.query_one(DiffPane).lines_text()
            if required:
                assert f"✗ not approved: {TAG} by Ada Composer does not count" in text
            else:
                assert "✓ approved by Ada Composer" in text and "signed, not verified" in text
            assert f"signed with SSH key {fp}, which is not among the vault's trusted keys" in text
