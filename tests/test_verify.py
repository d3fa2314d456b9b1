"""verify: LFS objects against manifests, raw audio in git, approvals against content."""

from __future__ import annotations

import os
from pathlib import Path

from tests.helpers import CUE, Runner, git, write_set


def _two_versions(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    write_set(tmp_path / "v2", gains={"STR": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")


def test_clean_vault_verifies(vault: Path, sv: Runner, tmp_path: Path) -> None:
    _two_versions(vault, sv, tmp_path)
    sv.ok("-C", vault, "approve", f"{CUE}@2.0")
    rep = sv.ok("-C", vault, "verify", "--json").json()
    assert rep == {**rep, "ok": True, "problems": []}
    assert rep["files_checked"] == 10 and rep["objects_hashed"] == 7  # 5 + 2 changed
    assert sv.ok("-C", vault, "verify", CUE, "--json").json()["versions"] == ["1M03@2.0", "1M03@1.0"]
    assert sv.ok("-C", vault, "verify", f"{CUE}@1.0", "--json").json()["versions"] == ["1M03@1.0"]


def test_a_flipped_byte_in_an_lfs_object_is_found(vault: Path, sv: Runner, tmp_path: Path) -> None:
    _two_versions(vault, sv, tmp_path)
    sha = sv.ok("-C", vault, "show", f"{CUE}@1.0", "--json").json()["stems"]
    target = next(s for s in sha if s["file"] == "1M03_STR.wav")["sha256"]
    obj = vault / ".git/lfs/objects" / target[:2] / target[2:4] / target
    data = bytearray(obj.read_bytes())
    data[len(data) // 2] ^= 0x01
    os.chmod(obj, 0o644)
    obj.write_bytes(bytes(data))
    r = sv("-C", vault, "verify", "--json")
    assert r.code == 1
    problems = r.json()["problems"]
    assert [(p["file"], p["version"], p["kind"]) for p in problems] == [("1M03_STR.wav", "1M03@1.0", "corrupt")]
    human = sv("-C", vault, "verify")
    assert human.code == 1 and "1M03_STR.wav" in human.out and "1M03@1.0" in human.out
    # the other version, which does not hold that object, is still clean
    assert sv("-C", vault, "verify", f"{CUE}@2.0").code == 0


def test_audio_committed_raw_into_git_is_a_problem(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1")
    # someone commits by hand with LFS switched off: the audio lands in git itself
    name = f"cues/{CUE}/1M03_STR.wav"
    (vault / name).write_bytes((tmp_path / "v1" / "1M03_STR.wav").read_bytes())
    info = vault / ".git" / "info" / "attributes"
    info.parent.mkdir(exist_ok=True)
    info.write_text("*.wav -filter -diff -merge\n")  # overrides .gitattributes
    git(vault, "rm", "-q", "--cached", name)
    git(vault, "add", name)
    git(vault, "commit", "-q", "--amend", "--no-edit")
    info.unlink()
    size = int(git(vault, "cat-file", "-s", f"HEAD:{name}"))
    assert size > 1024  # raw, really
    r = sv("-C", vault, "verify", "--json")
    assert r.code == 1
    kinds = [(p["file"], p["version"], p["kind"]) for p in r.json()["problems"]]
    assert kinds[0] == ("1M03_STR.wav", "1M03@1.0", "raw")
    # (git status also sees the raw blob differ from the file's LFS form: reported as modified)
    assert {k for _, _, k in kinds} <= {"raw", "modified"}


def test_an_approval_moved_to_other_content_is_found(vault: Path, sv: Runner, tmp_path: Path) -> None:
    _two_versions(vault, sv, tmp_path)
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "-m", "ok")
    # re-point the approval (same message) at version 2.0's commit, as a careless `git tag -f` would
    msg = git(vault, "for-each-ref", "--format=%(contents)", "refs/tags/1M03/v1.0/approved")
    git(vault, "tag", "-d", "1M03/v1.0/approved")
    git(vault, "tag", "-a", "--cleanup=verbatim", "-F", "-", "1M03/v1.0/approved", "HEAD", input=msg.encode())
    r = sv("-C", vault, "verify", "--json")
    assert r.code == 1
    (p,) = r.json()["problems"]
    assert p["kind"] == "approval" and p["version"] == "1M03@2.0" and "1M03_STR.wav" in p["file"]


def test_a_stem_changed_in_the_working_folder_is_reported(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1")
    (vault / "cues" / CUE / "1M03_PAD.wav").write_bytes((tmp_path / "v1" / "1M03_STR.wav").read_bytes())
    r = sv("-C", vault, "verify", "--json")
    assert r.code == 1
    assert [(p["file"], p["kind"]) for p in r.json()["problems"]] == [("1M03_PAD.wav", "modified")]
