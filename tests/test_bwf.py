"""Tests of audio.bwf: files soundfile and wavinfo read back exactly as written."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import wavinfo

from audio.bwf import SUBTYPES, quantize, write_bwf

RATE = 48000


def _noise(frames: int, channels: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = rng.uniform(-1.0, 1.0, size=(frames, channels))
    data[:4] = [[-1.0], [0.0], [1.0 - 2.0**-31], [0.5 / 2**23]]  # the edges of the grid
    return data[:, 0] if channels == 1 else data


def _chunks(path: Path) -> dict[bytes, bytes]:
    """The top-level RIFF chunks of a file, parsed independently of the code under test."""
    raw = path.read_bytes()
    assert raw[:4] == b"RIFF"
    assert raw[8:12] == b"WAVE"
    assert struct.unpack("<I", raw[4:8])[0] == len(raw) - 8
    chunks: dict[bytes, bytes] = {}
    pos = 12
    while pos < len(raw):
        ident, size = raw[pos : pos + 4], struct.unpack("<I", raw[pos + 4 : pos + 8])[0]
        chunks[ident] = raw[pos + 8 : pos + 8 + size]
        pos += 8 + size + size % 2
    assert pos == len(raw)
    return chunks


@pytest.mark.parametrize("subtype", list(SUBTYPES))
@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_samples_match_soundfile(
    tmp_path: Path, subtype: str, channels: int, dtype: type[np.floating]
) -> None:
    data = _noise(4801, channels).astype(dtype)
    ours, theirs = tmp_path / "ours.wav", tmp_path / "theirs.wav"
    write_bwf(ours, data, RATE, subtype=subtype)
    sf.write(theirs, data, RATE, subtype=subtype)

    info = sf.info(ours)
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (
        RATE,
        channels,
        4801,
        subtype,
    )
    read_ours, _ = sf.read(ours, dtype="float64", always_2d=True)
    read_theirs, _ = sf.read(theirs, dtype="float64", always_2d=True)
    np.testing.assert_array_equal(read_ours, read_theirs)
    # quantize() predicts the stored values exactly: what a null test needs.
    np.testing.assert_array_equal(quantize(data, subtype).reshape(read_ours.shape), read_ours)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_overs_clip_like_soundfile(tmp_path: Path, subtype: str, dtype: type[np.floating]) -> None:
    data = np.array(
        [[1.0, -1.0], [1.5, -1.5], [0.9999999, -0.9999999], [3.0, -3.0], [1e30, -1e30]],
        dtype=dtype,
    )
    write_bwf(tmp_path / "ours.wav", data, RATE, subtype=subtype)
    sf.write(tmp_path / "theirs.wav", data, RATE, subtype=subtype)
    ours, _ = sf.read(tmp_path / "ours.wav", dtype="int32")
    theirs, _ = sf.read(tmp_path / "theirs.wav", dtype="int32")
    np.testing.assert_array_equal(ours, theirs)


def test_bext_and_ixml_round_trip_through_wavinfo(tmp_path: Path) -> None:
    path = tmp_path / "1M03_STR.wav"
    ixml = (
        '<?xml version="1.0" encoding="UTF-8"?><BWFXML><IXML_VERSION>2.10</IXML_VERSION>'
        "<PROJECT>My Film</PROJECT><SCENE>1M03</SCENE><NOTE>strings</NOTE></BWFXML>"
    )
    tref = 3600 * RATE + 12345  # 01:00:00:00 and a bit
    write_bwf(
        path,
        _noise(1000, 2),
        RATE,
        time_reference=tref,
        description="1M03 strings stem",
        originator="stemvault",
        originator_reference="SV-1M03-STR",
        origination_date="2024-06-11",
        origination_time="13:45:02",
        ixml=ixml,
    )
    info = wavinfo.WavInfoReader(path)
    assert info.bext is not None
    assert info.bext.time_reference == tref
    assert info.bext.description == "1M03 strings stem"
    assert info.bext.originator == "stemvault"
    assert info.bext.originator_ref == "SV-1M03-STR"
    assert info.bext.originator_date == "2024-06-11"
    assert info.bext.originator_time == "13:45:02"
    assert info.bext.version == 1
    assert info.bext.coding_history == "A=PCM,F=48000,W=24,M=stereo,T=stemvault\r\n"
    assert info.ixml is not None
    assert info.ixml.source.decode("utf-8") == ixml
    assert info.ixml.project == "My Film"
    assert info.ixml.scene == "1M03"
    assert info.data.frame_count == 1000
    assert info.fmt.sample_rate == RATE


def test_time_reference_beyond_32_bits(tmp_path: Path) -> None:
    # 23:59:59 at 192 kHz does not fit the low word: the high word must carry it.
    tref = 86399 * 192000
    assert tref > 2**32
    write_bwf(tmp_path / "a.wav", _noise(10, 2), 192000, time_reference=tref)
    info = wavinfo.WavInfoReader(tmp_path / "a.wav")
    assert info.bext.time_reference == tref
    low, high = struct.unpack("<II", _chunks(tmp_path / "a.wav")[b"bext"][338:346])
    assert (high << 32) | low == tref


def test_chunk_layout(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    write_bwf(path, _noise(11, 1), RATE, subtype="PCM_24", description="odd", ixml="<A>x</A>")
    chunks = _chunks(path)
    assert list(chunks) == [b"fmt ", b"bext", b"iXML", b"data"]
    bext = chunks[b"bext"]
    assert len(bext) == 602 + len("A=PCM,F=48000,W=24,M=mono,T=stemvault\r\n")
    assert struct.unpack("<H", bext[346:348])[0] == 1  # version
    assert bext[348:602] == bytes(254)  # UMID and reserved: zero
    assert len(chunks[b"data"]) == 11 * 3  # odd size, padded on disk (checked by _chunks)
    assert chunks[b"iXML"] == b"<A>x</A>"


@pytest.mark.parametrize(
    ("channels", "subtype", "tag", "mask"),
    [
        (1, "PCM_16", 1, None),
        (2, "PCM_16", 1, None),
        (2, "PCM_24", 0xFFFE, 0x3),
        (1, "PCM_24", 0xFFFE, 0x4),
        (6, "PCM_16", 0xFFFE, 0x3F),
        (8, "PCM_24", 0xFFFE, 0x63F),
        (3, "PCM_24", 0xFFFE, 0),
        (2, "FLOAT", 0xFFFE, 0x3),
    ],
)
def test_fmt_chunk(tmp_path: Path, channels: int, subtype: str, tag: int, mask: int | None) -> None:
    path = tmp_path / "a.wav"
    write_bwf(path, np.zeros((5, channels)), RATE, subtype=subtype)
    chunks = _chunks(path)
    fmt = chunks[b"fmt "]
    bits = SUBTYPES[subtype][0]
    fields = struct.unpack("<HHIIHH", fmt[:16])
    assert fields == (tag, channels, RATE, RATE * channels * bits // 8, channels * bits // 8, bits)
    if mask is None:
        assert len(fmt) == 16
    else:
        cb, valid, got_mask = struct.unpack("<HHI", fmt[16:24])
        assert (cb, valid, got_mask) == (22, bits, mask)
        sub_tag = 3 if subtype == "FLOAT" else 1
        assert fmt[24:40] == struct.pack("<IHH", sub_tag, 0, 0x10) + bytes.fromhex(
            "800000aa00389b71"
        )
    assert (b"fact" in chunks) == (subtype == "FLOAT")


def test_mono_from_1d_and_empty(tmp_path: Path) -> None:
    write_bwf(tmp_path / "mono.wav", np.linspace(-0.5, 0.5, 100), RATE)
    assert sf.info(tmp_path / "mono.wav").channels == 1
    write_bwf(tmp_path / "empty.wav", np.zeros((0, 2)), RATE)
    assert sf.info(tmp_path / "empty.wav").frames == 0


def test_deterministic_bytes_without_a_date(tmp_path: Path) -> None:
    data = _noise(500, 2)
    write_bwf(tmp_path / "a.wav", data, RATE, time_reference=5)
    write_bwf(tmp_path / "b.wav", data, RATE, time_reference=5)
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_atomic_replace_leaves_no_temporaries(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    write_bwf(path, _noise(100, 2), RATE)
    write_bwf(path, _noise(200, 2, seed=1), RATE)
    assert sf.info(path).frames == 200
    assert [p.name for p in tmp_path.iterdir()] == ["a.wav"]


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    write_bwf(path, _noise(100, 2), RATE)
    before = path.read_bytes()
    with pytest.raises(ValueError):
        write_bwf(path, _noise(100, 2), RATE, description="x" * 257)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["a.wav"]


def test_missing_folder_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_bwf(tmp_path / "nope" / "a.wav", _noise(10, 2), RATE)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"subtype": "PCM_8"}, "unsupported subtype"),
        ({"subtype": "MP3"}, "unsupported subtype"),
        ({"data": np.zeros((10, 2), dtype=np.int16)}, "floating point"),
        ({"data": np.zeros((2, 3, 4))}, "shape"),
        ({"data": np.array([0.0, np.nan])}, "NaN"),
        ({"data": np.array([0.0, np.inf])}, "NaN or infinite"),
        ({"data": np.zeros((10, 0))}, "channels"),
        ({"sample_rate": 0}, "sample_rate"),
        ({"sample_rate": 48000.0}, "sample_rate must be an integer"),
        ({"time_reference": -1}, "time_reference"),
        ({"time_reference": 1.5}, "time_reference must be an integer"),
        ({"time_reference": True}, "time_reference must be an integer"),
        ({"description": "x" * 257}, "description is 257"),
        ({"originator": "é"}, "ASCII"),
        ({"originator": "x" * 33}, "originator is 33"),
        ({"originator_reference": "x" * 33}, "originator_reference"),
        ({"origination_date": "2024-13-01"}, "YYYY-MM-DD"),
        ({"origination_date": "11/06/2024"}, "YYYY-MM-DD"),
        ({"origination_time": "25:00:00"}, "HH:MM:SS"),
        ({"coding_history": "ü"}, "ASCII"),
        ({"ixml": "<BWFXML><unclosed></BWFXML>"}, "well-formed"),
    ],
)
def test_invalid_arguments(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"data": np.zeros((10, 2)), "sample_rate": RATE}
    args.update(kwargs)
    data, rate = args.pop("data"), args.pop("sample_rate")
    with pytest.raises(ValueError, match=message):
        write_bwf(tmp_path / "a.wav", data, rate, **args)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_quantize_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="subtype"):
        quantize(np.zeros(3), "PCM_12")
    with pytest.raises(ValueError, match="floating point"):
        quantize(np.zeros(3, dtype=np.int32), "PCM_24")
