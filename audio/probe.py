"""What an audio file is, from its header, and its content hash.

Public surface:
    AUDIO_EXTENSIONS, is_audio_name(name) -> bool
    Probe (dataclass), probe(path) -> Probe
    hash_file(path) -> (sha256 hex, size)

``probe`` reads only the headers (libsndfile through soundfile, plus a walk over the RIFF chunk
list to catch what libsndfile forgives: a data chunk cut short by a failed copy). Reading the
samples — loudness, peaks, fingerprints — belongs to the analysis, which streams the file once.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import soundfile as sf

from audio.errors import UnreadableAudio
from audio.layout import layout_of
from audio.riff import chunks, read_fmt, wave_form

__all__ = ["AUDIO_EXTENSIONS", "LOSSY_SUBTYPES", "Probe", "codec_name", "hash_file", "is_audio_name", "probe"]

# Extensions a stem set may carry. Lossy ones are listed so that they are recognised (and
# refused by the checks) rather than silently ignored or committed outside LFS.
AUDIO_EXTENSIONS = (
    "wav", "bwf", "rf64", "w64", "aif", "aiff", "aifc", "flac", "caf",
    "mp3", "ogg", "opus", "m4a", "aac",
)
LOSSY_SUBTYPES = {"MPEG_LAYER_I", "MPEG_LAYER_II", "MPEG_LAYER_III", "VORBIS", "OPUS", "GSM610",
                  "IMA_ADPCM", "MS_ADPCM", "G721_32", "G723_24", "G723_40", "VOX_ADPCM",
                  "NMS_ADPCM_16", "NMS_ADPCM_24", "NMS_ADPCM_32", "ALAC_16"}
_LOSSY_FORMATS = {"MPEG", "OGG"}
# Extensions that only ever hold lossy audio (libsndfile reads some of them, not all).
_LOSSY_EXTENSIONS = {"mp3": "MP3", "ogg": "Ogg Vorbis", "opus": "Opus", "m4a": "AAC", "aac": "AAC"}
_CODEC_NAMES = {"MPEG_LAYER_I": "MP1", "MPEG_LAYER_II": "MP2", "MPEG_LAYER_III": "MP3", "VORBIS": "Ogg Vorbis",
                "OPUS": "Opus", "GSM610": "GSM 6.10", "IMA_ADPCM": "IMA ADPCM", "MS_ADPCM": "MS ADPCM",
                "G721_32": "G.721 ADPCM", "G723_24": "G.723 ADPCM", "G723_40": "G.723 ADPCM",
                "VOX_ADPCM": "VOX ADPCM", "NMS_ADPCM_16": "NMS ADPCM", "NMS_ADPCM_24": "NMS ADPCM",
                "NMS_ADPCM_32": "NMS ADPCM", "ALAC_16": "ALAC 16"}
LOSSLESS_HINT = "stems must be lossless: export it as WAV/BWF PCM or FLAC"
_BIT_DEPTH = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32,
              "FLOAT": 32, "DOUBLE": 64, "ALAC_20": 20, "ALAC_24": 24, "ALAC_32": 32}
_HASH_CHUNK = 1 << 20


def is_audio_name(name: str) -> bool:
    """True when ``name`` has one of AUDIO_EXTENSIONS, in any letter case."""
    return "." in name and name.rsplit(".", 1)[1].lower() in AUDIO_EXTENSIONS


@dataclass(frozen=True)
class Probe:
    """The facts of an audio file's header.

    Attributes:
        format: container as libsndfile names it (``WAV``, ``RF64``, ``AIFF``, ``FLAC``...).
        subtype: sample encoding (``PCM_24``, ``FLOAT``, ``MPEG_LAYER_III``...).
        bit_depth: bits per sample, or None where the encoding has none (lossy codecs).
        layout: the channel layout (``stereo``, ``5.1``, ``3ch``): from the WAVE_FORMAT_EXTENSIBLE
            mask when there is one, else mono/stereo/``Nch`` (``audio.layout.layout_of``).
        lossy: the encoding throws information away (a lossy file is never a stem).
    """

    format: str
    subtype: str
    sample_rate: int
    bit_depth: int | None
    channels: int
    layout: str
    frames: int
    duration_s: float
    size: int
    lossy: bool

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _riff_problem(path: Path, size: int) -> str | None:
    """Walk a RIFF/RF64 chunk list; say what is wrong with it, or None.

    libsndfile opens a WAV whose data chunk is cut short and reports the frames that are there;
    a stem truncated by a failed copy must not pass for a shorter stem.
    """
    with open(path, "rb") as f:
        if wave_form(f) is None:
            return None  # not a RIFF WAVE: libsndfile's own checks apply
        for c in chunks(f, size):
            if c.id == b"data":
                if c.truncated:
                    return (f"its data chunk declares {c.size} bytes but only {c.available} are there "
                            "(the file is truncated: export or copy it again)")
                return None
        return "it has no data chunk (the file is truncated or not a WAV: export it again)"


def probe(path: str | os.PathLike[str]) -> Probe:
    """Read the header of the audio file at ``path``.

    Raises:
        UnreadableAudio: missing, empty, not audio, truncated, or with zero channels/frames.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as e:
        raise UnreadableAudio(f"{p.name}: cannot read it ({e.strerror})") from None
    if size == 0:
        raise UnreadableAudio(f"{p.name}: the file is empty (0 bytes): export it again")
    _readable(p)
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError, ValueError) as e:
        ext = p.name.rsplit(".", 1)[-1].lower() if "." in p.name else ""
        if ext in _LOSSY_EXTENSIONS:
            raise UnreadableAudio(f"{p.name} is lossy ({_LOSSY_EXTENSIONS[ext]}, a format stemvault cannot "
                                  f"read): {LOSSLESS_HINT}") from None
        reason = str(e).split(":", 1)[-1].strip() or "unknown format"
        raise UnreadableAudio(f"{p.name}: not readable as audio ({reason})") from None
    try:
        riff = _riff_problem(p, size)
    except OSError as e:
        raise UnreadableAudio(f"{p.name}: cannot read it ({e.strerror})") from None
    if riff:
        raise UnreadableAudio(f"{p.name}: {riff}")
    if info.channels <= 0 or info.samplerate <= 0:
        raise UnreadableAudio(f"{p.name}: the header declares {info.channels} channels at "
                              f"{info.samplerate} Hz: the file is corrupt; export it again")
    if info.frames <= 0:
        raise UnreadableAudio(f"{p.name}: holds no audio (0 frames): export it again")
    subtype = info.subtype or ""
    return Probe(
        format=info.format,
        subtype=subtype,
        sample_rate=int(info.samplerate),
        bit_depth=_BIT_DEPTH.get(subtype),
        channels=int(info.channels),
        layout=layout_of(info.channels, fmt.channel_mask if (fmt := read_fmt(p)) is not None else None),
        frames=int(info.frames),
        duration_s=info.frames / info.samplerate,
        size=size,
        lossy=info.format in _LOSSY_FORMATS or subtype in LOSSY_SUBTYPES,
    )


def codec_name(p: Probe) -> str:
    """A name people know for the encoding of a lossy file (``MP3``, ``Ogg Vorbis``, ``IMA ADPCM``)."""
    return _CODEC_NAMES.get(p.subtype) or p.subtype or p.format


def _readable(p: Path) -> None:
    """Open the file once, so that an error names what is wrong (libsndfile says "System error")."""
    try:
        with open(p, "rb"):
            pass
    except PermissionError:
        raise UnreadableAudio(f"{p.name}: permission denied (the file is not readable by this user): "
                              f"make it readable (chmod a+r '{p.name}') or export it again") from None
    except IsADirectoryError:
        raise UnreadableAudio(f"{p.name} is a folder, not an audio file: rename it or move it out of the "
                              "export") from None
    except OSError as e:
        raise UnreadableAudio(f"{p.name}: cannot read it ({e.strerror})") from None


def hash_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """sha256 (hex) and size of the file's bytes, read once in 1 MiB pieces."""
    h = hashlib.sha256()
    n = 0
    buf = bytearray(_HASH_CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while True:
            got = f.readinto(buf)
            if not got:
                break
            h.update(view[:got])
            n += got
    return h.hexdigest(), n
