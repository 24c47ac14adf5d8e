"""A tiny benchmark (spec + arch set + synthetic GT) in a temporary folder, for fast end-to-end tests.

Why synthetic GT: the store, the CLI and the hostile-submission tests need *a* GT with the real file layout,
not a trained one; building one for real takes minutes. The shipped default GT is tested on its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from harness.benchmarks.loaders import write_archset_h5
from harness.gt.gt_file import split_dev_test
from harness.spaces import get_space

SPEC = """
name = "{name}"
description = "tiny test benchmark"
primary_metric = "kendall_tau"

[space]
name = "resnet20-width-1d"
in_channels = 1
num_classes = 10
input_size = 40

[data]
kind = "mnist1d"
num_samples = 1200
seed = 3

[splits]
seed = 1
train = 600
calib = 64
eval = 200
gt_test = 400

[archset]
kind = "hdf5"
file = "{name}-archs.h5"
size = {n_archs}
seed = {seed}

[gt]
kind = "hdf5"
file = "{name}-gt.h5"

[protocol]
calib_batch_size = 32
calib_batches = 2
eval_batch_size = 200

[budget]
epochs = 1
seconds = 120
memory_gb = 6
"""


def write_synthetic_gt(path: Path, archs: list[str], archset_index: np.ndarray, seeds: int, rng: np.random.Generator) -> None:
    """Accuracies that rise with #params plus seed noise, in the GT file layout of harness.gt.gt_file."""
    space = get_space("resnet20-width-1d", in_channels=1, num_classes=10, input_size=40)
    params = space.params_many(archs)
    flops = space.flops_many(archs)
    base = 0.6 + 0.3 * (np.log(params) - np.log(params).min()) / np.ptp(np.log(params))
    acc = np.clip(base[:, None] + rng.normal(0, 0.03, size=(len(archs), seeds)), 0, 1)
    acc = np.round(acc * 400) / 400  # accuracies on a 400-sample test split are multiples of 1/400
    splits = split_dev_test(len(archs), 0.5, 0)
    with h5py.File(path, "w") as f:
        f.create_dataset("archs", data=np.asarray(archs, dtype=object), dtype=h5py.string_dtype())
        f.create_dataset("acc", data=acc)
        f.create_dataset("params", data=params)
        f.create_dataset("flops", data=flops)
        f.create_dataset("archset_index", data=archset_index)
        for name, idx in splits.items():
            f.create_dataset(f"splits/{name}", data=idx)
        f.attrs["recipe"] = json.dumps({"synthetic": True})
        f.attrs["seeds"] = json.dumps(list(range(seeds)))
        f.attrs["benchmark"] = path.stem


def make_tiny_benchmark(root: Path, *, name: str = "tiny-w20", n_archs: int = 300, n_gt: int = 60, seeds: int = 2, seed: int = 0) -> Path:
    """Write spec, arch set and GT for a tiny benchmark under ``root``; returns ``root`` (a benchmark dir)."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    space = get_space("resnet20-width-1d", in_channels=1, num_classes=10, input_size=40)
    archs = space.sample_unique(rng, n_archs)
    write_archset_h5(root / f"{name}-archs.h5", archs, {"seed": seed})
    gt_index = np.sort(rng.choice(n_archs, size=n_gt, replace=False))
    write_synthetic_gt(root / f"{name}-gt.h5", [archs[i] for i in gt_index], gt_index, seeds, rng)
    (root / f"{name}.toml").write_text(SPEC.format(name=name, n_archs=n_archs, seed=seed))
    return root
