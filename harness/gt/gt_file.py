"""The ground-truth file (HDF5) and its in-memory form.

Layout (one file per benchmark):

* ``archs``        – canonical arch strings (n,)
* ``acc``          – standalone test accuracy in [0, 1], shape (n, n_seeds); NaN where not trained (yet)
* ``seeds_per_arch`` – (n,) how many leading seed columns row i is meant to have (absent: all of them). A GT may
  be *ragged*: v2 of the default benchmark has 12 seeds on its first 500 archs and 3 on the others; the cells past
  a row's count stay NaN for good. Why NaN + a count rather than one array per row: every reader keeps the
  rectangular ``acc`` it knows, and "not trained yet" vs "not meant to be trained" is the count's business.
* ``cell_path``, ``cell_batch`` – (n, n_seeds) which training path trained each cell (code into the
  ``path_names`` attribute; 0 = not trained) and how many models shared its batch; ``gt verify`` re-trains a
  cell the same way. Absent in files made before the stacked path: their cells are sequential, batch 1.
* ``cell_build`` – (n, n_seeds) which build trained each cell: 1 + its index in the ``builds`` attribute (0 = not
  recorded: cells trained before per-cell builds were recorded, or not trained). Why per cell: a GT grown over
  several sessions mixes CPU kinds (v2 of the default benchmark: Intel AVX-512 rows, then AMD EPYC ones), and
  ``gt verify`` must ask for bit identity exactly of the cells built on this machine's kind.
* ``params``, ``flops`` – exact complexity of each arch (n,)
* ``archset_index`` – position of each GT arch in the benchmark's arch set (n,)
* ``splits/dev``   – indices into ``archs`` of the public dev part
* ``splits/test``  – indices into ``archs`` of the hidden test part
* attributes: ``recipe`` (JSON), ``seeds`` (JSON), ``data_hash``, ``harness_version``, ``created``, ``benchmark``

Why accuracy in [0, 1]: the CVPR-2021 files use it, and metrics are scale-free anyway.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from harness.errors import GroundTruthError

SPLITS = ("dev", "test")
#: code -> training path of ``cell_path``; files store their own list in the ``path_names`` attribute
PATH_NAMES = ("", "sequential-v1", "stacked-v1")
#: the optional per-cell provenance datasets, each shaped like ``acc`` (module notes)
CELL_RECORDS = ("cell_path", "cell_batch", "cell_build")


@dataclass(frozen=True)
class GroundTruth:
    """Standalone-trained accuracies of a subset of a benchmark's arch set."""

    archs: list[str]
    acc: np.ndarray  # (n, n_seeds)
    params: np.ndarray
    flops: np.ndarray
    splits: dict[str, np.ndarray]  # split name -> indices into archs
    archset_index: np.ndarray | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    content_hash: str = ""
    seeds_per_arch: np.ndarray | None = None  # (n,) leading seed columns each row is meant to have; None: all
    cell_path: np.ndarray | None = None  # (n, n_seeds) int code into path_names; None: not recorded
    cell_batch: np.ndarray | None = None  # (n, n_seeds) models per batch of each cell
    cell_build: np.ndarray | None = None  # (n, n_seeds) 1 + index into attrs["builds"]; 0: not recorded
    path_names: tuple[str, ...] = PATH_NAMES
    #: (n,) cluster id per arch (NB201: isomorphism class); archs of one cluster are one network, so the
    #: bootstrap resamples clusters, not archs. None: every arch is its own cluster
    clusters: np.ndarray | None = None

    def split_clusters(self, split: str) -> np.ndarray | None:
        """The cluster ids of a split's complete archs (:meth:`split_indices` order), or None."""
        return None if self.clusters is None else np.asarray(self.clusters)[self.split_indices(split)]

    @property
    def n_seeds(self) -> int:
        """Seed columns of ``acc`` (the most any row has; see :attr:`target_seeds` for a ragged GT)."""
        return int(self.acc.shape[1])

    @property
    def target_seeds(self) -> np.ndarray:
        """(n,) how many leading seed columns each row is meant to have."""
        if self.seeds_per_arch is None:
            return np.full(len(self.archs), self.n_seeds, dtype=np.int64)
        return np.asarray(self.seeds_per_arch, dtype=np.int64)

    @property
    def seed_counts(self) -> list[tuple[int, int]]:
        """(number of rows, their intended seed count), most seeds first: ``[(500, 12), (2100, 3)]`` for v2."""
        want = self.target_seeds
        return [(int((want == k).sum()), int(k)) for k in sorted(set(want.tolist()), reverse=True)]

    @property
    def layout_text(self) -> str:
        """The GT's size as one line, e.g. ``500 × 12`` or ``2600 (500 × 12 + 2100 × 3)``: archs × seeds."""
        if not self.ragged:
            return f"{len(self.archs)} × {self.n_seeds}"
        return f"{len(self.archs)} (" + " + ".join(f"{count} × {k}" for count, k in self.seed_counts) + ")"

    @property
    def ragged(self) -> bool:
        """Whether rows are meant to have different seed counts."""
        return bool(len(self.archs)) and bool((self.target_seeds < self.n_seeds).any())

    @property
    def finished_seeds(self) -> np.ndarray:
        """(n,) trained cells of each row."""
        return np.isfinite(self.acc).sum(axis=1)

    @property
    def complete(self) -> np.ndarray:
        """Mask of archs whose every intended seed (:attr:`target_seeds`) is trained."""
        want = self.target_seeds
        cols = np.arange(self.n_seeds)[None, :] < want[:, None]
        return ~(np.isnan(self.acc) & cols).any(axis=1)

    @property
    def full(self) -> np.ndarray:
        """Mask of archs with every seed column trained: the rectangular subset seed-reliability is measured on."""
        return ~np.isnan(self.acc).any(axis=1)

    @property
    def seed_mean(self) -> np.ndarray:
        """Mean over each arch's trained seeds (NaN where none): the truth metrics rank against, ragged or not."""
        return self.mean_acc

    @property
    def mean_acc(self) -> np.ndarray:
        """Seed-mean accuracy (NaN for archs with no finished seed)."""
        if not self.acc.size:
            return self.acc
        trained = ~np.isnan(self.acc)
        counts = trained.sum(axis=1)
        sums = np.where(trained, self.acc, 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):  # rows with no trained seed: 0/0 → NaN, no warning
            return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)

    def split_indices(self, split: str) -> np.ndarray:
        """Indices (into ``archs``) of ``split``: 'dev', 'test' or 'all'; only complete archs."""
        if split == "all":
            idx = np.arange(len(self.archs))
        elif split in self.splits:
            idx = np.asarray(self.splits[split], dtype=np.int64)
        else:
            raise GroundTruthError(f"unknown GT split {split!r}; use dev, test or all")
        return idx[self.complete[idx]]


def content_hash(acc: np.ndarray, archs: list[str], splits: dict[str, np.ndarray]) -> str:
    """Hash of what metrics depend on: archs, accuracies and split indices (not timestamps)."""
    h = hashlib.sha256()
    h.update("\n".join(archs).encode())
    h.update(np.ascontiguousarray(acc, dtype=np.float64).tobytes())
    for name in sorted(splits):
        h.update(name.encode())
        h.update(np.ascontiguousarray(splits[name], dtype=np.int64).tobytes())
    return h.hexdigest()


def released_gt(space: Any, archs: list[str], acc: np.ndarray, splits: dict[str, np.ndarray],
                archset_index: np.ndarray, attrs: dict[str, Any], clusters: np.ndarray | None = None) -> GroundTruth:
    """A GT read from a file someone else released (one accuracy column, no build records).

    Why one constructor: complexity always comes from the space and the hash from the data, so two loaders of
    released files cannot disagree on either.
    """
    return GroundTruth(
        archs=archs,
        acc=acc,
        params=space.params_many(archs),
        flops=space.flops_many(archs),
        splits=splits,
        archset_index=archset_index,
        attrs=attrs,
        content_hash=content_hash(acc, archs, splits),
        clusters=clusters,
    )


def _attr(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if isinstance(value, np.generic):
        return value.item()
    return value


def read_gt(path: str | Path) -> GroundTruth:
    """Read a GT file; a missing, unreadable or inconsistent file raises GroundTruthError."""
    path = Path(path)
    if not path.is_file():
        raise GroundTruthError(f"ground-truth file {path} does not exist; build it with `nas-harness gt build`")
    try:
        with h5py.File(path, "r") as f:
            archs = [a.decode() if isinstance(a, bytes) else str(a) for a in f["archs"][...]]
            acc = np.asarray(f["acc"][...], dtype=np.float64)
            params = np.asarray(f["params"][...], dtype=np.int64)
            flops = np.asarray(f["flops"][...], dtype=np.int64)
            splits = {name: np.asarray(f[f"splits/{name}"][...], dtype=np.int64) for name in SPLITS if f"splits/{name}" in f}
            archset_index = np.asarray(f["archset_index"][...], dtype=np.int64) if "archset_index" in f else None
            attrs = {k: _attr(v) for k, v in f.attrs.items()}
            extra = {name: np.asarray(f[name][...], dtype=np.int64) for name in ("seeds_per_arch", *CELL_RECORDS) if name in f}
    except (OSError, KeyError) as exc:
        raise GroundTruthError(f"ground-truth file {path} is unreadable or incomplete: {exc}") from None
    if acc.ndim != 2 or acc.shape[0] != len(archs):
        raise GroundTruthError(f"ground-truth file {path}: acc has shape {acc.shape} for {len(archs)} archs")
    finished = acc[~np.isnan(acc)]
    if finished.size and not (finished.min() >= 0.0 and finished.max() <= 1.0):  # also catches ±inf
        raise GroundTruthError(
            f"ground-truth file {path}: accuracies must be fractions in [0, 1] or NaN (not trained yet), "
            f"found range [{finished.min():g}, {finished.max():g}]"
        )
    spa = extra.get("seeds_per_arch")
    if spa is not None and (spa.shape != (len(archs),) or (len(archs) and not (spa.min() >= 1 and spa.max() <= acc.shape[1]))):
        raise GroundTruthError(f"ground-truth file {path}: seeds_per_arch must give 1..{acc.shape[1]} seeds for each of {len(archs)} archs")
    for name in CELL_RECORDS:
        if name in extra and extra[name].shape != acc.shape:
            raise GroundTruthError(f"ground-truth file {path}: {name} has shape {extra[name].shape}, acc {acc.shape}")
    names = attrs.get("path_names")
    path_names = tuple(str(n) for n in names) if isinstance(names, list) and names else PATH_NAMES
    cell_path, cell_batch = extra.get("cell_path"), extra.get("cell_batch")
    if cell_path is None:  # made before training paths were recorded: only the sequential path existed
        cell_path = np.where(np.isfinite(acc), PATH_NAMES.index("sequential-v1"), 0)
        cell_batch = np.where(np.isfinite(acc), 1, 0)
        path_names = PATH_NAMES
    elif cell_path.size and not (cell_path.min() >= 0 and cell_path.max() < len(path_names)):
        raise GroundTruthError(f"ground-truth file {path}: cell_path codes outside its {len(path_names)} path names")
    if cell_batch is None:
        cell_batch = np.where(np.isfinite(acc), 1, 0)
    cell_build = extra.get("cell_build")
    n_builds = len(attrs["builds"]) if isinstance(attrs.get("builds"), list) else 0
    if cell_build is None:
        cell_build = np.zeros(acc.shape, dtype=np.int64)
    elif cell_build.size and not (cell_build.min() >= 0 and cell_build.max() <= n_builds):
        raise GroundTruthError(f"ground-truth file {path}: cell_build refers to builds beyond its {n_builds} recorded ones")
    return GroundTruth(
        archs=archs,
        acc=acc,
        params=params,
        flops=flops,
        splits=splits,
        archset_index=archset_index,
        attrs=attrs,
        content_hash=content_hash(acc, archs, splits),
        seeds_per_arch=spa,
        cell_path=cell_path,
        cell_batch=cell_batch,
        cell_build=cell_build,
        path_names=path_names,
    )


def split_dev_test(n: int, test_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """A seeded dev/test partition of ``range(n)`` (sorted index arrays)."""
    perm = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    return {"test": np.sort(perm[:n_test]), "dev": np.sort(perm[n_test:])}


def write_gt(
    path: str | Path,
    *,
    archs: list[str],
    acc: np.ndarray,
    params: np.ndarray,
    flops: np.ndarray,
    splits: dict[str, np.ndarray],
    archset_index: np.ndarray | None,
    attrs: dict[str, Any],
    seeds_per_arch: np.ndarray | None = None,
    cell_path: np.ndarray | None = None,
    cell_batch: np.ndarray | None = None,
    cell_build: np.ndarray | None = None,
) -> None:
    """Write a GT file atomically (temporary file, fsync, rename).

    Why atomic rewrites instead of in-place HDF5 updates: a build killed at any instant (SIGKILL included) then
    leaves either the previous complete file or the new one, never a half-written HDF5. The files are small
    (thousands of floats), so rewriting after every finished result costs milliseconds.
    """
    import os

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with h5py.File(tmp, "w") as f:
        f.create_dataset("archs", data=np.asarray(archs, dtype=object), dtype=h5py.string_dtype())
        f.create_dataset("acc", data=np.asarray(acc, dtype=np.float64))
        f.create_dataset("params", data=np.asarray(params, dtype=np.int64))
        f.create_dataset("flops", data=np.asarray(flops, dtype=np.int64))
        if archset_index is not None:
            f.create_dataset("archset_index", data=np.asarray(archset_index, dtype=np.int64))
        for name, arr in (("seeds_per_arch", seeds_per_arch), ("cell_path", cell_path), ("cell_batch", cell_batch),
                          ("cell_build", cell_build)):
            if arr is not None:
                f.create_dataset(name, data=np.asarray(arr, dtype=np.int64))
        for name, idx in splits.items():
            f.create_dataset(f"splits/{name}", data=np.asarray(idx, dtype=np.int64))
        for key, value in attrs.items():
            f.attrs[key] = json.dumps(value) if isinstance(value, (dict, list)) else value
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
