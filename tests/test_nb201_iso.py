"""NAS-Bench-201 isomorphism classes: the canonical form, its cross-check against the benchmark CSV's
``UniqueString`` (skipped without ../shared/data), the split by class and the class (cluster) bootstrap."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED_DATA
from harness.spaces.nb201_cell import EXAMPLE, all_archs, format_ops
from harness.spaces.nb201_iso import ZERO, canonical_form, isomorphism_classes, num_classes

GT_CSV = SHARED_DATA / "nb201" / "nb201_test_acc_200ep.csv"
real_gt = pytest.mark.skipif(not GT_CSV.is_file(), reason=f"{GT_CSV} is absent")


def _cell(*ops: str) -> str:
    return format_ops(ops)


def test_canonical_form_merges_what_the_network_cannot_see() -> None:
    # parallel paths in another order: NAS-Bench-201's example cell and a reordering of its node-3 sum
    assert canonical_form(EXAMPLE) == canonical_form(
        "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|nor_conv_3x3~0|avg_pool_3x3~1|skip_connect~2|")
    # a node that receives nothing: every op out of it is zeros, so its out-edges do not matter
    dead = [_cell("none", "none", op, "nor_conv_3x3", "none", "none") for op in ("skip_connect", "nor_conv_1x1", "avg_pool_3x3")]
    assert len({canonical_form(a) for a in dead}) == 1
    # a node whose result never reaches the output: its in-edges do not matter
    unused = [_cell(op, "nor_conv_1x1", "none", "nor_conv_3x3", "none", "none") for op in ("skip_connect", "avg_pool_3x3")]
    assert len({canonical_form(a) for a in unused}) == 1
    # skip is identity: skip into a node that sums two terms == both terms directly
    assert canonical_form(_cell("nor_conv_1x1", "none", "none", "none", "skip_connect", "none")) == "(0)@nor_conv_1x1"
    # a multiset: two parallel convs are not one
    assert canonical_form(_cell("nor_conv_1x1", "none", "none", "nor_conv_1x1", "nor_conv_1x1", "none")) != \
        canonical_form(_cell("nor_conv_1x1", "none", "none", "nor_conv_1x1", "none", "none"))
    assert canonical_form(_cell(*(["none"] * 6))) == ZERO
    assert canonical_form(_cell("skip_connect", "none", "skip_connect", "none", "none", "skip_connect")) == "0"


def test_classes_of_the_whole_space() -> None:
    ids = isomorphism_classes()
    assert ids.shape == (15_625,) and num_classes() == 4_930 == np.unique(ids).size
    assert np.array_equal(isomorphism_classes(list(all_archs()[:50])), ids[:50])


@real_gt
def test_every_csv_unique_string_lies_in_one_class() -> None:
    """The CSV's UniqueString (6,466 values) is finer than the canonical form (4,930 classes): it keeps zero
    terms and does not sort parallel terms, but it never joins two archs that the canonical form separates."""
    with GT_CSV.open(newline="") as f:
        rows = list(csv.DictReader(f))
    archs = [r["ArchitectureString"] for r in rows]
    strings = [r["UniqueString"] for r in rows]
    ours = isomorphism_classes(archs)
    assert len(set(strings)) == 6_466
    ours_of: dict[str, set[int]] = {}
    for s, c in zip(strings, ours):
        ours_of.setdefault(s, set()).add(int(c))
    assert all(len(v) == 1 for v in ours_of.values())


@real_gt
def test_real_nb201_splits_share_no_class(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from harness.benchmarks import get_benchmark
    from harness.benchmarks.loaders import clear_cache

    monkeypatch.setenv("NAS_HARNESS_DATA", str(SHARED_DATA))
    clear_cache()
    try:
        gt = get_benchmark("nb201-cifar10").ground_truth()
    finally:
        clear_cache()
    dev, test = gt.split_indices("dev"), gt.split_indices("test")
    assert dev.size + test.size == 15_625
    assert set(gt.clusters[dev].tolist()).isdisjoint(gt.clusters[test].tolist())
    assert abs(len(set(gt.clusters[test].tolist())) - 4_930 / 2) <= 1


def test_split_by_class_and_one_arch_per_class() -> None:
    from harness.benchmarks.loaders.nb201 import _one_per_class, split_by_class

    archs = list(all_archs()[:400])
    classes = isomorphism_classes(archs)
    s = split_by_class(classes, 0.5, 0)
    assert np.union1d(s["dev"], s["test"]).size == 400
    assert set(classes[s["dev"]]).isdisjoint(classes[s["test"]])
    acc = np.random.default_rng(0).uniform(0.5, 0.9, (400, 1))
    one, mean, index, cls = _one_per_class(archs, acc, np.arange(400), classes)
    assert len(one) == np.unique(classes).size and np.unique(cls).size == cls.size
    for k, c in enumerate(cls):
        assert mean[k, 0] == pytest.approx(acc[classes == c, 0].mean())


def test_cluster_bootstrap_resamples_classes() -> None:
    from harness.metrics.resampling import _weight_chunks

    clusters = np.array([5, 5, 5, 9, 9, 2, 7])
    (_, w), = list(_weight_chunks(7, 50, 0, clusters))
    assert w.shape == (50, 7)
    assert (w[:, 0] == w[:, 1]).all() and (w[:, 1] == w[:, 2]).all() and (w[:, 3] == w[:, 4]).all()
    # four clusters drawn per row: the class counts sum to 4
    assert (w[:, [0, 3, 5, 6]].sum(axis=1) == 4).all()
    (_, plain), = list(_weight_chunks(7, 50, 0))
    assert (plain.sum(axis=1) == 7).all()
