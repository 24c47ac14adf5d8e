"""Data: MNIST-1D generated offline and deterministically, fixed disjoint splits, a stable hash, no global RNG side effects."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from harness.benchmarks import get_benchmark
from harness.data.hashing import hash_arrays
from harness.data.mnist1d_source import generate_mnist1d
from harness.data.splits import make_splits

#: The data hash of the default benchmark. If this changes, every shipped GT and stored run is invalidated:
#: change it only together with the spec's [data]/[splits] and a rebuilt GT.
DEFAULT_DATA_HASH = "5f20149586f4d2ac376060e7e99784e35483c3c87e8db0df4305d666abffde2d"


@pytest.fixture(scope="module")
def default_data():
    return get_benchmark("mnist1d-w20").load_data()


def test_generation_is_deterministic_and_seeded() -> None:
    x1, y1 = generate_mnist1d(300, seed=3)
    x2, y2 = generate_mnist1d(300, seed=3)
    x3, _ = generate_mnist1d(300, seed=4)
    assert x1.shape == (300, 1, 40) and x1.dtype == np.float32
    assert y1.shape == (300,) and y1.dtype == np.int64 and set(np.unique(y1)) <= set(range(10))
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not np.array_equal(x1, x3)


def test_generation_leaves_global_rng_untouched() -> None:
    np.random.seed(12345)
    random.seed(54321)
    np_state, py_state = np.random.get_state(), random.getstate()
    generate_mnist1d(50, seed=1)
    after = np.random.get_state()
    assert all(np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b for a, b in zip(np_state, after))
    assert random.getstate() == py_state


def test_unknown_generator_argument_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown mnist1d argument"):
        generate_mnist1d(10, seed=0, no_such_knob=1)


def test_splits_are_disjoint_and_calib_inside_train() -> None:
    n = 1000
    x = np.arange(n, dtype=np.float32).reshape(n, 1, 1)  # each sample carries its own index
    y = np.arange(n, dtype=np.int64) % 10
    s = make_splits(x, y, train=500, eval=200, gt_test=250, calib=64, seed=1, num_classes=10)
    ids = {name: set(getattr(s, name).x.flatten().long().tolist()) for name in ("train", "calib", "eval", "gt_test")}
    assert s.sizes() == {"train": 500, "calib": 64, "eval": 200, "gt_test": 250}
    assert not ids["train"] & ids["eval"] and not ids["train"] & ids["gt_test"] and not ids["eval"] & ids["gt_test"]
    assert ids["calib"] <= ids["train"]
    for name in ("train", "eval", "gt_test"):  # labels travel with their samples
        split = getattr(s, name)
        assert torch.equal(split.y, split.x.flatten().long() % 10)
    again = make_splits(x, y, train=500, eval=200, gt_test=250, calib=64, seed=1, num_classes=10)
    other = make_splits(x, y, train=500, eval=200, gt_test=250, calib=64, seed=2, num_classes=10)
    assert again.data_hash == s.data_hash and other.data_hash != s.data_hash


def test_split_sizes_are_checked() -> None:
    x, y = np.zeros((10, 1, 4), np.float32), np.zeros(10, np.int64)
    with pytest.raises(ValueError, match="splits need"):
        make_splits(x, y, train=8, eval=2, gt_test=2, calib=1, seed=0, num_classes=10)
    with pytest.raises(ValueError, match="calibration"):
        make_splits(x, y, train=4, eval=2, gt_test=2, calib=5, seed=0, num_classes=10)


def test_hash_covers_dtype_shape_and_bytes() -> None:
    a = np.arange(6, dtype=np.int64)
    assert hash_arrays(a) == hash_arrays(a.copy())
    assert hash_arrays(a) != hash_arrays(a.reshape(2, 3))
    assert hash_arrays(a) != hash_arrays(a.astype(np.int32))


def test_default_benchmark_data_is_pinned(default_data) -> None:
    spec = get_benchmark("mnist1d-w20").splits
    assert default_data.sizes() == {k: spec[k] for k in ("train", "calib", "eval", "gt_test")}
    assert default_data.num_classes == 10
    assert default_data.train.x.shape[1:] == (1, 40) and default_data.train.x.dtype == torch.float32
    assert default_data.data_hash == DEFAULT_DATA_HASH
    # calib is drawn from train: its first samples
    assert torch.equal(default_data.calib.x, default_data.train.x[: spec["calib"]])
