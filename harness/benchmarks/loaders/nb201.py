"""Loader kinds for NAS-Bench-201 benchmarks and image datasets.

Kinds registered here:

* data ``cifar10``, ``cifar100``, ``imagenet16-120`` — user-supplied pickled batches (:mod:`harness.data.cifar`,
  :mod:`harness.data.imagenet16`) cut into :class:`DataSplits`;
* arch set ``nb201-all`` — all 15,625 cells in NAS-Bench-201's index order (enumerated, no file);
* GT ``nb201-csv`` — one accuracy column (in %) of a CSV with an ``ArchitectureString`` column, e.g. the 200-epoch
  test accuracies in ``nb201/nb201_test_acc_200ep.csv``.

How the image splits are cut (spec ``[splits]``: ``seed``, ``calib``, ``eval_fraction``):

* ``train``   – the whole official training set, in file order (what NAS-Bench-201 trained on);
* ``calib``   – ``calib`` images of ``train`` drawn with the seed (BN recalibration only);
* ``eval``    – ``eval_fraction`` of the official test set (ImageNet16-120: its val set), drawn with the seed;
* ``gt_test`` – the rest of that test set.

Why the test set, halved: that is NAS-Bench-201's own protocol for CIFAR-100 and ImageNet16-120 (search on the
"x-valid" half of the test set, report on the "x-test" half); trainers never see either half. The NB201 GT comes from
the CSV, so ``gt_test`` is not used to build it; it is kept so every benchmark has the same four splits. The
benchmark's published halves are index files that are not part of the data, so the halves here are seeded and
differ from NB201's; for CIFAR-10 the GT was measured on the whole test set. Inputs are float32, normalised with
NAS-Bench-201's per-channel mean and std; no augmentation (trainers add their own).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness import config
from harness.benchmarks.loaders.files import GT_SPLIT_OPTIONS
from harness.benchmarks.loaders.kinds import BenchmarkLike, load_archset, register_kind
from harness.data.cifar import CIFAR10, CIFAR100, ImageArrays, PickleDataset, read_cifar, verify_default
from harness.data.hashing import hash_arrays
from harness.data.imagenet16 import IMAGENET16, NUM_CLASSES_NB201, read_imagenet16
from harness.errors import DataError, GroundTruthError, InvalidArchError
from harness.gt.gt_file import GroundTruth, released_gt, split_dev_test
from harness.spaces.nb201_iso import isomorphism_classes

if TYPE_CHECKING:
    import torch

    from harness.data.splits import DataSplits, Split

ARCH_COLUMN = "ArchitectureString"
NOISE_CEILING_NOTE = (
    "unknown: the file holds one accuracy per arch (NAS-Bench-201's mean over its training seeds), so seed-to-seed "
    "noise cannot be estimated"
)


# ---------------------------------------------------------------------------------------------- data
def normalise(x: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """uint8 (N, 3, H, W) → float32 ``(x / 255 - mean) / std`` per channel."""
    import torch
    m = np.asarray(mean, dtype=np.float32).reshape(1, -1, 1, 1)
    s = np.asarray(std, dtype=np.float32).reshape(1, -1, 1, 1)
    out = x.astype(np.float32) / np.float32(255.0)
    out -= m
    out /= s
    return torch.from_numpy(out)


def image_splits(
    train: ImageArrays,
    test: ImageArrays,
    ds: PickleDataset,
    *,
    num_classes: int,
    calib: int,
    eval_fraction: float,
    seed: int,
    meta: dict[str, Any] | None = None,
) -> DataSplits:
    """Cut an official train/test pair into the four splits (see the module docstring)."""
    if not 0.0 < eval_fraction <= 1.0:
        raise DataError(f"{ds.name}: eval_fraction must lie in (0, 1], got {eval_fraction}")
    if not 0 < calib <= len(train):
        raise DataError(f"{ds.name}: the calibration split needs {calib} training images, the files hold {len(train)}")
    rng = np.random.default_rng(seed)
    idx_calib = np.sort(rng.permutation(len(train))[:calib])
    perm = rng.permutation(len(test))
    n_eval = max(1, int(round(len(test) * eval_fraction)))
    idx_eval, idx_gt = np.sort(perm[:n_eval]), np.sort(perm[n_eval:])
    mean_std = np.asarray(ds.mean + ds.std, dtype=np.float64)
    digest = hash_arrays(train.x, train.y, test.x, test.y, idx_calib, idx_eval, idx_gt, mean_std)

    import torch

    from harness.data.splits import DataSplits, Split

    def part(arrays: ImageArrays, idx: np.ndarray | None = None) -> Split:
        x, y = (arrays.x, arrays.y) if idx is None else (arrays.x[idx], arrays.y[idx])
        return Split(normalise(x, ds.mean, ds.std), torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64)))

    info = {"dataset": ds.name, "train_size": len(train), "test_size": len(test), "mean": ds.mean, "std": ds.std}
    info.update(meta or {})
    return DataSplits(
        train=part(train),
        calib=part(train, idx_calib),
        eval=part(test, idx_eval),
        gt_test=part(test, idx_gt),
        num_classes=num_classes,
        data_hash=digest,
        meta=info,
    )


def _data_root(bench: BenchmarkLike) -> Path | None:
    base = config.data_dir()
    sub = bench.data.get("dir")
    return None if base is None else (base / sub if sub else base)


def _split_options(bench: BenchmarkLike) -> dict[str, Any]:
    s = bench.splits
    return {
        "calib": int(s.get("calib", bench.protocol.calib_batch_size * bench.protocol.calib_batches)),
        "eval_fraction": float(s.get("eval_fraction", 1.0)),
        "seed": int(s.get("seed", 0)),
    }


def _verify(bench: BenchmarkLike) -> bool:
    """Spec ``verify_checksums`` (default true), turned off by ``$NAS_HARNESS_VERIFY_CHECKSUMS=0`` too."""
    return bool(bench.data.get("verify_checksums", True)) and verify_default()


def _check_splits_hash(bench: BenchmarkLike, splits: DataSplits) -> DataSplits:
    """Spec ``[data] splits_sha256``: the hash of exactly the images, labels and cuts the benchmark uses.

    Why: a benchmark that reads only the first rows of each file (``per_file``) must give the same splits from the
    complete files and from a copy cut short, so the md5 of whole files cannot identify its data; this hash can.
    """
    expected = bench.data.get("splits_sha256")
    if expected and splits.data_hash != expected:
        raise DataError(
            f"benchmark {bench.name}: the images under {_data_root(bench)} are not this benchmark's "
            f"(splits hash {splits.data_hash[:12]}…, the spec says {str(expected)[:12]}…)"
        )
    splits.meta["splits_hash_verified"] = bool(expected)
    return splits


def _cifar_data(name: str, ds: PickleDataset):  # noqa: ANN202 - returns a DataLoader
    def load(bench: BenchmarkLike) -> DataSplits:
        verify = _verify(bench)
        per_file = bench.data.get("per_file")
        train, test = read_cifar(name, _data_root(bench), verify=verify, per_file=per_file)
        meta = {"checksums_verified": verify, **({"per_file": per_file} if per_file else {})}
        splits = image_splits(train, test, ds, num_classes=ds.num_classes, meta=meta, **_split_options(bench))
        return _check_splits_hash(bench, splits)

    return load


def _imagenet16_data(bench: BenchmarkLike) -> DataSplits:
    verify = _verify(bench)
    n = int(bench.data.get("num_classes", NUM_CLASSES_NB201))
    train, val = read_imagenet16(_data_root(bench), num_classes=n, verify=verify)
    meta = {"checksums_verified": verify}
    return image_splits(train, val, IMAGENET16, num_classes=n, meta=meta, **_split_options(bench))


IMAGE_OPTIONS: dict[str, Any] = {"dir": str, "verify_checksums": bool}
CIFAR_OPTIONS: dict[str, Any] = IMAGE_OPTIONS | {"per_file": int, "splits_sha256": str}
register_kind("data", "cifar10", _cifar_data("cifar10", CIFAR10), options=CIFAR_OPTIONS,
              doc="CIFAR-10 python batches under the data directory (`dir`, md5-checked unless `verify_checksums = false`; "
                  "`per_file`: the first N images of every file; `splits_sha256`: the hash the cut splits must have)")
register_kind("data", "cifar100", _cifar_data("cifar100", CIFAR100), options=CIFAR_OPTIONS,
              doc="CIFAR-100 python files under the data directory (`dir`, md5-checked; `per_file`, `splits_sha256` as cifar10)")
register_kind("data", "imagenet16-120", _imagenet16_data, options=IMAGE_OPTIONS | {"num_classes": int},
              doc="ImageNet16 batches under the data directory, the first `num_classes` (120) classes")


# ------------------------------------------------------------------------------------------ arch set
def _archset_nb201(bench: BenchmarkLike) -> list[str]:
    archs = bench.space.archs()  # type: ignore[attr-defined]
    expected = bench.archset.get("size")
    if expected is not None and int(expected) != len(archs):
        raise DataError(f"benchmark {bench.name}: the spec says {expected} archs, the space enumerates {len(archs)}")
    return archs


register_kind("archset", "nb201-all", _archset_nb201, options={"size": int},
              doc="all archs of the space in its own order (`space.archs()`, e.g. NAS-Bench-201's index order); no file")


def _archset_nb201_classes(bench: BenchmarkLike) -> list[str]:
    """A seeded sample of ``size`` isomorphism classes, each as its lowest-index arch, in NAS-Bench-201 index order.

    Why classes rather than archs: two isomorphs are one network measured twice, so a sample of archs would spend
    evaluations on duplicates and, split by arch, leak dev into test; one arch per class avoids both.
    """
    archs = bench.space.archs()  # type: ignore[attr-defined]
    classes = isomorphism_classes(archs)
    ids, first = np.unique(classes, return_index=True)
    size = int(bench.archset["size"])
    if not 0 < size <= ids.size:
        raise DataError(f"benchmark {bench.name}: [archset] size must lie in 1..{ids.size} (isomorphism classes)")
    rng = np.random.default_rng(int(bench.archset.get("seed", 0)))
    chosen = np.sort(first[rng.choice(ids.size, size=size, replace=False)])
    return [archs[i] for i in chosen]


register_kind("archset", "nb201-classes", _archset_nb201_classes, options={"size": int, "seed": int}, required=("size",),
              doc="a seeded sample of `size` NB201 isomorphism classes, one arch each (its lowest index); no file")


# ------------------------------------------------------------------------------------------------ GT
def read_accuracy_csv(path: Path, column: str, canonical: Any) -> tuple[list[str], np.ndarray]:
    """``(archs, acc in %)`` from a CSV with an ``ArchitectureString`` column; ``canonical`` validates arch strings."""
    if not path.is_file():
        raise GroundTruthError(
            f"NAS-Bench-201 GT file {path} does not exist: put the CSV with columns {ARCH_COLUMN} and {column} "
            f"(e.g. nb201_test_acc_200ep.csv) there"
        )
    archs: list[str] = []
    values: list[float] = []
    try:
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            for needed in (ARCH_COLUMN, column):
                if needed not in header:
                    raise GroundTruthError(f"{path} has no column {needed!r}; its columns: {', '.join(header)}")
            for row_no, row in enumerate(reader, start=2):
                try:
                    arch = canonical(row[ARCH_COLUMN])
                    value = float(row[column])
                except (InvalidArchError, ValueError, TypeError) as exc:
                    raise GroundTruthError(f"{path} line {row_no}: not usable ({exc})") from None
                if not (math.isfinite(value) and 0.0 <= value <= 100.0):
                    raise GroundTruthError(f"{path} line {row_no}: {column} = {value} is not an accuracy in %")
                archs.append(arch)
                values.append(value)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise GroundTruthError(f"{path} is not a readable CSV: {exc}") from None
    return archs, np.asarray(values, dtype=np.float64)


def _gt_nb201_csv(bench: BenchmarkLike) -> GroundTruth:
    """One accuracy column of the CSV as a one-seed GT, in arch-set order, accuracy / 100 into [0, 1]."""
    spec = bench.gt
    path = bench.resolve(spec["file"], user_data=bool(spec.get("user_data", True)))
    column = spec["column"]
    space = bench.space
    archs, acc = read_accuracy_csv(path, column, space.canonical)
    position = {a: i for i, a in enumerate(load_archset(bench))}
    if bool(spec.get("subset", False)):
        archs, acc = _class_means_of_archset(archs, acc, position, path)
    index = np.empty(len(archs), dtype=np.int64)
    for i, arch in enumerate(archs):
        if arch not in position:
            raise GroundTruthError(f"{path}: arch {arch} is not in the arch set of {bench.name}")
        index[i] = position[arch]
    if np.unique(index).size != index.size:
        raise GroundTruthError(f"{path}: some archs appear more than once")
    order = np.argsort(index, kind="stable")
    archs = [archs[i] for i in order]
    acc_arr = (acc[order] / 100.0)[:, None]
    index = index[order]
    classes = isomorphism_classes(archs)
    if bool(spec.get("deisomorphise", False)):
        archs, acc_arr, index, classes = _one_per_class(archs, acc_arr, index, classes)
    splits = split_by_class(classes, float(spec.get("test_fraction", 0.5)), int(spec.get("split_seed", 0)))
    attrs = {
        "source": str(path),
        "column": column,
        "benchmark": bench.name,
        "recipe": {
            "origin": "NAS-Bench-201 (NATS-Bench topology space) standalone training",
            "epochs": int(spec.get("epochs", 200)),
            "metric": f"{column} / 100",
            "dataset": bench.data.get("kind", "?"),
        },
        "seeds": "one column: NAS-Bench-201's mean over its trained seeds (per-seed values not in the file)",
        "noise_ceiling": NOISE_CEILING_NOTE,
        "isomorphs": ("dev/test split by isomorphism class (no class in both); the bootstrap resamples classes"
                      + ("; one arch per class, its GT the class mean"
                         if spec.get("deisomorphise") or spec.get("subset") else "")),
    }
    return released_gt(space, archs, acc_arr, splits, index, attrs, clusters=classes)


def _class_means_of_archset(archs: list[str], acc: np.ndarray, position: dict[str, int], path: Path
                            ) -> tuple[list[str], np.ndarray]:
    """GT option ``subset``: the arch set is a sample of one arch per isomorphism class (``nb201-classes``); each
    of its archs gets the mean accuracy of its whole class in the CSV (the class's archs differ by training noise
    only), and the CSV's other rows are dropped."""
    inverse, means = class_means(isomorphism_classes(archs), acc[:, None])
    keep = [i for i, a in enumerate(archs) if a in position]
    missing = len(position) - len({archs[i] for i in keep})
    if missing:
        raise GroundTruthError(f"{path}: {missing} archs of the arch set have no row")
    return [archs[i] for i in keep], means[inverse[keep], 0]


def class_means(classes: np.ndarray, acc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(inverse, means)``: each arch's class position, and the mean of ``acc`` (archs × columns) per class."""
    ids, inverse = np.unique(classes, return_inverse=True)
    sums = np.zeros((ids.size, acc.shape[1]))
    np.add.at(sums, inverse, acc)
    return inverse, sums / np.bincount(inverse, minlength=ids.size)[:, None]


def split_by_class(classes: np.ndarray, test_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """A seeded dev/test partition of the archs in which every isomorphism class lies wholly in one split.

    Why: isomorphs are one network measured twice; with one in dev and its twin in test, dev scores leak into
    test (4,750 of 7,812 test archs had an isomorph in dev under the per-arch split). The classes are split
    with :func:`split_dev_test`'s rule (``test_fraction`` of the classes, seeded), then expanded to their archs.
    """
    ids = np.unique(classes)
    by_class = split_dev_test(ids.size, test_fraction, seed)
    test_classes = ids[by_class["test"]]
    is_test = np.isin(classes, test_classes)
    return {"test": np.flatnonzero(is_test), "dev": np.flatnonzero(~is_test)}


def _one_per_class(archs: list[str], acc: np.ndarray, index: np.ndarray, classes: np.ndarray
                   ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """The de-isomorphised set (as aw_nas evaluates NB201): one arch per class, the one with the lowest
    NAS-Bench-201 index, its GT the mean accuracy of the class's archs (their differences are training noise)."""
    _, first = np.unique(classes, return_index=True)
    inverse, mean = class_means(classes, acc)
    keep = np.sort(first)  # archs are in index order, so the first of a class has its lowest index
    return [archs[i] for i in keep], mean[inverse[keep]], index[keep], classes[keep]


register_kind("gt", "nb201-csv", _gt_nb201_csv,
              options=GT_SPLIT_OPTIONS | {"file": str, "user_data": bool, "column": str, "epochs": int, "deisomorphise": bool,
                                           "subset": bool},
              required=("file", "column"), doc="one accuracy column (in %) of a CSV with an `ArchitectureString` column")

