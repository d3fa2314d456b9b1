"""An unexpected error (a bug) is said as such: one line naming the log with the full trace,
exit 3 (docs/cli.md); never passed off as bad input (exit 2)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import Runner
from tui.cli import EXIT_BUG, crash_log_dir
from vcs.vault import Vault


def _bug(exc: Exception) -> object:
    def find(*_a: object, **_k: object) -> Vault:
        raise exc
    return classmethod(find)


@pytest.mark.parametrize("exc", [ZeroDivisionError("boom"),
                                 PermissionError(13, "Permission denied", "/nowhere/internal.idx"),
                                 KeyError("boom")])
@pytest.mark.parametrize("verb", [["log"], ["show", "1M03"], ["verify"]])
def test_a_bug_in_any_verb_is_one_line_and_a_log(vault: Path, sv: Runner, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch, exc: Exception,
                                                 verb: list[str]) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr(Vault, "find", _bug(exc))
    r = sv("-C", vault, *verb)
    assert r.code == EXIT_BUG == 3, r
    assert r.err.count("\n") == 1 and "Traceback" not in r.err, r.err
    m = re.fullmatch(rf"error: unexpected {type(exc).__name__}: .* — the full trace is in (.+)\n", r.err)
    assert m, r.err
    log = Path(m.group(1))
    assert log.parent == tmp_path / "state" / "stemvault" == crash_log_dir()
    text = log.read_text()
    assert text.startswith(f"stemvault -C {vault} {' '.join(verb)}\n")
    assert "Traceback (most recent call last)" in text and "in find" in text
    assert f"{type(exc).__name__}:" in text.splitlines()[-1]


def test_without_xdg_state_home_the_log_goes_under_home(vault: Path, sv: Runner, home: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setattr(Vault, "find", _bug(RuntimeError("boom")))
    r = sv("-C", vault, "log")
    assert r.code == 3
    assert f"the full trace is in {home / '.local' / 'state' / 'stemvault'}/crash-" in r.err


def test_when_no_log_can_be_written_the_trace_goes_to_stderr(vault: Path, sv: Runner, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the state folder would be")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    monkeypatch.setattr(Vault, "find", _bug(RuntimeError("boom")))
    r = sv("-C", vault, "log")
    assert r.code == 3
    assert r.err.startswith("Traceback (most recent call last)")
    last = r.err.splitlines()[-1]
    assert last.startswith("error: unexpected RuntimeError: boom — the trace is above (could not write a log"), last


def test_a_domain_error_is_still_its_own_exit_code(tmp_path: Path, sv: Runner) -> None:
    r = sv("-C", tmp_path, "log")
    assert r.code == 2 and r.err.startswith("error: ") and "unexpected" not in r.err
