"""Errors of the audio package: each says what is wrong and what to do, in one line."""

from __future__ import annotations


class AudioError(Exception):
    """Base of every error the audio package raises on purpose. ``exit_code`` is what the CLI
    exits with (2: unreadable input or a request that cannot be met)."""

    exit_code = 2


class UnreadableAudio(AudioError):
    """A file that is not audio we can read: missing, empty, truncated, corrupt or of an unknown type."""


class BadTimecode(AudioError):
    """A timecode that does not parse, or does not exist at the given frame rate."""


class NoAudioDevice(AudioError):
    """Playback was asked for but no output device (or no PortAudio) is available."""


class PlaybackError(AudioError):
    """A playback request that cannot be met: an unknown stem, a position outside the cue, sets
    that cannot play together (different sample rates), a render file that cannot be written."""


class UnsupportedRate(NoAudioDevice):
    """The output device cannot open the files' sample rate."""


class AnalysisCancelled(AudioError):
    """The caller asked the analysis to stop (``analyze_set``'s ``cancel`` was set)."""

    exit_code = 130


class BadTempoMap(AudioError):
    """A tempo map that cannot be read, or a bar|beat that does not exist in it."""


class SeparationError(AudioError):
    """A separation that cannot run: the optional runtime or the model's weights are missing, the
    model is not one stemvault can drive, or the mix cannot be separated (lossy, silent, too short,
    more than two channels, finer than 24 bits)."""
