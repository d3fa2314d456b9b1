"""HashingFile: one pass yields the samples (through soundfile) and the file's exact sha256."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio.reader import HashingFile


@pytest.mark.parametrize("fmt, subtype, ext", [
    ("WAV", "PCM_24", "wav"), ("WAV", "PCM_16", "wav"), ("WAV", "FLOAT", "wav"),
    ("RF64", "PCM_24", "rf64"), ("W64", "PCM_24", "w64"), ("AIFF", "PCM_24", "aif"),
    ("FLAC", "PCM_24", "flac"), ("CAF", "PCM_24", "caf"),
])
def test_samples_and_hash_in_one_pass(tmp_path: Path, fmt: str, subtype: str, ext: str) -> None:
    rng = np.random.default_rng(1)
    data = (rng.standard_normal((100_000, 2)) * 0.1).astype(np.float32)
    path = tmp_path / f"x.{ext}"
    sf.write(path, data, 48000, format=fmt, subtype=subtype)
    with HashingFile(path) as hf, sf.SoundFile(hf) as f:
        blocks = [b.copy() for b in f.blocks(blocksize=7000, dtype="float32")]
        sha = hf.finish()
        read = hf.bytes_read
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest()
    ref, _ = sf.read(path, dtype="float32")
    np.testing.assert_array_equal(np.concatenate(blocks), ref)
    # about one read of the file, not two (libFLAC re-reads its frames while seeking: allowed)
    assert read <= path.stat().st_size * (3 if fmt == "FLAC" else 1.05) + 65536


def test_finish_without_reading_hashes_everything(tmp_path: Path) -> None:
    p = tmp_path / "a.bin"
    p.write_bytes(bytes(range(256)) * 10000)
    with HashingFile(p) as hf:
        hf.seek(1000)
        assert len(hf.read(10)) == 10
        assert hf.finish() == hashlib.sha256(p.read_bytes()).hexdigest()
