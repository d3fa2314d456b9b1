"""The vault on real git + git-lfs: init, commit, versions, notes, approvals, history without audio."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import soundfile as sf

from tests.helpers import CUE, Runner, git, git_bytes, lfs_objects, sha256, tone, write_set
from vcs.lfs import parse_pointer
from vcs.manifest import Manifest


def test_init_creates_git_lfs_vault(vault: Path) -> None:
    assert (vault / ".git").is_dir()
    assert "filter.lfs.clean" in git(vault, "config", "--local", "--list")
    attrs = (vault / ".gitattributes").read_text()
    assert "*.[wW][aA][vV] filter=lfs" in attrs
    assert "frame_rate" in (vault / "stemvault.toml").read_text()
    assert git(vault, "status", "--porcelain") == ""


def test_init_refuses_an_existing_vault_and_a_full_folder(vault: Path, sv: Runner, tmp_path: Path) -> None:
    r = sv("init", str(vault))
    assert r.code == 2 and "already a stemvault vault" in r.err
    full = tmp_path / "full"
    full.mkdir()
    (full / "x.txt").write_text("keep me")
    r = sv("init", str(full))
    assert r.code == 2 and r.err.count("\n") == 1
    assert (full / "x.txt").read_text() == "keep me" and not (full / ".git").exists()
    r = sv("init", str(tmp_path / "x"), "--frame-rate", "23")
    assert r.code == 2 and "unknown frame rate" in r.err and not (tmp_path / "x").exists()


def test_commit_stores_audio_as_lfs_pointers(vault: Path, sv: Runner, tmp_path: Path) -> None:
    src = tmp_path / "v1"
    hashes = write_set(src)
    doc = sv.ok("-C", vault, "commit", CUE, src, "-m", "first pass", "--json").json()
    assert doc["version"] == "1.0" and doc["mix"] == "1M03_MIX.wav"
    assert {s["file"]: s["sha256"] for s in doc["stems"]} == hashes
    for name, h in hashes.items():
        blob = git_bytes(vault, "cat-file", "-p", f"HEAD:cues/{CUE}/{name}")
        ptr = parse_pointer(blob)
        assert ptr is not None and ptr.oid == h, f"{name} is not an LFS pointer in git"
        assert (vault / ".git/lfs/objects" / h[:2] / h[2:4] / h).is_file()
        assert sha256(vault / "cues" / CUE / name) == h
    assert lfs_objects(vault) == set(hashes.values())
    m = Manifest.from_toml((vault / "cues" / CUE / "stemset.toml").read_text())
    s = m.stem("1M03_STR.wav")
    assert s is not None and s.role == "strings" and s.kind == "stem"
    assert s.measured["sample_rate"] == 48000 and s.measured["bit_depth"] == 24
    assert s.measured["channels"] == 2 and s.measured["frames"] == 96000
    assert m.stem("1M03_MIX.wav").kind == "mix"  # type: ignore[union-attr]
    msg = git(vault, "log", "-1", "--format=%B")
    assert "Stemvault-Cue: 1M03" in msg and "Stemvault-Version: 1.0" in msg
    assert git(vault, "status", "--porcelain") == ""


def test_versions_minor_major_and_unchanged_stems_cost_no_new_object(
        vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    before = lfs_objects(vault)
    write_set(tmp_path / "v2", gains={"BRS": 0.5})
    doc = sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "softer brass", "--minor", "--json").json()
    assert doc["version"] == "1.1" and doc["change"] == "tweak"
    assert sorted(doc["changed"]) == ["1M03_BRS.wav", "1M03_MIX.wav"]
    assert sorted(doc["unchanged"]) == ["1M03_PAD.wav", "1M03_PERC.wav", "1M03_STR.wav"]
    new = lfs_objects(vault) - before
    assert len(new) == 2 and doc["new_lfs_objects"] == 2
    # the unchanged stems point at the very same LFS object in both versions
    for name in doc["unchanged"]:
        a = git(vault, "rev-parse", f"HEAD~1:cues/{CUE}/{name}")
        b = git(vault, "rev-parse", f"HEAD:cues/{CUE}/{name}")
        assert a == b
    write_set(tmp_path / "v3", gains={"BRS": 0.4})
    assert sv.ok("-C", vault, "commit", CUE, tmp_path / "v3", "--json").json()["version"] == "2.0"
    write_set(tmp_path / "v4", gains={"BRS": 0.3})
    assert sv.ok("-C", vault, "commit", CUE, tmp_path / "v4", "--major", "--json").json()["version"] == "3.0"
    log = sv.ok("-C", vault, "log", CUE, "--json").json()
    assert [v["version"] for v in log] == ["3.0", "2.0", "1.1", "1.0"]


def test_removed_files_leave_the_cue_and_nothing_changed_is_refused(
        vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1")
    write_set(tmp_path / "v2", roles={"STR": 220.0, "BRS": 330.0, "PERC": 82.41})
    doc = sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "--json").json()
    assert doc["removed"] == ["1M03_PAD.wav"]
    assert not (vault / "cues" / CUE / "1M03_PAD.wav").exists()
    assert "1M03_PAD.wav" not in git(vault, "ls-files")
    assert doc["delta"].startswith("~MIX") and "-PAD" in doc["delta"]
    head = git(vault, "rev-parse", "HEAD")
    r = sv("-C", vault, "commit", CUE, tmp_path / "v2")
    assert r.code == 2 and "nothing changed" in r.err
    assert git(vault, "rev-parse", "HEAD") == head


def test_mix_by_option_and_ambiguity(vault: Path, sv: Runner, tmp_path: Path) -> None:
    src = tmp_path / "v1"
    write_set(src, mix=False)
    sf.write(src / "printmaster_a.wav", tone(100, 2), 48000, subtype="PCM_24")
    sf.write(src / "1M03_FullMix.wav", tone(100, 2), 48000, subtype="PCM_24")
    r = sv("-C", vault, "commit", CUE, src)
    assert r.code == 2 and "several files look like the mix" in r.err
    doc = sv.ok("-C", vault, "commit", CUE, src, "--mix", "1M03_FullMix.wav", "--allow-errors", "test: not a real mix", "--json").json()
    assert doc["mix"] == "1M03_FullMix.wav"
    r = sv("-C", vault, "commit", CUE, src, "--mix", "nope.wav")
    assert r.code == 2 and "no such audio file" in r.err


def test_upper_case_extension_goes_to_lfs(vault: Path, sv: Runner, tmp_path: Path) -> None:
    src = tmp_path / "v1"
    src.mkdir()
    sf.write(src / "1M03_Bass.WAV", tone(55, 1), 48000, subtype="PCM_24")
    sv.ok("-C", vault, "commit", CUE, src)
    assert parse_pointer(git_bytes(vault, "cat-file", "-p", f"HEAD:cues/{CUE}/1M03_Bass.WAV"))


def test_hand_edits_of_the_manifest_survive_the_next_version(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1")
    mpath = vault / "cues" / CUE / "stemset.toml"
    text = mpath.read_text()
    text = text.replace('file = "1M03_STR.wav"\nrole = "strings"\ninstrument = ""',
                        'file = "1M03_STR.wav"\nrole = "strings_hi"\ninstrument = "violins" # 1st + 2nd')
    mpath.write_text("# reviewed by the orchestrator\n" + text)
    write_set(tmp_path / "v2", gains={"STR": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2")
    new = mpath.read_text()
    assert "# reviewed by the orchestrator" in new and "# 1st + 2nd" in new
    m = Manifest.from_toml(new)
    assert m.stem("1M03_STR.wav").role == "strings_hi"  # type: ignore[union-attr]
    assert m.stem("1M03_STR.wav").instrument == "violins"  # type: ignore[union-attr]
    assert m.version == "2.0"


HOSTILE = [
    "[bold red]markup[/] $(rm -rf ~) `id` ; | & > /dev/null",
    "escape \x1b[2J\x1b[31m red \x07 bell",
    "quotes \" ' \\ and unicode — ♩ ♪ ✓ 日本語",
    "multi\nline\n\nwith blank lines\n# and a comment line\n",
    "Stemvault-Cue: 9M99\nStemvault-Version: 9.9",
]


def test_user_text_round_trips_byte_exact(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    notes = [f"00:00:00:0{i} {t}" for i, t in enumerate(HOSTILE)]  # within the 2 s set
    args = [a for n in notes for a in ("--note", n)]
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", HOSTILE[0] + HOSTILE[3], *args)
    for i, t in enumerate(HOSTILE):
        sv.ok("-C", vault, "note", f"{CUE}@1.0", f"00:00:01:0{i}", t)
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "-m", HOSTILE[1] + HOSTILE[4])
    log = sv.ok("-C", vault, "log", "--json").json()
    assert len(log) == 1
    v = log[0]
    assert v["cue"] == CUE and v["version"] == "1.0"
    assert v["summary"] == HOSTILE[0] + HOSTILE[3]
    assert [n["text"] for n in v["notes"] if n["source"] == "commit"] == [t.strip() for t in HOSTILE]
    assert [n["text"] for n in v["notes"] if n["source"] == "review"] == HOSTILE
    assert v["approved"]["message"] == HOSTILE[1] + HOSTILE[4]
    human = sv.ok("-C", vault, "log").out
    assert "\x1b" not in human and "\x07" not in human
    assert "[bold red]markup[/]" in human  # shown, not interpreted


def test_notes_and_approval_show_in_log_and_show(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first pass",
          "--note", "00:00:01:05 brass enters early")
    write_set(tmp_path / "v2", gains={"BRS": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "softer brass", "--minor")
    sv.ok("-C", vault, "note", f"{CUE}@1.1", "00:00:01:12", "strings too loud under dialogue",
          "--stem", "1M03_STR.wav")
    sv.ok("-C", vault, "note", f"{CUE}@1.1", "00:00:01:20", "pad ok", "--stem", "PAD")
    r = sv("-C", vault, "note", f"{CUE}@1.1", "00:00:01:20", "x", "--stem", "TUBA")
    assert r.code == 2 and "no stem" in r.err
    doc = sv.ok("-C", vault, "show", f"{CUE}@1.1", "--json").json()
    assert [(n["tc"], n["stem"], n["author"]) for n in doc["notes"]] == [
        ("00:00:01:12", "1M03_STR.wav", "Ada Composer"), ("00:00:01:20", "1M03_PAD.wav", "Ada Composer")]
    assert git(vault, "notes", "--ref=refs/notes/stemvault", "list").count("\n") == 1
    assert doc["approved"] is None
    r = sv("-C", vault, "show", f"{CUE}@approved")
    assert r.code == 2 and "approved" in r.err
    a = sv.ok("-C", vault, "approve", f"{CUE}@1.1", "-m", "approved for temp dub", "--json").json()
    assert a["tag"] == "1M03/v1.1/approved" and a["signed"] is False
    tag_msg = git(vault, "cat-file", "-p", "1M03/v1.1/approved")
    for s in doc["stems"]:
        assert s["sha256"] in tag_msg
    assert sv.ok("-C", vault, "show", f"{CUE}@approved", "--json").json()["version"] == "1.1"
    assert sv.ok("-C", vault, "show", CUE, "--json").json()["approved"]["by"] == "Ada Composer"
    r = sv("-C", vault, "approve", f"{CUE}@1.1")
    assert r.code == 2 and "already approved" in r.err
    human = sv.ok("-C", vault, "log", CUE).out
    assert "strings too loud under dialogue" in human and "approved by Ada Composer" in human
    one = sv.ok("-C", vault, "show", f"{CUE}@1.0", "--json").json()
    assert one["notes"][0]["tc"] == "00:00:01:05" and one["notes"][0]["source"] == "commit"


def test_signed_approval_with_ssh_key(vault: Path, sv: Runner, tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    git(vault, "config", "gpg.format", "ssh")
    git(vault, "config", "user.signingkey", str(key))
    signers = tmp_path / "allowed"
    signers.write_text(f"ada@composer.example {(tmp_path / 'id_ed25519.pub').read_text()}")
    git(vault, "config", "gpg.ssh.allowedSignersFile", str(signers))
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1")
    a = sv.ok("-C", vault, "approve", f"{CUE}@1.0", "--sign", "--json").json()
    assert a["signed"] is True
    subprocess.run(["git", "tag", "-v", "1M03/v1.0/approved"], cwd=vault, check=True, capture_output=True)
    assert sv.ok("-C", vault, "log", "--json").json()[0]["approved"]["signed"] is True


def test_sign_without_signing_setup_is_a_clear_error(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1")
    git(vault, "config", "gpg.program", str(tmp_path / "no-such-gpg"))
    r = sv("-C", vault, "approve", f"{CUE}@1.0", "--sign")
    assert r.code == 2 and "signing the approval failed" in r.err and r.err.count("\n") == 1
    assert git(vault, "tag") == ""


def test_history_reads_without_audio_in_a_lazy_clone(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first", "--note", "00:00:01:00 hi")
    write_set(tmp_path / "v2", gains={"STR": 0.3})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second", "--minor")
    sv.ok("-C", vault, "note", f"{CUE}@1.1", "00:00:01:12", "review")
    sv.ok("-C", vault, "approve", f"{CUE}@1.1")
    clone = tmp_path / "clone"
    env = {**os.environ, "GIT_LFS_SKIP_SMUDGE": "1"}
    subprocess.run(["git", "clone", "-q", str(vault), str(clone)], env=env, check=True)
    subprocess.run(["git", "fetch", "-q", "origin", "refs/notes/*:refs/notes/*"], cwd=clone, check=True)
    assert lfs_objects(clone) == set()
    for args in (["log", "--json"], ["show", f"{CUE}@1.0", "--json"], ["show", f"{CUE}@approved", "--json"]):
        assert sv.ok("-C", clone, *args).json() == sv.ok("-C", vault, *args).json()
    # the audio is not there: verify says so without calling it a problem
    rep = sv.ok("-C", clone, "verify", "--json").json()
    assert rep["ok"] is True and len(rep["not_local"]) == 10 and rep["objects_hashed"] == 0
    assert lfs_objects(clone) == set()


def test_outside_a_vault_every_verb_says_so(sv: Runner, tmp_path: Path) -> None:
    for args in (["log"], ["show", "1M03"], ["verify"], ["note", "1M03@1.0", "01:00:00:00", "x"],
                 ["approve", "1M03@1.0"], ["commit", "1M03", str(tmp_path)]):
        r = sv("-C", tmp_path, *args)
        assert r.code == 2, args
        assert r.err.startswith("error: ") and "not inside a stemvault vault" in r.err
        assert r.err.count("\n") == 1


def test_unknown_versions_and_cues(vault: Path, sv: Runner, tmp_path: Path) -> None:
    r = sv("-C", vault, "show", "1M03")
    assert r.code == 2 and "no versions" in r.err
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1")
    r = sv("-C", vault, "show", "1M03@4.0")
    assert r.code == 2 and "no version 4.0" in r.err and "1.0" in r.err
    r = sv("-C", vault, "show", "1M03@four")
    assert r.code == 2 and "MAJOR.MINOR" in r.err
    assert sv.ok("-C", vault, "show", "1m03", "--json").json()["cue"] == "1M03"


def test_commit_message_is_readable_git(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first pass", "--note", "00:00:01:05 brass early")
    subject = git(vault, "log", "-1", "--format=%s").strip()
    assert subject == "1M03 v1.0 (new version): first pass"
    trailers = git(vault, "log", "-1", "--format=%(trailers:only,unfold)")
    assert "Stemvault-Note: " in trailers
    note = json.loads(trailers.split("Stemvault-Note: ", 1)[1].splitlines()[0])
    assert note == {"tc": "00:00:01:05", "text": "brass early"}
