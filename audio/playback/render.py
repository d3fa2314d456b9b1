"""Render: what the engine would play, to a WAV file (no audio device needed).

Public surface:
    RENDER_SUBTYPES, render(engine, path, *, start=0, end=None, subtype="FLOAT", block=1024,
                            events=(), description="") -> int (frames written)

The same ``Engine.process`` that feeds the sound card feeds the file, block by block, so a render
is exactly what a listener would hear, and commands sent from another thread while it runs take
effect within one block. ``events`` are ``(frame, fn)`` pairs: a block boundary is placed at each
frame and ``fn(engine)`` is called before that block (an A/B switch exactly at sample N). The
file is written beside its destination and renamed when complete: a failed or interrupted render
leaves nothing behind.

The file is a Broadcast Wave file (``audio.bwf.BwfStream``): its ``bext`` TimeReference is the
render's first sample on the timeline (the set's start timecode plus ``start``), so a DAW
places it where it belongs; the fmt chunk is complete (plain IEEE float for float in mono or
stereo, WAVE_FORMAT_EXTENSIBLE with valid bits, channel mask and subformat otherwise).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from audio.bwf import BwfStream
from audio.errors import PlaybackError
from audio.playback.engine import Engine

__all__ = ["RENDER_SUBTYPES", "render"]

RENDER_SUBTYPES = {"float": "FLOAT", "float32": "FLOAT", "24": "PCM_24", "pcm24": "PCM_24",
                   "FLOAT": "FLOAT", "PCM_24": "PCM_24"}


def _open(path: Path, engine: Engine, subtype: str, time_reference: int, description: str) -> tuple[BwfStream, Path]:
    if path.is_dir():
        raise PlaybackError(f"cannot render to {path}: it is a folder (name a .wav file)")
    if path.suffix.lower() not in (".wav", ".wave"):
        # The bounce is a WAV file: a .mp3 or .flac name would mislabel it.
        raise PlaybackError(f"cannot render to {path}: a render is a WAV file; name it .wav")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise PlaybackError(f"cannot render to {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise PlaybackError(f"cannot render to {path}: folder {parent} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise PlaybackError(f"cannot render to {path}: the file is not writable")
    part = path.with_name(f".{path.name}.part")
    # bext text fields are ASCII (EBU Tech 3285), 256 characters at most.
    desc = description.encode("ascii", "replace").decode("ascii")[:256]
    try:
        f = BwfStream(part, engine.sample_rate, engine.channels, subtype=subtype,
                      time_reference=max(0, time_reference), description=desc)
    except (ValueError, OSError) as e:
        with contextlib.suppress(OSError):
            part.unlink()
        raise PlaybackError(f"cannot render to {path}: {e}") from None
    return f, part


def render(engine: Engine, path: str | os.PathLike[str], *, start: int = 0, end: int | None = None,
           subtype: str = "FLOAT", block: int = 1024,
           events: Iterable[tuple[int, Callable[[Engine], None]]] = (), description: str = "") -> int:
    """Render frames ``[start, end)`` of the timeline to a WAV file at the set's rate.

    Args:
        engine: a fresh engine (its mode, gains, mutes and solos set as wanted).
        path: the WAV file to write (replaced when it exists).
        subtype: ``"FLOAT"`` (32-bit float, exact) or ``"PCM_24"``.
        block: frames per ``process`` call.
        events: ``(frame, fn)``: call ``fn(engine)`` so that it applies exactly at ``frame``.
        description: the bext Description (what was rendered; non-ASCII becomes ``?``).

    Raises:
        PlaybackError: for a range outside the cue, or a file that cannot be written.
    """
    st = RENDER_SUBTYPES.get(subtype)
    if st is None:
        raise PlaybackError(f"unknown render format {subtype!r}: use float or 24")
    end = engine.frames if end is None else end
    if not 0 <= start < engine.frames:
        raise PlaybackError(f"the start is outside the cue (0–{engine.frames} frames)")
    end = min(end, engine.frames)
    if end <= start:
        raise PlaybackError("the end comes before the start: nothing to render")
    dest = Path(path)
    f, part = _open(dest, engine, st, engine.start + start, description)
    todo = sorted(((int(at), fn) for at, fn in events), key=lambda e: e[0])
    written = 0
    ok = False
    error: PlaybackError | None = None
    try:
        engine.seek(start)
        engine.play()
        engine.process(0)  # apply the seek now, so that events land on their frames
        total = end - start
        while written < total:
            pos = engine.position
            while todo and todo[0][0] <= pos:
                todo.pop(0)[1](engine)
            n = min(block, total - written)
            if todo and todo[0][0] < pos + n:
                n = todo[0][0] - pos
            try:
                f.write(engine.process(n))
            except (ValueError, OSError) as e:  # a full disk, a file past 4 GiB
                raise PlaybackError(f"cannot render to {dest}: {e}") from None
            written += n
            if engine.status.ended:
                break
        ok = True
    finally:
        try:
            f.close()
        except OSError as e:
            if ok:  # the sizes could not be written: the file is not complete
                ok = False
                error = PlaybackError(f"cannot render to {dest}: {e}")
        if ok:
            os.replace(part, dest)
        else:
            with contextlib.suppress(OSError):
                part.unlink()
    if error is not None:
        raise error
    return written
