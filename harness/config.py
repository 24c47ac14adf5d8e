"""Where the harness reads user data and keeps its results: one place for the defaults.

Both can be set by environment variable (for the Streamlit app and CI) or by CLI option.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "NAS_HARNESS_DATA"
STORE_ENV = "NAS_HARNESS_STORE"
BENCHMARK_DIRS_ENV = "NAS_HARNESS_BENCHMARK_DIRS"


def data_dir(override: str | os.PathLike[str] | None = None) -> Path | None:
    """The user's data directory (CIFAR, CVPR-2021 files, NAS-Bench-201 CSVs), or None when unset."""
    value = override if override is not None else os.environ.get(DATA_DIR_ENV)
    return Path(value).expanduser() if value else None


def store_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The results store folder: ``$NAS_HARNESS_STORE`` or ``./results``."""
    value = override if override is not None else os.environ.get(STORE_ENV, "results")
    return Path(value).expanduser()


def sandbox_threads() -> int:
    """Torch threads of a sandbox: 1 unless ``$NAS_HARNESS_SANDBOX_THREADS`` says otherwise.

    Why one: every trainer then gets the same compute whatever the machine (the budget is wall clock), and on a
    small shared machine OpenMP threads that wait for a busy core make small networks 10-100x slower.
    """
    try:
        return max(1, int(os.environ.get("NAS_HARNESS_SANDBOX_THREADS", "1")))
    except ValueError:
        return 1
