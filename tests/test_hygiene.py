"""The core never imports the UI; sounddevice is imported only when playing.

The same rules are declared as import-linter contracts in pyproject.toml (`./dev lint`); the
tests here check them at run time (every module really imported) and prove the contracts fail
on a deliberate violation.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UI_AND_DEVICE = ("textual", "rich", "tui", "sounddevice")
EXTRAS = ("torch", "demucs", "onnxruntime")  # optional heavy runtimes: never at start


def test_vcs_and_audio_do_not_import_textual_or_rich() -> None:
    code = ("import sys, vcs.vault, vcs.commit, vcs.verify, vcs.review, vcs.checking, audio.probe, audio.timecode, "
            "audio.loudness, audio.analysis, audio.checks, demo_music, audio.bwf; "
            "bad = [m for m in ('textual', 'rich', 'tui', 'sounddevice') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_module_of_vcs_and_audio_imports_without_the_ui_or_the_device() -> None:
    """All of them, found by walking the packages (a new module is covered without editing this)."""
    code = ("import importlib, pkgutil, sys, audio, vcs, demo_music\n"
            "names = []\n"
            "for pkg in (vcs, audio, demo_music):\n"
            "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
            "        importlib.import_module(m.name); names.append(m.name)\n"
            f"bad = [m for m in {UI_AND_DEVICE + EXTRAS!r} if m in sys.modules]\n"
            "print(len(names), bad); sys.exit(1 if bad or len(names) < 20 else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_command_line_starts_without_the_optional_runtimes() -> None:
    code = ("import sys, tui.cli, tui.app; "
            f"bad = [m for m in {EXTRAS!r} if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    assert exe.exists(), "lint-imports is missing: pip install -e '.[dev]' (import-linter)"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(exe), "--no-cache", "--no-logo"], cwd=tree, env=env,
                          capture_output=True, text=True)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the packages and of pyproject.toml's contracts, to break on purpose."""
    for pkg in ("tui", "vcs", "audio", "demo_music"):
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_layer_contracts_hold_on_the_code(tree: Path) -> None:
    r = _lint_imports(tree)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("vcs/models.py", "import rich.text", "never imports the UI"),
    ("audio/timecode.py", "from vcs import errors", "Layers"),
    ("vcs/manifest.py", "from tui import output", "Layers"),
    ("audio/loudness.py", "import torch", "Optional heavy runtimes"),
    ("audio/_nullsum.py", "from audio import _pool", "No import cycles"),
    ("audio/probe.py", "import demo_music", "never imports the demo's music"),
    ("demo_music/files.py", "from vcs import git", "The demo's music is apart"),
    ("tui/commands/demo.py", "import subprocess", "git runs only through vcs/git.py"),
    ("vcs/review.py", "import git", "git runs only through vcs/git.py"),
    ("vcs/records.py", "from vcs import vault", "No import cycles"),
])
def test_the_contracts_fail_on_a_deliberate_violation(tree: Path, module: str, line: str,
                                                       contract: str) -> None:
    path = tree / module
    # Inside a function, as a lazy import would be: import-linter counts those too.
    path.write_text(path.read_text() + f"\n\ndef _violation() -> None:\n    {line}  # noqa\n")
    r = _lint_imports(tree)
    assert r.returncode == 1, r.stdout + r.stderr
    broken = r.stdout.split("Broken contracts", 1)[1]
    dotted = module.replace("/", ".").removesuffix(".py")
    # A cycle is reported per package (with the edge that would best break it).
    assert contract in broken and (dotted in broken or f"in {dotted.split('.')[0]}." in broken), r.stdout


def test_core_sources_never_name_the_ui() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for pkg in ("vcs", "audio"):
        for f in (root / pkg).rglob("*.py"):
            text = f.read_text()
            assert "import textual" not in text and "from textual" not in text, f
            assert "from tui" not in text and "import tui" not in text, f


def test_the_command_line_starts_without_the_heavy_modules() -> None:
    """`stemvault --help`, `log`, `diff`: scipy (1.5-2 s), the analysis, playback, numpy,
    soundfile and tomlkit are imported by the commands that use them, not at start."""
    heavy = ("scipy", "numpy", "soundfile", "tomlkit", "deepdiff", "git", "textual", "audio.analysis",
             "audio.loudness", "audio.playback", "vcs.diff", "vcs.checking", "vcs.commit")
    code = (f"import sys, tui.cli; bad = [m for m in {heavy!r} if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_play_start_in_choices_are_the_engine_modes() -> None:
    from audio.playback.engine import MODES
    from vcs.playsession import START_IN

    assert tuple(START_IN) == tuple(MODES)


def test_the_test_seam_is_one_module() -> None:
    """Only vcs/_testseam.py reads a STEMVAULT_TEST_* variable (CONTRIBUTING: "The test seam")."""
    readers = sorted(str(f.relative_to(ROOT)) for pkg in ("tui", "vcs", "audio", "demo_music")
                     for f in (ROOT / pkg).rglob("*.py") if "STEMVAULT_TEST_" in f.read_text())
    assert readers == ["vcs/_testseam.py"]


# The distribution that provides each top-level module the packages import (where the names differ).
_DIST_OF = {"git": "gitpython", "yaml": "pyyaml"}


def _third_party_imports() -> set[str]:
    """Top-level modules imported (anywhere, lazily too) by the shipped packages, not the stdlib's."""
    import ast

    ours = {"tui", "vcs", "audio", "demo_music"}
    found: set[str] = set()
    for pkg in ours:
        for path in (ROOT / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                found |= {n.split(".")[0] for n in names}
    return {m for m in found - ours if m not in sys.stdlib_module_names}


def test_runtime_dependencies_are_what_the_packages_import() -> None:
    """Every third-party module the packages import is declared, and every declared runtime
    dependency is imported by them (one only the tests use belongs in the dev extra)."""
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # the optional extras a user installs (stemvault[separate]) count; the dev extra does not
    runtime = [*project["dependencies"], *(d for k, ds in project.get("optional-dependencies", {}).items()
                                           if k != "dev" for d in ds)]
    declared = {re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0].lower() for d in runtime}
    imported = {_DIST_OF.get(m, m).lower() for m in _third_party_imports()}
    assert imported - declared == set(), "imported but not declared"
    assert declared - imported == set(), "declared but not imported by tui/, vcs/, audio/"
