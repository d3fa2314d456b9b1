"""verify sees what plain git did, what is lost, what is damaged — and works on a read-only vault.

Issue 9, findings 1 and 10: a commit made with plain git after a cue's latest version (or an
approval tag moved onto such a commit) is reported by `verify`, marked by `log`/`show`, and
explained by the next `commit`; an LFS object no remote holds is lost, not "not downloaded"; a
damaged object of the latest version is a report naming the file, not a git filter error.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import CUE, ROLES, Runner, git, sha256, write_set

CHOIR = f"{CUE}_CHOIR.wav"
ROLES_CHOIR = {**ROLES, "CHOIR": 392.0}


def _vault_with_two_versions(vault: Path, sv: Runner, tmp_path: Path, *, approve: bool) -> dict[str, str]:
    """1M03 v1.0 and v2.0 (v2.0 approved when asked); returns v2.0's export {file: sha256}."""
    write_set(tmp_path / "v1", roles=ROLES_CHOIR)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    v2 = write_set(tmp_path / "v2", roles=ROLES_CHOIR, gains={"STR": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    if approve:
        sv.ok("-C", vault, "approve", f"{CUE}@2.0", "-m", "for the temp dub")
    return v2


def _plain_git_commit(vault: Path, tmp_path: Path, name: str = CHOIR, subject: str = "choir up 4 dB") -> str:
    """Someone replaces a stem with plain git, as the mixer did: returns the short hash."""
    other = write_set(tmp_path / "louder", roles=ROLES_CHOIR, gains={"STR": 0.5, "CHOIR": 1.58})
    shutil.copyfile(tmp_path / "louder" / name, vault / "cues" / CUE / name)
    assert sha256(vault / "cues" / CUE / name) == other[name]
    git(vault, "add", f"cues/{CUE}/{name}")
    subprocess.run(["git", "commit", "-q", "-m", subject], cwd=vault, check=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "Eli Mixer", "GIT_AUTHOR_EMAIL": "eli@mix.example"})
    return git(vault, "rev-parse", "--short", "HEAD").strip()


def _outside(problems: list[dict[str, str]]) -> list[dict[str, str]]:
    return [p for p in problems if p["kind"] == "outside"]


# ----- finding 1: changes made with plain git ---------------------------------------------------

@pytest.mark.parametrize("approve", [True, False], ids=["approved", "unapproved"])
def test_a_plain_git_commit_changing_a_stem_is_found(vault: Path, sv: Runner, tmp_path: Path,
                                                     approve: bool) -> None:
    _vault_with_two_versions(vault, sv, tmp_path, approve=approve)
    short = _plain_git_commit(vault, tmp_path)
    r = sv("-C", vault, "verify", "--json")
    assert r.code == 1
    (p,) = _outside(r.json()["problems"])
    assert p["file"] == CHOIR and p["version"] == f"{CUE}@2.0"
    assert short in p["message"] and "Eli Mixer" in p["message"] and "choir up 4 dB" in p["message"]
    assert f"git revert {short}" in p["message"] and "stemvault commit" in p["message"]
    assert ("approved" in p["message"]) is approve
    human = sv("-C", vault, "verify")
    assert human.code == 1 and short in human.out and "[outside]" in human.out
    # a verify of another version of the cue still checks the cue's tip
    assert sv("-C", vault, "verify", CUE).code == 1


def test_a_plain_git_commit_of_a_manifest_edit_alone_is_not_a_problem(vault: Path, sv: Runner,
                                                                       tmp_path: Path) -> None:
    _vault_with_two_versions(vault, sv, tmp_path, approve=False)
    manifest = vault / "cues" / CUE / "stemset.toml"
    manifest.write_text(manifest.read_text() + "\n# reviewed by the editor\n")
    git(vault, "commit", "-q", "-am", "note in the manifest")
    assert sv("-C", vault, "verify").code == 0


def test_a_reverted_outside_commit_is_no_longer_a_problem(vault: Path, sv: Runner, tmp_path: Path) -> None:
    _vault_with_two_versions(vault, sv, tmp_path, approve=True)
    short = _plain_git_commit(vault, tmp_path)
    git(vault, "revert", "--no-edit", short)
    assert sv("-C", vault, "verify").code == 0


def _move_tag(vault: Path, tag: str, target: str, *, keep_message: bool) -> None:
    msg = git(vault, "for-each-ref", "--format=%(contents)", f"refs/tags/{tag}") if keep_message else "approved\n"
    git(vault, "tag", "-f", "-a", "--cleanup=verbatim", "-F", "-", tag, target, input=msg.encode())


@pytest.mark.parametrize("keep_message", [True, False], ids=["same-message", "plain-message"])
def test_an_approval_tag_moved_to_a_commit_that_is_not_a_version_is_found(
        vault: Path, sv: Runner, tmp_path: Path, keep_message: bool) -> None:
    _vault_with_two_versions(vault, sv, tmp_path, approve=True)
    # a commit that does not touch the cue: only the tag is wrong
    (vault / "README.txt").write_text("delivery notes\n")
    git(vault, "add", "README.txt")
    git(vault, "commit", "-q", "-m", "delivery notes")
    short = git(vault, "rev-parse", "--short", "HEAD").strip()
    _move_tag(vault, f"{CUE}/v2.0/approved", "HEAD", keep_message=keep_message)
    r = sv("-C", vault, "verify", "--json")
    assert r.code == 1
    (p,) = r.json()["problems"]
    assert p["kind"] == "approval" and p["version"] == f"{CUE}@2.0" and p["file"] == f"{CUE}/v2.0/approved"
    assert short in p["message"] and "not a version" in p["message"] and "delivery notes" in p["message"]
    assert f"git tag -d {CUE}/v2.0/approved" in p["message"]


def test_an_approval_tag_moved_onto_the_outside_commit_names_both(vault: Path, sv: Runner,
                                                                  tmp_path: Path) -> None:
    _vault_with_two_versions(vault, sv, tmp_path, approve=True)
    short = _plain_git_commit(vault, tmp_path)
    _move_tag(vault, f"{CUE}/v2.0/approved", "HEAD", keep_message=True)
    r = sv("-C", vault, "verify", "--json")
    assert r.code == 1
    kinds = sorted(p["kind"] for p in r.json()["problems"])
    assert kinds == ["approval", "outside"]
    assert all(short in p["message"] for p in r.json()["problems"])


def test_an_approval_tag_on_another_version_says_which(vault: Path, sv: Runner, tmp_path: Path) -> None:
    _vault_with_two_versions(vault, sv, tmp_path, approve=True)
    _move_tag(vault, f"{CUE}/v2.0/approved", "HEAD~1", keep_message=True)  # v1.0's commit
    r = sv("-C", vault, "verify", "--json")
    assert r.code == 1
    (p,) = r.json()["problems"]
    assert p["kind"] == "approval" and f"{CUE}@1.0" in p["message"] and f"{CUE}@2.0" in p["message"]


def test_log_and_show_mark_the_cue_changed_outside(vault: Path, sv: Runner, tmp_path: Path) -> None:
    _vault_with_two_versions(vault, sv, tmp_path, approve=True)
    assert sv.ok("-C", vault, "show", CUE, "--json").json()["changed_outside"] is None
    short = _plain_git_commit(vault, tmp_path)
    latest, first = sv.ok("-C", vault, "log", CUE, "--json").json()
    out = latest["changed_outside"]
    assert out["after"] == f"{CUE}@2.0" and out["files"] == {CHOIR: "changed"}
    assert [(c["short"], c["author"], c["subject"]) for c in out["commits"]] == [(short, "Eli Mixer", "choir up 4 dB")]
    assert first["changed_outside"] is None  # an older version is not the cue's tip
    assert sv.ok("-C", vault, "show", CUE, "--json").json()["changed_outside"] == out
    for verb in (("log",), ("log", CUE), ("show", CUE)):
        human = sv.ok("-C", vault, *verb).out
        assert "changed outside stemvault" in human and short in human and "choir up 4 dB" in human


def test_commit_of_the_unchanged_export_after_an_outside_change_restores_it(
        vault: Path, sv: Runner, tmp_path: Path) -> None:
    v2 = _vault_with_two_versions(vault, sv, tmp_path, approve=True)
    short = _plain_git_commit(vault, tmp_path)
    r = sv("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "back to the approved choir")
    assert r.code == 0, r.err
    assert "nothing changed" not in r.out + r.err
    assert short in r.out and "outside stemvault" in r.out and CHOIR in r.out
    # the export's content is what the new version holds, in git and in the working folder
    assert sha256(vault / "cues" / CUE / CHOIR) == v2[CHOIR]
    pointer = git(vault, "show", f"HEAD:cues/{CUE}/{CHOIR}")
    assert f"oid sha256:{v2[CHOIR]}" in pointer
    assert sv("-C", vault, "verify").code == 0
    assert sv.ok("-C", vault, "log", CUE, "--json").json()[0]["changed_outside"] is None


def test_commit_of_a_new_export_after_an_outside_change_names_it(vault: Path, sv: Runner,
                                                                 tmp_path: Path) -> None:
    _vault_with_two_versions(vault, sv, tmp_path, approve=False)
    short = _plain_git_commit(vault, tmp_path)
    v3 = write_set(tmp_path / "v3", roles=ROLES_CHOIR, gains={"STR": 0.5, "BRS": 0.7})  # CHOIR as in v2.0
    r = sv("-C", vault, "commit", CUE, tmp_path / "v3", "-m", "brass down", "--json")
    assert r.code == 0, r.err
    doc = r.json()
    assert "changed while it was being committed" not in r.err
    assert sorted(doc["changed"]) == [f"{CUE}_BRS.wav", f"{CUE}_MIX.wav"]
    assert doc["replaced_outside"]["files"] == {CHOIR: "changed"}
    assert [c["short"] for c in doc["replaced_outside"]["commits"]] == [short]
    for name, sha in v3.items():
        assert sha256(vault / "cues" / CUE / name) == sha
    assert sv("-C", vault, "verify").code == 0


@pytest.mark.parametrize("n", [1, 2, 3], ids=["one-commit", "two-commits", "three-commits"])
def test_the_repair_verify_suggests_works_as_printed(vault: Path, sv: Runner, tmp_path: Path, n: int) -> None:
    v2 = _vault_with_two_versions(vault, sv, tmp_path, approve=True)
    for i in range(n):  # plain-git commits to the same stem, one after another
        other = write_set(tmp_path / f"plain{i}", roles=ROLES_CHOIR, gains={"STR": 0.5, "CHOIR": 1.2 + 0.3 * i})
        shutil.copyfile(tmp_path / f"plain{i}" / CHOIR, vault / "cues" / CUE / CHOIR)
        assert sha256(vault / "cues" / CUE / CHOIR) == other[CHOIR]
        git(vault, "add", f"cues/{CUE}/{CHOIR}")
        git(vault, "commit", "-q", "-m", f"choir pass {i}")
    if n == 3:  # one of them also adds a file the version does not hold
        shutil.copyfile(tmp_path / "plain0" / CHOIR, vault / "cues" / CUE / f"{CUE}_ALT.wav")
        git(vault, "add", f"cues/{CUE}/{CUE}_ALT.wav")
        git(vault, "commit", "-q", "-m", "an alternate take")
    (p,) = _outside(sv("-C", vault, "verify", "--json").json()["problems"])
    repair = p["message"].split("Repair: ", 1)[1]
    commands = [c for c in re.findall(r"`([^`]+)`", repair) if c.startswith("git ")]
    assert commands, p["message"]
    assert ("`git revert" in repair) is (n == 1)
    for command in commands:  # exactly as printed
        subprocess.run(shlex.split(command), cwd=vault, check=True, capture_output=True,
                       env={**os.environ, "GIT_EDITOR": "true"})
    r = sv("-C", vault, "verify")
    assert r.code == 0, r.out
    for name, sha in v2.items():
        assert sha256(vault / "cues" / CUE / name) == sha
    assert not (vault / "cues" / CUE / f"{CUE}_ALT.wav").exists()


# ----- finding 10: lost, damaged, read-only -----------------------------------------------------

def _object(vault: Path, sv: Runner, ref: str, name: str) -> Path:
    stems = sv.ok("-C", vault, "show", ref, "--json").json()["stems"]
    oid = next(s["sha256"] for s in stems if s["file"] == name)
    return vault / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid


def test_an_absent_object_with_no_remote_is_lost(vault: Path, sv: Runner, tmp_path: Path) -> None:
    _vault_with_two_versions(vault, sv, tmp_path, approve=False)
    obj = _object(vault, sv, f"{CUE}@1.0", f"{CUE}_STR.wav")  # only v1.0 holds it
    obj.unlink()
    r = sv("-C", vault, "verify", "--json")
    assert r.code == 1
    (p,) = r.json()["problems"]
    assert (p["file"], p["version"], p["kind"]) == (f"{CUE}_STR.wav", f"{CUE}@1.0", "lost")
    assert "backup" in p["message"] and r.json()["not_local"] == []
    human = sv("-C", vault, "verify").out
    assert "1 problem:" in human and "1 problems" not in human


def test_an_absent_object_a_remote_never_received_is_lost(vault: Path, sv: Runner, tmp_path: Path) -> None:
    _vault_with_two_versions(vault, sv, tmp_path, approve=False)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(vault, "remote", "add", "origin", str(remote))  # configured, never pushed to
    _object(vault, sv, f"{CUE}@1.0", f"{CUE}_STR.wav").unlink()
    r = sv("-C", vault, "verify", "--json")
    assert r.code == 1
    (p,) = r.json()["problems"]
    assert (p["file"], p["version"], p["kind"]) == (f"{CUE}_STR.wav", f"{CUE}@1.0", "lost")
    assert r.json()["not_local"] == []


def test_an_absent_object_a_remote_received_is_only_not_downloaded(vault: Path, sv: Runner,
                                                                   tmp_path: Path) -> None:
    _vault_with_two_versions(vault, sv, tmp_path, approve=False)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(vault, "remote", "add", "origin", str(remote))
    git(vault, "push", "-q", "origin", "main")  # git-lfs's pre-push hook copies the objects too
    obj = _object(vault, sv, f"{CUE}@1.0", f"{CUE}_STR.wav")
    assert (remote / "lfs" / "objects" / obj.parent.parent.name / obj.parent.name / obj.name).is_file()
    obj.unlink()
    r = sv("-C", vault, "verify", "--json")
    assert r.code == 0, r.out
    assert [(n["file"], n["version"]) for n in r.json()["not_local"]] == [(f"{CUE}_STR.wav", f"{CUE}@1.0")]
    assert "not downloaded here" in sv("-C", vault, "verify").out


def test_an_absent_object_with_only_an_lfs_url_is_not_local_if_the_server_has_it(
        vault: Path, sv: Runner, tmp_path: Path) -> None:
    _vault_with_two_versions(vault, sv, tmp_path, approve=False)
    git(vault, "config", "lfs.url", "https://lfs.example/film")
    _object(vault, sv, f"{CUE}@1.0", f"{CUE}_STR.wav").unlink()
    r = sv("-C", vault, "verify", "--json")
    assert r.code == 0
    (n,) = r.json()["not_local"]
    assert (n["file"], n["version"], n["held_by"]) == (f"{CUE}_STR.wav", f"{CUE}@1.0", "lfs.url")
    assert "if the LFS server" in sv("-C", vault, "verify").out


def _stat_dirty(folder: Path) -> None:
    """Give every working file a new mtime: git must look at their content again (its clean
    filter runs), as it does whenever a file was touched or the index is racy."""
    later = time.time() + 30
    for p in folder.iterdir():
        os.utime(p, (later, later))


def test_a_damaged_object_of_the_latest_version_is_reported_not_a_git_error(
        vault: Path, sv: Runner, tmp_path: Path) -> None:
    _vault_with_two_versions(vault, sv, tmp_path, approve=False)
    obj = _object(vault, sv, f"{CUE}@2.0", f"{CUE}_STR.wav")
    os.chmod(obj, 0o644)
    with obj.open("r+b") as f:
        f.truncate(obj.stat().st_size // 2)
    _stat_dirty(vault / "cues" / CUE)
    r = sv("-C", vault, "verify", "--json")
    assert r.code == 1, r.err
    assert [(p["file"], p["version"], p["kind"]) for p in r.json()["problems"]] == \
        [(f"{CUE}_STR.wav", f"{CUE}@2.0", "corrupt")]
    human = sv("-C", vault, "verify")
    assert human.code == 1 and f"{CUE}_STR.wav" in human.out and "corrupt" in human.out


def test_a_stem_really_modified_in_the_working_folder_is_still_found_when_filters_fail(
        vault: Path, sv: Runner, tmp_path: Path) -> None:
    _vault_with_two_versions(vault, sv, tmp_path, approve=False)
    obj = _object(vault, sv, f"{CUE}@2.0", f"{CUE}_STR.wav")
    os.chmod(obj, 0o644)
    obj.write_bytes(b"")  # git-lfs refuses to clean the working STR now
    shutil.copyfile(tmp_path / "v1" / f"{CUE}_PAD.wav", vault / "cues" / CUE / f"{CUE}_PERC.wav")
    _stat_dirty(vault / "cues" / CUE)
    r = sv("-C", vault, "verify", "--json")
    assert r.code == 1, r.err
    got = sorted((p["file"], p["kind"]) for p in r.json()["problems"])
    assert got == [(f"{CUE}_PERC.wav", "modified"), (f"{CUE}_STR.wav", "corrupt")]


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(writable path, the same folder mounted read-only): an honest read-only vault even as root."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a read-only bind mount needs root and mount(8)")
    rw, ro = tmp_path / "film", tmp_path / "film-ro"
    ro.mkdir()
    if subprocess.run(["mount", "--bind", str(rw), str(ro)], capture_output=True).returncode != 0:
        ro.rmdir()
        pytest.skip("this machine does not allow bind mounts (no CAP_SYS_ADMIN)")
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], capture_output=True).returncode != 0:
            pytest.skip("this machine does not allow a read-only remount")
        probe = ro / ".probe"
        with pytest.raises(OSError):
            probe.write_text("x")
        yield rw, ro
    finally:
        # lazy: a git cat-file process the in-process CLI left may still hold the folder
        subprocess.run(["umount", "-l", str(ro)], check=False)


def test_verify_reports_on_a_read_only_vault(vault: Path, sv: Runner, tmp_path: Path,
                                             read_only: tuple[Path, Path]) -> None:
    rw, ro = read_only
    assert rw == vault
    _vault_with_two_versions(vault, sv, tmp_path, approve=True)
    shutil.rmtree(vault / ".git" / "stemvault" / "manifests", ignore_errors=True)  # caches to write
    _stat_dirty(vault / "cues" / CUE)
    r = sv("-C", ro, "verify", "--json")
    assert r.code == 0, r.err
    assert r.json()["ok"] and r.json()["objects_hashed"] == 8
    # and with content problems, exit 1 with the report (a lost object)
    _object(vault, sv, f"{CUE}@1.0", f"{CUE}_STR.wav").unlink()
    _plain_git_commit(vault, tmp_path)
    _stat_dirty(vault / "cues" / CUE)
    r = sv("-C", ro, "verify", "--json")
    assert r.code == 1, r.err
    assert sorted(p["kind"] for p in r.json()["problems"]) == ["lost", "outside"]
    assert sv("-C", ro, "log", CUE, "--json").json()[0]["changed_outside"] is not None
    assert sv("-C", ro, "show", CUE, "--json").json()["changed_outside"] is not None


def test_commit_blames_the_working_folder_not_the_export_for_a_stem_changed_there(
        vault: Path, sv: Runner, tmp_path: Path) -> None:
    _vault_with_two_versions(vault, sv, tmp_path, approve=False)
    # the same size, other samples, never committed: the commit leaves "unchanged" files in place
    shutil.copyfile(tmp_path / "v1" / f"{CUE}_PAD.wav", vault / "cues" / CUE / f"{CUE}_PERC.wav")
    write_set(tmp_path / "v3", roles=ROLES_CHOIR, gains={"STR": 0.5, "BRS": 0.7})
    r = sv("-C", vault, "commit", CUE, tmp_path / "v3", "-m", "brass down")
    assert r.code == 2
    assert "export still running" not in r.err
    assert f"cues/{CUE}/{CUE}_PERC.wav" in r.err and "working folder" in r.err
    assert git(vault, "log", "-1", "--format=%s").startswith(f"{CUE} v2.0")


async def test_the_tui_marks_a_cue_changed_outside(vault: Path, sv: Runner, tmp_path: Path) -> None:
    from textual.widgets import DataTable

    from tests.test_tui import _settle
    from tui.app import make_app

    _vault_with_two_versions(vault, sv, tmp_path, approve=True)
    short = _plain_git_commit(vault, tmp_path, subject="[b]choir[/b] up 4 dB")
    app = make_app(vault)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one("#cues", DataTable)
        await _settle(pilot, app, lambda: table.row_count == 1 and "outside" in str(table.get_row_at(0)[6]))
        assert str(table.get_row_at(0)[3]) == "✓ !"  # the latest version, still approved, marked
        assert str(table.get_row_at(0)[6]).startswith("! changed outside")
        (note,) = list(app._notifications)
        assert short in note.message and "[b]choir[/b] up 4 dB" in note.message


def test_verify_on_a_read_only_vault_with_an_interrupted_commit_says_so(
        vault: Path, sv: Runner, tmp_path: Path, read_only: tuple[Path, Path]) -> None:
    from vcs import txn
    from vcs.vault import Vault

    _, ro = read_only
    _vault_with_two_versions(vault, sv, tmp_path, approve=False)
    v = Vault(vault)
    # the journal a commit killed after its first copy leaves behind
    txn.begin(v, old_head=git(vault, "rev-parse", "HEAD").strip(), paths=[f"cues/{CUE}"],
              manifest_path=f"cues/{CUE}/stemset.toml", manifest_text=None)
    v.close()
    r = sv("-C", ro, "verify", "--json")
    assert r.code == 1, r.err
    assert [p["kind"] for p in r.json()["problems"]] == ["interrupted"]
    sv.ok("-C", vault, "verify")  # where it can write, the repair is made and all is well
