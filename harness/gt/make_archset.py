"""The public arch set of a benchmark: ``size`` unique archs drawn uniformly from its space with a fixed seed.

Why regenerate rather than only read: the stored HDF5 file is the artefact everyone scores against, and
:func:`make_archset` proves it is exactly the seeded draw the spec declares (a test compares the two).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.benchmarks.registry import Benchmark


def make_archset(bench: Benchmark) -> list[str]:
    """The ``[archset] size`` unique archs drawn with ``[archset] seed`` (uniform over the space, draw order)."""
    try:
        seed, size = int(bench.archset["seed"]), int(bench.archset["size"])
    except KeyError as exc:
        raise HarnessError(f"benchmark {bench.name}: [archset] needs 'seed' and 'size' to be generated ({exc})") from None
    return bench.space.sample_unique(np.random.default_rng(seed), size)


def write_archset(bench: Benchmark, path: Path | None = None) -> Path:
    """Generate the arch set and store it (HDF5, with the space description, seed and count as attributes)."""
    from harness.benchmarks.loaders import write_archset_h5

    archs = make_archset(bench)
    if path is None:
        path = bench.resolve(bench.archset["file"], user_data=bool(bench.archset.get("user_data")))
    write_archset_h5(
        Path(path),
        archs,
        {"space": bench.space.describe(), "seed": int(bench.archset["seed"]), "count": len(archs), "benchmark": bench.name},
    )
    return Path(path)


if __name__ == "__main__":  # python -m harness.gt.make_archset [BENCHMARK]
    import sys

    from harness.benchmarks import get_benchmark

    print(write_archset(get_benchmark(sys.argv[1] if len(sys.argv) > 1 else "mnist1d-w20")))
