"""The ground-truth file (HDF5) and its in-memory form.

Layout (one file per benchmark):

* ``archs``        – canonical arch strings (n,)
* ``acc``          – standalone test accuracy in [0, 1], shape (n, n_seeds); NaN where not trained yet
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

    @property
    def n_seeds(self) -> int:
        return int(self.acc.shape[1])

    @property
    def complete(self) -> np.ndarray:
        """Mask of archs whose every seed is trained."""
        return ~np.isnan(self.acc).any(axis=1)

    @property
    def mean_acc(self) -> np.ndarray:
        """Seed-mean accuracy (NaN for archs with no finished seed)."""
        with np.errstate(invalid="ignore"):
            out = np.nanmean(np.where(np.isnan(self.acc), np.nan, self.acc), axis=1) if self.acc.size else self.acc
        return out

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
    return GroundTruth(
        archs=archs,
        acc=acc,
        params=params,
        flops=flops,
        splits=splits,
        archset_index=archset_index,
        attrs=attrs,
        content_hash=content_hash(acc, archs, splits),
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
        for name, idx in splits.items():
            f.create_dataset(f"splits/{name}", data=np.asarray(idx, dtype=np.int64))
        for key, value in attrs.items():
            f.attrs[key] = json.dumps(value) if isinstance(value, (dict, list)) else value
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
