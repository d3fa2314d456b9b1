"""Analysis of audio files and stem sets, in one streaming pass.

Public surface:
    ANALYSIS_VERSION, OVERVIEW_COLUMNS, FINGERPRINT_BLOCK_S
    FileSpec (what to read), SetAnalysis (the result)
    analyze_set(files, *, mix=None, frame_rate=None, skip=()) -> SetAnalysis
    analyze_file(path) -> dict      one file, as a record
    decode_overview(record) -> (mins, maxs) as float arrays in [-1, 1]
    decode_levels(record) -> level envelope (dB per 50 ms; None = digital silence)
    decode_envelope(record) -> (hop_frames, dB per hop as a float array; -inf = silence) or None

A stem set is read in lockstep, one second at a time, every file through ``HashingFile`` so that
the sha256 of each file comes out of the same read as its samples. Per file it measures:
loudness (``audio.loudness``), a waveform overview (min/max per column), block fingerprints (a
hash of the PCM of each 1 s block: equal audio gives equal fingerprints whatever the header),
DC offset, L/R identity and polarity, clipped runs, a level envelope for the tail check, a fine
envelope (RMS every 5 ms) from which a diff without the audio can tell a stem moved in time; per
set, the null test (stems summed against the mix), with where in time the residual is worst.

The per-file result is the *analysis record*: a small JSON-safe dict, content-addressed by the
file's sha256, stored in the vault so that a clone without the audio can browse, diff and draw.
Files named in ``skip`` (their record is already known) are decoded only for the null test.
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from audio.errors import UnreadableAudio
from audio.loudness import LoudnessMeter
from audio.probe import Probe, probe
from audio.reader import HashingFile

__all__ = ["ANALYSIS_VERSION", "ENVELOPE_HOP_S", "FINGERPRINT_BLOCK_S", "OVERVIEW_COLUMNS", "FileSpec",
           "SetAnalysis", "analyze_file", "analyze_set", "bwf_metadata", "decode_envelope",
           "decode_levels", "decode_overview"]

# 2: adds the fine envelope ("envelope"); records of version 1 lack it and stay valid.
ANALYSIS_VERSION = 2
OVERVIEW_COLUMNS = 1024  # a 250-column terminal at zoom ×4
FINGERPRINT_BLOCK_S = 1.0
LEVEL_WINDOW_S = 0.05  # level envelope resolution: tail and noise floor
# Fine envelope: fine enough to estimate a shift in time within a few ms from the record alone
# (cross-correlating two envelopes, interpolating the peak), small once zlib-packed.
ENVELOPE_HOP_S = 0.005
TAIL_S = 0.1
CLIP_RUN = 3  # consecutive full-scale samples that count as clipping
_FULL_SCALE = 1.0 - 2.0 ** -23  # the largest positive 24-bit value, as a float

# WAVE_FORMAT_EXTENSIBLE channel masks of common layouts (Microsoft's speaker bits).
_MASK_LAYOUTS = {
    0x4: "mono", 0x3: "stereo", 0x7: "LCR", 0x33: "quad", 0x107: "LCRS", 0x37: "5.0", 0x607: "5.0",
    0x3F: "5.1", 0x60F: "5.1", 0x13F: "6.1", 0x70F: "6.1", 0x63F: "7.1", 0xFF: "7.1 (SDDS)",
    0x5063F: "7.1.2", 0x2D63F: "7.1.4", 0x2D60F: "5.1.4", 0x5060F: "5.1.2",
}
_LFE_BIT = 0x8
_SURROUND_BITS = 0x10 | 0x20 | 0x200 | 0x400 | 0x100  # back/side left/right, back centre


@dataclass(frozen=True)
class FileSpec:
    """A file to analyze: where it is and what it is called in the set."""

    path: Path
    name: str


@dataclass
class SetAnalysis:
    """What one pass over a stem set found.

    Attributes:
        records: analysis record per file name (None for files in ``skip``).
        sha256: sha256 of every file, by name.
        probes: header facts per file name.
        null_test: None without a mix; else {mix, residual_db, worst_s, worst_residual_db,
            stems, blocks_db (residual per 1 s block, dB relative to the mix's level)}.
    """

    records: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)
    probes: dict[str, Probe] = field(default_factory=dict)
    null_test: dict[str, Any] | None = None


def _db(x: float) -> float | None:
    return 10 * math.log10(x) if x > 0 and math.isfinite(x) else None


def _fmt_extras(path: Path) -> tuple[int | None, int | None]:
    """(channel mask, format tag) from a RIFF/RF64 ``fmt `` chunk, when there is one."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[8:12] != b"WAVE":
                return None, None
            size = os.fstat(f.fileno()).st_size
            pos = 12
            while pos + 8 <= size:
                f.seek(pos)
                cid, csize = struct.unpack("<4sI", f.read(8))
                if cid == b"fmt ":
                    body = f.read(min(csize, 40))
                    tag = struct.unpack("<H", body[:2])[0] if len(body) >= 2 else None
                    mask = struct.unpack("<I", body[20:24])[0] if tag == 0xFFFE and len(body) >= 24 else None
                    return mask, tag
                if cid == b"data":
                    return None, None
                pos += 8 + csize + (csize & 1)
    except OSError:
        pass
    return None, None


def layout_of(channels: int, mask: int | None) -> str:
    if mask:
        return _MASK_LAYOUTS.get(mask, f"{channels}ch mask 0x{mask:X}")
    return {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1", 12: "7.1.4"}.get(channels, f"{channels}ch")


def _weights(channels: int, mask: int | None) -> list[float] | None:
    """BS.1770 channel weights from the speaker mask (LFE 0, surrounds 1.41)."""
    if not mask or bin(mask).count("1") != channels:
        return None  # the meter's defaults by channel count
    out: list[float] = []
    bit = 1
    while len(out) < channels:
        if mask & bit:
            out.append(0.0 if bit == _LFE_BIT else 1.41 if bit & _SURROUND_BITS else 1.0)
        bit <<= 1
    return out


def bwf_metadata(path: Path) -> dict[str, Any]:
    """BWF ``bext`` and ``iXML`` facts (via wavinfo), or {} for files without them."""
    try:
        import wavinfo

        r = wavinfo.WavInfoReader(str(path))
    except Exception:  # wavinfo raises many types on non-WAV input
        return {}
    out: dict[str, Any] = {}
    if r.bext is not None:
        out["time_reference"] = int(r.bext.time_reference)
        out["bext"] = {"description": (r.bext.description or "").strip("\x00").strip(),
                       "originator": (r.bext.originator or "").strip("\x00").strip(),
                       "originator_reference": (r.bext.originator_ref or "").strip("\x00").strip()
                       if hasattr(r.bext, "originator_ref") else "",
                       "origination_date": getattr(r.bext, "originator_date", "") or "",
                       "origination_time": getattr(r.bext, "originator_time", "") or ""}
    if r.ixml is not None:
        try:
            tracks = [str(t.name) for t in (r.ixml.track_list or [])]
        except Exception:  # malformed iXML: keep what parsed
            tracks = []
        out["ixml"] = {"project": r.ixml.project, "scene": r.ixml.scene, "take": r.ixml.take,
                       "tracks": tracks}
    return out


def _cat(xs: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(xs) if xs else np.empty(0)


class _Binner:
    """Reduce a per-frame series into fixed-size bins across block boundaries."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._carry_hi = np.empty(0)
        self._carry_lo = np.empty(0)
        self._carry_sq = np.empty(0)
        self.hi: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []
        self.sq: list[np.ndarray] = []

    def push(self, hi: np.ndarray, lo: np.ndarray, sq: np.ndarray) -> None:
        hi = np.concatenate([self._carry_hi, hi])
        lo = np.concatenate([self._carry_lo, lo])
        sq = np.concatenate([self._carry_sq, sq])
        full = (len(hi) // self.size) * self.size
        if full:
            self.hi.append(hi[:full].reshape(-1, self.size).max(axis=1))
            self.lo.append(lo[:full].reshape(-1, self.size).min(axis=1))
            self.sq.append(sq[:full].reshape(-1, self.size).mean(axis=1))
        self._carry_hi, self._carry_lo, self._carry_sq = hi[full:], lo[full:], sq[full:]

    def finish(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if len(self._carry_hi):
            self.hi.append(np.array([self._carry_hi.max()]))
            self.lo.append(np.array([self._carry_lo.min()]))
            self.sq.append(np.array([self._carry_sq.mean()]))
            self._carry_hi = self._carry_lo = self._carry_sq = np.empty(0)
        return _cat(self.hi), _cat(self.lo), _cat(self.sq)


class _SqBinner:
    """Mean of a per-frame series over fixed-size bins, carried across block boundaries."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._carry = np.empty(0, dtype=np.float32)
        self.out: list[np.ndarray] = []

    def push(self, sq: np.ndarray) -> None:
        if len(self._carry):
            sq = np.concatenate([self._carry, sq])
        full = (len(sq) // self.size) * self.size
        if full:
            self.out.append(sq[:full].reshape(-1, self.size).mean(axis=1, dtype=np.float64))
        self._carry = sq[full:].copy()

    def finish(self) -> np.ndarray:
        if len(self._carry):
            self.out.append(np.array([float(self._carry.mean())]))
            self._carry = np.empty(0, dtype=np.float32)
        return _cat(self.out)


def _pack_db(mean_sq: np.ndarray) -> bytes:
    """Mean squares as bytes of 0.5 dB steps from -127 dB (0 = digital silence)."""
    with np.errstate(divide="ignore"):
        db = 10 * np.log10(np.asarray(mean_sq, dtype=np.float64))
    q = np.where(np.isfinite(db), np.clip(np.round((db + 127.5) * 2), 1, 255), 0)
    return q.astype(np.uint8).tobytes()


class _FileState:
    """Streaming analyzers of one file."""

    def __init__(self, spec: FileSpec, p: Probe, mask: int | None, *, full: bool) -> None:
        self.spec, self.probe, self.mask, self.full = spec, p, mask, full
        sr, ch = p.sample_rate, p.channels
        self.hf = HashingFile(spec.path)
        try:
            self.sf = sf.SoundFile(self.hf)
        except (sf.LibsndfileError, RuntimeError, ValueError) as e:
            self.hf.close()
            raise UnreadableAudio(f"{spec.name}: not readable as audio ({e})") from None
        self.is_float = p.subtype in ("FLOAT", "DOUBLE")
        self.frames_read = 0
        if not full:
            return
        self.meter = LoudnessMeter(sr, ch, channel_weights=_weights(ch, mask)) if sr >= 8000 else None
        self.fingerprints: list[str] = []
        self.overview = _Binner(max(1, math.ceil(p.frames / OVERVIEW_COLUMNS)))
        self.levels = _Binner(max(1, round(LEVEL_WINDOW_S * sr)))
        self.envelope = _SqBinner(max(1, round(ENVELOPE_HOP_S * sr)))
        self.sum = np.zeros(ch)
        self.lr = np.zeros(3)  # sum L*R, L*L, R*R
        self.lr_max_diff = 0.0
        self.lr_max_sum = 0.0
        self.clip_runs = 0
        self._run = np.zeros(ch, dtype=np.int64)
        self.peak = 0.0

    def read(self, frames: int, *, want: bool = True) -> np.ndarray | None:
        """Read the next ``frames`` frames and analyze them; return them as float64 (zeros past
        the end) when ``want`` — the null test needs exact sums — else None."""
        ch = self.probe.channels
        raw = self.sf.read(frames, dtype="float32" if self.is_float else "int32", always_2d=True)
        n = len(raw)
        if self.full and n:
            self._analyze(raw)
        self.frames_read += n
        if not want:
            return None
        x = raw.astype(np.float64)
        if not self.is_float:
            x *= 1.0 / 2**31
        if n < frames:
            x = np.vstack([x, np.zeros((frames - n, ch))])
        return x

    def _analyze(self, raw: np.ndarray) -> None:
        # float32 is plenty for measuring (24-bit audio fits its mantissa) and halves the traffic.
        x = raw.astype(np.float32)
        if not self.is_float:
            x *= np.float32(1.0 / 2**31)
        if self.meter is not None:
            self.meter.process(x)
        # sha1 (hardware-accelerated here) of the block's samples, 64 bits kept: a change
        # detector, not a security measure.
        self.fingerprints.append(hashlib.sha1(np.ascontiguousarray(raw).data.cast("B")).hexdigest()[:16])
        # Reductions across the (short) channel axis are slow in numpy: combine columns instead.
        cols = [x[:, c] for c in range(x.shape[1])]
        hi, lo = cols[0].copy(), cols[0].copy()
        sq = cols[0] * cols[0]
        for col in cols[1:]:
            np.maximum(hi, col, out=hi)
            np.minimum(lo, col, out=lo)
            sq += col * col
        sq /= len(cols)
        self.overview.push(hi, lo, sq)
        self.levels.push(hi, lo, sq)
        self.envelope.push(sq)
        block_peak = float(max(hi.max(), -lo.min()))
        self.peak = max(self.peak, block_peak)
        self.sum += [float(c.sum(dtype=np.float64)) for c in cols]
        if len(cols) == 2:
            left, right = cols
            self.lr += (float(np.dot(left, right)), float(np.dot(left, left)), float(np.dot(right, right)))
            d = left - right
            self.lr_max_diff = max(self.lr_max_diff, float(d.max()), float(-d.min()))
            d = np.add(left, right, out=d)
            self.lr_max_sum = max(self.lr_max_sum, float(d.max()), float(-d.min()))
        if block_peak >= _FULL_SCALE:
            self._count_clips(np.abs(x) >= _FULL_SCALE)
        else:
            self._run[:] = 0

    def _count_clips(self, full: np.ndarray) -> None:
        for c in range(full.shape[1]):
            col = full[:, c].astype(np.int8)
            edges = np.diff(np.concatenate([[0], col, [0]]))
            starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
            lengths = ends - starts
            if len(lengths) and starts[0] == 0:
                lengths[0] += self._run[c]  # a run continuing from the previous block
            self.clip_runs += int((lengths >= CLIP_RUN).sum())
            self._run[c] = lengths[-1] if len(lengths) and ends[-1] == len(col) else 0

    def record(self) -> dict[str, Any]:
        p = self.probe
        sr = p.sample_rate
        loud = self.meter.result().to_dict() if self.meter is not None else None
        hi, lo, _ = self.overview.finish()
        _, _, lsq = self.levels.finish()
        frames = max(self.frames_read, 1)
        level_db = [(_db(v) if v > 0 else None) for v in lsq]
        voiced = np.array([v for v in level_db if v is not None])
        floor = float(np.percentile(voiced, 5)) if len(voiced) else None
        tail_windows = max(1, round(TAIL_S / LEVEL_WINDOW_S))
        tail_sq = float(np.mean(lsq[-tail_windows:])) if len(lsq) else 0.0
        stereo: dict[str, Any] | None = None
        if p.channels == 2:
            lr, ll, rr = self.lr
            corr = lr / math.sqrt(ll * rr) if ll > 0 and rr > 0 else None
            stereo = {"identical": bool(self.lr_max_diff == 0.0 and self.peak > 0),
                      # -x quantizes to within one step of -(quantized x): allow a few LSBs
                      "inverted": bool(self.peak > 0 and self.lr_max_sum <= 4 * 2.0 ** -23),
                      "correlation": None if corr is None else round(float(corr), 6),
                      "max_difference_db": _db(self.lr_max_diff ** 2)}
        return {
            "analysis_version": ANALYSIS_VERSION,
            "sha256": self.hf.finish(),
            "size": self.hf.size,
            "format": p.format, "subtype": p.subtype, "sample_rate": sr, "bit_depth": p.bit_depth,
            "channels": p.channels, "layout": layout_of(p.channels, self.mask),
            "channel_mask": self.mask, "frames": self.frames_read, "lossy": p.lossy,
            "loudness": loud,
            "sample_peak_dbfs": _db(self.peak ** 2),
            "dc_offset_db": [_db((s / frames) ** 2) for s in self.sum],
            "clipped_runs": self.clip_runs,
            "stereo": stereo,
            "tail": {"last_100ms_db": _db(tail_sq), "noise_floor_db": floor},
            "overview": {
                "columns": len(hi),
                "frames_per_column": self.overview.size,
                "min": base64.b64encode(np.round(np.clip(lo, -1, 1) * 127).astype(np.int8).tobytes()).decode(),
                "max": base64.b64encode(np.round(np.clip(hi, -1, 1) * 127).astype(np.int8).tobytes()).decode(),
            },
            "levels": {
                "window_s": LEVEL_WINDOW_S,
                # 0.5 dB steps from -127 dB (0 = silence): small and enough for a tail or a curve
                "db": base64.b64encode(np.array(
                    [0 if v is None else max(1, min(255, round((v + 127.5) * 2))) for v in level_db],
                    dtype=np.uint8).tobytes()).decode(),
            },
            "envelope": {
                "hop_frames": self.envelope.size,
                "encoding": "zlib-u8-halfdb",  # zlib of bytes: 0 = silence, else dB = v/2 - 127.5
                "db": base64.b64encode(zlib.compress(_pack_db(self.envelope.finish()), 9)).decode(),
            },
            "fingerprints": {"block_s": FINGERPRINT_BLOCK_S, "block_frames": sr, "hashes": self.fingerprints},
        }

    def close(self) -> None:
        self.sf.close()
        self.hf.close()


def decode_overview(record: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The overview's (min, max) per column, as floats in [-1, 1]."""
    ov = record["overview"]
    lo = np.frombuffer(base64.b64decode(ov["min"]), dtype=np.int8).astype(np.float64) / 127
    hi = np.frombuffer(base64.b64decode(ov["max"]), dtype=np.int8).astype(np.float64) / 127
    return lo, hi


def decode_levels(record: dict[str, Any]) -> list[float | None]:
    """The level envelope (dB per LEVEL_WINDOW_S; None for digital silence)."""
    raw = np.frombuffer(base64.b64decode(record["levels"]["db"]), dtype=np.uint8)
    return [None if v == 0 else v / 2 - 127.5 for v in raw.tolist()]


def decode_envelope(record: dict[str, Any]) -> tuple[int, np.ndarray] | None:
    """The fine envelope: (frames per hop, dB per hop with -inf for silence); None when the
    record predates it (analysis version 1)."""
    env = record.get("envelope")
    if not env:
        return None
    raw = np.frombuffer(zlib.decompress(base64.b64decode(env["db"])), dtype=np.uint8)
    db = np.where(raw == 0, -np.inf, raw.astype(np.float64) / 2 - 127.5)
    return int(env["hop_frames"]), db


def analyze_set(files: list[FileSpec], *, mix: str | None = None, skip: frozenset[str] | set[str] = frozenset(),
                workers: int = 2) -> SetAnalysis:
    """One lockstep pass over ``files`` (see the module docstring).

    Raises:
        UnreadableAudio: a file cannot be read as audio (the message names it).
    """
    out = SetAnalysis()
    states: list[_FileState] = []
    try:
        for spec in files:
            p = probe(spec.path)
            out.probes[spec.name] = p
            mask, _ = _fmt_extras(spec.path)
            states.append(_FileState(spec, p, mask, full=spec.name not in skip))
        if not states:
            return out
        rates = {s.probe.sample_rate for s in states}
        # Files of one set share a rate; with mixed rates (an error the checks report) each file
        # still reads one second per step, and the null test is skipped.
        longest = max(s.probe.frames / s.probe.sample_rate for s in states)
        steps = math.ceil(longest) if longest > 0 else 0
        mix_state = next((s for s in states if s.spec.name == mix), None)
        stems = [s for s in states if s is not mix_state]
        can_null = (mix_state is not None and len(rates) == 1 and stems
                    and all(s.probe.channels == mix_state.probe.channels for s in stems))
        res_blocks: list[float] = []
        mix_blocks: list[float] = []
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for _ in range(steps):
                blocks = list(pool.map(lambda s: s.read(s.probe.sample_rate, want=bool(can_null)), states))
                if can_null:
                    assert mix_state is not None
                    m = blocks[states.index(mix_state)]
                    assert m is not None
                    total = np.zeros_like(m)
                    for s, b in zip(states, blocks, strict=True):
                        if s is not mix_state and b is not None:
                            total += b
                    res_blocks.append(float(np.sum((m - total) ** 2)))
                    mix_blocks.append(float(np.sum(m ** 2)))
        for s in states:
            out.sha256[s.spec.name] = s.hf.finish()
            out.records[s.spec.name] = s.record() if s.full else None
        if can_null and mix_state is not None:
            out.null_test = _null_result(mix_state, stems, res_blocks, mix_blocks)
    finally:
        for s in states:
            s.close()
    return out


def _null_result(mix: _FileState, stems: list[_FileState], res: list[float], ref: list[float]) -> dict[str, Any]:
    total_ref = sum(ref)
    total_res = sum(res)
    residual_db: float | None
    if total_ref <= 0:
        residual_db = None if total_res <= 0 else 0.0
    else:
        residual_db = None if total_res <= 0 else 10 * math.log10(total_res / total_ref)
    mean_ref = total_ref / max(1, len(ref))
    blocks_db = [None if r <= 0 or mean_ref <= 0 else round(10 * math.log10(r / mean_ref), 2) for r in res]
    worst = int(np.argmax(res)) if res and max(res) > 0 else None
    return {
        "mix": mix.spec.name,
        "stems": [s.spec.name for s in stems],
        "residual_db": None if residual_db is None else round(residual_db, 2),
        "worst_s": float(worst) if worst is not None else None,
        "worst_residual_db": blocks_db[worst] if worst is not None else None,
        "blocks_db": blocks_db,
    }


def analyze_file(path: Path) -> dict[str, Any]:
    """The analysis record of one file."""
    path = Path(path)
    result = analyze_set([FileSpec(path, path.name)])
    rec = result.records[path.name]
    assert rec is not None
    return rec
