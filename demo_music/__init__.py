"""Deterministic synthesized music stems: short film cues for the demo vault and the tests.

The demo's music, a package of its own out of the runtime ``audio`` package (it imports scipy,
which no verb but ``stemvault demo`` needs). Nothing of the app imports it at start; it imports
nothing of the app but ``audio.bwf``, the BWF writer. Modules, by concern:
    arrangement  what to play: Part, Edit, Arrangement, keys, chords, the plan of a render
    dsp          oscillators, envelopes, filters
    instruments  one renderer per role
    effects      reverb, and the edits between versions
    rendering    render(), mixdown()
    files        write_stem_set(): BWF files at a start timecode

A cue is a chord progression in a key (one chord per bar, ending on the tonic), laid out as
intro → build → peak → end. Each role is one stem: a pad, a bass line on the chord roots,
drums, a plucked lead melody built from a repeated motif, and optionally strings, brass, choir
and FX (risers and impacts). Every stem gets its own reverb, so its last notes decay into a
real tail after ``Arrangement.seconds``.

Public surface:
    Part, Edit, Arrangement
        What to render: the stems, the changes between versions, the musical parameters.
    render(arr, sample_rate) -> dict[str, np.ndarray]
        role -> (frames, 2) float32, all the same length: ``seconds + tail_s``.
    mixdown(stems) -> np.ndarray
        The plain sum of the stems.
    write_stem_set(arr, folder, ...) -> list[Path]
        ``<CUE>_<ABBR>.wav`` per part plus ``<CUE>_MIX.wav``, as BWF at a start timecode.
    chord_roots(arr) -> list[int]
        MIDI pitch class of each bar's chord root (what the bass plays).
    parse_key(key) -> (tonic pitch class, scale intervals)
    ROLES, DEFAULT_ABBREVIATIONS, HEADROOM_DBFS

Determinism: the same ``Arrangement`` and sample rate give bit-identical stems and files on the
same machine and library versions. (numpy's vectorized ``sin``/``tanh`` may round differently
on another CPU, so checksums are not promised across machines.) Each part draws its notes from
its own random stream, seeded by the arrangement seed, its role and its ``seed_offset``, so
adding, removing or rewriting one part never changes another.

Headroom: there is no per-version normalisation. Every stem is scaled by a fixed per-role trim
and a fixed master gain (constants of this module, tuned so a full arrangement peaks around
-8 dBFS), then by ``Part.gain_db`` and the edits. A +3 dB edit is therefore exactly +3 dB in the
file, and the same part renders the same whatever else is in the arrangement. ``render``
refuses (``ValueError``) a result whose stems or mix would peak above ``HEADROOM_DBFS``
(-1 dBFS) instead of silently limiting it: lower a ``gain_db``.

Where an ``Edit`` changes the audio (the diff of two versions must be able to localise it):
    * ``gain_db``: applied after the reverb, as a gain curve that is 0 dB at ``start_s``,
      reaches ``gain_db`` ``_RAMP_S`` (10 ms) later, and returns to 0 dB at ``end_s``. The ramps
      lie inside the span, so no sample outside [start_s, end_s] changes.
    * ``rewrite``: the part is rendered again with another seed (dry + its own reverb) and
      crossfaded in over the same 10 ms ramps inside the span. Again nothing outside
      [start_s, end_s] changes: there is no reverb spill past ``end_s`` by construction. The
      price: the rewritten notes' own reverb is cut at ``end_s`` (the original's continues), and
      a rewritten note still ringing at ``end_s`` is faded out over the last 10 ms.
    * ``shift_samples``: the finished stem is delayed by N samples (negative: advanced), with
      zeros shifted in and samples shifted past the end dropped; the length stays the same.
"""

from __future__ import annotations

from demo_music.arrangement import (
    DEFAULT_ABBREVIATIONS,
    HEADROOM_DBFS,
    ROLES,
    Arrangement,
    Edit,
    Part,
    chord_roots,
    parse_key,
)
from demo_music.files import write_stem_set
from demo_music.rendering import mixdown, render

__all__ = [
    "DEFAULT_ABBREVIATIONS",
    "HEADROOM_DBFS",
    "ROLES",
    "Arrangement",
    "Edit",
    "Part",
    "chord_roots",
    "mixdown",
    "parse_key",
    "render",
    "write_stem_set",
]
