"""The fixed, recorded batch a data-dependent proxy sees: ``n`` images of the benchmark's training split.

Why fixed and recorded: a proxy's value depends on its batch, so the batch is part of the result. It is drawn
with a seeded permutation of the training split (the split the benchmark's trainers see; never calibration or
evaluation data), and its indices and a content hash go into the provenance of every file written from it.
Data-free proxies get a batch that carries only the input shape.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.errors import DataError

if TYPE_CHECKING:
    import torch

    from harness.benchmarks.spec import Benchmark

DEFAULT_BATCH = 64  # the released zero-cost-nas scripts' batch size on NAS-Bench-201


@dataclass(frozen=True)
class ProxyBatch:
    """Inputs of a proxy: ``x`` (N, *input_shape) float32 and ``y`` (N,) int64, or None when data-free."""

    input_shape: tuple[int, ...]
    x: torch.Tensor | None = None
    y: torch.Tensor | None = None
    indices: tuple[int, ...] = ()
    digest: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return 0 if self.x is None else int(self.x.shape[0])

    def record(self) -> dict[str, Any]:
        """What a results file records about this batch."""
        if self.x is None:
            return {"batch": "data-free", "input_shape": list(self.input_shape)}
        return {"batch": self.size, "split": "train", "indices_sha256": _sha(np.asarray(self.indices, np.int64)),
                "content_sha256": self.digest, **self.meta}


def _sha(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def data_free_batch(bench: Benchmark) -> ProxyBatch:
    return ProxyBatch(input_shape=tuple(bench.space.input_shape))


def _load_splits(bench: Benchmark, n: int) -> tuple[Any, bool]:
    """The benchmark's splits; for a cut copy of an image dataset whose training files hold fewer images than the
    spec's calibration split asks (the CIFAR-100 files cut to 486 images), the same files cut with ``calib = n`` (recorded as ``loaded_with_calib``).

    Why this is the same training split: image benchmarks take the whole official training set as ``train``,
    whatever ``calib`` is (:mod:`harness.benchmarks.loaders.nb201`); ``calib`` only draws from it.
    """
    import dataclasses

    from harness.benchmarks.loaders.kinds import KINDS

    try:
        return bench.load_data(), False
    except DataError as exc:
        if "calibration split" not in str(exc) or bench.splits.train is not None:
            raise
    cut = dataclasses.replace(bench, splits=dataclasses.replace(bench.splits, calib=n))
    return KINDS["data"][bench.data.kind].load(cut), True


def training_batch(bench: Benchmark, n: int, seed: int) -> ProxyBatch:
    """``n`` images of ``bench``'s training split, drawn with ``seed`` (DataError when the split is smaller)."""
    if n < 2:
        raise DataError(f"a proxy batch needs at least 2 images, got {n}")
    splits, cut = _load_splits(bench, n)
    train = splits.train
    total = len(train)
    if n > total:
        raise DataError(f"benchmark {bench.name}: a batch of {n} needs {n} training images, the split holds {total}")
    idx = np.random.default_rng(seed).permutation(total)[:n]
    x = train.x[idx].contiguous()
    y = train.y[idx].contiguous()
    digest = hashlib.sha256(x.numpy().tobytes() + y.numpy().tobytes()).hexdigest()
    meta = {"data_hash": splits.data_hash, "train_size": total}
    if cut:  # the data hash is then that of the files cut with calib = n, not the benchmark's
        meta["loaded_with_calib"] = n
    return ProxyBatch(tuple(x.shape[1:]), x, y, tuple(int(i) for i in idx), digest, meta)
