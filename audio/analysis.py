"""Analysis of audio files and stem sets, in one streaming pass.

Public surface:
    ANALYSIS_VERSION, OVERVIEW_COLUMNS, FINGERPRINT_BLOCK_S
    FileSpec (what to read), SetAnalysis (the result)
    analyze_set(files, *, mix=None, skip=(), workers=None) -> SetAnalysis
    default_workers() -> int       STEMVAULT_ANALYSIS_WORKERS, else one per core
    analyze_file(path) -> dict      one file, as a record
    same_content(old, new) -> "same" | "metadata" | "audio" | None   two records' content compared
    SIGNIFICANT_FIELDS              the header facts that count (the rest of a header is volatile)
    decode_overview(record) -> (mins, maxs) as float arrays in [-1, 1]
    decode_levels(record) -> level envelope (dB per 50 ms as a float array; -inf = digital silence)
    decode_envelope(record) -> (hop_frames, dB per hop as a float array; -inf = silence) or None
        (both from audio.envelope, the one decoder of the records' curves: numpy only, no scipy)

Every file is read once, through ``HashingFile``, so that the sha256 of each file (and, for a
commit, its copy: ``FileSpec.copy_to``) comes out of the same read as its samples. A set of
more than about two minutes of audio is spread over worker processes (``workers``, default
one per core; ``audio._pool``): each analyzes a group of whole files of about equal work,
reading them in lockstep one second at a time. Threads were tried first: the per-block Python
work between numpy calls held the GIL and two threads on two cores mostly waited for each other.
The null test needs mix - sum of stems sample by sample: each group adds its own files with
their signs into an exact partial sum (int64 for PCM, float64 for float files) and ships it to
the parent every few seconds of audio, which adds the groups' sums and squares per 1 s block —
no second decode, memory bounded by a few seconds of audio per worker. A single file
(``analyze_file``) or a small set runs in this process, with no pool to start. Per file it measures:
loudness (``audio.loudness``), a waveform overview (min/max per column), block fingerprints (a
hash of the PCM of each 1 s block: equal audio gives equal fingerprints whatever the header),
the samples' identity (``samples_sha256``: a sha256 over the full sha1 digests of the 1 s blocks'
decoded samples — the fingerprints' own hashes, so it costs no second pass over the audio —
interleaved int32 at full scale 2**31 for PCM or float32 for float files: the same whatever
container, header or chunk order holds them) and the header facts that count (``header``: bext
TimeReference, iXML track names), DC offset, L/R identity and polarity, clipped runs, a level envelope for the tail check, a fine
envelope (RMS every 5 ms) from which a diff without the audio can tell a stem moved in time; per
set, the null test (stems summed against the mix), with where in time the residual is worst.

The per-file result is the *analysis record*: a small JSON-safe dict, content-addressed by the
file's sha256, stored in the vault so that a clone without the audio can browse, diff and draw.
Files named in ``skip`` (their record is already known) are decoded only for the null test.

Size (over the ~600-line rule, CONTRIBUTING.md): the per-file analyzers (``_FileState``) and the
pass that runs them in lockstep. ``_FileState`` is the part to move out.
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import soundfile as sf

from audio._nullsum import PCM_SCALE as _PCM_SCALE
from audio._nullsum import SEND_STEPS as _SEND_STEPS
from audio._nullsum import Emit as _Emit
from audio._nullsum import Null as _Null
from audio.envelope import decode_envelope, decode_levels
from audio.errors import AnalysisCancelled, AudioError, UnreadableAudio
from audio.layout import layout_of
from audio.loudness import LoudnessMeter
from audio.probe import Probe, probe
from audio.reader import HashingFile
from audio.riff import read_fmt
from audio.wavread import WavReader, wav_layout

if TYPE_CHECKING:
    import threading

__all__ = ["ANALYSIS_VERSION", "ENVELOPE_HOP_S", "FINGERPRINT_BLOCK_S", "OVERVIEW_COLUMNS", "SIGNIFICANT_FIELDS",
           "FileSpec", "SetAnalysis", "analyze_file", "analyze_set", "bwf_metadata",
           "decode_envelope", "decode_levels", "decode_overview", "default_workers", "header_facts",
           "same_content"]

# 2: adds the fine envelope ("envelope"); records of version 1 lack it and stay valid.
# 3: adds "samples_sha256" and "header" (what same_content compares); older records lack them
#    and stay valid: they just cannot tell a re-export of the same audio (same_content: None).
ANALYSIS_VERSION = 3
OVERVIEW_COLUMNS = 1024  # a 250-column terminal at zoom ×4
FINGERPRINT_BLOCK_S = 1.0
LEVEL_WINDOW_S = 0.05  # level envelope resolution: tail and noise floor
# Fine envelope: fine enough to estimate a shift in time within a few ms from the record alone
# (cross-correlating two envelopes, interpolating the peak), small once zlib-packed.
ENVELOPE_HOP_S = 0.005
TAIL_S = 0.1
CLIP_RUN = 3  # consecutive full-scale samples that count as clipping
_FULL_SCALE = 1.0 - 2.0 ** -23  # the largest positive 24-bit value, as a float
_FAST_SUBTYPES = ("PCM_16", "PCM_24", "PCM_32", "FLOAT")  # what audio.wavread reads

_LFE_BIT = 0x8
_SURROUND_BITS = 0x10 | 0x20 | 0x200 | 0x400 | 0x100  # back/side left/right, back centre


@dataclass(frozen=True)
class FileSpec:
    """A file to analyze: where it is and what it is called in the set."""

    path: Path
    name: str
    copy_to: Path | None = None  # also write the file's bytes here, as they are read (a copy for free)


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
    """BWF ``bext`` and ``iXML`` facts (via wavinfo), or {} for files without them (not WAV).

    A WAV whose metadata chunks cannot be parsed gives ``{"bwf_error": why}``: a corrupt
    ``bext`` is a finding (``bwf-unreadable``), never taken for "no start timecode". An iXML
    chunk that cannot be read gives ``{"ixml_error": why}`` beside the bext's fields
    (``ixml-unreadable``), never an empty track list passed off as the file's.
    """
    import wavinfo  # a declared dependency: failing to import it is a broken install, said as such

    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return {}  # the analysis reports an unreadable file
    if head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
        return {}  # FLAC, AIFF...: no bext
    try:
        r = wavinfo.WavInfoReader(str(path))
    except Exception as e:  # wavinfo's parsers raise struct.error, ValueError, KeyError... on bad chunks
        return {"bwf_error": f"{type(e).__name__}: {e}"}
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
            out["ixml"] = {"project": r.ixml.project, "scene": r.ixml.scene, "take": r.ixml.take,
                           "tracks": tracks}
        except Exception as e:  # wavinfo/lxml on a malformed iXML: said (ixml-unreadable), bext kept
            out["ixml_error"] = f"{type(e).__name__}: {e}"
    return out


def _cat(xs: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(xs) if xs else np.empty(0)


class _MinMaxBinner:
    """Max and min of a per-frame series over fixed-size bins, carried across block boundaries."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._carry_hi = np.empty(0, dtype=np.float32)
        self._carry_lo = np.empty(0, dtype=np.float32)
        self.hi: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []

    def push(self, hi: np.ndarray, lo: np.ndarray) -> None:
        if len(self._carry_hi):
            hi = np.concatenate([self._carry_hi, hi])
            lo = np.concatenate([self._carry_lo, lo])
        full = (len(hi) // self.size) * self.size
        if full:
            self.hi.append(hi[:full].reshape(-1, self.size).max(axis=1))
            self.lo.append(lo[:full].reshape(-1, self.size).min(axis=1))
        self._carry_hi, self._carry_lo = hi[full:].copy(), lo[full:].copy()

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self._carry_hi):
            self.hi.append(np.array([self._carry_hi.max()]))
            self.lo.append(np.array([self._carry_lo.min()]))
            self._carry_hi = self._carry_lo = np.empty(0, dtype=np.float32)
        return _cat(self.hi), _cat(self.lo)


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
            self.out.append(np.array([float(self._carry.mean(dtype=np.float64))]))
            self._carry = np.empty(0, dtype=np.float32)
        return _cat(self.out)


def _pack_db(mean_sq: np.ndarray) -> bytes:
    """Mean squares as bytes of 0.5 dB steps from -127 dB (0 = digital silence)."""
    with np.errstate(divide="ignore"):
        db = 10 * np.log10(np.asarray(mean_sq, dtype=np.float64))
    q = np.where(np.isfinite(db), np.clip(np.round((db + 127.5) * 2), 1, 255), 0)
    return q.astype(np.uint8).tobytes()


@dataclass(frozen=True)
class _Job:
    """One file for a group of the pass (picklable: it travels to a worker process)."""

    spec: FileSpec
    probe: Probe
    mask: int | None
    full: bool  # measure it (False: its record is known; hash it, decode it for the null test)
    sign: int  # in the null test: +1 the mix, -1 a stem, 0 not part of it

    @property
    def cost(self) -> float:
        """Relative work, to balance groups: decoding is ~1/6 of measuring."""
        return self.probe.frames * self.probe.channels * (1.0 if self.full else 0.15)


class _FileState:
    """Streaming analyzers of one file."""

    def __init__(self, job: _Job) -> None:
        spec, p = job.spec, job.probe
        self.spec, self.probe, self.mask, self.full = spec, p, job.mask, job.full
        sr, ch = p.sample_rate, p.channels
        self._tee = None
        if spec.copy_to is not None:
            try:
                self._tee = open(spec.copy_to, "wb")  # noqa: SIM115 - closed in close()
            except OSError as e:
                raise UnreadableAudio(f"{spec.name}: cannot copy it to {spec.copy_to} ({e.strerror})") from None
        self.size = 0  # the file's, known once it has been hashed to its end
        self.hf: HashingFile | None = None
        self.wav: WavReader | None = None
        self.sf: sf.SoundFile | None = None
        self.frames_read = 0
        self.is_float = p.subtype in ("FLOAT", "DOUBLE")
        decode = job.full or bool(job.sign)
        # Plain PCM/float WAV: read by audio.wavread (big reads, numpy unpacking, the same
        # samples); anything else, or a file libsndfile sees differently, through soundfile.
        lay = wav_layout(spec.path) if decode and p.subtype in _FAST_SUBTYPES else None
        if lay is not None and (lay.frames, lay.channels, lay.is_float) != (p.frames, ch, p.subtype == "FLOAT"):
            lay = None
        try:
            if lay is not None:
                self.wav = WavReader(spec.path, lay, tee=self._tee)
            else:
                self.hf = HashingFile(spec.path, tee=self._tee)
        except OSError as e:
            self.close()
            raise UnreadableAudio(f"{spec.name}: cannot read it ({e.strerror})") from None
        if not decode:
            return  # hashed only, by finish()
        if self.hf is not None:
            try:
                self.sf = sf.SoundFile(self.hf)
            except (sf.LibsndfileError, RuntimeError, ValueError) as e:
                self.close()
                raise UnreadableAudio(f"{spec.name}: not readable as audio ({e})") from None
        if not self.full:
            return
        self.meter = LoudnessMeter(sr, ch, channel_weights=_weights(ch, self.mask)) if sr >= 8000 else None
        self.fingerprints: list[str] = []
        self.samples = hashlib.sha256()  # the samples' identity, whatever the header: over the blocks' sha1s
        self.overview = _MinMaxBinner(max(1, math.ceil(p.frames / OVERVIEW_COLUMNS)))
        self.levels = _SqBinner(max(1, round(LEVEL_WINDOW_S * sr)))
        self.envelope = _SqBinner(max(1, round(ENVELOPE_HOP_S * sr)))
        self.sum = np.zeros(ch)
        self.lr = np.zeros(3)  # sum L*R, L*L, R*R
        self.lr_max_diff = 0.0
        self.lr_max_sum = 0.0
        self.clip_runs = 0
        self._run = np.zeros(ch, dtype=np.int64)
        self.peak = 0.0

    def read(self, frames: int) -> np.ndarray | None:
        """Read (and, for a measured file, analyze) the next ``frames`` frames, as libsndfile
        gives them: int32 (full scale 2**31) for PCM, float32 for float files. None when the
        file is only hashed."""
        if self.wav is not None:
            try:
                raw = self.wav.read(frames)
            except OSError as e:
                raise UnreadableAudio(f"{self.spec.name}: cannot read it ({e.strerror})") from None
        elif self.sf is None:
            return None
        else:
            try:
                raw = self.sf.read(frames, dtype="float32" if self.is_float else "int32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError, ValueError) as e:
                raise UnreadableAudio(f"{self.spec.name}: not readable as audio ({e})") from None
        if self.full and len(raw):
            self._analyze(raw)
        self.frames_read += len(raw)
        return raw

    def _analyze(self, raw: np.ndarray) -> None:
        # One pass to float32 in channel rows: every reduction below, the K-weighting filter and
        # the true-peak scan then read contiguous memory. float32 holds 24-bit PCM exactly.
        xt = np.array(raw.T, dtype=np.float32, order="C")
        if not self.is_float:
            xt *= np.float32(1.0 / 2**31)
        rows = list(xt)
        if len(rows) == 1:
            hi, lo = rows[0], rows[0]
            sq = rows[0] * rows[0]
        else:
            hi, lo = np.maximum(rows[0], rows[1]), np.minimum(rows[0], rows[1])
            sq = rows[0] * rows[0]
            sq += rows[1] * rows[1]
            for row in rows[2:]:
                np.maximum(hi, row, out=hi)
                np.minimum(lo, row, out=lo)
                sq += row * row
            sq *= np.float32(1.0 / len(rows))
        top, bottom = float(hi.max()), float(lo.min())
        if not (math.isfinite(top) and math.isfinite(bottom)):
            raise UnreadableAudio(f"{self.spec.name}: holds NaN or infinite samples: the file is corrupt; "
                                  "export it again")
        block_peak = max(top, -bottom)
        if self.meter is not None:
            self.meter._process_rows(xt, block_peak)
        # sha1 (hardware-accelerated here) of the block's samples, 64 bits kept: a change
        # detector, not a security measure. The whole digest feeds the samples' identity: one
        # pass over the samples for both (a second sha256 of every sample cost ~0.6 ms per
        # second of stereo audio, as much as the K-weighting). A collision could only make a
        # commit keep the vault's own earlier file.
        digest = hashlib.sha1(np.ascontiguousarray(raw).data.cast("B")).digest()
        self.fingerprints.append(digest.hex()[:16])
        self.samples.update(digest)
        self.overview.push(hi, lo)
        self.levels.push(sq)
        self.envelope.push(sq)
        self.peak = max(self.peak, block_peak)
        self.sum += [float(row.sum(dtype=np.float64)) for row in rows]
        if len(rows) == 2:
            left, right = rows
            self.lr += (float(np.dot(left, right)), float(np.dot(left, left)), float(np.dot(right, right)))
            d = left - right
            self.lr_max_diff = max(self.lr_max_diff, float(d.max()), float(-d.min()))
            d = np.add(left, right, out=d)
            self.lr_max_sum = max(self.lr_max_sum, float(d.max()), float(-d.min()))
        if block_peak >= _FULL_SCALE:
            self._count_clips(np.abs(xt) >= _FULL_SCALE)
        else:
            self._run[:] = 0

    def _count_clips(self, full: np.ndarray) -> None:
        """``full``: (channels, frames) booleans, sample at full scale."""
        for c in range(full.shape[0]):
            col = full[c].astype(np.int8)
            edges = np.diff(np.concatenate([[0], col, [0]]))
            starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
            lengths = ends - starts
            if len(lengths) and starts[0] == 0:
                lengths[0] += self._run[c]  # a run continuing from the previous block
            self.clip_runs += int((lengths >= CLIP_RUN).sum())
            self._run[c] = lengths[-1] if len(lengths) and ends[-1] == len(col) else 0

    def finish(self) -> tuple[str, dict[str, Any] | None]:
        """(sha256, record or None): what the file gave, once it has been read to its end."""
        src = self.wav if self.wav is not None else self.hf
        assert src is not None
        try:
            sha = src.finish()
        except OSError as e:
            raise UnreadableAudio(f"{self.spec.name}: cannot read it ({e.strerror})") from None
        self.size = src.size
        if self._tee is not None:
            self._tee.close()
        return sha, (self.record(sha) if self.full else None)

    def record(self, sha: str) -> dict[str, Any]:
        p = self.probe
        sr = p.sample_rate
        loud = self.meter.result().to_dict() if self.meter is not None else None
        hi, lo = self.overview.finish()
        lsq = self.levels.finish()
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
            "sha256": sha,
            "size": self.size,
            "format": p.format, "subtype": p.subtype, "sample_rate": sr, "bit_depth": p.bit_depth,
            "channels": p.channels, "layout": layout_of(p.channels, self.mask),
            "channel_mask": self.mask, "frames": self.frames_read, "lossy": p.lossy,
            "samples_sha256": self.samples.hexdigest(),
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
        if self.sf is not None:
            self.sf.close()
        if self.hf is not None:
            self.hf.close()
        if self.wav is not None:
            self.wav.close()
        if self._tee is not None:
            self._tee.close()


def decode_overview(record: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """The overview's (min, max) per column, as floats in [-1, 1]."""
    ov = record["overview"]
    lo = np.frombuffer(base64.b64decode(ov["min"]), dtype=np.int8).astype(np.float64) / 127
    hi = np.frombuffer(base64.b64decode(ov["max"]), dtype=np.int8).astype(np.float64) / 127
    return lo, hi


# -- one pass over a set ---------------------------------------------------------------------------
#
# Files are split into groups (one per worker process) of about equal work; each group reads its
# files in lockstep, one second per file per step. The null test needs, per 1 s block, the energy
# of mix - sum of stems, sample by sample: each group adds up its own files with their signs
# (+mix, -stems) into an exact partial sum (int64 for PCM, float64 for float files), and ships it
# _SEND_STEPS seconds at a time to the parent, which adds the groups' partials and squares. So no
# file is decoded twice, and the groups only wait for each other every few seconds of audio.

_MIN_PARALLEL_SAMPLES = 48000 * 2 * 120  # below ~2 min of stereo audio a pool costs more than it saves


def default_workers() -> int:
    """Worker processes for a set: STEMVAULT_ANALYSIS_WORKERS, else one per core (at most 8)."""
    raw = os.environ.get("STEMVAULT_ANALYSIS_WORKERS")
    if raw is None or not raw.strip():
        return max(1, min(os.cpu_count() or 1, 8))
    env = raw.strip()
    if not (env.isascii() and env.isdigit()) or int(env) < 1:
        # A value that does not parse must not silently become the default: say so.
        raise AudioError(f"environment variable STEMVAULT_ANALYSIS_WORKERS={raw!r} must be a whole number "
                         "of worker processes ≥ 1: fix it, or unset it for one per core")
    return int(env)


class _LocalEmit(_Emit):
    def __init__(self, null: _Null) -> None:
        self.null = null

    def partial(self, k0: int, ints: np.ndarray | None, floats: np.ndarray | None, mix_sq: list[float]) -> None:
        self.null.add(ints, floats, mix_sq)


def _run_group(jobs: list[_Job], steps: int, null_block: int | None, emit: _Emit,
               alive: Any = None) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Read ``jobs`` in lockstep for ``steps`` seconds; return (name, sha256, record) per file.

    With ``null_block`` (frames per 1 s block, the set's rate), accumulate the signed partial
    sums of the null test and hand them to ``emit`` every _SEND_STEPS steps."""
    states: list[_FileState] = []
    try:
        for job in jobs:
            states.append(_FileState(job))
        ch = jobs[0].probe.channels
        plan = [(s, j.sign if null_block else 0) for s, j in zip(states, jobs, strict=True)]
        signed = [s for s, sign in plan if sign]
        any_int = any(not s.is_float for s in signed)
        any_float = any(s.is_float for s in signed)
        span = (null_block or 0) * _SEND_STEPS
        ints = np.zeros((span, ch), dtype=np.int64) if any_int else None
        floats = np.zeros((span, ch), dtype=np.float64) if any_float else None
        mix_sq: list[float] = []
        k0 = 0
        for k in range(steps):
            if alive is not None:
                alive()
            off = (k - k0) * (null_block or 0)
            for s, sign in plan:
                raw = s.read(s.probe.sample_rate)
                if raw is None or not sign:
                    continue
                n = len(raw)
                acc = floats if s.is_float else ints
                assert acc is not None
                part = acc[off:off + n]
                (np.add if sign > 0 else np.subtract)(part, raw, out=part, casting="unsafe")
                if sign > 0:
                    m = raw.astype(np.float64).ravel()
                    if not s.is_float:
                        m *= _PCM_SCALE
                    mix_sq.append(float(np.dot(m, m)))
            if null_block and (k + 1 - k0 == _SEND_STEPS or k + 1 == steps):
                used = (k + 1 - k0) * null_block
                emit.partial(k0, None if ints is None else ints[:used], None if floats is None else floats[:used],
                             mix_sq)
                if ints is not None:
                    ints[:] = 0
                if floats is not None:
                    floats[:] = 0
                mix_sq = []
                k0 = k + 1
        return [(s.spec.name, *s.finish()) for s in states]
    finally:
        for s in states:
            s.close()


def _partition(jobs: list[_Job], n: int) -> list[list[_Job]]:
    """Split into ``n`` groups of about equal work (largest first, each to the lightest group);
    each group keeps the set's order."""
    groups: list[list[_Job]] = [[] for _ in range(n)]
    loads = [0.0] * n
    for job in sorted(jobs, key=lambda j: -j.cost):
        i = loads.index(min(loads))
        groups[i].append(job)
        loads[i] += job.cost
    order = {id(j): i for i, j in enumerate(jobs)}
    return [sorted(g, key=lambda j: order[id(j)]) for g in groups if g]


def _watch(jobs: list[_Job], progress: Callable[[str, float], None] | None,
           cancel: threading.Event | None) -> Callable[[int], None] | None:
    """What the pass calls with the seconds read so far (each file reads one per step): raises
    AnalysisCancelled once ``cancel`` is set, reports each unfinished file's share to ``progress``."""
    if progress is None and cancel is None:
        return None
    spans = {j.spec.name: max(1, math.ceil(j.probe.frames / j.probe.sample_rate)) for j in jobs}
    shown: dict[str, float] = {}

    def report(done: int) -> None:
        if cancel is not None and cancel.is_set():
            raise AnalysisCancelled("the analysis was cancelled")
        if progress is not None:
            for name, n in spans.items():
                share = min(1.0, done / n)
                if shown.get(name) != share:
                    shown[name] = share
                    progress(name, share)

    return report


def _counting(report: Callable[[int], None]) -> Callable[[], None]:
    """``_run_group``'s ``alive`` (called before each step) as a step counter for ``report``."""
    step = [0]

    def alive() -> None:
        report(step[0])
        step[0] += 1

    return alive


def analyze_set(files: list[FileSpec], *, mix: str | None = None, skip: frozenset[str] | set[str] = frozenset(),
                workers: int | None = None, progress: Callable[[str, float], None] | None = None,
                cancel: threading.Event | None = None) -> SetAnalysis:
    """One pass over ``files`` (see the module docstring): every file is read once.

    Args:
        files: what to read.
        mix: the name of the mix, for the null test (all the other files are its stems).
        skip: names whose record is already known: hashed (and decoded for the null test) only.
        workers: processes to spread the files over; None = ``default_workers()`` for sets of
            more than about two minutes of audio, one (in this process) for smaller ones. 1 never
            starts a process.
        progress: called (in the calling thread) with a file's name and the share of it read,
            0.0 to 1.0, as the pass goes on.
        cancel: checked between blocks (and while waiting for worker processes): once set,
            the pass stops (the workers are ended) and AnalysisCancelled is raised.

    Raises:
        UnreadableAudio: a file cannot be read as audio (the message names it).
        AnalysisCancelled: ``cancel`` was set.
    """
    if cancel is not None and cancel.is_set():
        raise AnalysisCancelled("the analysis was cancelled")
    auto = default_workers() if workers is None else workers  # a bad setting fails before any read
    out = SetAnalysis()
    jobs: list[_Job] = []
    for spec in files:
        p = probe(spec.path)
        out.probes[spec.name] = p
        fmt = read_fmt(spec.path)
        mask = fmt.channel_mask if fmt is not None else None
        jobs.append(_Job(spec, p, mask, spec.name not in skip, 0))
    if not jobs:
        return out
    rates = {j.probe.sample_rate for j in jobs}
    # Files of one set share a rate; with mixed rates (an error the checks report) each file
    # still reads one second per step, and the null test is skipped.
    longest = max(j.probe.frames / j.probe.sample_rate for j in jobs)
    steps = math.ceil(longest) if longest > 0 else 0
    mix_job = next((j for j in jobs if j.spec.name == mix), None)
    stems = [j for j in jobs if j is not mix_job]
    can_null = bool(mix_job is not None and len(rates) == 1 and stems
                    and all(j.probe.channels == mix_job.probe.channels for j in stems))
    if can_null:
        jobs = [_Job(j.spec, j.probe, j.mask, j.full, 1 if j is mix_job else -1) for j in jobs]
    null_block = rates.pop() if can_null else None
    n = workers if workers is not None else (
        auto if sum(j.cost for j in jobs) >= _MIN_PARALLEL_SAMPLES else 1)
    groups = _partition(jobs, max(1, min(n, len(jobs))))
    null = _Null(len(groups), null_block, jobs[0].probe.channels) if null_block else None
    report = _watch(jobs, progress, cancel)
    if len(groups) == 1:
        results = _run_group(groups[0], steps, null_block, _LocalEmit(null) if null else _Emit(),
                             None if report is None else _counting(report))
    else:
        from audio import _pool  # only where a pool is used

        results = _pool.run_groups(_run_group, groups, steps, null_block, null, tick=report)
    if report is not None:
        report(steps)
    paths = {j.spec.name: j.spec.path for j in jobs}
    for name, sha, rec in results:
        out.sha256[name] = sha
        if rec is not None:
            rec["header"] = header_facts(paths[name])
        out.records[name] = rec
    out.records = {j.spec.name: out.records[j.spec.name] for j in jobs}
    out.sha256 = {j.spec.name: out.sha256[j.spec.name] for j in jobs}
    if null is not None and mix_job is not None:
        out.null_test = _null_result(mix_job.spec.name, [j.spec.name for j in stems], null.res, null.ref)
    return out


def _null_result(mix: str, stems: list[str], res: list[float], ref: list[float]) -> dict[str, Any]:
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
        "mix": mix,
        "stems": stems,
        "residual_db": None if residual_db is None else round(residual_db, 2),
        "worst_s": float(worst) if worst is not None else None,
        "worst_residual_db": blocks_db[worst] if worst is not None else None,
        "blocks_db": blocks_db,
    }




# What makes two files of the same samples different content: the format and these header facts.
# Everything else in a header is volatile — bext Description, Originator, OriginatorReference,
# OriginationDate/Time, CodingHistory, UMID, bext loudness fields, iXML fields other than the
# track names (a DAW stamps a new FILE_UID, date or note on every bounce), chunk order, padding
# (JUNK/PAD), unknown chunks — and a re-export that changes only those keeps the vault's file
# (docs/delta-notation.md, "Re-exports").
SIGNIFICANT_FIELDS = ("format", "subtype", "sample_rate", "bit_depth", "channels", "channel_mask", "layout",
                      "frames", "header.time_reference", "header.ixml_tracks")


def header_facts(path: Path) -> dict[str, Any]:
    """The header facts of a file that count (see SIGNIFICANT_FIELDS): the bext TimeReference
    (its start, samples since midnight) and the iXML track names; None where absent."""
    meta = bwf_metadata(path)
    ixml = meta.get("ixml")
    return {"time_reference": meta.get("time_reference"),
            "ixml_tracks": list(ixml.get("tracks") or []) if ixml else None}


def _significant(rec: dict[str, Any]) -> tuple[Any, ...]:
    head = rec.get("header") or {}

    def get(k: str) -> Any:
        if k.startswith("header."):
            return head.get(k.split(".", 1)[1])
        if k == "layout" and isinstance(rec.get("channels"), int):
            # named from channels and mask by today's rule: a record written when 6 unmarked
            # channels were called "5.1" (now "6ch") holds the same header
            return layout_of(rec["channels"], rec.get("channel_mask"))
        return rec.get(k)

    return tuple(get(k) for k in SIGNIFICANT_FIELDS)


def same_content(old: dict[str, Any] | None, new: dict[str, Any] | None) -> str | None:
    """How two files' content compares, from their records: ``"same"`` (the same samples and
    the same significant header facts: only volatile fields differ), ``"metadata"`` (the same
    samples, a real header change: start, track names, format...), ``"audio"`` (other samples),
    or None when a record is missing or older than analysis version 3 (it cannot tell)."""
    if not old or not new:
        return None
    a, b = old.get("samples_sha256"), new.get("samples_sha256")
    if not a or not b or "header" not in old or "header" not in new:
        return None
    if a != b or old.get("frames") != new.get("frames") or old.get("channels") != new.get("channels"):
        return "audio"
    return "same" if _significant(old) == _significant(new) else "metadata"


def analyze_file(path: Path) -> dict[str, Any]:
    """The analysis record of one file."""
    path = Path(path)
    result = analyze_set([FileSpec(path, path.name)])
    rec = result.records[path.name]
    assert rec is not None
    return rec
