"""The README's "What is where" table matches the tree: every path it names exists, every package of harness/ is named.

Why a test: the table is how a newcomer finds "where a search space is defined" in seconds, and it silently rots
when modules move.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _layout_rows() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## What is where", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| you look")]


def _named_paths(row: str) -> list[Path]:
    """Paths in backticks; a bare name is inside the folder named before it (``harness/gt/`` (``builder.py``))."""
    cell = row.split("|")[2]
    found: list[Path] = []
    base: Path | None = None
    for span in re.findall(r"`([^`]+)`", cell):
        if not ("/" in span or span.endswith(".py") or span in ("submissions", "benchmarks")):
            continue  # a command or an identifier, not a path
        span = span.split("*")[0].rstrip("/")
        direct = REPO / span
        if direct.exists() and (base is None or "/" in span):
            found.append(direct)
            base = direct if direct.is_dir() else direct.parent
        elif base is not None:
            found.append(base / span)
        else:
            found.append(direct)
    return found


def test_every_path_in_the_layout_table_exists() -> None:
    rows = _layout_rows()
    assert len(rows) >= 15
    missing = [str(p.relative_to(REPO)) for row in rows for p in _named_paths(row) if not p.exists()]
    assert not missing, f"README layout table names paths that do not exist: {missing}"


def test_every_package_of_harness_is_in_the_table() -> None:
    table = "\n".join(_layout_rows())
    packages = sorted(p.parent.name for p in (REPO / "harness").glob("*/__init__.py"))
    unnamed = [name for name in packages if f"harness/{name}/" not in table]
    assert not unnamed, f"packages of harness/ the README layout table does not name: {unnamed}"


def test_the_finder_catches_a_missing_module() -> None:
    row = "| x | `harness/spaces/` (`base.py`, `no_such_module.py`) |"
    paths = _named_paths(row)
    assert REPO / "harness/spaces/base.py" in paths
    assert any(not p.exists() for p in paths)
