"""Data kind ``mnist1d``: MNIST-1D sequences generated offline with a fixed seed, cut by ``[splits]`` counts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.benchmarks.loaders.kinds import BenchmarkLike, register_kind

if TYPE_CHECKING:
    from harness.data.splits import DataSplits


def mnist1d_data(bench: BenchmarkLike) -> DataSplits:
    from harness.data.mnist1d_source import generate_mnist1d
    from harness.data.splits import make_splits  # torch: only when data is loaded, never for a listing

    d = bench.data
    x, y = generate_mnist1d(d["num_samples"], d["seed"], **d.get("generator", {}))
    s = bench.splits
    return make_splits(
        x, y, train=s["train"], eval=s["eval"], gt_test=s["gt_test"], calib=s["calib"], seed=s["seed"], num_classes=10
    )


OPTIONS: dict[str, Any] = {"num_samples": int, "seed": int, "generator": dict[str, Any]}
register_kind("data", "mnist1d", mnist1d_data, options=OPTIONS, required=("num_samples", "seed"),
              doc="MNIST-1D (10 classes, 40 steps) generated with `seed`; `generator` overrides generator options")
