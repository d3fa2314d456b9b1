"""audio.wavread: the same samples as soundfile, bit for bit, and the file's exact sha256."""

from __future__ import annotations

import hashlib
import io
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audio.wavread import WavReader, wav_layout

VARIANTS = [("WAV", "PCM_16"), ("WAV", "PCM_24"), ("WAV", "PCM_32"), ("WAV", "FLOAT"),
            ("WAVEX", "PCM_16"), ("WAVEX", "PCM_24"), ("WAVEX", "FLOAT"), ("RF64", "PCM_24"),
            ("RF64", "FLOAT")]


def _write(path: Path, fmt: str, subtype: str, frames: int = 30011, channels: int = 2, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    x = np.clip(rng.standard_normal((frames, channels)) * 0.4, -1, 1)
    x[:5] = [1.0, -1.0][: channels] if channels <= 2 else 1.0  # full scale both ways
    sf.write(path, x, 48000, format=fmt, subtype=subtype)


def _reference(path: Path) -> np.ndarray:
    info = sf.info(str(path))
    dtype = "float32" if info.subtype in ("FLOAT", "DOUBLE") else "int32"
    return sf.read(str(path), dtype=dtype, always_2d=True)[0]


def _read_all(path: Path, step: int, tee: io.BytesIO | None = None) -> tuple[np.ndarray, str, int]:
    lay = wav_layout(path)
    assert lay is not None
    r = WavReader(path, lay, tee=tee)
    try:
        parts = []
        while True:
            block = r.read(step)
            if not len(block):
                break
            parts.append(block)
        return np.concatenate(parts), r.finish(), r.bytes_read
    finally:
        r.close()


@pytest.mark.parametrize("fmt, subtype", VARIANTS)
@pytest.mark.parametrize("step", [1, 997, 48000, 1 << 20])
def test_samples_and_hash_match_soundfile(tmp_path: Path, fmt: str, subtype: str, step: int) -> None:
    path = tmp_path / "x.wav"
    _write(path, fmt, subtype, channels=3 if step == 997 else 2)
    got, sha, read = _read_all(path, step)
    ref = _reference(path)
    assert got.dtype == ref.dtype
    np.testing.assert_array_equal(got, ref)
    assert got.tobytes() == ref.tobytes()  # bit for bit (fingerprints hash these bytes)
    data = path.read_bytes()
    assert sha == hashlib.sha256(data).hexdigest()
    assert read == len(data)  # every byte once


def test_tee_is_an_exact_copy(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    _write(path, "WAV", "PCM_24")
    with open(path, "ab") as f:  # a chunk after the audio
        f.write(b"LIST" + struct.pack("<I", 6) + b"INFOab")
    tee = io.BytesIO()
    _read_all(path, 4096, tee)
    assert tee.getvalue() == path.read_bytes()


def _patch_data_size(path: Path, new_size: int) -> None:
    raw = bytearray(path.read_bytes())
    i = raw.index(b"data")
    raw[i + 4:i + 8] = struct.pack("<I", new_size)
    path.write_bytes(bytes(raw))


def test_truncated_data_chunk_reads_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    _write(path, "WAV", "PCM_24")
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 1000])  # cut mid-frame
    got, sha, _ = _read_all(path, 4000)
    np.testing.assert_array_equal(got, _reference(path))
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest()


def test_data_size_larger_than_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    _write(path, "WAV", "PCM_16")
    _patch_data_size(path, 10**9)
    lay = wav_layout(path)
    assert lay is not None and lay.frames == sf.info(str(path)).frames
    got, sha, _ = _read_all(path, 3333)
    np.testing.assert_array_equal(got, _reference(path))
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest()


def test_data_size_smaller_than_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    _write(path, "WAV", "PCM_24", frames=1000)
    with open(path, "ab") as f:
        f.write(b"JUNK" + struct.pack("<I", 300) + bytes(300))
    got, sha, _ = _read_all(path, 64)
    np.testing.assert_array_equal(got, _reference(path))
    assert len(got) == 1000
    assert sha == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("fmt, subtype, ext", [
    ("AIFF", "PCM_24", "aif"), ("FLAC", "PCM_24", "flac"), ("W64", "PCM_24", "w64"),
    ("WAV", "PCM_U8", "wav"), ("WAV", "DOUBLE", "wav"), ("CAF", "PCM_24", "caf"),
])
def test_other_formats_are_left_to_soundfile(tmp_path: Path, fmt: str, subtype: str, ext: str) -> None:
    path = tmp_path / f"x.{ext}"
    sf.write(path, np.zeros((100, 2)), 48000, format=fmt, subtype=subtype)
    assert wav_layout(path) is None


def test_garbage_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt \xff\xff\xff\x7f")
    assert wav_layout(bad) is None
    assert wav_layout(tmp_path / "missing.wav") is None
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert wav_layout(empty) is None


def test_analysis_does_not_import_scipy_signal() -> None:
    """scipy.signal's import costs 1.5-2 s per process; the meter loads only its kernel."""
    code = ("import sys, numpy as np; from audio.loudness import measure; "
            "measure(np.zeros((48000, 2)) + 0.1, 48000); import audio.analysis, audio._pool; "
            "print('scipy.signal' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent).stdout.strip()
    assert out == "False"
