"""CIFAR-10 / CIFAR-100 / ImageNet16-120 readers (issue 7): generated files in the real pickle format, checksum
failures, the missing-data message, hostile pickles, and the real (partial) CIFAR files when ../shared/data is there.

The ``make_*`` helpers are imported by the benchmark tests too.
"""

from __future__ import annotations

import os
import pickle
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import SHARED_DATA
from harness.data.cifar import (
    CIFAR10,
    CIFAR100,
    VERIFY_ENV,
    md5_of,
    read_cifar,
    read_cifar10,
    read_cifar100,
    verify_files,
    write_batch,
)
from harness.data.imagenet16 import IMAGENET16, read_imagenet16
from harness.errors import DataError

CIFAR10_PARTIAL = SHARED_DATA / "cifar10_partial" / "cifar-10-batches-py"
CIFAR100_PARTIAL = SHARED_DATA / "cifar100_partial" / "cifar-100-python"


# -------------------------------------------------------------------------------------- generated data
def _images(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, 3, size, size), dtype=np.uint8)


def make_cifar10(root: Path, per_batch: int = 8, n_test: int = 10, seed: int = 0) -> dict[str, np.ndarray]:
    """Write a small CIFAR-10 in the real layout under ``root/cifar-10-batches-py``; returns the arrays written."""
    rng = np.random.default_rng(seed)
    folder = root / CIFAR10.folder
    folder.mkdir(parents=True, exist_ok=True)
    xs, ys = [], []
    for name, _ in CIFAR10.train_files:
        x, y = _images(rng, per_batch, 32), rng.integers(0, 10, per_batch)
        write_batch(folder / name, x, y, "labels", filenames=[f"img{i}.png" for i in range(per_batch)])
        xs.append(x)
        ys.append(y)
    xt, yt = _images(rng, n_test, 32), rng.integers(0, 10, n_test)
    write_batch(folder / "test_batch", xt, yt, "labels")
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)], "num_cases_per_batch": per_batch, "num_vis": 3072}, f, protocol=2)
    return {"train_x": np.concatenate(xs), "train_y": np.concatenate(ys), "test_x": xt, "test_y": yt}


def make_cifar100(root: Path, n_train: int = 30, n_test: int = 12, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    folder = root / CIFAR100.folder
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for part, n in (("train", n_train), ("test", n_test)):
        x, y = _images(rng, n, 32), rng.integers(0, 100, n)
        write_batch(folder / part, x, y, "fine_labels", coarse_labels=[int(v) // 5 for v in y])
        out[f"{part}_x"], out[f"{part}_y"] = x, y
    with open(folder / "meta", "wb") as f:
        pickle.dump({"fine_label_names": [f"f{i}" for i in range(100)], "coarse_label_names": [f"c{i}" for i in range(20)]}, f, protocol=2)
    return out


def make_imagenet16(root: Path, per_batch: int = 12, n_val: int = 20, seed: int = 0) -> dict[str, np.ndarray]:
    """ImageNet16 batches with 1-based labels in 1..200 (so the 120-class cut drops some)."""
    rng = np.random.default_rng(seed)
    folder = root / IMAGENET16.folder
    folder.mkdir(parents=True, exist_ok=True)
    xs, ys = [], []
    for name, _ in IMAGENET16.train_files:
        x, y = _images(rng, per_batch, 16), rng.integers(1, 201, per_batch)
        write_batch(folder / name, x, y, "labels", mean=np.zeros(768))
        xs.append(x)
        ys.append(y)
    xv, yv = _images(rng, n_val, 16), rng.integers(1, 201, n_val)
    write_batch(folder / "val_data", xv, yv, "labels")
    return {"train_x": np.concatenate(xs), "train_y": np.concatenate(ys), "val_x": xv, "val_y": yv}


# ---------------------------------------------------------------------------------------------- CIFAR
def test_cifar10_generated_round_trip(tmp_path: Path) -> None:
    ref = make_cifar10(tmp_path)
    train, test = read_cifar10(tmp_path, verify=False)
    assert train.x.dtype == np.uint8 and train.x.shape == (40, 3, 32, 32) and train.y.dtype == np.int64
    np.testing.assert_array_equal(train.x, ref["train_x"])
    np.testing.assert_array_equal(train.y, ref["train_y"])
    np.testing.assert_array_equal(test.x, ref["test_x"])
    np.testing.assert_array_equal(test.y, ref["test_y"])
    # the folder itself works as root too
    again, _ = read_cifar10(tmp_path / "cifar-10-batches-py", verify=False)
    np.testing.assert_array_equal(again.x, train.x)


def test_cifar100_generated_round_trip(tmp_path: Path) -> None:
    ref = make_cifar100(tmp_path)
    train, test = read_cifar100(tmp_path, verify=False)
    assert train.x.shape == (30, 3, 32, 32) and test.x.shape == (12, 3, 32, 32)
    np.testing.assert_array_equal(train.y, ref["train_y"])  # fine labels, not coarse
    np.testing.assert_array_equal(test.x, ref["test_x"])


def test_data_directory_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = make_cifar10(tmp_path)
    monkeypatch.setenv("NAS_HARNESS_DATA", str(tmp_path))
    train, _ = read_cifar("cifar10", verify=False)
    np.testing.assert_array_equal(train.y, ref["train_y"])


def test_checksum_failure_names_the_file(tmp_path: Path) -> None:
    make_cifar10(tmp_path)
    with pytest.raises(DataError, match=r"data_batch_1 fails its md5 check") as info:
        read_cifar10(tmp_path, verify=True)
    assert VERIFY_ENV in str(info.value)


def test_checksum_opt_out_by_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_cifar10(tmp_path)
    monkeypatch.setenv(VERIFY_ENV, "0")
    assert len(read_cifar10(tmp_path)[0]) == 40  # verify=None follows the environment
    monkeypatch.setenv(VERIFY_ENV, "1")
    with pytest.raises(DataError, match="md5"):
        read_cifar10(tmp_path)


def test_checksum_pass_and_modified_file(tmp_path: Path) -> None:
    make_cifar10(tmp_path)
    folder = tmp_path / "cifar-10-batches-py"
    files = tuple((name, md5_of(folder / name)) for name, _ in CIFAR10.all_files)
    verify_files(CIFAR10, folder, files)  # every md5 right: passes
    with open(folder / "data_batch_3", "r+b") as f:  # flip one pixel byte
        f.seek(-10, os.SEEK_END)
        byte = f.read(1)
        f.seek(-10, os.SEEK_END)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(DataError, match="data_batch_3 fails its md5"):
        verify_files(replace(CIFAR10, train_files=files[:5]), folder, files)


def test_missing_data_says_what_to_put_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DataError) as info:
        read_cifar10(tmp_path, verify=False)
    msg = str(info.value)
    for word in ("cifar-10-batches-py", "data_batch_1", "data_batch_5", "test_batch", "batches.meta", "cifar-10-python.tar.gz"):
        assert word in msg
    assert "\n" not in msg
    make_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(DataError, match=r"incomplete in .*cifar-10-batches-py: missing test_batch \("):
        read_cifar10(tmp_path, verify=False)
    monkeypatch.delenv("NAS_HARNESS_DATA", raising=False)
    with pytest.raises(DataError, match="NAS_HARNESS_DATA"):
        read_cifar100(verify=False)
    with pytest.raises(DataError, match=r"put train_data_batch_1, .*train_data_batch_10, val_data .* in .*/ImageNet16/$"):
        read_imagenet16(tmp_path, verify=False)


def test_corrupt_and_inconsistent_files(tmp_path: Path) -> None:
    make_cifar10(tmp_path)
    folder = tmp_path / "cifar-10-batches-py"
    (folder / "data_batch_2").write_bytes(b"\x80\x02garbage" * 10)
    with pytest.raises(DataError, match="data_batch_2 is not a readable data batch"):
        read_cifar10(tmp_path, verify=False)
    write_batch(folder / "data_batch_2", np.zeros((4, 3, 32, 32), np.uint8), [1, 2, 3], "labels")
    with pytest.raises(DataError, match="3 labels for 4 images"):
        read_cifar10(tmp_path, verify=False)
    write_batch(folder / "data_batch_2", np.zeros((3, 3, 32, 32), np.uint8), [1, 2, 10], "labels")
    with pytest.raises(DataError, match="labels outside 0..9"):
        read_cifar10(tmp_path, verify=False)


class _Evil:
    def __reduce__(self):  # noqa: ANN204
        return (os.system, ("touch PWNED",))


def test_hostile_pickle_is_refused_without_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_cifar100(tmp_path)
    monkeypatch.chdir(tmp_path)
    with open(tmp_path / "cifar-100-python" / "train", "wb") as f:
        pickle.dump({"data": _Evil(), "fine_labels": [0]}, f, protocol=2)
    with pytest.raises(DataError, match="refusing to load"):
        read_cifar100(tmp_path, verify=False)
    assert not (tmp_path / "PWNED").exists()


# ------------------------------------------------------------------------------------------ ImageNet16
def test_imagenet16_keeps_120_classes_zero_based(tmp_path: Path) -> None:
    ref = make_imagenet16(tmp_path)
    train, val = read_imagenet16(tmp_path, verify=False)
    keep = ref["train_y"] <= 120
    assert train.x.shape == (int(keep.sum()), 3, 16, 16) and train.x.dtype == np.uint8
    np.testing.assert_array_equal(train.x, ref["train_x"][keep])
    np.testing.assert_array_equal(train.y, ref["train_y"][keep] - 1)
    assert train.y.min() >= 0 and train.y.max() <= 119
    keep_v = ref["val_y"] <= 120
    np.testing.assert_array_equal(val.y, ref["val_y"][keep_v] - 1)
    full, _ = read_imagenet16(tmp_path, num_classes=1000, verify=False)
    assert len(full) == len(ref["train_y"])


def test_imagenet16_checksum_and_label_base(tmp_path: Path) -> None:
    make_imagenet16(tmp_path)
    with pytest.raises(DataError, match="train_data_batch_1 fails its md5"):
        read_imagenet16(tmp_path, verify=True)
    write_batch(tmp_path / "ImageNet16" / "val_data", np.zeros((2, 3, 16, 16), np.uint8), [0, 5], "labels")
    with pytest.raises(DataError, match="1-based"):
        read_imagenet16(tmp_path, verify=False)


# ---------------------------------------------------------------------------------- real partial files
@pytest.mark.skipif(not CIFAR10_PARTIAL.is_dir(), reason=f"{CIFAR10_PARTIAL} is absent")
def test_real_partial_cifar10() -> None:
    with pytest.raises(DataError, match="data_batch_1 fails its md5 check"):
        read_cifar10(CIFAR10_PARTIAL, verify=True)  # cut files: the canonical md5 cannot match
    verify_files(CIFAR10, CIFAR10_PARTIAL, [CIFAR10.meta_file])  # the untouched meta file matches the canonical md5
    train, test = read_cifar10(CIFAR10_PARTIAL, verify=False)
    assert len(train) == 1102 + 4 * 1017 and len(test) == 1017
    assert train.y[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert test.y[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
    row0 = train.x[0].reshape(-1)
    assert row0[:3].tolist() == [59, 43, 50] and row0[-3:].tolist() == [140, 84, 72]


@pytest.mark.skipif(not CIFAR100_PARTIAL.is_dir(), reason=f"{CIFAR100_PARTIAL} is absent")
def test_real_partial_cifar100() -> None:
    with pytest.raises(DataError, match="train fails its md5 check"):
        read_cifar100(CIFAR100_PARTIAL, verify=True)
    verify_files(CIFAR100, CIFAR100_PARTIAL, [CIFAR100.meta_file])
    train, test = read_cifar100(CIFAR100_PARTIAL, verify=False)
    assert (len(train), len(test)) == (486, 916)
    assert train.y[:10].tolist() == [19, 29, 0, 11, 1, 86, 90, 28, 23, 31]
    assert test.y[:10].tolist() == [49, 33, 72, 51, 71, 92, 15, 14, 23, 0]


# ------------------------------------------------------------------------------- benchmark data splits
SPEC = """
name = "{name}"
description = "nb201 reader test"
primary_metric = "kendall_tau"

[space]
name = "nb201"
num_classes = {classes}
input_size = {size}
channels = 4
cells_per_stage = 1

[data]
kind = "{kind}"
verify_checksums = false

[splits]
seed = {seed}
calib = 16
eval_fraction = 0.5

[archset]
kind = "nb201-all"
size = 15625

[gt]
kind = "nb201-csv"
file = "nb201/nb201_test_acc_200ep.csv"
column = "CIFAR10TestAccuracy200Epochs"
"""


def write_spec(folder: Path, name: str, kind: str, *, classes: int = 10, size: int = 32, seed: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.toml").write_text(SPEC.format(name=name, kind=kind, classes=classes, size=size, seed=seed))


@pytest.fixture()
def bench_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from harness.benchmarks.loaders import clear_cache

    monkeypatch.setenv("NAS_HARNESS_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("NAS_HARNESS_BENCHMARK_DIRS", str(tmp_path / "specs"))
    clear_cache()
    yield tmp_path
    clear_cache()


def test_benchmark_splits_from_cifar(bench_env: Path) -> None:
    from harness.benchmarks import get_benchmark
    from harness.data.cifar import CIFAR10 as DS

    ref = make_cifar10(bench_env / "data")
    write_spec(bench_env / "specs", "t-c10", "cifar10")
    write_spec(bench_env / "specs", "t-c10-seed", "cifar10", seed=1)
    data = get_benchmark("t-c10").load_data()
    assert data.sizes() == {"train": 40, "calib": 16, "eval": 5, "gt_test": 5} and data.num_classes == 10
    assert data.train.x.dtype == torch.float32 and data.train.x.shape == (40, 3, 32, 32)
    mean = torch.tensor(DS.mean).view(1, 3, 1, 1)
    std = torch.tensor(DS.std).view(1, 3, 1, 1)
    expected = (torch.from_numpy(ref["train_x"]).float() / 255 - mean) / std
    torch.testing.assert_close(data.train.x, expected)
    # calib ⊂ train; eval and gt_test partition the test set
    train_rows = {tuple(r) for r in data.train.x.flatten(1)[:, :8].tolist()}
    assert all(tuple(r) in train_rows for r in data.calib.x.flatten(1)[:, :8].tolist())
    test_y = sorted(ref["test_y"].tolist())
    assert sorted(data.eval.y.tolist() + data.gt_test.y.tolist()) == test_y
    assert data.meta["checksums_verified"] is False
    other = get_benchmark("t-c10-seed").load_data()
    assert other.data_hash != data.data_hash and len(data.data_hash) == 64


def test_benchmark_splits_from_imagenet16(bench_env: Path) -> None:
    from harness.benchmarks import get_benchmark

    ref = make_imagenet16(bench_env / "data")
    write_spec(bench_env / "specs", "t-in16", "imagenet16-120", classes=120, size=16)
    data = get_benchmark("t-in16").load_data()
    n_val = int((ref["val_y"] <= 120).sum())
    assert len(data.train) == int((ref["train_y"] <= 120).sum()) and len(data.eval) + len(data.gt_test) == n_val
    assert data.num_classes == 120 and data.train.x.shape[1:] == (3, 16, 16)
    assert int(data.train.y.max()) <= 119


def test_benchmark_data_missing_is_a_data_error(bench_env: Path) -> None:
    from harness.benchmarks import get_benchmark

    write_spec(bench_env / "specs", "t-c100", "cifar100", classes=100)
    with pytest.raises(DataError, match="cifar-100-python/"):
        get_benchmark("t-c100").load_data()


def test_cifar100_kind_without_splits_evaluates_on_the_whole_test_set(bench_env: Path) -> None:
    """The cvpr21-track1 layout: ``dir`` names the folder, no [splits]: calib = the protocol's batches, eval = all test."""
    from harness.benchmarks import get_benchmark

    make_cifar100(bench_env / "data")
    spec = SPEC.format(name="t-cvpr", kind="cifar100", classes=100, size=32, seed=0)
    spec = spec.replace('verify_checksums = false', 'verify_checksums = false\ndir = "cifar-100-python"')
    spec = spec[: spec.index("[splits]")] + spec[spec.index("[archset]") :]
    spec += "\n[protocol]\ncalib_batch_size = 4\ncalib_batches = 2\n"
    (bench_env / "specs").mkdir()
    (bench_env / "specs" / "t-cvpr.toml").write_text(spec)
    data = get_benchmark("t-cvpr").load_data()
    assert data.sizes() == {"train": 30, "calib": 8, "eval": 12, "gt_test": 0} and data.num_classes == 100
    shutil.rmtree(bench_env / "data" / "cifar-100-python")
    from harness.benchmarks.loaders import clear_cache

    clear_cache()
    with pytest.raises(DataError, match=r"in .*/data/cifar-100-python/$"):  # not .../cifar-100-python/cifar-100-python/
        get_benchmark("t-cvpr").load_data()
