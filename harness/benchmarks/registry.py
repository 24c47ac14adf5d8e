"""Benchmark lookup: the packaged specs plus the folders of ``$NAS_HARNESS_BENCHMARK_DIRS``, by name.

The spec format and its checks are :mod:`harness.benchmarks.spec`; the loaders of its parts are
:mod:`harness.benchmarks.loaders`.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness import config
from harness.benchmarks.spec import SPECS_DIR, Benchmark, Budget, Protocol, parse_spec, spec_files
from harness.errors import UnknownNameError

PACKAGE_DIR = Path(__file__).parent
DEFAULT_BENCHMARK = "mnist1d-w20"
_CACHE: dict[tuple[str, ...], dict[str, Benchmark]] = {}

__all__ = ["DEFAULT_BENCHMARK", "SPECS_DIR", "Benchmark", "Budget", "Protocol", "benchmark_names", "get_benchmark",
           "list_benchmarks", "spec_dirs"]


def spec_dirs() -> list[Path]:
    """The packaged specs plus any folders in ``$NAS_HARNESS_BENCHMARK_DIRS`` (os.pathsep-separated).

    Why extra folders: a challenge host defines private benchmarks (their own data, arch set and GT) without
    touching the package; tests use the same door for tiny benchmarks.
    """
    extra = [Path(p).expanduser() for p in os.environ.get(config.BENCHMARK_DIRS_ENV, "").split(os.pathsep) if p]
    return [SPECS_DIR, *extra]


def _all_specs() -> dict[str, Benchmark]:
    dirs = spec_dirs()
    key = tuple(str(d) for d in dirs)
    if key not in _CACHE:
        found: dict[str, Benchmark] = {}
        for folder in dirs:
            for path in spec_files(folder):
                bench = parse_spec(path)
                found[bench.name] = bench
        _CACHE[key] = found
    return _CACHE[key]


def benchmark_names() -> list[str]:
    return sorted(_all_specs())


def list_benchmarks() -> list[Benchmark]:
    return [_all_specs()[n] for n in benchmark_names()]


def get_benchmark(name: str) -> Benchmark:
    try:
        return _all_specs()[name]
    except KeyError:
        raise UnknownNameError(f"unknown benchmark {name!r}; known: {', '.join(benchmark_names())}") from None
