"""Timecode at film and video rates, drop-frame included."""

from __future__ import annotations

import pytest

from audio.errors import BadTimecode
from audio.timecode import FRAME_RATE_NAMES, Timecode, parse_frame_rate, parse_timecode


@pytest.mark.parametrize("name", FRAME_RATE_NAMES)
def test_every_label_round_trips(name: str) -> None:
    rate = parse_frame_rate(name)
    for n in range(0, rate.nominal * 3600 * 2, 997):
        tc = Timecode(n, rate)
        assert parse_timecode(str(tc), rate).frames == n


def test_drop_frame_labels_skip_and_track_wall_clock() -> None:
    df = parse_frame_rate("29.97df")
    assert str(Timecode(1799, df)) == "00:00:59;29"
    assert str(Timecode(1800, df)) == "00:01:00;02"  # ;00 and ;01 do not exist
    assert str(Timecode(17982, df)) == "00:10:00;00"  # every tenth minute keeps them
    one_hour = parse_timecode("01:00:00;00", df)
    assert abs(one_hour.seconds - 3600.0) < 0.004  # drop-frame: 3.6 ms off per hour, not 3.6 s
    with pytest.raises(BadTimecode, match="does not exist"):
        parse_timecode("00:01:00;01", df)
    assert parse_frame_rate("59.94df").nominal == 60


def test_23976_runs_slower_than_its_labels() -> None:
    r = parse_frame_rate("23.976")
    tc = parse_timecode("01:00:00:00", r)
    assert tc.seconds == pytest.approx(3603.6)
    assert str(Timecode.from_samples(int(3603.6 * 48000), 48000, r)) == "01:00:00:00"
    assert tc.samples(48000) == 172972800


@pytest.mark.parametrize("bad", ["", "1:2:3", "01:00:00", "01:00:00:30", "24:00:00:00", "aa:bb:cc:dd",
                                 "01:00:60:00", "01-00-00-00"])
def test_bad_timecodes(bad: str) -> None:
    with pytest.raises(BadTimecode):
        parse_timecode(bad, parse_frame_rate("25"))


def test_unknown_rate() -> None:
    with pytest.raises(BadTimecode, match="unknown frame rate"):
        parse_frame_rate("31")
    assert parse_frame_rate("23.98").name == "23.976"
