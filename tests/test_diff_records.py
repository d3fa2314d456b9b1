"""Diffs from records of every age: the fine envelope's own decoder, records of analysis version 1
(no envelope, only the 50 ms levels), the exact diff's output, and the quick resolve of two refs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers import CUE, Runner
from tests.test_diff import delay, gain, music, write_version
from tui.cli import main

SECONDS = 8.0


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, _home: Path) -> Iterator[Path]:
    """1.0 STR BRS + MIX; 2.0 STR louder at 2–3 s; 3.0 (from 1.0) STR 0.5 s later; 4.0 (from 1.0)
    STR 10 ms later."""
    root = tmp_path_factory.mktemp("records")
    vault, src = root / "vault", root / "src"
    assert main(["init", str(vault)]) == 0
    base = {"STR": music(1, 220.0, SECONDS), "BRS": music(2, 164.8, SECONDS)}
    for stems, msg in ((base, "first"), ({**base, "STR": gain(base["STR"], 2, 3, 1.5)}, "louder"),
                       ({**base, "STR": delay(base["STR"], 24000)}, "half a second late"),
                       ({**base, "STR": delay(base["STR"], 480)}, "10 ms late")):
        write_version(src, stems)
        assert main(["-C", str(vault), "commit", CUE, str(src), "-m", msg]) == 0
    yield vault


def _diff(sv: Runner, vault: Path, a: str, b: str, *extra: str) -> dict[str, Any]:
    doc: dict[str, Any] = sv.ok("-C", vault, "diff", f"{CUE}@{a}", f"{CUE}@{b}", "--json", *extra).json()
    return {s["name"]: s for s in doc["stems"]}


def _records(vault: Path) -> list[Path]:
    return sorted((vault / ".stemvault" / "analysis").rglob("*.json"))


def test_the_envelope_decoder_matches_the_analysis(small: Path) -> None:
    """The one decoder of the records' curves (audio.envelope: the diff's, re-exported by
    audio.analysis) gives back what the analysis wrote: re-packed, the curves are the record's bytes."""
    import base64
    import zlib

    from audio import analysis
    from audio.envelope import decode_envelope, decode_levels

    assert analysis.decode_envelope is decode_envelope and analysis.decode_levels is decode_levels
    for p in _records(small)[:3]:
        rec = json.loads(p.read_text())
        env = decode_envelope(rec)
        assert env is not None and env[0] == rec["envelope"]["hop_frames"]
        packed = zlib.decompress(base64.b64decode(rec["envelope"]["db"]))
        assert analysis._pack_db(np.power(10.0, env[1] / 10)) == packed
        assert np.isinf(env[1]).sum() == packed.count(0)
        levels = decode_levels(rec)
        assert analysis._pack_db(np.power(10.0, levels / 10)) == base64.b64decode(rec["levels"]["db"])


def test_exact_output_says_a_region_residual_once(small: Path, sv: Runner) -> None:
    out = sv.ok("-C", small, "diff", f"{CUE}@1.0", f"{CUE}@2.0", "--exact").out
    line = next(x for x in out.splitlines() if "1M03_STR.wav" in x)
    assert line.count("residual") == 1, line
    assert "changed 01:00:02:00" in line


def test_resolve_many_walks_history_once_and_matches_resolve(small: Path) -> None:
    from vcs.vault import Vault

    v = Vault(small)
    try:
        a, b = v.resolve_many([f"{CUE}@1.0", f"{CUE}@2.0"], details=False)
        assert (a.commit, b.commit) == (v.resolve(f"{CUE}@1.0").commit, v.resolve(f"{CUE}@2.0").commit)
        assert v.resolve_many([CUE])[0].version == v.resolve(CUE).version
    finally:
        v.close()


@pytest.fixture
def version_1_records(small: Path, tmp_path: Path) -> Iterator[Path]:
    """The records as analysis version 1 wrote them: no fine envelope (the working folder's
    copies are read first, so editing them is enough); put back afterwards."""
    saved = {p: p.read_text() for p in _records(small)}
    for p in saved:
        rec = json.loads(saved[p])
        rec.pop("envelope", None)
        rec["analysis_version"] = 1
        p.write_text(json.dumps(rec))
    yield small
    for p, text in saved.items():
        p.write_text(text)


def test_version_1_records_regions_and_coarse_moves(version_1_records: Path, sv: Runner) -> None:
    vault = version_1_records
    # Regions come from the fingerprints: as before.
    s = _diff(sv, vault, "1.0", "2.0")
    assert s["1M03_STR.wav"]["status"] == "changed"
    assert [(r["start_s"], r["end_s"]) for r in s["1M03_STR.wav"]["regions"]] == [(2.0, 3.0)]
    # A move of many 50 ms windows is still seen, to within a window.
    s = _diff(sv, vault, "1.0", "3.0")
    st = s["1M03_STR.wav"]
    assert st["status"] == "moved" and abs(st["shift_samples"] - 24000) <= 2400, st
    # A 10 ms move is below what 50 ms levels can tell: changed everywhere, and the diff says
    # it cannot tell a move (rather than claiming the stem was rewritten).
    s = _diff(sv, vault, "1.0", "4.0")
    st = s["1M03_STR.wav"]
    assert st["status"] == "changed" and st["whole"] and st["shift_samples"] is None
    out = sv.ok("-C", vault, "diff", f"{CUE}@1.0", f"{CUE}@4.0").out
    assert "cannot tell a move in time" in out


def test_damaged_records_never_crash(version_1_records: Path, sv: Runner) -> None:
    for p in _records(version_1_records):
        rec = json.loads(p.read_text())
        rec["levels"] = {"window_s": 0.05, "db": "not base64!"}
        p.write_text(json.dumps(rec))
    s = _diff(sv, version_1_records, "1.0", "3.0")
    assert s["1M03_STR.wav"]["status"] == "changed" and s["1M03_STR.wav"]["whole"]


def test_parsed_manifests_cache_is_keyed_by_blob_and_never_trusted_blindly(small: Path) -> None:
    from vcs.manifest import Manifest
    from vcs.vault import Vault

    cache = small / ".git" / "stemvault" / "manifests"
    v = Vault(small)
    try:
        ver = v.resolve(f"{CUE}@2.0")
        text = v.objects.read_rev(f"{ver.commit}:cues/{CUE}/stemset.toml")
        assert text is not None
        fresh = Manifest.from_toml(text)
        assert v.manifest_at(ver) == fresh  # parsed, then cached
        entries = sorted(cache.glob("*.json"))
        assert entries
        assert v.manifest_at(ver) == fresh  # from the cache
        for p in entries:
            p.write_text("{not json")
        assert v.manifest_at(ver) == fresh  # a damaged entry is parsed again
    finally:
        v.close()


def test_set_level_fields_say_what_changed_in_words() -> None:
    """The manifests' set-level fields (DeepDiff underneath): each kind of change, in words."""
    from vcs.manifest import Manifest
    from vcs.setfields import manifest_fields

    def man(extra: dict[str, Any]) -> Manifest:
        return Manifest(cue=CUE, version="1.0", frame_rate="24", stems=[], extra=extra)

    a = man({"checks": {"warnings": 1}, "tempo_map": "a.mid", "gone_key": 1, "k_type": 1, "nested": {"n": 1}})
    b = man({"checks": {"warnings": 2}, "tempo_map": "b.mid", "new_key": "x", "k_type": "1", "nested": {"n": 2}})
    assert [f.to_dict() for f in manifest_fields(a, b)] == [
        {"field": "check warnings", "old": 1, "new": 2},
        {"field": "tempo map", "old": "a.mid", "new": "b.mid"},
        {"field": "nested n", "old": 1, "new": 2},
        {"field": "k type", "old": 1, "new": "1"},
        {"field": "new key", "old": None, "new": "x"},
        {"field": "gone key", "old": 1, "new": None},
    ]
    assert manifest_fields(a, man(dict(a.extra))) == []
