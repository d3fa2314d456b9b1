"""Acceptance review of issues 13 and 15 as a user tries them: what a delivery's documents say
about approvals that are signed but not verified or that do not count, `verify PATH` on a folder
holding symbolic links, and a DEST that is no folder name."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from tests.helpers import CUE, Runner, write_set
from tests.test_trust import CARL, SUE, as_person, set_config, sign_with_ssh, ssh_key, trust_ssh

DAY = time.strftime("%Y-%m-%d")


def _package(dest: Path, version: str = "1.0") -> Path:
    return dest / f"{CUE}_v{version}_{DAY}"


def _exported(vault: Path, sv: Runner, tmp_path: Path) -> Path:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first pass")
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "-m", "good to go")
    sv.ok("-C", vault, "export", f"{CUE}@1.0", tmp_path / "out")
    return _package(tmp_path / "out")


def test_changelog_says_signed_not_verified_for_an_untrusted_key(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    key, _pub, _fp = ssh_key(tmp_path, "carl")  # Carl's own key, in no allowed signers
    set_config(vault, roles={"supervisors": [SUE[1]]})
    _, sue_pub, _ = ssh_key(tmp_path, "sue")
    trust_ssh(vault, (SUE[1], sue_pub))
    as_person(vault, SUE)  # Carl poses as Sue: the name counts (no signatures required), the key does not
    sign_with_ssh(vault, key)
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "--sign", "-m", "ok")
    sv.ok("-C", vault, "export", f"{CUE}@1.0", tmp_path / "out")
    log = (_package(tmp_path / "out") / "CHANGELOG.md").read_text()
    line = next(x for x in log.splitlines() if x.startswith("- Approved by"))
    assert "signed, not verified" in line and "(signed)" not in line
    assert CARL[0] not in line


def test_a_void_approval_is_named_in_the_changelog_and_readme(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "-m", "fine")  # unsigned
    set_config(vault, approvals={"require_signature": True})
    sv.ok("-C", vault, "export", f"{CUE}@1.0", tmp_path / "out", "--allow-unapproved")
    pkg = _package(tmp_path / "out")
    log = (pkg / "CHANGELOG.md").read_text()
    assert "- Approved by" not in log
    line = next(x for x in log.replace("\\", "").splitlines() if x.startswith("- Approval "))
    assert line.startswith(f"- Approval {CUE}/v1.0/approved by ") and "does not count: not signed" in line
    readme = (pkg / "README.txt").read_text()
    assert "had no approval" not in readme
    assert f"NOT APPROVED: its approval {CUE}/v1.0/approved does not count (not signed" in readme


def test_verify_does_not_follow_a_symlink_out_of_the_package(vault: Path, sv: Runner, tmp_path: Path) -> None:
    pkg = _exported(vault, sv, tmp_path)
    outside = tmp_path / "secret.txt"
    outside.write_bytes(b"not the sender's\n")
    (pkg / "link.wav").symlink_to(outside)
    digest = hashlib.sha256(outside.read_bytes()).hexdigest()
    md5 = hashlib.md5(outside.read_bytes()).hexdigest()
    with open(pkg / "SHA256SUMS", "a") as f:
        f.write(f"{digest}  link.wav\n")
    with open(pkg / "MD5SUMS", "a") as f:
        f.write(f"{md5}  link.wav\n")
    r = sv("verify", pkg, "--json")
    assert r.code == 1
    probs = r.json()["problems"]
    assert [p["file"] for p in probs] == ["link.wav"]
    assert "symbolic link" in probs[0]["message"]


def test_verify_names_a_dangling_symlink_without_a_traceback(vault: Path, sv: Runner, tmp_path: Path) -> None:
    pkg = _exported(vault, sv, tmp_path)
    (pkg / "gone.wav").symlink_to(tmp_path / "nowhere.wav")
    with open(pkg / "SHA256SUMS", "a") as f:
        f.write(f"{'0' * 64}  gone.wav\n")
    r = sv("verify", pkg)
    assert r.code == 1, r.err
    assert "gone.wav" in r.out and "Traceback" not in r.err and "unexpected" not in r.err


def test_an_empty_dest_is_bad_usage_and_writes_nothing(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first pass")
    before = sorted(p.name for p in vault.iterdir())
    r = sv("-C", vault, "export", f"{CUE}@1.0", "")
    assert r.code == 2 and r.err.startswith("error: ") and r.err.count("\n") == 1
    r = sv("-C", vault, "export", "--all-approved", "")
    assert r.code == 2 and r.err.startswith("error: ") and r.err.count("\n") == 1
    assert sorted(p.name for p in vault.iterdir()) == before


def test_cue_at_approved_names_the_approval_that_does_not_count(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "-m", "fine")  # unsigned
    set_config(vault, approvals={"require_signature": True})
    r = sv("-C", vault, "export", f"{CUE}@approved", tmp_path / "out")
    assert r.code == 2 and r.err.count("\n") == 1 and not (tmp_path / "out").exists()
    assert "approved yet" not in r.err  # there is an approval: it does not count, and the line says why
    assert f"{CUE}/v1.0/approved does not count" in r.err and "not signed" in r.err and "--sign" in r.err


def test_all_approved_where_no_approval_counts_says_why(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "-m", "fine")  # unsigned
    set_config(vault, approvals={"require_signature": True})
    r = sv("-C", vault, "export", "--all-approved", tmp_path / "reel1")
    assert r.code == 2 and r.err.count("\n") == 1 and not (tmp_path / "reel1").exists()
    assert f"{CUE}/v1.0/approved does not count" in r.err and "not signed" in r.err


def test_verify_of_a_delivery_path_that_does_not_exist_says_so(sv: Runner, tmp_path: Path, vault: Path) -> None:
    for where in (tmp_path, vault):  # outside a vault and inside one
        for path in (f"{tmp_path}/gone/", "gone.zip", "./gone"):
            r = sv("-C", where, "verify", path)
            assert r.code == 2 and r.err.count("\n") == 1, (where, path, r.err)
            assert "does not exist" in r.err and "cue name" not in r.err and "vault" not in r.err, r.err


def test_cue_at_approved_warns_of_a_newer_approval_that_does_not_count(vault: Path, sv: Runner,
                                                                       tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    write_set(tmp_path / "v2", gains={"STR": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "--author", f"{SUE[0]} <{SUE[1]}>")
    sv.ok("-C", vault, "approve", f"{CUE}@2.0", "--author", f"{CARL[0]} <{CARL[1]}>")  # before roles were set
    set_config(vault, roles={"supervisors": [SUE[1]]})
    r = sv.ok("-C", vault, "export", f"{CUE}@approved", tmp_path / "out")
    assert f"{CUE}@1.0 delivered" in r.out  # the latest approval that counts
    warn = [x for x in r.err.splitlines() if x.startswith("warning: ")]
    assert len(warn) == 1 and f"{CUE}/v2.0/approved does not count" in warn[0] and CARL[1] in warn[0]


def test_a_name_pattern_is_placeholders_only(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    cfg = vault / "stemvault.toml"
    base = cfg.read_text()
    # attribute and index access, conversions and format specs are Python, not a name pattern (a
    # width of 10**9 would build a gigabyte-long name)
    for pat in ("{stem.__class__}", "{stem[0]}", "{stem!r}", "{stem:>999999999}"):
        cfg.write_text(base + f'\n[delivery]\nfilm = "{pat}"\n')
        r = sv("-C", vault, "export", f"{CUE}@1.0", tmp_path / "out", "--allow-unapproved")
        assert r.code == 2 and "is not a name pattern" in r.err and r.err.count("\n") == 1, (pat, r.err)
        assert not (tmp_path / "out").exists()


def test_a_dest_inside_the_vaults_cue_folders_or_git_is_refused(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    for dest in (vault / "cues" / CUE, vault / "cues" / "new", vault / ".git" / "x"):
        r = sv("-C", vault, "export", f"{CUE}@1.0", dest, "--allow-unapproved")
        assert r.code == 2 and r.err.count("\n") == 1 and "inside the vault" in r.err, (dest, r.err)
        assert not dest.exists() or not any(p.name.startswith(f"{CUE}_v1.0") for p in dest.iterdir())
    sv.ok("-C", vault, "verify")  # the working folder holds no package


def test_an_empty_title_is_bad_usage(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    for title in ("", "   "):  # the names would be "(Strings Stem).wav": no title at all
        r = sv("-C", vault, "export", f"{CUE}@1.0", tmp_path / "out", "--naming", "sync", "--title", title,
               "--allow-unapproved")
        assert r.code == 2 and r.err.startswith("error: ") and "--title" in r.err and r.err.count("\n") == 1
        assert not (tmp_path / "out").exists()
