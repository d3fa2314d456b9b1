"""A delivery records the approval as the vault judges it (issue 13 with issue 15): a supervisor's
signature verified against the vault's trusted keys, and an approval that does not count under
`[approvals] require_signature` is no approval for the export either. Real ssh-keygen keys, real
`git tag -s`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import CUE, Runner, write_set
from tests.test_trust import SUE, as_person, set_config, sign_with_ssh, ssh_key, trust_ssh


def _delivery(dest: Path) -> dict[str, object]:
    (pkg,) = [p for p in dest.iterdir() if p.is_dir()]
    return json.loads((pkg / "DELIVERY.json").read_text())  # type: ignore[no-any-return]


def test_a_delivery_records_a_verified_signature(vault: Path, sv: Runner, tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    key, pub, fp = ssh_key(tmp_path, "sue")
    set_config(vault, roles={"supervisors": [SUE[1]]}, approvals={"require_signature": True})
    trust_ssh(vault, (SUE[1], pub))
    as_person(vault, SUE)
    sign_with_ssh(vault, key)
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "--sign", "-m", "ok for the dub")
    r = sv.ok("-C", vault, "export", f"{CUE}@approved", tmp_path / "out")
    assert "warning" not in r.err
    a = _delivery(tmp_path / "out")["approval"]
    assert isinstance(a, dict)
    assert (a["signed"], a["verified"], a["signer"], a["key"], a["by"]) == (True, True, SUE[1], fp, SUE[0])
    assert a["signature"] == f"signed, verified (key of {SUE[1]})"


def test_an_approval_that_does_not_count_is_no_approval_for_the_export(vault: Path, sv: Runner,
                                                                         tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    sv.ok("-C", vault, "approve", f"{CUE}@1.0", "-m", "fine")  # unsigned, before signatures were required
    sv.ok("-C", vault, "export", CUE, tmp_path / "before")
    assert _delivery(tmp_path / "before")["approval"]["signature"] == "unsigned"  # type: ignore[index]
    set_config(vault, approvals={"require_signature": True})
    r = sv.ok("-C", vault, "export", CUE, tmp_path / "after")
    assert f"{CUE}@1.0 is not approved (its approval {CUE}/v1.0/approved does not count: " in r.err
    assert _delivery(tmp_path / "after")["approval"] is None
    r = sv("-C", vault, "export", f"{CUE}@approved", tmp_path / "none")
    assert r.code == 2 and r.err.count("\n") == 1 and not (tmp_path / "none").exists()
