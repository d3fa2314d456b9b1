"""Starting stemvault on what the user has: no terminal, a bare repository, a hand-edited
stemvault.toml with values of the wrong type, bad environment variables. Each ends in one
``error:`` line and exit 2, never a traceback, a hung TUI or a misleading message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from tests.helpers import CUE, Runner, git, vault_state, write_set

ROOT = Path(__file__).resolve().parents[1]


def _one_error_line(err: str, *words: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])


# ----- 13: no verb, no terminal ---------------------------------------------------------------

@pytest.mark.parametrize("args", [[], ["-C", "{vault}"]])
def test_no_verb_without_a_terminal_says_so_and_exits_2(vault: Path, args: list[str]) -> None:
    argv = [a.format(vault=vault) for a in args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", "from tui.cli import entry; entry()", *argv],
                          cwd=vault, env=env, stdin=subprocess.PIPE, capture_output=True,
                          timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == b""  # no escape codes written into the pipe
    err = proc.stderr.decode()
    _one_error_line(err, "terminal", "ssh -t", "stemvault log")


# ----- 16: a bare repository ------------------------------------------------------------------

@pytest.mark.parametrize("verb", [["log"], ["show", CUE], ["verify"]])
def test_a_bare_repository_is_named_as_such(vault: Path, sv: Runner, tmp_path: Path, verb: list[str]) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    bare = tmp_path / "film.git"
    git(tmp_path, "clone", "-q", "--bare", str(vault), str(bare))
    for where in (bare, bare / "refs"):
        r = sv("-C", where, *verb)
        assert r.code == 2
        _one_error_line(r.err, "bare git repository", f"git clone {bare}")
        assert "stemvault init" not in r.err


def test_a_folder_that_is_no_vault_still_says_init(tmp_path: Path, sv: Runner) -> None:
    r = sv("-C", tmp_path, "log")
    assert r.code == 2
    _one_error_line(r.err, "not inside a stemvault vault", "stemvault init")


# ----- 14: stemvault.toml values of the wrong type ----------------------------------------------

BAD_CONFIG: list[tuple[str, str, Any]] = [
    ("project", "frame_rate", 24.5),
    ("project", "frame_rate", ["24"]),
    ("project", "name", {"a": 1}),
    ("policy", "sample_rate", "48k"),
    ("policy", "sample_rate", 48000.5),
    ("policy", "bit_depth", True),
    ("policy", "bit_depth", -24),
    ("policy", "lossless_only", "no"),
    ("naming", "rule", "^{cue}_(unclosed"),
    ("naming", "rule", 42),
    ("naming", "mix", "*_MIX*"),
    ("loudness", "integrated_lufs", "-24"),
    ("loudness", "tolerance_lu", "one"),
    ("checks", "null_test_max_db", "deep"),
    ("roles", "supervisors", "sue@example.com"),
    ("", "loudness", [1, 2]),
    ("", "policy", "strict"),
]


def _set_config(vault: Path, section: str, key: str, value: Any) -> None:
    path = vault / "stemvault.toml"
    doc = tomlkit.parse(path.read_text())
    if section:
        doc.setdefault(section, tomlkit.table())[key] = value
    else:
        doc[key] = value
    path.write_text(tomlkit.dumps(doc))


@pytest.mark.parametrize(("section", "key", "value"), BAD_CONFIG,
                         ids=[f"{s or 'top'}.{k}={v!r}" for s, k, v in BAD_CONFIG])
def test_a_config_value_of_the_wrong_type_is_one_error_line(vault: Path, sv: Runner, tmp_path: Path,
                                                            section: str, key: str, value: Any) -> None:
    write_set(tmp_path / "v1")
    sv.ok("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    _set_config(vault, section, key, value)
    git(vault, "commit", "-qam", "hand edit of the config")
    before = vault_state(vault)
    write_set(tmp_path / "v2", gains={"BRS": 0.5})
    named = f"{section}.{key}" if section else key
    for args in (["log"], ["commit", CUE, str(tmp_path / "v2"), "-m", "second"], ["check", str(tmp_path / "v2")]):
        r = sv("-C", vault, *args)
        assert r.code == 2, (args, r.out, r.err)
        _one_error_line(r.err, "stemvault.toml", named)
    assert vault_state(vault) == before


UNKNOWN_KEYS: list[tuple[str, str, str, str]] = [  # section, key written, what the error names, nearest
    ("loudness", "integrated_lfus", "loudness.integrated_lfus", "integrated_lufs"),
    ("loudness", "true_peak_max_dbfs", "loudness.true_peak_max_dbfs", "true_peak_max_dbtp"),
    ("checks", "null_test_max", "checks.null_test_max", "null_test_max_db"),
    ("policy", "samplerate", "policy.samplerate", "sample_rate"),
    ("naming", "rules", "naming.rules", "rule"),
    ("project", "framerate", "project.framerate", "frame_rate"),
    ("roles", "supervisor", "roles.supervisor", "supervisors"),
    ("roles", "foo", "roles.foo", ""),
    ("", "loudnes", "loudnes", "loudness"),
]


@pytest.mark.parametrize(("section", "key", "named", "nearest"), UNKNOWN_KEYS,
                         ids=[f"{s or 'top'}.{k}" for s, k, _, _ in UNKNOWN_KEYS])
def test_an_unknown_config_key_is_one_error_line_naming_the_nearest(
        vault: Path, sv: Runner, tmp_path: Path, section: str, key: str, named: str, nearest: str) -> None:
    value: Any = {"x": 1} if not section else (["sue@example.com"] if section == "roles" else 1)
    _set_config(vault, section, key, value)
    before = vault_state(vault)
    write_set(tmp_path / "v1")
    for args in (["log"], ["commit", CUE, str(tmp_path / "v1"), "-m", "first"]):
        r = sv("-C", vault, *args)
        assert r.code == 2, (args, r.out, r.err)
        _one_error_line(r.err, "stemvault.toml", named)
        line = r.err.strip()
        assert "unknown" in line
        assert (f"did you mean {section + '.' if section else ''}{nearest}?" in line) if nearest else ("did you mean" not in line), line
    assert vault_state(vault) == before


def test_every_key_init_writes_or_the_docs_name_is_accepted(vault: Path, sv: Runner) -> None:
    for section, key, value in [("loudness", "integrated_lufs", -23.0), ("checks", "dc_max_db", -50.0),
                                ("policy", "lossless_only", False), ("naming", "mix", ["*_PM*"])]:
        _set_config(vault, section, key, value)
    sv.ok("-C", vault, "log")


def test_a_frame_rate_written_as_a_number_is_still_read(vault: Path, sv: Runner) -> None:
    _set_config(vault, "project", "frame_rate", 25)
    sv.ok("-C", vault, "log")
    _set_config(vault, "project", "frame_rate", 23.976)
    sv.ok("-C", vault, "log")


# ----- 14: environment variables ----------------------------------------------------------------

@pytest.mark.parametrize(("name", "value"), [
    ("STEMVAULT_LOCK_WAIT", "soon"), ("STEMVAULT_LOCK_WAIT", "-1"), ("STEMVAULT_LOCK_WAIT", "nan"),
    ("STEMVAULT_ANALYSIS_WORKERS", "many"), ("STEMVAULT_ANALYSIS_WORKERS", "0"),
    ("STEMVAULT_ANALYSIS_WORKERS", "2.5"),
])
def test_a_bad_environment_variable_is_one_error_line(vault: Path, sv: Runner, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    write_set(tmp_path / "v1")
    before = vault_state(vault)
    monkeypatch.setenv(name, value)
    r = sv("-C", vault, "commit", CUE, tmp_path / "v1", "-m", "first")
    assert r.code == 2, (r.out, r.err)
    _one_error_line(r.err, name, value)
    assert vault_state(vault) == before


def test_demo_without_a_terminal_builds_the_vault_and_returns(tmp_path: Path) -> None:
    """Finding 13 through `demo`: without a terminal it builds the vault, says the TUI was not
    opened, and returns instead of drawing into the pipe."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    target = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-c", "from tui.cli import entry; entry()", "demo", str(target),
                           "--seconds", "3"], cwd=tmp_path, env=env, stdin=subprocess.PIPE,
                          capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    assert "\x1b" not in out  # no escape codes written into the pipe
    assert "Demo vault ready" in out and "no terminal here" in out
    assert (target / "stemvault.toml").is_file()


def _check_in_a_process(folder: Path, value: str) -> subprocess.CompletedProcess[str]:
    """``stemvault check FOLDER`` in a fresh process (the meter's filter is chosen once per process)."""
    env = {**os.environ, "STEMVAULT_NO_FAST_SOSFILT": value, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", "import sys; from tui.cli import main; sys.exit(main(sys.argv[1:]))",
                           "check", str(folder)], capture_output=True, text=True, env=env, cwd=folder)


@pytest.mark.parametrize("value", ["yes", "true", "2", " 1"])
def test_the_filter_switch_takes_only_0_or_1(tmp_path: Path, value: str) -> None:
    write_set(tmp_path / "v1")
    r = _check_in_a_process(tmp_path / "v1", value)
    assert r.returncode == 2, (r.stdout, r.stderr)
    _one_error_line(r.stderr, "STEMVAULT_NO_FAST_SOSFILT", repr(value))


def test_a_warning_reaches_the_user_as_one_line(tmp_path: Path) -> None:
    write_set(tmp_path / "v1")
    r = _check_in_a_process(tmp_path / "v1", "1")
    assert r.returncode in (0, 1), r.stderr
    said = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(said) == 1 and said[0].startswith("warning: the loudness meter's fast filter"), r.stderr
    assert "STEMVAULT_NO_FAST_SOSFILT is set" in said[0]
    for value in ("", "0"):
        r = _check_in_a_process(tmp_path / "v1", value)
        assert r.returncode in (0, 1) and "warning" not in r.stderr, r.stderr

