"""Shared fixtures: a tiny benchmark registered through $NAS_HARNESS_BENCHMARK_DIRS and an empty store."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tiny_bench import make_tiny_benchmark  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def tiny_bench_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_benchmark(tmp_path_factory.mktemp("benchmarks"))


@pytest.fixture()
def tiny_env(tiny_bench_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment (also for subprocesses) with the tiny benchmark registered and a fresh store."""
    from harness.benchmarks.loaders import clear_cache

    store = tmp_path / "store"
    monkeypatch.setenv("NAS_HARNESS_BENCHMARK_DIRS", str(tiny_bench_dir))
    monkeypatch.setenv("NAS_HARNESS_STORE", str(store))
    clear_cache()
    env = dict(os.environ)
    return env
