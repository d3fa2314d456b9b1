"""stemvault export / verify PATH (issue 15): packages built from committed content, checked with
the real sha256sum, md5sum and unzip, loudness copies measured by the project's meter and by
ffmpeg's ebur128, killed exports and full disks."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio.bwf import write_bwf
from audio.loudness import measure_file
from tests.helpers import CUE, SR, Runner, git, lfs_objects, sha256, tone, write_set

DAY = time.strftime("%Y-%m-%d")  # the package is named with the export's (local) date


def _package(dest: Path, version: str = "1.0", cue: str = CUE) -> Path:
    return dest / f"{cue}_v{version}_{DAY}"


def _first(vault: Path, sv: Runner, tmp_path: Path, *, approve: bool = True, **kw: object) -> dict[str, str]:
    shas = write_set(tmp_path / "v1", **kw)  # type: ignore[arg-type]
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first pass")
    if approve:
        sv.ok("-C", vault, "approve", f"{CUE}@1.0", "-m", "good to go")
    return shas


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


# ----- the package --------------------------------------------------------------------------------

def test_package_passes_sha256sum_md5sum_and_holds_the_committed_bytes(vault: Path, sv: Runner,
                                                                      tmp_path: Path) -> None:
    shas = _first(vault, sv, tmp_path)
    r = sv.ok("-C", vault, "export", f"{CUE}@approved", tmp_path / "out", "--json").json()
    pkg = _package(tmp_path / "out")
    assert r["path"] == str(pkg)
    for cmd in (["sha256sum", "-c", "--strict", "SHA256SUMS"], ["md5sum", "-c", "--strict", "MD5SUMS"]):
        done = _run(cmd, pkg)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.count(": OK") == len((pkg / cmd[-1]).read_text().splitlines())
    # film naming: 1M03_v1.0_STR.wav holds exactly the bytes of 1M03_STR.wav as committed
    for name, sha in shas.items():
        short = name[len(CUE) + 1:]
        assert sha256(pkg / f"{CUE}_v1.0_{short}") == sha
    listed = (pkg / "SHA256SUMS").read_text()
    for doc in ("stemset.toml", "CHANGELOG.md", "CUESHEET.csv", "README.txt", "DELIVERY.json"):
        assert f"  {doc}\n" in listed
    delivery = json.loads((pkg / "DELIVERY.json").read_text())
    assert delivery["approval"]["by"] == "Ada Composer" and delivery["approval"]["message"] == "good to go"
    assert delivery["checks"]["null_test_residual_db"] < -60  # the set nulls: it was made as a sum
    mix = next(f for f in delivery["files"] if f["file"] == f"{CUE}_v1.0_MIX.wav")
    assert mix["integrated_lufs"] is not None and mix["true_peak_dbtp"] is not None
    assert "sha256sum -c SHA256SUMS" in (pkg / "README.txt").read_text()
    out = sv.ok("verify", pkg)
    assert out.out.startswith("OK: delivery")


@pytest.mark.skipif(shutil.which("unzip") is None, reason="unzip -t checks the zip (./dev test installs it)")
def test_zip_passes_unzip_t_and_its_content_passes_sha256sum(vault: Path, sv: Runner, tmp_path: Path) -> None:
    shas = _first(vault, sv, tmp_path)
    sv.ok("-C", vault, "export", f"{CUE}@1.0", tmp_path / "out", "--zip")
    z = tmp_path / "out" / f"{CUE}_v1.0_{DAY}.zip"
    done = _run(["unzip", "-t", str(z)], tmp_path)
    assert done.returncode == 0 and "No errors detected" in done.stdout, done.stdout + done.stderr
    _run(["unzip", "-q", str(z), "-d", str(tmp_path / "unz")], tmp_path)
    pkg = tmp_path / "unz" / f"{CUE}_v1.0_{DAY}"
    assert _run(["sha256sum", "-c", "SHA256SUMS"], pkg).returncode == 0
    assert _run(["md5sum", "-c", "MD5SUMS"], pkg).returncode == 0
    assert sha256(pkg / f"{CUE}_v1.0_STR.wav") == shas[f"{CUE}_STR.wav"]
    assert sv("verify", z).code == 0


def test_a_stem_changed_with_plain_git_after_approval_is_not_shipped(vault: Path, sv: Runner,
                                                                     tmp_path: Path) -> None:
    shas = _first(vault, sv, tmp_path)
    # after approval, someone replaces the strings with plain git: working folder and branch tip change
    sf.write(vault / "cues" / CUE / f"{CUE}_STR.wav", tone(440.0, 2.0), SR, subtype="PCM_24")
    git(vault, "add", "-A")
    git(vault, "commit", "-q", "-m", "louder strings")
    changed = sha256(vault / "cues" / CUE / f"{CUE}_STR.wav")
    assert changed != shas[f"{CUE}_STR.wav"]
    sv.ok("-C", vault, "export", f"{CUE}@approved", tmp_path / "out")
    pkg = _package(tmp_path / "out")
    assert sha256(pkg / f"{CUE}_v1.0_STR.wav") == shas[f"{CUE}_STR.wav"]
    approved = json.loads((pkg / "DELIVERY.json").read_text())["approval"]["files"]
    for name, sha in approved.items():
        assert sha256(pkg / f"{CUE}_v1.0_{name[len(CUE) + 1:]}") == sha


def test_content_differing_from_its_approval_is_refused(vault: Path, sv: Runner, tmp_path: Path) -> None:
    _first(vault, sv, tmp_path)
    tag = f"{CUE}/v1.0/approved"
    raw = git(vault, "cat-file", "-p", tag)
    message = raw.split("\n\n", 1)[1]
    forged = re.sub(r'("file": "1M03_STR.wav", "sha256": ")[0-9a-f]{64}', r"\g<1>" + "0" * 64, message)
    assert forged != message
    commit = git(vault, "rev-parse", f"{tag}^{{commit}}").strip()
    git(vault, "tag", "-f", "-a", tag, "-F", "-", commit, input=forged.encode())
    r = sv("-C", vault, "export", f"{CUE}@1.0", tmp_path / "out")
    assert r.code == 1 and "refused" in r.err and "1M03_STR.wav" in r.err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_an_unapproved_version_warns_unless_allowed(vault: Path, sv: Runner, tmp_path: Path) -> None:
    _first(vault, sv, tmp_path, approve=False)
    r = sv.ok("-C", vault, "export", CUE, tmp_path / "a")
    assert "warning: 1M03@1.0 is not approved" in r.err
    assert "NOT APPROVED" in (_package(tmp_path / "a") / "README.txt").read_text()
    r = sv.ok("-C", vault, "export", CUE, tmp_path / "b", "--allow-unapproved")
    assert "warning" not in r.err


def test_an_existing_package_is_never_overwritten_without_force(vault: Path, sv: Runner, tmp_path: Path) -> None:
    _first(vault, sv, tmp_path)
    sv.ok("-C", vault, "export", f"{CUE}@1.0", tmp_path / "out")
    pkg = _package(tmp_path / "out")
    (pkg / "receiver-notes.txt").write_text("mine")
    r = sv("-C", vault, "export", f"{CUE}@1.0", tmp_path / "out")
    assert r.code == 2 and "--force" in r.err
    assert (pkg / "receiver-notes.txt").exists()
    sv.ok("-C", vault, "export", f"{CUE}@1.0", tmp_path / "out", "--force")
    assert not (pkg / "receiver-notes.txt").exists() and sv("verify", pkg).code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [pkg.name]


# ----- verify on the receiving side -------------------------------------------------------------

def test_verify_names_corrupted_missing_and_extra_files(vault: Path, sv: Runner, tmp_path: Path) -> None:
    _first(vault, sv, tmp_path)
    sv.ok("-C", vault, "export", f"{CUE}@1.0", tmp_path / "out")
    pkg = _package(tmp_path / "out")
    bad = pkg / f"{CUE}_v1.0_BRS.wav"
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad.write_bytes(bytes(data))
    (pkg / f"{CUE}_v1.0_PAD.wav").unlink()
    (pkg / "stray.wav").write_bytes(b"RIFF")
    (pkg / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")  # a receiver opened the folder in Finder: not extra
    r = sv("verify", pkg, "--json")
    assert r.code == 1
    got = {(p["file"], p["kind"]) for p in r.json()["problems"]}
    assert got == {(f"{CUE}_v1.0_BRS.wav", "corrupt"), (f"{CUE}_v1.0_PAD.wav", "missing"), ("stray.wav", "extra")}
    human = sv("verify", pkg)
    assert human.code == 1 and "3 problems" in human.out and "1M03_v1.0_BRS.wav" in human.out
    # the real tools agree
    assert _run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], pkg).returncode != 0


def test_verify_names_a_corrupted_file_inside_a_zip(vault: Path, sv: Runner, tmp_path: Path) -> None:
    _first(vault, sv, tmp_path)
    sv.ok("-C", vault, "export", f"{CUE}@1.0", tmp_path / "out", "--zip")
    z = tmp_path / "out" / f"{CUE}_v1.0_{DAY}.zip"
    damaged = tmp_path / "damaged.zip"
    target = f"{CUE}_v1.0_{DAY}/{CUE}_v1.0_STR.wav"
    with zipfile.ZipFile(z) as src, zipfile.ZipFile(damaged, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == target:
                data = data[:-1] + bytes([data[-1] ^ 0xFF])
            dst.writestr(info, data)
    r = sv("verify", damaged, "--json")
    assert r.code == 1
    assert [(p["file"], p["kind"]) for p in r.json()["problems"]] == [(f"{CUE}_v1.0_STR.wav", "corrupt")]


def test_verify_of_a_path_that_is_no_delivery_is_bad_usage(sv: Runner, tmp_path: Path, vault: Path) -> None:
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    r = sv("-C", vault, "verify", tmp_path / "junk.zip")
    assert r.code == 2 and r.err.startswith("error: ") and "not a readable zip" in r.err
    (tmp_path / "folder").mkdir()
    r = sv("-C", vault, "verify", tmp_path / "folder")
    assert r.code == 2 and "is not a stemvault delivery" in r.err
    assert sv("-C", vault, "verify").code == 0  # without a path: the vault, as before


# ----- change log and cue sheet -------------------------------------------------------------------

def _bwf_set(folder: Path, *, start_s: float, gains: dict[str, float] | None = None) -> None:
    """A set of BWF stems starting at ``start_s`` (bext TimeReference) and their mix."""
    folder.mkdir(parents=True, exist_ok=True)
    gains = gains or {}
    stems = {}
    for role, f in {"STR": 220.0, "BRS": 330.0}.items():
        stems[role] = tone(f, 2.0) * gains.get(role, 1.0)
        write_bwf(folder / f"{CUE}_{role}.wav", stems[role], SR, time_reference=int(start_s * SR))
    write_bwf(folder / f"{CUE}_MIX.wav", sum(stems.values()), SR, time_reference=int(start_s * SR))


def test_changelog_and_cuesheet(vault: Path, sv: Runner, tmp_path: Path) -> None:
    cfg = vault / "stemvault.toml"
    cfg.write_text(cfg.read_text() + '\n[cuesheet]\ncomposer = "Ada Composer"\npublisher = "=cmd|x"\n'
                   'pro = "PRS"\n\n[cuesheet.cues.1M03]\ntitle = "Arrival"\nusage = "BI"\n')
    git(vault, "commit", "-q", "-am", "cue sheet fields")
    _bwf_set(tmp_path / "v1", start_s=3600.0)
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first pass", "--note", "01:00:00:12 horns early")
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "-m", "temp ok")
    _bwf_set(tmp_path / "v2", start_s=3600.0, gains={"STR": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "quieter strings")
    sv.ok("-C", vault, "note", f"{CUE}@2.0", "01:00:01:00", "strings *sit* better [now]")
    sv.ok("-C", vault, "approve", f"{CUE}@2.0", "-m", "final")
    _bwf_set(tmp_path / "v3", start_s=3600.0, gains={"BRS": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v3", "-m", "third pass never delivered")
    sv.ok("-C", vault, "export", f"{CUE}@approved", tmp_path / "out")
    pkg = _package(tmp_path / "out", "2.0")
    log = (pkg / "CHANGELOG.md").read_text()
    assert "## v1.0" in log and "## v2.0" in log and "v3.0" not in log and "third pass" not in log
    assert log.index("## v2.0") < log.index("## v1.0")  # newest first
    assert "horns early" in log and r"strings \*sit\* better \[now\]" in log  # user text is not markup
    assert "Approved by Ada Composer" in log and "final" in log and "temp ok" in log
    assert "01:00:00:12" in log and "01:00:01:00" in log
    rows = list(csv.DictReader(io.StringIO((pkg / "CUESHEET.csv").read_text())))
    assert list(rows[0]) == ["cue", "title", "version", "start_tc", "end_tc", "duration", "usage", "composer",
                             "publisher", "pro"]
    assert rows == [{"cue": CUE, "title": "Arrival", "version": "2.0", "start_tc": "01:00:00:00",
                     "end_tc": "01:00:02:00", "duration": "00:00:02:00", "usage": "BI",
                     "composer": "Ada Composer", "publisher": "'=cmd|x", "pro": "PRS"}]


def test_cuesheet_leaves_unknown_fields_empty(vault: Path, sv: Runner, tmp_path: Path) -> None:
    _first(vault, sv, tmp_path)
    sv.ok("-C", vault, "export", f"{CUE}@1.0", tmp_path / "out")
    rows = list(csv.DictReader(io.StringIO((_package(tmp_path / "out") / "CUESHEET.csv").read_text())))
    assert rows == [{"cue": CUE, "title": "", "version": "1.0", "start_tc": "", "end_tc": "",
                     "duration": "00:00:02:00", "usage": "", "composer": "", "publisher": "", "pro": ""}]


# ----- naming -----------------------------------------------------------------------------------

def test_sync_naming_and_unsafe_titles(vault: Path, sv: Runner, tmp_path: Path) -> None:
    _first(vault, sv, tmp_path)
    sv.ok("-C", vault, "export", f"{CUE}@1.0", tmp_path / "a", "--naming", "sync", "--title", "Arrival")
    names = {p.name for p in _package(tmp_path / "a").glob("*.wav")}
    assert names == {"Arrival (Strings Stem).wav", "Arrival (Brass Stem).wav", "Arrival (Percussion Stem).wav",
                     "Arrival (Pads Stem).wav", "Arrival (Full Mix).wav"}
    assert _run(["sha256sum", "-c", "SHA256SUMS"], _package(tmp_path / "a")).returncode == 0
    # outside [A-Za-z0-9._ ()-]: mapped by default (accents folded, the rest "_")
    sv.ok("-C", vault, "export", f"{CUE}@1.0", tmp_path / "b", "--naming", "sync", "--title", "Arrivée/Été")
    names = {p.name for p in _package(tmp_path / "b").glob("*.wav")}
    assert "Arrivee_Ete (Full Mix).wav" in names
    # refused when stemvault.toml says so; nothing written
    cfg = vault / "stemvault.toml"
    cfg.write_text(cfg.read_text() + '\n[delivery]\nnames = "refuse"\n')
    r = sv("-C", vault, "export", f"{CUE}@1.0", tmp_path / "c", "--naming", "sync", "--title", "Arrivée")
    assert r.code == 2 and "[A-Za-z0-9._ ()-]" in r.err and not (tmp_path / "c").exists()


def test_naming_patterns_from_stemvault_toml(vault: Path, sv: Runner, tmp_path: Path) -> None:
    _first(vault, sv, tmp_path)
    cfg = vault / "stemvault.toml"
    cfg.write_text(cfg.read_text() + '\n[delivery]\nfilm = "MyFilm_{cue}_{stem}_v{version}"\n')
    sv.ok("-C", vault, "export", f"{CUE}@1.0", tmp_path / "out")
    assert (_package(tmp_path / "out") / f"MyFilm_{CUE}_STR_v1.0.wav").is_file()
    cfg.write_text(cfg.read_text().replace("{stem}", "{nope}"))
    r = sv("-C", vault, "export", f"{CUE}@1.0", tmp_path / "x")
    assert r.code == 2 and "delivery.film" in r.err


# ----- loudness copies ------------------------------------------------------------------------------

def _ffmpeg_ebur128(path: Path) -> tuple[float, float]:
    """Integrated loudness and true peak by ffmpeg's ebur128 filter: the second meter."""
    done = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", str(path), "-af",
                           "ebur128=peak=true", "-f", "null", "-"], capture_output=True, text=True)
    summary = done.stderr.rsplit("Summary:", 1)[-1]
    i = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))  # type: ignore[union-attr]
    tp = float(re.search(r"True peak:\s+Peak:\s+(-?[\d.]+) dBFS", summary).group(1))  # type: ignore[union-attr]
    return i, tp


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is the second meter (./dev test installs it)")
def test_loudness_copies_hit_their_targets_under_the_ceiling(vault: Path, sv: Runner, tmp_path: Path) -> None:
    _first(vault, sv, tmp_path, seconds=6.0)
    mix = measure_file(tmp_path / "v1" / f"{CUE}_MIX.wav")  # about -9.8 LUFS, true peak about -2.2 dBTP
    assert mix.integrated_lufs is not None and mix.true_peak_dbtp is not None
    r = sv.ok("-C", vault, "export", f"{CUE}@1.0", tmp_path / "out", "--loudness", "-24,-14", "--json").json()
    pkg = _package(tmp_path / "out")
    assert _run(["sha256sum", "-c", "SHA256SUMS"], pkg).returncode == 0
    for target in (-24, -14):
        copy = pkg / f"loudness_{target}LUFS" / f"{CUE}_v1.0_MIX_{target}LUFS.wav"
        info = sf.info(copy)
        assert info.subtype == "PCM_24" and info.frames == 6 * SR
        ours = measure_file(copy)
        assert ours.integrated_lufs is not None and ours.true_peak_dbtp is not None
        assert abs(ours.integrated_lufs - target) <= 0.1 and ours.true_peak_dbtp <= -1.0
        i, tp = _ffmpeg_ebur128(copy)
        assert abs(i - target) <= 0.1 and tp <= -1.0
        rec = next(c for c in r["loudness"] if c["target_lufs"] == target)
        assert not rec["limited_by_ceiling"]
        assert abs(rec["files"][0]["integrated_lufs"] - ours.integrated_lufs) <= 0.01


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is the second meter (./dev test installs it)")
def test_the_ceiling_stops_a_loudness_copy_and_says_so(vault: Path, sv: Runner, tmp_path: Path) -> None:
    _first(vault, sv, tmp_path, seconds=6.0)
    mix = measure_file(tmp_path / "v1" / f"{CUE}_MIX.wav")
    assert mix.integrated_lufs is not None and mix.true_peak_dbtp is not None
    target = -6.0  # needs about +3.8 dB: the true peak (about -2.2 dBTP) would pass -1 dBTP
    assert mix.true_peak_dbtp + (target - mix.integrated_lufs) > -1.0
    r = sv.ok("-C", vault, "export", f"{CUE}@1.0", tmp_path / "out", "--loudness", "-6",
              "--loudness-stems")
    assert "ceiling" in r.err and "not -6" in r.err
    pkg = _package(tmp_path / "out")
    folder = pkg / "loudness_-6LUFS"
    copy = folder / f"{CUE}_v1.0_MIX_-6LUFS.wav"
    ours = measure_file(copy)
    assert ours.true_peak_dbtp is not None and ours.integrated_lufs is not None
    assert ours.true_peak_dbtp <= -1.0 and ours.true_peak_dbtp > -1.2  # at the ceiling
    expected = mix.integrated_lufs + (ours.true_peak_dbtp - mix.true_peak_dbtp)
    assert abs(ours.integrated_lufs - expected) <= 0.05 and ours.integrated_lufs < target
    i, tp = _ffmpeg_ebur128(copy)
    assert tp <= -1.0 and abs(i - ours.integrated_lufs) <= 0.1
    rec = json.loads((pkg / "DELIVERY.json").read_text())["loudness_copies"][0]
    assert rec["limited_by_ceiling"] and abs(rec["files"][0]["integrated_lufs"] - ours.integrated_lufs) <= 0.01
    # the stems got the mix's gain: they still sum to the gained mix
    stems = [sf.read(p)[0] for p in sorted(folder.glob("*.wav")) if "_MIX_" not in p.name]
    assert len(stems) == 4
    residual = np.max(np.abs(sum(stems) - sf.read(copy)[0]))
    assert residual < 1e-5  # a few 24-bit steps


# ----- previews -----------------------------------------------------------------------------------

def test_previews_are_mp3_outside_the_checksums_with_a_stereo_fold_down(vault: Path, sv: Runner,
                                                                       tmp_path: Path) -> None:
    src = tmp_path / "v1"
    write_set(src, roles={"STR": 220.0, "BRS": 330.0})
    surround = np.zeros((2 * SR, 6))
    surround[:, 2] = tone(500.0, 2.0)[:, 0]  # a 5.1 FX stem with everything in the centre
    surround[:, 4] = tone(700.0, 2.0)[:, 0]
    write_bwf(src / f"{CUE}_FX.wav", surround, SR)
    mixed = sf.read(src / f"{CUE}_MIX.wav")[0]
    sf.write(src / f"{CUE}_MIX.wav", mixed, SR, subtype="PCM_24")
    sv.ok("-C", vault, "commit", CUE, src, "-m", "with a 5.1 stem", "--allow-errors", "a preview test")
    sv.ok("-C", vault, "export", f"{CUE}@1.0", tmp_path / "out", "--previews", "--allow-unapproved")
    pkg = _package(tmp_path / "out")
    previews = sorted(p.name for p in (pkg / "previews").iterdir())
    assert previews == [f"{CUE}_v1.0_FX_stereo-preview.mp3", f"{CUE}_v1.0_MIX_preview.mp3"]
    fold = sf.info(pkg / "previews" / previews[0])
    assert fold.channels == 2 and fold.format == "MP3"
    # centre at -3 dB in both sides, the left surround in the left only: the left is louder
    heard = sf.read(pkg / "previews" / previews[0])[0][SR // 2: 3 * SR // 2]
    rms = np.sqrt(np.mean(heard ** 2, axis=0))
    centre = 0.2 * np.sqrt(0.5) / np.sqrt(2)  # the tone's RMS after the -3 dB fold
    assert abs(rms[1] - centre) < 0.1 * centre and rms[0] > 1.3 * rms[1]
    assert "previews/" not in (pkg / "SHA256SUMS").read_text()
    assert sv("verify", pkg).code == 0


# ----- a lazy clone ------------------------------------------------------------------------------

def test_a_lazy_clone_fetches_exactly_what_the_export_needs(vault: Path, sv: Runner, tmp_path: Path) -> None:
    shas = _first(vault, sv, tmp_path)
    write_set(tmp_path / "v2", gains={"STR": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second")
    bare = tmp_path / "server.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(vault, "remote", "add", "origin", str(bare))
    sv.ok("-C", vault, "push")
    lazy = tmp_path / "lazy"
    sv.ok("clone", bare, lazy, "--lazy")
    assert lfs_objects(lazy) == set()
    r = sv.ok("-C", lazy, "export", f"{CUE}@approved", tmp_path / "out")
    assert "fetching 5 files of 1M03@1.0" in r.err and r.err.count("sha256 checked") == 5
    assert lfs_objects(lazy) == set(shas.values())  # v1.0's objects, none of v2.0's own
    pkg = _package(tmp_path / "out")
    assert _run(["sha256sum", "-c", "SHA256SUMS"], pkg).returncode == 0


# ----- all approved ------------------------------------------------------------------------------

def test_all_approved_exports_each_cues_latest_approved_version_and_one_cue_sheet(
        vault: Path, sv: Runner, tmp_path: Path) -> None:
    _first(vault, sv, tmp_path)
    write_set(tmp_path / "v2", gains={"STR": 0.5})
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v2", "-m", "second, not approved")
    write_set(tmp_path / "b", cue="2M01")
    sv.ok("-C", vault, "commit", "2M01", tmp_path / "b", "-m", "reel two")
    sv.ok("-C", vault, "approve", "2M01@1.0")
    write_set(tmp_path / "c", cue="3M01")
    sv.ok("-C", vault, "commit", "3M01", tmp_path / "c", "-m", "never approved")
    r = sv.ok("-C", vault, "export", "--all-approved", tmp_path / "reel", "--json").json()
    assert r["skipped"] == ["3M01"]
    assert sorted(p.name for p in (tmp_path / "reel").iterdir()) == sorted(
        ["CUESHEET.csv", f"{CUE}_v1.0_{DAY}", f"2M01_v1.0_{DAY}"])
    rows = list(csv.DictReader(io.StringIO((tmp_path / "reel" / "CUESHEET.csv").read_text())))
    assert [(x["cue"], x["version"]) for x in rows] == [(CUE, "1.0"), ("2M01", "1.0")]
    # again: refused before anything is written, naming what exists
    before = sorted(str(p) for p in (tmp_path / "reel").rglob("*"))
    again = sv("-C", vault, "export", "--all-approved", tmp_path / "reel")
    assert again.code == 2 and "CUESHEET.csv" in again.err and f"2M01_v1.0_{DAY}" in again.err
    assert sorted(str(p) for p in (tmp_path / "reel").rglob("*")) == before


# ----- safe writes ------------------------------------------------------------------------------

@pytest.mark.parametrize("as_zip", [False, True])
def test_a_killed_export_leaves_nothing_under_the_final_name(vault: Path, sv: Runner, tmp_path: Path,
                                                             as_zip: bool) -> None:
    _first(vault, sv, tmp_path)
    marker = tmp_path / "paused"
    out = tmp_path / "out"
    env = {**os.environ, "STEMVAULT_TEST_PAUSE": "export-after-copy", "STEMVAULT_TEST_PAUSE_FILE": str(marker),
           "STEMVAULT_TEST_PAUSE_S": "120"}
    args = [sys.executable, "-m", "tui.cli", "-C", str(vault), "export", f"{CUE}@1.0", str(out)]
    proc = subprocess.Popen(args + (["--zip"] if as_zip else []), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "never reached the pause point"
        time.sleep(0.05)
    partial = [p for p in out.iterdir()]
    assert len(partial) == 1 and partial[0].name.startswith(".") and ".partial-" in partial[0].name
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    final = f"{CUE}_v1.0_{DAY}" + (".zip" if as_zip else "")
    assert not (out / final).exists()
    assert all(p.name.startswith(".") for p in out.iterdir())
    # the next export finishes, and clears what the killed one left
    sv.ok("-C", vault, "export", f"{CUE}@1.0", out, *(["--zip"] if as_zip else []))
    assert [p.name for p in out.iterdir()] == [final]
    assert sv("verify", out / final).code == 0


@pytest.fixture
def small_disk(tmp_path: Path) -> object:
    """A tmpfs of a given size (root only): ``small_disk(size_kb) -> Path``."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    mounts: list[Path] = []

    def make(size_kb: int) -> Path:
        mnt = tmp_path / f"disk{len(mounts)}"
        mnt.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(mnt)],
                           capture_output=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
        mounts.append(mnt)
        return mnt

    yield make
    for m in mounts:
        subprocess.run(["umount", "-l", str(m)], check=False)


@pytest.mark.parametrize("as_zip", [False, True])
def test_a_full_disk_leaves_nothing_under_the_final_name(vault: Path, sv: Runner, tmp_path: Path,
                                                         small_disk: object, as_zip: bool) -> None:
    _first(vault, sv, tmp_path)  # 5 files of 576 KB
    disk = small_disk(1024)  # type: ignore[operator]
    r = sv("-C", vault, "export", f"{CUE}@1.0", disk / "out", *(["--zip"] if as_zip else []))
    assert r.code == 2 and r.err.splitlines()[-1].startswith("error: the disk holding")
    assert list((disk / "out").iterdir()) == []  # neither the package nor its partial


# ----- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["export", f"{CUE}@1.0"],  # no DEST
    ["export", f"{CUE}@1.0", "OUT", "--loudness", "loud"],
    ["export", f"{CUE}@1.0", "OUT", "--loudness", "-24,5"],
    ["export", f"{CUE}@1.0", "OUT", "--loudness-stems"],
    ["export", f"{CUE}@1.0", "OUT", "--ceiling", "3"],
    ["export", f"{CUE}@9.0", "OUT"],
    ["export", "--all-approved", "OUT", "EXTRA"],
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(vault: Path, sv: Runner, tmp_path: Path,
                                                         args: list[str]) -> None:
    _first(vault, sv, tmp_path)
    out = tmp_path / "OUT"
    r = sv("-C", vault, *[str(out) if a == "OUT" else a for a in args])
    assert r.code == 2 and r.err.startswith("error: ") and r.err.count("\n") == 1, r.err
    assert not out.exists()


def test_user_text_in_the_documents_is_data(vault: Path, sv: Runner, tmp_path: Path) -> None:
    _first(vault, sv, tmp_path, approve=False)
    sv.ok("-C", vault, "note", f"{CUE}@1.0", "00:00:01:00", "clear \x1b[2J <img src=x> `rm -rf`")
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "-m", "ok\x07")
    sv.ok("-C", vault, "export", f"{CUE}@1.0", tmp_path / "out")
    pkg = _package(tmp_path / "out")
    for doc in ("CHANGELOG.md", "README.txt", "CUESHEET.csv"):
        text = (pkg / doc).read_text()
        assert "\x1b" not in text and "\x07" not in text, doc
    log = (pkg / "CHANGELOG.md").read_text()
    assert r"clear \\x1b\[2J \<img src=x\> \`rm -rf\`" in log
    # the exact text travels in JSON
    assert json.loads((pkg / "DELIVERY.json").read_text())["approval"]["message"] == "ok\x07"


def test_a_damaged_object_in_the_store_stops_the_export(vault: Path, sv: Runner, tmp_path: Path) -> None:
    shas = _first(vault, sv, tmp_path)
    oid = shas[f"{CUE}_PERC.wav"]
    obj = vault / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
    data = bytearray(obj.read_bytes())
    data[-10] ^= 0xFF  # bit rot in the last samples
    obj.chmod(0o644)
    obj.write_bytes(bytes(data))
    r = sv("-C", vault, "export", f"{CUE}@1.0", tmp_path / "out")
    assert r.code == 1 and f"{CUE}_PERC.wav" in r.err and "nothing was delivered" in r.err
    assert list((tmp_path / "out").iterdir()) == []
