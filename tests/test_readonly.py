"""Writing verbs on a vault that cannot be written (a read-only mount): one line that says so and
what to do, exit 2 — never an 'unexpected OSError' with a crash log (exit 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import CUE, Runner, write_set
from tests.test_integrity_verify import read_only  # noqa: F401  (the fixture)


@pytest.mark.parametrize("verb", [
    ["note", f"{CUE}@1.0", "00:00:01:00", "too loud"],
    ["approve", f"{CUE}@1.0"],
    ["commit", CUE, "{src}", "-m", "second"],
])
def test_writing_to_a_read_only_vault_says_so(vault: Path, sv: Runner, tmp_path: Path, verb: list[str],
                                              read_only: tuple[Path, Path]) -> None:  # noqa: F811
    rw, ro = read_only
    assert rw == vault
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    write_set(tmp_path / "v2", gains={"BRS": 0.5})
    r = sv("-C", ro, *[a.format(src=tmp_path / "v2") for a in verb])
    assert r.code == 2, r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "read-only file system" in lines[0]
    assert "writable clone" in lines[0] and "unexpected" not in lines[0]
    assert len(sv.ok("-C", vault, "log", "--json").json()) == 1
