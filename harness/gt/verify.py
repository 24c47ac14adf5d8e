"""Re-train a sample of finished GT cells and compare them bit for bit with the stored accuracies.

Why: a GT is only as trustworthy as its provenance. Standalone training is chaotic, so a cell retrains to the very
same accuracy only with the same recipe, data, code, torch build and CPU kernel family; a changed trainer, another
machine, or a hand-edited file shows up here as a mismatch. A host runs this before a challenge opens; a user
runs it to learn whether this machine can extend a shipped GT without mixing numerics (``gt build`` records the
environment of each build in the file's ``builds`` attribute; compare with ``gt show``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from harness.errors import GroundTruthError
from harness.gt.gt_file import read_gt
from harness.gt.recipe import Recipe

if TYPE_CHECKING:
    from harness.benchmarks.registry import Benchmark

CellHook = Callable[[int, int], None]


@dataclass(frozen=True)
class CellCheck:
    """One re-trained cell: GT row, seed, the stored and the re-trained accuracy."""

    row: int
    arch: str
    seed: int
    stored: float
    retrained: float

    @property
    def matches(self) -> bool:
        return self.stored == self.retrained


def pick_cells(acc: np.ndarray, n_cells: int, rows: tuple[int, int] | None, sample_seed: int) -> list[tuple[int, int]]:
    """A seeded sample of finished (row, seed column) cells, optionally from the row range [start, stop)."""
    lo, hi = rows if rows is not None else (0, acc.shape[0])
    if not 0 <= lo < hi <= acc.shape[0]:
        raise GroundTruthError(f"--rows {lo}:{hi} is outside the GT's rows 0:{acc.shape[0]}")
    finished = [(i, j) for i in range(lo, hi) for j in range(acc.shape[1]) if not np.isnan(acc[i, j])]
    if not finished:
        raise GroundTruthError(f"no finished GT cells in rows {lo}:{hi}")
    if n_cells < 1:
        raise GroundTruthError("--cells must be at least 1")
    take = np.random.default_rng(sample_seed).choice(len(finished), size=min(n_cells, len(finished)), replace=False)
    return sorted(finished[int(k)] for k in take)


def verify_gt(
    bench: Benchmark,
    *,
    path: Path | None = None,
    n_cells: int = 6,
    rows: tuple[int, int] | None = None,
    sample_seed: int = 0,
    workers: int = 2,
    on_cell: CellHook | None = None,
) -> list[CellCheck]:
    """Re-train ``n_cells`` finished cells of the GT file (default: the benchmark's) with the file's own recipe.

    The recipe, seeds and data hash come from the file; data of another hash is refused (a mismatch would then say
    nothing about the trainer). ``on_cell(done, total)`` reports progress.
    """
    from harness.gt.builder import gt_data, train_cells

    path = Path(path) if path is not None else bench.gt_path()
    if path is None:
        raise GroundTruthError(f"benchmark {bench.name} reads its GT from a released file; there is no recipe to re-train")
    gt = read_gt(path)
    if gt.attrs.get("benchmark", bench.name) != bench.name:
        raise GroundTruthError(f"{path} holds the GT of benchmark {gt.attrs.get('benchmark')!r}, not {bench.name!r}")
    recipe = Recipe.stored_in(gt.attrs, path, "it cannot be re-trained")
    seeds = [int(s) for s in gt.attrs.get("seeds", [])]
    if len(seeds) != gt.n_seeds:
        raise GroundTruthError(f"{path} lists {len(seeds)} seeds for {gt.n_seeds} accuracy columns")
    data, data_hash = gt_data(bench)
    if gt.attrs.get("data_hash") != data_hash:
        raise GroundTruthError(f"{path} was built on other data (data hash differs) than benchmark {bench.name} loads")
    cells = pick_cells(gt.acc, n_cells, rows, sample_seed)
    jobs = [(gt.archs[i], seeds[j]) for i, j in cells]
    values = train_cells(jobs, recipe, data, workers, on_cell)
    return [CellCheck(i, gt.archs[i], seeds[j], float(gt.acc[i, j]), v) for (i, j), v in zip(cells, values, strict=True)]
