"""Acceptance review of issue 13 as a user tries it: `approve --sign` with a signing setup that
does not work must not leave an unsigned approval behind (git 2.39 writes the tag unsigned and
exits 0 when ssh-keygen cannot load the key)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import CUE, Runner, git, write_set
from tests.test_trust import sign_with_ssh


def test_approve_sign_with_a_missing_key_leaves_no_unsigned_tag(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    sign_with_ssh(vault, tmp_path / "keys" / "no-such-key")
    r = sv("-C", vault, "approve", f"{CUE}@1.0", "--sign", "-m", "ok")
    assert r.code == 2 and r.err.startswith("error: ") and r.err.count("\n") == 1, r.err
    assert "sign" in r.err
    assert git(vault, "tag", "-l").strip() == ""


def test_hook_install_keeps_a_pre_receive_hook_that_is_not_stemvaults(sv: Runner, tmp_path: Path) -> None:
    bare = tmp_path / "film.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    own = bare / "hooks" / "pre-receive"
    own.write_text("#!/bin/sh\necho the studio's own checks\n")
    r = sv("hook", "install", bare)
    assert r.code == 2 and r.err.startswith("error: ") and r.err.count("\n") == 1 and "pre-receive" in r.err
    assert own.read_text() == "#!/bin/sh\necho the studio's own checks\n"
    own.unlink()
    sv.ok("hook", "install", bare)
    sv.ok("hook", "install", bare)  # stemvault's own earlier hook is replaced
    assert "stemvault" in own.read_text()
