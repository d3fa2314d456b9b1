"""`stemvault separate` without the optional extra (issue 16): one line, exit 2, the install hint;
the rest of stemvault works. Not skipped when onnxruntime is missing (unlike tests/test_separate.py):
a sitecustomize hides it where it is installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
CUE = "1M07"
SR = 48000


def _hide_onnxruntime(tmp_path: Path) -> dict[str, str]:
    """An environment whose Python cannot import onnxruntime: a sitecustomize that refuses it
    (the package stays installed; only this interpreter is told it is not there)."""
    site = tmp_path / "hide"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import importlib.abc, sys\n"
        "class _Hide(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'onnxruntime' or name.startswith('onnxruntime.'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, _Hide())\n")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}


def test_without_the_extra_separate_says_how_to_install_it(vault, tmp_path, home) -> None:
    """Runs with or without onnxruntime installed: where it is, it is hidden from the child."""
    mix = tmp_path / "mix.wav"
    sf.write(mix, np.full((SR * 2, 2), 0.1), SR, subtype="PCM_24")
    models = tmp_path / "models"
    models.mkdir()
    (models / "htdemucs.onnx").write_bytes(b"never read: the runtime is missing first")
    env = _hide_onnxruntime(tmp_path)
    probe = subprocess.run([sys.executable, "-c", "import onnxruntime"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0  # the hiding works
    r = subprocess.run([sys.executable, "-m", "tui.cli", "-C", str(vault), "separate", str(mix), "--cue", CUE,
                        "--model-repo", str(models)], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr == "error: separation needs its optional runtime: pip install 'stemvault[separate]' " \
                       "(onnxruntime, about 80 MB, no torch)\n"
    # the rest works without it
    r = subprocess.run([sys.executable, "-m", "tui.cli", "-C", str(vault), "log"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
