"""The one cue-prefix rule (audio.names.without_cue) and the three places that use it."""

from __future__ import annotations

import pytest

from audio.names import without_cue
from vcs.naming import infer_role, short_name


@pytest.mark.parametrize(("stem", "cue", "separators", "want"), [
    ("1M03_STR", "1M03", "_- ", "STR"),
    ("1m03-str", "1M03", "_- ", "str"),          # any case
    ("1M03 _-STR", "1M03", "_- ", "STR"),        # every separator after the cue
    ("1M03 STR", "1M03", "_-", " STR"),          # short_name's separators: a space stays
    ("1M03", "1M03", "_- ", ""),                 # only the cue
    ("2M01_STR", "1M03", "_- ", "2M01_STR"),     # another cue: unchanged
    ("STR_1M03", "1M03", "_- ", "STR_1M03"),     # the cue not in front: unchanged
    ("1M03_STR", None, "_- ", "1M03_STR"),       # no cue
    ("1M03_STR", "", "_- ", "1M03_STR"),
    ("1M", "1M03", "_- ", "1M"),                 # shorter than the cue
])
def test_without_cue(stem: str, cue: str | None, separators: str, want: str) -> None:
    assert without_cue(stem, cue, separators) == want


def test_the_callers_keep_their_results() -> None:
    assert short_name("1M03_STR.wav", "1M03") == "STR"
    assert short_name("1m03-PAD.wav", "1M03") == "PAD"
    assert short_name("1M03.wav", "1M03") == "1M03.wav"  # nothing left: the whole name
    assert short_name("2M01_STR.wav", "1M03") == "2M01_STR"
    assert short_name("1M03_STR.wav", "") == "1M03_STR"
    assert infer_role("1M03_STR.wav", "1M03") == "strings"
    assert infer_role("1m03_brs_v2.wav", "1M03") == "brass"
    assert infer_role("STR.wav", "1M03") == "strings"
    assert infer_role("1M03.wav", "1M03") is None
    # a cue whose name is itself a role token is not read as the role
    assert infer_role("PAD_STR.wav", "PAD") == "strings"
    assert infer_role("PAD.wav", "PAD") is None
