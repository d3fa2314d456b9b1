"""commit runs the checks and stores analysis records; check works on committed versions."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.helpers import CUE, Runner, git, vault_state, write_set


def test_errors_refuse_the_commit_and_allow_errors_records_why(vault: Path, sv: Runner, tmp_path: Path) -> None:
    src = tmp_path / "v1"
    write_set(src)
    sf.write(src / "Stem1.wav", np.zeros((96000, 2)) + 0.01, 48000, subtype="PCM_24")
    before = vault_state(vault)
    r = sv("-C", vault, "commit", CUE, src, "-m", "first")
    assert r.code == 1
    assert "name-generic" in r.err and "null-test" in r.err
    assert r.err.strip().splitlines()[-1].startswith("error: not committed:")
    assert vault_state(vault) == before
    r = sv("-C", vault, "commit", CUE, src, "--allow-errors", "  ")
    assert r.code == 2 and "needs a reason" in r.err
    doc = sv.ok("-C", vault, "commit", CUE, src, "-m", "first", "--allow-errors", "temp: stems to follow",
                "--json").json()
    assert doc["committed"] and any(f["code"] == "name-generic" for f in doc["findings"])
    shown = sv.ok("-C", vault, "show", CUE, "--json").json()
    assert shown["checks"]["allowed_errors"] == "temp: stems to follow"
    assert {f["code"] for f in shown["findings"]} >= {"name-generic", "null-test"}
    assert "temp: stems to follow" in git(vault, "log", "-1", "--format=%B")
    assert "committed despite" in sv.ok("-C", vault, "show", CUE).out


def test_analysis_records_are_committed_as_plain_blobs(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    doc = sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "--json").json()
    assert sorted(doc["analyzed"]) == sorted(s["file"] for s in doc["stems"])
    for s in doc["stems"]:
        rel = f".stemvault/analysis/{s['sha256'][:2]}/{s['sha256']}.json"
        blob = git(vault, "cat-file", "-p", f"HEAD:{rel}")
        rec = json.loads(blob)  # a plain JSON blob in git, not an LFS pointer
        assert rec["sha256"] == s["sha256"] and rec["frames"] == s["frames"]
        assert len(blob) < 40_000
        assert s["integrated_lufs"] == round(rec["loudness"]["integrated_lufs"], 2)
    m = (vault / "cues" / CUE / "stemset.toml").read_text()
    assert "integrated_lufs" in m and "true_peak_dbtp" in m and "analysis = " in m


def test_unchanged_stems_are_not_measured_again(vault: Path, sv: Runner, tmp_path: Path) -> None:
    src = tmp_path / "export"
    write_set(src)
    sv.ok("-C", vault, "commit", CUE, src)
    write_set(src, gains={"BRS": 0.5})  # the composer re-exports: every file rewritten
    os.utime(src / "1M03_STR.wav", ns=(1, 1))  # ... except that we also touch one in a new way
    doc = sv.ok("-C", vault, "commit", CUE, src, "--json").json()
    assert sorted(doc["changed"]) == ["1M03_BRS.wav", "1M03_MIX.wav"]
    # a full re-export: files of the same name and size are hashed, and those that are the
    # same bytes as before are not measured again; the changed ones (same size!) are
    assert sorted(doc["analyzed"]) == ["1M03_BRS.wav", "1M03_MIX.wav"]
    # ... yet the null test still summed every stem: the same result as checking the folder afresh
    fresh = sv("-C", vault, "check", src, "--json").json()
    assert doc["null_test"]["mix"] == "1M03_MIX.wav"
    assert doc["null_test"]["residual_db"] == fresh["null_test"]["residual_db"]
    # the same folder again, one file replaced: only that one is measured
    write_set(tmp_path / "tmp", gains={"BRS": 0.25})
    (tmp_path / "tmp" / "1M03_BRS.wav").replace(src / "1M03_BRS.wav")
    (tmp_path / "tmp" / "1M03_MIX.wav").replace(src / "1M03_MIX.wav")
    doc = sv.ok("-C", vault, "commit", CUE, src, "--json").json()
    assert doc["analyzed"] == ["1M03_BRS.wav", "1M03_MIX.wav"]
    assert doc["null_test"]["mix"] == "1M03_MIX.wav"


def test_check_a_committed_version_and_a_lazy_clone(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1")
    doc = sv.ok("-C", vault, "check", f"{CUE}@1.0", "--json").json()
    assert doc["ok"] and {f["file"] for f in doc["files"]} == {p.name for p in (tmp_path / "v1").iterdir()}
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(vault), str(clone)], env={**os.environ, "GIT_LFS_SKIP_SMUDGE": "1"},
                   check=True)
    r = sv("-C", clone, "check", f"{CUE}@1.0")
    assert r.code == 2 and "not downloaded" in r.err
    # the measured figures are there without the audio
    shown = sv.ok("-C", clone, "show", CUE, "--json").json()
    assert all(s["integrated_lufs"] is not None for s in shown["stems"])
