"""MNIST-1D generated offline (Greydanus & Steinbach, 2020/2024).

Why ``make_dataset`` and never ``get_dataset``: the latter downloads a pickle and writes into the current
directory. ``make_dataset`` seeds NumPy's and Python's *global* generators, so we save and restore them: the
harness must not change the random state of the program that calls it.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np


def generate_mnist1d(num_samples: int, seed: int, **overrides: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)``: ``x`` float32 of shape (N, 1, 40), ``y`` int64 in 0..9, in the generator's own order."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = int(num_samples)
    args.train_split = 1.0
    args.seed = int(seed)
    for key, value in overrides.items():
        if not hasattr(args, key):
            raise ValueError(f"unknown mnist1d argument {key!r}")
        setattr(args, key, value)
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    x = np.ascontiguousarray(data["x"], dtype=np.float32)[:, None, :]
    y = np.ascontiguousarray(data["y"], dtype=np.int64)
    return x, y
