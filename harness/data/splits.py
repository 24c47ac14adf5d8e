"""Fixed, hashed data splits.

A benchmark's data is cut once, with a fixed seed, into:

* ``train``   – what trainers and the ground-truth builder train on;
* ``calib``   – a fixed subset of ``train`` used only to recalibrate BN statistics of each subnet;
* ``eval``    – held out; inherited-weight accuracy of every subnet is measured here;
* ``gt_test`` – held out; standalone ground-truth accuracy is measured here (never shown to submissions).

The data hash covers the arrays *and* the split indices, so a GT file or a stored run can prove which data it
was made with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from harness.data.hashing import hash_arrays

SPLIT_NAMES = ("train", "calib", "eval", "gt_test")


@dataclass(frozen=True)
class Split:
    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True)
class DataSplits:
    """The four splits of a benchmark plus the hash that identifies them."""

    train: Split
    calib: Split
    eval: Split
    gt_test: Split
    num_classes: int
    data_hash: str
    meta: dict[str, object] = field(default_factory=dict)

    def sizes(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in SPLIT_NAMES}


def make_splits(
    x: np.ndarray,
    y: np.ndarray,
    *,
    train: int,
    eval: int,
    gt_test: int,
    calib: int,
    seed: int,
    num_classes: int,
) -> DataSplits:
    """Cut ``(x, y)`` into disjoint train / eval / gt_test parts with a seeded permutation; calib ⊂ train."""
    n = x.shape[0]
    if train + eval + gt_test > n:
        raise ValueError(f"splits need {train + eval + gt_test} samples, the data has {n}")
    if calib > train:
        raise ValueError("the calibration split is drawn from train and cannot be larger")
    perm = np.random.default_rng(seed).permutation(n)
    idx_train = perm[:train]
    idx_eval = perm[train : train + eval]
    idx_gt = perm[train + eval : train + eval + gt_test]
    idx_calib = idx_train[:calib]

    def part(idx: np.ndarray) -> Split:
        return Split(torch.from_numpy(x[idx].copy()), torch.from_numpy(y[idx].copy()))

    digest = hash_arrays(x, y, idx_train, idx_calib, idx_eval, idx_gt)
    return DataSplits(
        train=part(idx_train),
        calib=part(idx_calib),
        eval=part(idx_eval),
        gt_test=part(idx_gt),
        num_classes=num_classes,
        data_hash=digest,
    )
