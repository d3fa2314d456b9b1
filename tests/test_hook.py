"""`stemvault hook pre-receive` on real pushes over SSH (issue 13): `server init` installs it into
the bare repository, and each push that would break the vault's rules is refused with one line
the pusher sees; a valid push passes. Also: a note written over an SSH session on a shared account
is credited to the person its `SetEnv STEMVAULT_AUTHOR` names.

The sshd is real (tests/sshd.py), its sessions find git-lfs-transfer (this checkout's), and the
hook runs this checkout's stemvault with the Python running the tests (vcs.hook.hook_script)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import CUE, Runner, git, write_set
from tests.sshd import Sshd, transfer_sshd
from tests.test_trust import (
    CARL,
    SUE,
    TAG,
    as_person,
    set_config,
    sign_with_ssh,
    ssh_key,
    trust_ssh,
)

ROOT = Path(__file__).resolve().parents[1]
ELI = ("Eli Editor", "eli@cutting.example")


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    d = tmp_path_factory.mktemp("hook-sshd")
    with transfer_sshd(d, accept_env="STEMVAULT_AUTHOR") as (s, _log):
        yield s


@pytest.fixture
def pushed(sshd: Sshd, vault: Path, sv: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(vault, bare): a bare repository made by `server init`, the vault's origin over ssh, with
    v1.0 of 1M03 pushed; Sue is the supervisor (her SSH key trusted), Carl a composer whose key is
    trusted as his; approvals must be signed."""
    monkeypatch.setenv("GIT_SSH_COMMAND", sshd.git_ssh_command())
    bare = tmp_path / "srv" / "film.git"
    sv.ok("server", "init", bare)
    assert os.access(bare / "hooks" / "pre-receive", os.X_OK)
    sue_key, sue_pub, _ = ssh_key(tmp_path, "sue")
    carl_key, carl_pub, _ = ssh_key(tmp_path, "carl")
    (tmp_path / "which").write_text(f"{sue_key}\n{carl_key}\n")
    set_config(vault, roles={"supervisors": [SUE[1]], "composers": [CARL[1]], "editors": [ELI[1]]},
               approvals={"require_signature": True})
    trust_ssh(vault, (SUE[1], sue_pub), (CARL[1], carl_pub))
    as_person(vault, CARL)  # the composer commits
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    git(vault, "remote", "add", "origin", f"ssh://{sshd.user}@127.0.0.1:{sshd.port}{bare}")
    git(vault, "config", "lfs.ssh.automultiplex", "false")
    ok, err = push(vault, "main")
    assert ok, err
    return vault, bare


def keys(tmp_path: Path) -> tuple[Path, Path]:
    sue, carl = (tmp_path / "which").read_text().split()
    return Path(sue), Path(carl)


def push(vault: Path, *refspecs: str) -> tuple[bool, str]:
    """`git push origin refspecs`: (accepted, what the pusher saw on stderr)."""
    p = subprocess.run(["git", "push", "origin", *refspecs], cwd=vault, capture_output=True, text=True)
    return p.returncode == 0, p.stderr


def refused(vault: Path, bare: Path, *refspecs: str) -> list[str]:
    """Push, which must be refused leaving the server's refs as they were; the hook's lines."""
    before = git(bare, "for-each-ref")
    ok, err = push(vault, *refspecs)
    assert not ok, err
    assert git(bare, "for-each-ref") == before
    lines = [ln.removeprefix("remote: ").strip() for ln in err.splitlines() if ln.startswith("remote: error: ")]
    assert lines, err
    return lines


def test_a_valid_push_passes(pushed: tuple[Path, Path], sv: Runner, tmp_path: Path) -> None:
    vault, bare = pushed
    write_set(tmp_path / "v2", gains={"STR": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    as_person(vault, SUE)
    sign_with_ssh(vault, keys(tmp_path)[0])
    sv.ok("-C", vault, "approve", f"{CUE}@2.0", "--sign")
    sv.ok("-C", vault, "note", f"{CUE}@2.0", "00:00:01:00", "lovely")
    ok, err = push(vault, "main", f"refs/tags/{CUE}/v2.0/approved", "refs/notes/stemvault")
    assert ok, err
    assert git(bare, "rev-parse", "main") == git(vault, "rev-parse", "HEAD")
    assert git(bare, "rev-parse", f"{CUE}/v2.0/approved") == git(vault, "rev-parse", f"{CUE}/v2.0/approved")
    assert "error:" not in err


def test_an_approval_not_signed_by_a_supervisor_is_refused(pushed: tuple[Path, Path], sv: Runner,
                                                           tmp_path: Path) -> None:
    """Carl, with Sue's name and e-mail in his git config, signs with his own key."""
    vault, bare = pushed
    as_person(vault, SUE)
    sign_with_ssh(vault, keys(tmp_path)[1])
    set_config(vault, approvals={"require_signature": False})  # so that his client makes the tag
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "--sign")
    lines = refused(vault, bare, f"refs/tags/{TAG}")  # the server's main still requires signatures
    assert len(lines) == 1 and TAG in lines[0] and "not a supervisor" in lines[0]


def test_an_unsigned_approval_is_refused_where_signing_is_required(pushed: tuple[Path, Path], sv: Runner) -> None:
    vault, bare = pushed
    as_person(vault, SUE)
    set_config(vault, approvals={"require_signature": False})
    sv.ok("-C", vault, "approve", f"{CUE}@1.0")
    lines = refused(vault, bare, f"refs/tags/{TAG}")
    assert len(lines) == 1 and TAG in lines[0] and "not signed" in lines[0] and "require" in lines[0]
    # stemvault's own push says the same, in one line
    before = git(bare, "for-each-ref")
    r = sv("-C", vault, "push")
    assert r.code != 0 and r.err.count("\n") == 1, r.err
    assert r.err.startswith("error: origin refused the push: the approval ") and "not signed" in r.err
    assert git(bare, "for-each-ref") == before


def test_approval_tags_are_never_moved_or_deleted(pushed: tuple[Path, Path], sv: Runner, tmp_path: Path) -> None:
    vault, bare = pushed
    as_person(vault, SUE)
    sign_with_ssh(vault, keys(tmp_path)[0])
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "--sign")
    ok, err = push(vault, f"refs/tags/{TAG}")
    assert ok, err
    # moved: the same name on another commit (plain git: stemvault would not)
    git(vault, "commit", "-q", "--allow-empty", "-m", "something else")
    git(vault, "tag", "-f", "-a", "-m", "moved", TAG, "HEAD")
    lines = refused(vault, bare, "main", f"+refs/tags/{TAG}")
    assert lines == [f"error: moving the approval tag {TAG} is refused: approvals are never moved "
                     "(approve the new version with its own tag)"]
    lines = refused(vault, bare, f":refs/tags/{TAG}")
    assert lines == [f"error: deleting the approval tag {TAG} is refused: approvals are never deleted"]


def test_an_approval_on_another_commit_than_its_version_is_refused(pushed: tuple[Path, Path], sv: Runner,
                                                                   tmp_path: Path) -> None:
    """A signed approval's message copied onto a commit that is not the version it names."""
    vault, bare = pushed
    as_person(vault, SUE)
    sign_with_ssh(vault, keys(tmp_path)[0])
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "--sign")
    message = git(vault, "for-each-ref", "--format=%(contents:subject)%0a%0a%(contents:body)", f"refs/tags/{TAG}")
    git(vault, "tag", "-d", TAG)
    git(vault, "commit", "-q", "--allow-empty", "-m", "not a version")
    git(vault, "tag", "-s", "--cleanup=verbatim", "-F", "-", TAG, "HEAD", input=message.encode())
    lines = refused(vault, bare, "main", f"refs/tags/{TAG}")
    short = git(vault, "rev-parse", "--short=10", "HEAD").strip()
    assert lines == [f"error: the approval {TAG} is on commit {short}, which is not the version {CUE}@1.0: "
                     f"approve with `stemvault approve {CUE}@1.0`"]


def _commit_blob(vault: Path, path: str, data: bytes, message: str) -> None:
    """Commit ``data`` at ``path`` as git stores it byte for byte (no LFS filter: plain git
    plumbing, what a misconfigured client does)."""
    oid = git(vault, "hash-object", "-w", "--no-filters", "--stdin", input=data).strip()
    git(vault, "update-index", "--add", "--cacheinfo", f"100644,{oid},{path}")
    git(vault, "commit", "-q", "--no-verify", "-m", message)


def test_raw_audio_is_refused(pushed: tuple[Path, Path], tmp_path: Path) -> None:
    vault, bare = pushed
    wav = (tmp_path / "v1" / "1M03_STR.wav").read_bytes()
    _commit_blob(vault, "cues/1M03/1M03_STR.wav", wav, "strings, raw")
    sha = git(vault, "rev-parse", "--short=10", "HEAD").strip()
    lines = refused(vault, bare, "main")
    assert len(lines) == 1
    assert lines[0].startswith(f"error: commit {sha}: cues/1M03/1M03_STR.wav is audio committed into git itself")


def test_a_manifest_that_does_not_parse_is_refused(pushed: tuple[Path, Path]) -> None:
    vault, bare = pushed
    _commit_blob(vault, "cues/1M03/stemset.toml", b"[cue\nname = \n", "hand edit")
    lines = refused(vault, bare, "main")
    assert len(lines) == 1 and "cues/1M03/stemset.toml does not parse" in lines[0]


@pytest.mark.parametrize(("number", "how"), [("1.0", "repeats"), ("0.9", "is lower than")])
def test_a_version_number_that_repeats_or_goes_down_is_refused(pushed: tuple[Path, Path], number: str,
                                                               how: str) -> None:
    vault, bare = pushed
    manifest = (vault / "cues" / CUE / "stemset.toml").read_bytes()
    _commit_blob(vault, "cues/1M03/stemset.toml", manifest + b"\n# again\n",
                 f"again\n\nStemvault-Cue: {CUE}\nStemvault-Version: {number}\n")
    lines = refused(vault, bare, "main")
    assert len(lines) == 1 and f"{CUE} version {number} {how} version 1.0" in lines[0]


def test_a_note_over_ssh_is_credited_to_the_person_setenv_names(pushed: tuple[Path, Path], sshd: Sshd,
                                                                sv: Runner) -> None:
    """One shared account on the machine holding the vault; the editor's ssh sends who they are."""
    vault, _ = pushed
    remote = (f"cd {shlex.quote(str(vault))} && PYTHONPATH={shlex.quote(str(ROOT))} "
              f"{shlex.quote(sys.executable)} -m tui.cli note {CUE}@1.0 00:00:01:00 'the swell is late'")
    cmd = ["ssh", *shlex.split(sshd.ssh_options()), "-o", 'SetEnv=STEMVAULT_AUTHOR="Eli Editor <eli@cutting.example>"',
           f"{sshd.user}@127.0.0.1", remote]
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "STEMVAULT_AUTHOR": ""})
    assert p.returncode == 0, p.stderr
    notes = sv.ok("-C", vault, "show", f"{CUE}@1.0", "--json").json()["notes"]
    assert [(n["text"], n["author"]) for n in notes] == [("the swell is late", "Eli Editor")]
    assert git(vault, "log", "-1", "--format=%an <%ae>", "refs/notes/stemvault").strip() == \
        "Eli Editor <eli@cutting.example>"


def test_hook_install_writes_the_hook_into_an_existing_bare_repository(sv: Runner, tmp_path: Path) -> None:
    bare = tmp_path / "old.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    assert not (bare / "hooks" / "pre-receive").exists()
    sv.ok("hook", "install", bare)
    script = (bare / "hooks" / "pre-receive").read_text()
    assert os.access(bare / "hooks" / "pre-receive", os.X_OK)
    assert shlex.quote(sys.executable) in script and "-m tui.cli hook pre-receive" in script
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q")
    r = sv("hook", "install", work)
    assert r.code == 2 and "not a bare git repository" in r.err and r.err.count("\n") == 1
    assert not (work / "hooks").exists()
