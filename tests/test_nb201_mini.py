"""nb201-cifar10-mini (issue 33): NAS-Bench-201 cells on real CIFAR-10 at a size two CPU cores can run.

What it relies on, tested here on generated files (always) and on the real files when ../shared/data is present:
the first N images of every CIFAR file (a cut copy and the complete files give the same splits), the splits hash
that identifies them, a seeded sample of one arch per isomorphism class, and its GT as class means.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED_DATA
from harness.errors import DataError
from test_data_readers import make_cifar10
from test_nb201_benchmarks import GT_CSV, data_env, write_gt_csv  # noqa: F401 - data_env is a fixture

CIFAR10_CUT = SHARED_DATA / "cifar10_partial" / "cifar-10-batches-py"
MINI_SPEC = """\
include = "{base}"
name = "mini-test"
version = 1
description = "per-file cut of generated CIFAR-10"

[space]
num_classes = 10
input_size = 32
cells_per_stage = 1

[data]
kind = "cifar10"
per_file = 6
verify_checksums = false
{hash_line}

[splits]
calib = 8
eval_fraction = 1.0

[archset]
kind = "nb201-classes"
size = 40
seed = 3

[gt]
column = "CIFAR10TestAccuracy200Epochs"
subset = true
"""


def _spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hash_line: str = ""):  # noqa: ANN202 - a Benchmark
    from harness.benchmarks import get_benchmark
    from harness.benchmarks.loaders import clear_cache
    from harness.benchmarks.registry import SPECS_DIR

    specs = tmp_path / f"specs{len(list(tmp_path.glob('specs*')))}"  # a new folder: the spec registry caches by folder
    specs.mkdir()
    base = Path(SPECS_DIR) / "nb201.base.toml"
    (specs / "mini-test.toml").write_text(MINI_SPEC.format(base=base, hash_line=hash_line))
    monkeypatch.setenv("NAS_HARNESS_BENCHMARK_DIRS", str(specs))
    clear_cache()
    return get_benchmark("mini-test")


def _cut_copy(src: Path, dst: Path, rows: int) -> None:
    """The same CIFAR-10 files cut to their first ``rows`` images (as the shared cut copies are)."""
    from harness.data.cifar import CIFAR10, batch_arrays, load_batch, write_batch

    dst.mkdir(parents=True)
    for name, _ in (*CIFAR10.train_files, *CIFAR10.test_files):
        x, y = batch_arrays(load_batch(src / name, "cifar10"), src / name, "cifar10", "labels", 32)
        write_batch(dst / name, x[:rows], y[:rows], "labels")
    shutil.copy(src / "batches.meta", dst / "batches.meta")


def test_first_images_of_every_file_same_from_complete_and_cut_files(data_env: Path, tmp_path: Path) -> None:
    from harness.data.cifar import read_cifar

    written = make_cifar10(data_env, per_batch=10, n_test=10)
    cut = tmp_path / "cut"
    _cut_copy(data_env / "cifar-10-batches-py", cut / "cifar-10-batches-py", rows=7)
    full_train, full_test = read_cifar("cifar10", data_env, verify=False, per_file=6)
    cut_train, cut_test = read_cifar("cifar10", cut, verify=False, per_file=6)
    np.testing.assert_array_equal(full_train.x, cut_train.x)
    np.testing.assert_array_equal(full_test.y, cut_test.y)
    # the first 6 of each of the 5 training files, in file order
    expect = np.concatenate([written["train_x"][k * 10 : k * 10 + 6] for k in range(5)])
    np.testing.assert_array_equal(full_train.x, expect)
    assert len(full_test) == 6
    with pytest.raises(DataError, match="holds 7 images; this benchmark reads the first 8"):
        read_cifar("cifar10", cut, verify=False, per_file=8)


def test_splits_hash_identifies_the_images(data_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_cifar10(data_env, per_batch=10, n_test=10)
    bench = _spec(tmp_path, monkeypatch)
    splits = bench.load_data()
    assert splits.sizes() == {"train": 30, "calib": 8, "eval": 6, "gt_test": 0}
    assert splits.meta["per_file"] == 6 and splits.meta["splits_hash_verified"] is False
    good = _spec(tmp_path, monkeypatch, f'splits_sha256 = "{splits.data_hash}"')
    assert good.load_data().meta["splits_hash_verified"] is True
    # a cut copy of the same files passes the same hash; other images fail it with one line
    cut = tmp_path / "cut"
    _cut_copy(data_env / "cifar-10-batches-py", cut / "cifar-10-batches-py", rows=6)
    monkeypatch.setenv("NAS_HARNESS_DATA", str(cut))
    assert _spec(tmp_path, monkeypatch, f'splits_sha256 = "{splits.data_hash}"').load_data().data_hash == splits.data_hash
    other = tmp_path / "other"
    make_cifar10(other, per_batch=10, n_test=10, seed=1)
    monkeypatch.setenv("NAS_HARNESS_DATA", str(other))
    with pytest.raises(DataError, match="are not this benchmark's") as err:
        _spec(tmp_path, monkeypatch, f'splits_sha256 = "{splits.data_hash}"').load_data()
    assert "\n" not in str(err.value)


def test_archset_one_arch_per_isomorphism_class(data_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.spaces.nb201 import NB201Space, arch_index
    from harness.spaces.nb201_iso import isomorphism_classes

    bench = _spec(tmp_path, monkeypatch)
    archs = bench.archs()
    assert len(archs) == 40 and archs == _spec(tmp_path, monkeypatch).archs()  # seeded
    index = [arch_index(a) for a in archs]
    assert index == sorted(index)
    classes = isomorphism_classes(archs)
    assert len(set(classes.tolist())) == 40  # distinct classes
    every = NB201Space().archs()
    all_classes = isomorphism_classes(every)
    for arch, cls in zip(archs, classes, strict=True):  # each the lowest-index member of its class
        assert arch_index(arch) == int(np.flatnonzero(all_classes == cls)[0])


def test_subset_gt_is_the_class_mean(data_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.spaces.nb201 import NB201Space
    from harness.spaces.nb201_iso import isomorphism_classes

    bench = _spec(tmp_path, monkeypatch)
    every = NB201Space().archs()
    classes = isomorphism_classes(every)
    acc = np.random.default_rng(0).uniform(10, 90, len(every))
    write_gt_csv(data_env / "nb201" / "nb201_test_acc_200ep.csv", list(zip(every, acc.tolist(), strict=True)))
    gt = bench.ground_truth()
    assert gt.archs == bench.archs()
    chosen = isomorphism_classes(gt.archs)
    expect = [acc[classes == c].mean() / 100 for c in chosen]
    np.testing.assert_allclose(gt.acc[:, 0], expect, rtol=1e-12)
    assert sorted(gt.splits["dev"].tolist() + gt.splits["test"].tolist()) == list(range(40))
    assert len(gt.splits["test"]) == 20
    # a CSV without rows for some archs of the sample is refused
    write_gt_csv(data_env / "nb201" / "nb201_test_acc_200ep.csv", list(zip(every[:100], acc[:100].tolist(), strict=True)))
    from harness.benchmarks.loaders import clear_cache
    from harness.errors import GroundTruthError

    clear_cache()
    with pytest.raises(GroundTruthError, match="archs of the arch set have no row"):
        _spec(tmp_path, monkeypatch).ground_truth()


@pytest.mark.skipif(not (GT_CSV.is_file() and CIFAR10_CUT.is_dir()), reason="../shared/data (NB201 GT, cut CIFAR-10) is absent")
def test_shipped_mini_benchmark_on_the_real_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The spec's splits hash matches the cut files, 1,000 classes, 500/500 split by class, GT = class means."""
    from harness.benchmarks import get_benchmark
    from harness.benchmarks.loaders import clear_cache
    from harness.spaces.nb201_iso import isomorphism_classes

    data = tmp_path / "data"
    data.mkdir()
    (data / "nb201").symlink_to(GT_CSV.parent)
    (data / "cifar-10-batches-py").symlink_to(CIFAR10_CUT)
    monkeypatch.setenv("NAS_HARNESS_DATA", str(data))
    clear_cache()
    bench = get_benchmark("nb201-cifar10-mini")
    assert (bench.space.channels, bench.space.cells_per_stage) == (16, 1)
    splits = bench.load_data()
    assert splits.sizes() == {"train": 5000, "calib": 256, "eval": 1000, "gt_test": 0}
    assert splits.meta["splits_hash_verified"] is True
    gt = bench.ground_truth()
    assert len(gt.archs) == 1000 and len(set(isomorphism_classes(gt.archs).tolist())) == 1000
    assert (len(gt.splits["dev"]), len(gt.splits["test"])) == (500, 500)
    full = get_benchmark("nb201-cifar10").ground_truth()
    full_classes = isomorphism_classes(full.archs)
    first = gt.archs[0]
    members = full_classes == isomorphism_classes([first])[0]
    assert gt.acc[0, 0] == pytest.approx(full.acc[members, 0].mean(), rel=1e-12)
    clear_cache()
