"""Source separation of a finished mix (HT-Demucs exported to ONNX, run by onnxruntime).

Why this module exists: when the session is lost, a mix is all there is. Demucs-style models
predict stems that do not sum back to the mix; here the stems are quantized to 24 bits first and
a ``residual`` stem is computed in the integer domain, so that ``stems + residual == mix``
sample for sample — the set nulls by construction, and the residual's level is the honest
quality figure of the separation.

The runtime is optional (``pip install 'stemvault[separate]'``: onnxruntime): it is imported
only inside ``load_model``. Weights are never downloaded: ``load_model`` reads ``NAME.onnx`` from
a folder the caller names. The graph contract is demucs-onnx's export of htdemucs / htdemucs_6s:
one input ``mix`` of shape (1, 2, segment) float32 at 44.1 kHz, one output ``stems`` of shape
(1, sources, 2, segment); the source names come from the model's metadata (``sources``, comma
separated) or, without it, from the source count (4: drums, bass, other, vocals; 6: and guitar,
piano).

Public surface:
    MODEL_RATE, SOURCES_4, SOURCES_6, RUNTIME_HINT
    Model, load_model(folder, name) -> Model
    MixFacts, check_mix(path) -> MixFacts       refuses what cannot be separated (SeparationError)
    Separation, separate(path, model, outputs, *, overlap, progress, cancel) -> Separation
        streams the mix through the model segment by segment and writes the stems and the residual
        as 24-bit BWF at the mix's rate, length and start timecode.
    resample_range(get, j0, j1, up, down) -> array   a window of scipy's resample_poly of a
        whole signal, computed from a window of the signal (the streaming resampler).

Memory is bounded by the segment, not the mix: the mix is read window by window, the model's
outputs are overlap-added in a buffer of one segment, and finished samples are resampled back
and written at once.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from audio.errors import AnalysisCancelled, SeparationError
from audio.probe import LOSSLESS_HINT, codec_name, probe

__all__ = ["MIN_SECONDS", "MODEL_RATE", "RUNTIME_HINT", "SOURCES_4", "SOURCES_6", "MixFacts", "Model",
           "Separation", "check_mix", "load_model", "resample_range", "separate"]

MODEL_RATE = 44100  # what every Demucs model is trained at
SOURCES_4 = ("drums", "bass", "other", "vocals")
SOURCES_6 = (*SOURCES_4, "guitar", "piano")
DEFAULT_SEGMENT = 343980  # 7.8 s at 44.1 kHz: demucs-onnx's fixed export, htdemucs's training segment
MIN_SECONDS = 1.0  # shorter than this, a separation says nothing (htdemucs sees 7.8 s at a time)
RUNTIME_HINT = ("separation needs its optional runtime: pip install 'stemvault[separate]' "
                "(onnxruntime, about 80 MB, no torch)")
_FULL = 1 << 23  # 24-bit full scale
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_READ = 1 << 18  # frames per block when scanning the mix
_MAX_SHIFT = MODEL_RATE // 2  # Demucs's largest shift: 0.5 s


# --- the model ----------------------------------------------------------------------------------


@dataclass
class Model:
    """An ONNX separation model loaded from local files.

    Attributes:
        name: the name asked for (``htdemucs``, ``htdemucs_6s``, ``htdemucs_ft``): the file is
            ``NAME.onnx``, or for a bag of specialists (htdemucs_ft) ``NAME_drums.onnx``,
            ``NAME_bass.onnx``, ``NAME_other.onnx`` and ``NAME_vocals.onnx``.
        path: the file (the first specialist's for a bag).
        sha256: the file's hash (for a bag: of the specialists' hashes, in source order): which
            weights made the stems.
        sources: the stem of each output row, in order.
        segment: frames (at 44.1 kHz) the model takes at a time.
        runtime: ``onnxruntime X.Y.Z``.
        files: each file's name and sha256.
        session: the onnxruntime session (the first specialist's for a bag).
        rows: for a bag, the row each specialist contributes (its own source), in ``sources``
            order; empty for one model that gives every source.
    """

    name: str
    path: Path
    sha256: str
    sources: tuple[str, ...]
    segment: int
    runtime: str
    session: Any = field(repr=False)
    files: dict[str, str] = field(default_factory=dict)
    specialists: tuple[Any, ...] = field(default=(), repr=False)

    def run(self, x: np.ndarray) -> np.ndarray:
        """The model on one segment: ``x`` (2, segment) float32 → (sources, 2, segment) float32.

        A bag runs each specialist and keeps the row of its own source (Demucs's bag weights for
        htdemucs_ft are one-hot: the same result as the bag)."""
        feed = {"mix": x[np.newaxis].astype(np.float32, copy=False)}
        if self.specialists:
            out = np.stack([np.asarray(sess.run(["stems"], feed)[0][0][i], dtype=np.float32)
                            for i, sess in enumerate(self.specialists)])
        else:
            out = np.asarray(self.session.run(["stems"], feed)[0][0], dtype=np.float32)
        want = (len(self.sources), 2, x.shape[-1])
        if out.shape != want:  # a graph that does not keep its own contract: said, not a crash
            raise SeparationError(f"{self.path.name} returned stems of shape {out.shape} for a segment of "
                                  f"{x.shape[-1]} frames, not {want}: it is not a model stemvault can drive")
        return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def load_model(folder: Path, name: str) -> Model:
    """Load ``folder/NAME.onnx`` with onnxruntime (CPU) — or, where there is no such file, the
    bag of four specialists ``folder/NAME_{drums,bass,other,vocals}.onnx`` (htdemucs_ft as
    demucs-onnx exports it).

    Raises:
        SeparationError: onnxruntime is not installed (RUNTIME_HINT), the folder or the file is
            missing or an LFS pointer (one line saying which file to put where), or the graph is
            not a separation model stemvault can drive.
    """
    if not _NAME.fullmatch(name or ""):
        raise SeparationError(f"model name {name!r}: use the model's file name without .onnx, e.g. htdemucs")
    try:
        import onnxruntime as ort  # the optional extra: only here
    except ImportError:
        raise SeparationError(RUNTIME_HINT) from None
    folder = Path(folder).expanduser()
    path = folder / f"{name}.onnx"
    bag = [folder / f"{name}_{s}.onnx" for s in SOURCES_4]
    what = f"{name}.onnx (the ONNX export of {name}, e.g. from the demucs-onnx project's models)"
    if name.endswith("_ft"):
        what = f"{name}.onnx, or the four specialists {', '.join(p.name for p in bag)},"
    where = f"put {what} in {folder}, or name another folder with --model-repo DIR: stemvault never downloads weights"
    if not folder.is_dir():
        raise SeparationError(f"model folder {folder} does not exist: {where}")
    if path.is_file():
        paths = [path]
    elif any(p.is_file() for p in bag):
        missing = [p.name for p in bag if not p.is_file()]
        if missing:
            raise SeparationError(f"{folder} holds some of the specialists of {name} but not "
                                  f"{', '.join(missing)}: {where}")
        paths = bag
    else:
        raise SeparationError(f"no {name}.onnx in {folder}: {where}")
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sessions, files = [], {}
    segment = 0
    sources: tuple[str, ...] = SOURCES_4  # each file's contract replaces it
    for p in paths:
        with open(p, "rb") as f:
            head = f.read(64)
        if head.startswith(b"version https://git-lfs"):
            raise SeparationError(f"{p} is a git-lfs pointer, not the weights: fetch it first "
                                  "(git lfs pull, or stemvault fetch in the vault that holds it)")
        try:
            session = ort.InferenceSession(str(p), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own classes (InvalidProtobuf, Fail, ...)
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise SeparationError(f"cannot load {p} as an ONNX model ({first[:200]}): "
                                  "put a complete export of the model there") from None
        seg, src = _contract(session, p)
        if len(paths) > 1 and (src != SOURCES_4 or (segment and seg != segment)):
            raise SeparationError(f"{p.name}: a specialist of {name} must give {', '.join(SOURCES_4)} with the "
                                  f"others' segment; it gives {', '.join(src)} over {seg} frames")
        segment, sources = seg, src
        sessions.append(session)
        files[p.name] = _sha256(p)
    if len(paths) == 1:
        sha = files[path.name]
    else:
        sha = hashlib.sha256(",".join(files[p.name] for p in paths).encode()).hexdigest()
    return Model(name=name, path=paths[0], sha256=sha, sources=sources, segment=segment,
                 runtime=f"onnxruntime {ort.__version__}", session=sessions[0], files=files,
                 specialists=tuple(sessions) if len(paths) > 1 else ())


def _contract(session: Any, path: Path) -> tuple[int, tuple[str, ...]]:
    """The segment length and source names of a loaded graph, or a SeparationError."""
    ins = {i.name: i for i in session.get_inputs()}
    outs = {o.name: o for o in session.get_outputs()}
    want = "an input 'mix' (1, 2, frames) and an output 'stems' (1, sources, 2, frames), as demucs-onnx exports htdemucs"
    if "mix" not in ins or "stems" not in outs:
        raise SeparationError(f"{path.name} is not a separation model stemvault can drive: it needs {want}; "
                              f"it has inputs {sorted(ins)} and outputs {sorted(outs)}")
    shape = list(ins["mix"].shape)
    oshape = list(outs["stems"].shape)
    if len(shape) != 3 or len(oshape) != 4 or (shape[1] not in (2, "2") and isinstance(shape[1], int)):
        raise SeparationError(f"{path.name}: input shape {shape} / output shape {oshape}: it needs {want}")
    segment = shape[2] if isinstance(shape[2], int) and shape[2] > 0 else DEFAULT_SEGMENT
    meta = session.get_modelmeta().custom_metadata_map or {}
    if meta.get("sources"):
        sources = tuple(s.strip().lower() for s in meta["sources"].split(",") if s.strip())
    elif oshape[1] == 4:
        sources = SOURCES_4
    elif oshape[1] == 6:
        sources = SOURCES_6
    else:
        raise SeparationError(f"{path.name} gives {oshape[1]} sources and names none (metadata 'sources'): "
                              "stemvault knows the 4-source and 6-source Demucs models")
    if len(set(sources)) != len(sources) or not all(re.fullmatch(r"[a-z][a-z0-9]{0,23}", s) for s in sources) \
            or "residual" in sources or "mix" in sources:
        raise SeparationError(f"{path.name}: its source names {list(sources)} are not usable stem names")
    return segment, sources


# --- the mix ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MixFacts:
    """What ``check_mix`` found: the facts the separation and its manifest need."""

    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str
    peak: int  # largest absolute sample, in 24-bit steps


def check_mix(path: Path) -> MixFacts:
    """Read the whole mix once and refuse what cannot be separated into a set that nulls.

    Raises:
        UnreadableAudio: not audio, empty, truncated (audio.probe).
        SeparationError: lossy; more than two channels; shorter than MIN_SECONDS; silent; or
            finer than 24 bits (32-bit float or integer samples off the 24-bit grid), where the
            stems and the residual could not sum to it exactly.
    """
    p = probe(path)
    name = Path(path).name
    if p.lossy:
        raise SeparationError(f"{name} is lossy ({codec_name(p)}): separate the lossless master instead "
                              f"({LOSSLESS_HINT})")
    if p.channels > 2:
        raise SeparationError(f"{name} has {p.channels} channels: separation takes a mono or stereo mix "
                              "(export a stereo fold-down of the printmaster)")
    if p.duration_s < MIN_SECONDS:
        raise SeparationError(f"{name} is {p.duration_s:.3f} s long: separation needs at least "
                              f"{MIN_SECONDS:g} s of music")
    fine = (p.bit_depth or 32) > 24  # PCM_32, FLOAT, DOUBLE: check every sample is on the 24-bit grid
    peak = 0
    with sf.SoundFile(str(path)) as f:
        pos = 0
        while True:
            block = f.read(_READ, dtype="float64", always_2d=True)
            if not len(block):
                break
            steps = block * _FULL
            if fine:
                off = np.flatnonzero((np.rint(steps) != steps) | (np.abs(steps) > _FULL))
                if off.size:
                    at = (pos + off[0] // p.channels) / p.sample_rate
                    raise SeparationError(
                        f"{name} ({p.subtype}) has detail finer than 24 bits or over full scale (first at "
                        f"{at:.3f} s): the 24-bit stems and residual could not sum to it exactly; "
                        "export the mix as 24-bit PCM")
            peak = max(peak, int(np.max(np.abs(np.rint(steps)))))
            pos += len(block)
    if peak == 0:
        raise SeparationError(f"{name} is silent (every sample is 0): there is nothing to separate")
    return MixFacts(sample_rate=p.sample_rate, channels=p.channels, frames=p.frames, format=p.format,
                    subtype=p.subtype, peak=peak)


# --- resampling in windows ----------------------------------------------------------------------


def _margin(up: int, down: int) -> int:
    """Source samples on each side that resample_poly's filter reaches (its half length)."""
    return math.ceil(10 * max(up, down) / up) + 2


def resample_range(get: Callable[[int, int], np.ndarray], j0: int, j1: int, up: int, down: int) -> np.ndarray:
    """Samples ``[j0, j1)`` of ``scipy.signal.resample_poly(x, up, down, axis=0)`` of a whole
    signal ``x``, computed from the window of it the filter reaches.

    ``get(a, b)`` returns ``x[a:b]`` (frames first), zeros where ``a < 0`` or past the end (what
    resample_poly assumes outside the signal). The window starts on a multiple of ``down`` so its
    output samples fall on the whole signal's grid: the result equals the whole-signal one to
    rounding (tests/test_separate.py compares them).
    """
    from scipy.signal import resample_poly

    if up == down:
        return get(j0, j1)
    m = _margin(up, down)
    s0 = ((j0 * down) // up - m) // down * down
    s1 = -(-(j1 * down) // up) + m
    # along the last, contiguous axis: scipy's polyphase filter runs several times faster there
    y = resample_poly(np.ascontiguousarray(get(s0, s1).T), up, down, axis=-1)
    o0 = s0 * up // down
    return y[:, j0 - o0 : j1 - o0].T


# --- the separation -----------------------------------------------------------------------------


@dataclass
class Separation:
    """What ``separate`` wrote and measured.

    Attributes:
        sources: the model's stems, in its order (each written to ``outputs[name]``).
        frames, sample_rate, channels: of every file written (the mix's).
        residual_db: the residual's energy relative to the mix's (dB); None for a digital null.
        residual_peak_dbfs: the residual's largest sample (dBFS); None for a digital null.
        clipped: per stem, samples over 24-bit full scale (clipped; the residual holds the rest).
        segments: model runs (all shifts).
        shifts: runs averaged per sample (0: one run, unshifted).
        overlap: share of each segment overlapping the next.
        segment_s: seconds per model run (at 44.1 kHz).
    """

    sources: tuple[str, ...]
    frames: int
    sample_rate: int
    channels: int
    residual_db: float | None
    residual_peak_dbfs: float | None
    clipped: dict[str, int]
    segments: int
    shifts: int
    overlap: float
    segment_s: float


class _Store:
    """Finished model-rate samples (frames, columns), a window of them kept: appended at the end,
    read with zeros outside ``[0, total)``, dropped from the front."""

    def __init__(self, columns: int, total: int) -> None:
        self.buf = np.zeros((0, columns), np.float32)
        self.start = 0
        self.total = total

    @property
    def end(self) -> int:
        return self.start + len(self.buf)

    def append(self, block: np.ndarray) -> None:
        self.buf = np.concatenate([self.buf, block]) if len(self.buf) else block.astype(np.float32)

    def get(self, a: int, b: int) -> np.ndarray:
        out = np.zeros((b - a, self.buf.shape[1]), np.float32)
        lo, hi = max(a, self.start), min(b, self.end, self.total)
        if hi > lo:
            out[lo - a : hi - a] = self.buf[lo - self.start : hi - self.start]
        return out

    def drop_before(self, a: int) -> None:
        if a > self.start:
            cut = min(a - self.start, len(self.buf))
            self.buf = self.buf[cut:]
            self.start += cut


def _weight(segment: int) -> np.ndarray:
    """Demucs's overlap-add weight: a triangle from 1 up to segment/2 and back (never 0)."""
    half = segment // 2
    return np.concatenate([np.arange(1, half + 1), np.arange(segment - half, 0, -1)]).astype(np.float32)


def separate(path: Path, model: Model, outputs: dict[str, str | Path], *, overlap: float = 0.25,
             time_reference: int = 0, description: str = "", bits: int = 24, shifts: int = 0,
             progress: Callable[[float], None] | None = None,
             cancel: threading.Event | None = None) -> Separation:
    """Separate the mix at ``path`` with ``model``; write each source and the residual.

    ``outputs`` maps every name of ``model.sources`` and ``"residual"`` to the file to write
    (BWF of ``bits`` bits — 24, or 16 for a 16-bit mix, so the set has one bit depth — at the
    mix's rate, channels and length, bext TimeReference ``time_reference``); with a ``"mix"``
    entry the mix's own samples are written there too (a bit-exact PCM copy of a FLAC or float
    mix). ``shifts`` > 0 averages that many runs over the mix shifted by evenly spaced offsets
    within 0.5 s (Demucs's random shifts, made reproducible), at that many times the cost.
    Stems are not rescaled: a sample over full scale is clipped (counted in ``clipped``)
    and the residual carries the difference, so ``sum(stems) + residual == mix`` exactly in
    integers. Call ``check_mix`` first (a 16-bit mix must be 16-bit PCM).

    Raises:
        SeparationError: the residual does not fit in 24 bits (the stems overshoot the mix by more
            than full scale), or ``overlap`` is out of range.
        AnalysisCancelled: ``cancel`` was set (checked between segments).
        OSError: an output cannot be written.
    """
    from audio.bwf import BwfStream

    if bits not in (16, 24):
        raise ValueError(f"bits={bits}: 16 or 24")
    full = 1 << (bits - 1)
    if not 0.0 <= overlap <= 0.5:
        raise SeparationError(f"overlap {overlap}: use a share of the segment from 0 to 0.5 (Demucs uses 0.25)")
    missing = [n for n in (*model.sources, "residual") if n not in outputs]
    if missing:
        raise ValueError(f"no output for {missing}")
    info = sf.info(str(path))
    rate, channels, frames = int(info.samplerate), int(info.channels), int(info.frames)
    g = math.gcd(rate, MODEL_RATE)
    up_in, down_in = MODEL_RATE // g, rate // g  # mix -> model
    total = -(-frames * up_in // down_in)  # the model-rate length
    seg = model.segment
    stride = max(1, seg - int(overlap * seg))
    if shifts < 0 or shifts > 20:
        raise SeparationError(f"shifts {shifts}: 0 (none) to 20")
    # Demucs averages runs on the mix shifted by up to 0.5 s (random shifts); here evenly spaced
    # ones, so that the same mix gives the same stems
    delays = [0] if shifts == 0 else [round((k + 1) * _MAX_SHIFT / (shifts + 1)) for k in range(shifts)]
    n_runs = sum(len(range(-d, total, stride)) for d in delays)
    weight = _weight(seg)
    S = len(model.sources)
    order = [*model.sources, "residual", *(["mix"] if "mix" in outputs else [])]
    writers: dict[str, Any] = {}
    clipped = dict.fromkeys(model.sources, 0)
    mix_sq = res_sq = 0.0
    res_peak = 0

    src = sf.SoundFile(str(path))  # the model's input: windows, read where the resampler asks
    seq = sf.SoundFile(str(path))  # the mix itself, read in order beside the stems written

    def get_mix(a: int, b: int) -> np.ndarray:  # float32: what the model takes
        out = np.zeros((b - a, 2), np.float32)
        lo, hi = max(a, 0), min(b, frames)
        if hi > lo:
            src.seek(lo)
            x = src.read(hi - lo, dtype="float32", always_2d=True)
            out[lo - a : lo - a + len(x)] = x if channels == 2 else np.repeat(x, 2, axis=1)
        return out

    store = _Store(S * 2, total)  # finished model-rate stems, (frames, S*2)
    done = 0  # output frames written
    m_out = _margin(down_in, up_in)

    def write_out(upto: int) -> None:
        nonlocal done, mix_sq, res_sq, res_peak
        while done < upto:
            j1 = min(upto, done + _READ)
            y = resample_range(store.get, done, j1, down_in, up_in).reshape(j1 - done, S, 2)
            if channels == 1:
                y = y.mean(axis=2, keepdims=True)
            steps = np.rint(y * np.float32(full))  # float32: exact for integers below 2**24
            over = np.count_nonzero(np.abs(steps) > full - 1, axis=(0, 2))
            for i, name in enumerate(model.sources):
                clipped[name] += int(over[i])
            ints = np.clip(steps, -full, full - 1).astype(np.int32)
            mix = np.rint(seq.read(j1 - done, dtype="float64", always_2d=True) * full).astype(np.int32)
            res = mix - ints.sum(axis=1, dtype=np.int64)
            lo, hi = int(res.min()), int(res.max())
            if lo < -full or hi > full - 1:
                big = (res < -full) | (res > full - 1)
                at = (done + int(np.flatnonzero(big.any(axis=1))[0])) / rate
                raise SeparationError(f"at {at:.3f} s the stems overshoot the mix by more than full scale: the "
                                      f"residual does not fit in {bits} bits; this model does not suit this mix")
            for i, name in enumerate(model.sources):
                writers[name].write_pcm(ints[:, i])
            writers["residual"].write_pcm(res)
            if "mix" in writers:
                writers["mix"].write_pcm(mix)
            mf, rf = mix.ravel().astype(np.float64), res.ravel().astype(np.float64)
            mix_sq += float(mf @ mf)
            res_sq += float(rf @ rf)
            res_peak = max(res_peak, -lo, hi)
            done = j1
        # what the next window reaches back to stays; the rest is written
        store.drop_before(((done * up_in) // down_in - m_out) // up_in * up_in)

    try:
        for name in order:
            writers[name] = BwfStream(outputs[name], rate, channels, subtype=f"PCM_{bits}",
                                      time_reference=time_reference, description=description)
        # One grid of segments per shift (one, at 0, without shifts), run in step: the segment
        # that starts first next; what every grid has finished is averaged and goes out.
        cap = 2 * seg + _MAX_SHIFT + stride
        acc = [np.zeros((S, 2, cap), np.float32) for _ in delays]
        wsum = [np.zeros(cap, np.float32) for _ in delays]
        nxt = [-d for d in delays]
        emitted = runs = 0
        while min(nxt) < total:
            g = nxt.index(min(nxt))
            off = nxt[g]
            if cancel is not None and cancel.is_set():
                raise AnalysisCancelled("separation cancelled: nothing written")
            x = resample_range(get_mix, off, off + seg, up_in, down_in).T.astype(np.float32)
            out = model.run(np.ascontiguousarray(x))
            lo, hi = max(off, emitted), min(off + seg, total)
            if hi > lo:
                acc[g][:, :, lo - emitted : hi - emitted] += out[:, :, lo - off : hi - off] * weight[lo - off : hi - off]
                wsum[g][lo - emitted : hi - emitted] += weight[lo - off : hi - off]
            nxt[g] += stride
            runs += 1
            done_to = min(max(min(nxt), 0), total)
            if done_to > emitted:
                k = done_to - emitted
                mean = sum(a[:, :, :k] / w[:k] for a, w in zip(acc, wsum, strict=True)) / len(delays)
                _emit(store, np.asarray(mean, np.float32))
                for a, w in zip(acc, wsum, strict=True):
                    a[:, :, :-k] = a[:, :, k:].copy()
                    a[:, :, -k:] = 0
                    w[:-k] = w[k:].copy()
                    w[-k:] = 0
                emitted = done_to
                write_out(_ready(store.end, down_in, up_in, m_out, frames))
            if progress is not None:
                progress(runs / n_runs)
        write_out(frames)
    finally:
        src.close()
        seq.close()
        for w in writers.values():
            w.close()
    rdb = None if res_sq == 0 else round(10 * math.log10(res_sq / mix_sq), 2)
    rpk = None if res_peak == 0 else round(20 * math.log10(res_peak / full), 2)
    return Separation(sources=model.sources, frames=frames, sample_rate=rate, channels=channels,
                      residual_db=rdb, residual_peak_dbfs=rpk, clipped=clipped, segments=n_runs, shifts=shifts,
                      overlap=overlap, segment_s=round(seg / MODEL_RATE, 4))


def _emit(store: _Store, stems: np.ndarray) -> None:
    """Finished samples (every segment that covers them has run), (sources, 2, frames): into the store."""
    S = stems.shape[0]
    store.append(stems.transpose(2, 0, 1).reshape(stems.shape[2], S * 2))


def _ready(end: int, up: int, down: int, margin: int, frames: int) -> int:
    """Output frames (mix rate) whose resampling window lies within model-rate samples ``[.., end)``;
    ``up``/``down`` are the model→mix ratio, ``margin`` the filter's reach (``_margin(up, down)``)."""
    return max(0, min(frames, ((end - margin - 1) * up) // down))
