"""Files stay small enough to read (CONTRIBUTING.md): a module of tui/, vcs/, audio/ or
demo_music/ over about 600 lines is split by concern, or says at its top why it is not."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 600


def test_no_module_over_600_lines_without_a_reason_at_its_top() -> None:
    over = []
    for pkg in ("tui", "vcs", "audio", "demo_music"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            lines = path.read_text(encoding="utf-8").splitlines()
            if len(lines) > LIMIT and not any("over the ~600-line rule" in line for line in lines[:80]):
                over.append(f"{path.relative_to(ROOT)}: {len(lines)} lines")
    assert not over, "split these by concern, or say at the top why not: " + "; ".join(over)
