"""Benchmarks: space + data + splits + arch set + GT + evaluation protocol + primary metric.

Each benchmark is a small TOML file in ``specs/`` (data, not code, as tasks are in lm-evaluation-harness);
:func:`get_benchmark` looks one up by name. Sources of data, arch sets and GT are pluggable by ``kind``
(:mod:`harness.benchmarks.loaders`), so a benchmark over user-supplied files is one more TOML file.
"""

from harness.benchmarks.registry import Benchmark, benchmark_names, get_benchmark, list_benchmarks

__all__ = ["Benchmark", "benchmark_names", "get_benchmark", "list_benchmarks"]
