"""SMPTE timecode at film and video frame rates.

Public surface:
    FrameRate, parse_frame_rate(text) -> FrameRate, FRAME_RATE_NAMES
    Timecode, parse_timecode(text, rate) -> Timecode
    Timecode.from_seconds / from_samples, .seconds, .samples(sample_rate), str(tc)

A timecode is a frame count since 00:00:00:00 at a frame rate. Its *label* counts nominal frames
(24 for 23.976, 30 for 29.97); its *time* uses the real rate (23.976 runs 1000/1001 slower).
Drop-frame (29.97df, 59.94df) skips labels :00 and :01 (:00–:03 at 59.94) at the start of each
minute except every tenth, so labels track wall-clock time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from audio.errors import BadTimecode

__all__ = ["FRAME_RATE_NAMES", "FrameRate", "Timecode", "parse_frame_rate", "parse_timecode"]


@dataclass(frozen=True)
class FrameRate:
    """A frame rate: ``name`` as users write it, ``nominal`` frames per labelled second, real ``rate``."""

    name: str
    nominal: int
    rate: Fraction
    drop: bool = False

    def __str__(self) -> str:
        return self.name


_RATES = {
    "23.976": FrameRate("23.976", 24, Fraction(24000, 1001)),
    "24": FrameRate("24", 24, Fraction(24)),
    "25": FrameRate("25", 25, Fraction(25)),
    "29.97": FrameRate("29.97", 30, Fraction(30000, 1001)),
    "29.97df": FrameRate("29.97df", 30, Fraction(30000, 1001), drop=True),
    "30": FrameRate("30", 30, Fraction(30)),
    "48": FrameRate("48", 48, Fraction(48)),
    "50": FrameRate("50", 50, Fraction(50)),
    "59.94": FrameRate("59.94", 60, Fraction(60000, 1001)),
    "59.94df": FrameRate("59.94df", 60, Fraction(60000, 1001), drop=True),
    "60": FrameRate("60", 60, Fraction(60)),
}
_ALIASES = {"23.98": "23.976", "29.97ndf": "29.97", "29.97dfr": "29.97df", "59.94ndf": "59.94",
            "24.0": "24", "25.0": "25", "30.0": "30"}
FRAME_RATE_NAMES = tuple(_RATES)


def parse_frame_rate(text: str | float | int) -> FrameRate:
    """Return the frame rate named by ``text`` (``"23.976"``, ``"24"``, ``"29.97df"``...).

    Raises:
        BadTimecode: for a rate that is not one of FRAME_RATE_NAMES.
    """
    key = str(text).strip().lower().replace(" ", "")
    key = _ALIASES.get(key, key)
    try:
        return _RATES[key]
    except KeyError:
        raise BadTimecode(
            f"unknown frame rate {text!r}: use one of {', '.join(FRAME_RATE_NAMES)}"
        ) from None


_TC = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})([:;.])(\d{2,3})$")


def _drop_per_minute(rate: FrameRate) -> int:
    return rate.nominal // 15  # 2 labels at 29.97df, 4 at 59.94df


@dataclass(frozen=True, order=True)
class Timecode:
    """A position: ``frames`` since 00:00:00:00 at ``rate``."""

    frames: int
    rate: FrameRate

    @classmethod
    def from_seconds(cls, seconds: float | Fraction, rate: FrameRate) -> Timecode:
        """The frame that contains the instant ``seconds`` after midnight (floor)."""
        return cls(int(Fraction(seconds) * rate.rate), rate)

    @classmethod
    def from_samples(cls, samples: int, sample_rate: int, rate: FrameRate) -> Timecode:
        """The frame that contains sample ``samples`` counted from midnight (BWF TimeReference)."""
        return cls(int(Fraction(samples, sample_rate) * rate.rate), rate)

    @property
    def seconds(self) -> float:
        """Real time since midnight, in seconds."""
        return float(self.frames / self.rate.rate)

    def samples(self, sample_rate: int) -> int:
        """Sample position (since midnight) of this frame's start at ``sample_rate``."""
        return round(self.frames / self.rate.rate * sample_rate)

    def fields(self) -> tuple[int, int, int, int]:
        """Hours, minutes, seconds, frames as shown on a label."""
        n, fps = self.frames, self.rate.nominal
        if self.rate.drop:
            d = _drop_per_minute(self.rate)
            per_10min = fps * 600 - d * 9
            per_min = fps * 60 - d
            tens, rem = divmod(n, per_10min)
            n += d * 9 * tens + (d * ((rem - d) // per_min) if rem > d else 0)
        ff = n % fps
        s = n // fps
        return s // 3600 % 24, s // 60 % 60, s % 60, ff

    def __str__(self) -> str:
        hh, mm, ss, ff = self.fields()
        sep = ";" if self.rate.drop else ":"
        width = 3 if self.rate.nominal >= 100 else 2
        return f"{hh:02d}:{mm:02d}:{ss:02d}{sep}{ff:0{width}d}"


def parse_timecode(text: str, rate: FrameRate) -> Timecode:
    """Parse ``HH:MM:SS:FF`` (``;`` before the frames for drop-frame is accepted) at ``rate``.

    Raises:
        BadTimecode: when the text does not parse, or names a frame that does not exist at
            ``rate`` (frames ≥ the rate, minutes/seconds ≥ 60, a dropped drop-frame label).
    """
    m = _TC.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise BadTimecode(f"timecode {text!r} does not parse: write HH:MM:SS:FF, e.g. 01:00:12:05")
    hh, mm, ss, ff = (int(m.group(i)) for i in (1, 2, 3, 5))
    if hh >= 24 or mm >= 60 or ss >= 60:
        raise BadTimecode(f"timecode {text!r} is out of range: hours < 24, minutes and seconds < 60")
    if ff >= rate.nominal:
        raise BadTimecode(
            f"timecode {text!r} has frame {ff} but {rate.name} fps counts frames 00–{rate.nominal - 1:02d}"
        )
    fps = rate.nominal
    total = ((hh * 60 + mm) * 60 + ss) * fps + ff
    if rate.drop:
        d = _drop_per_minute(rate)
        if mm % 10 != 0 and ss == 0 and ff < d:
            raise BadTimecode(
                f"timecode {text!r} does not exist in {rate.name}: labels :00–:{d - 1:02d} are dropped "
                "at the start of each minute not divisible by ten"
            )
        minutes = hh * 60 + mm
        total -= d * (minutes - minutes // 10)
    return Timecode(total, rate)
