"""Re-train a sample of finished GT cells: bit for bit on the build's CPU kind, statistically on another.

Why: a GT is only as trustworthy as its provenance. Standalone training is chaotic, so a cell retrains to the very
same accuracy only with the same recipe, data, code, torch build, training path and CPU kernel family; a changed
trainer or a hand-edited file shows up as a mismatch. On *another* CPU kind (say AVX2 where the file was built on
AVX-512) a re-trained cell is a fresh draw of that seed's training — float rounding differs from the first step on
and the trajectory diverges — so bit identity is the wrong question there; on the real default GT 0 of 8 cells
matched across the two kinds, by 0.2–3.5 points. The right one is whether the re-trained values scatter around
the stored ones the way two seeds of the same arch scatter around each other:

* **spread** (one-sided Mann–Whitney U): the re-trained-minus-stored differences |d| against the pairwise
  differences |a_ij − a_ik| of the stored seeds of the same archs (the cell itself left out). Larger |d| than
  seed pairs means the re-training is not the same recipe, code or data;
* **shift** (Wilcoxon signed-rank): whether d is centred on 0 (a systematic change of accuracy).

Agreement fails when either p-value is below ``alpha`` (0.01). With a handful of cells these tests see only gross
differences (their power grows with ``--cells``), which is what they are for: "same training, other rounding".

Which test a cell gets depends on the CPU kind of *its* build (``cell_build``): a GT grown over several sessions
mixes kinds, so one verify run may ask bit identity of some cells and statistical agreement of the others. A cell
of a file that did not record its build (older files) is taken as built on this kind only when every build the
file records ran on it.

Each cell is re-trained with the training path that built it (``cell_path``) and, for the stacked path, in a batch
of as many models as it was (``cell_batch``; the batch companions themselves do not change a model's bits, which
``tests/test_gt_stacked.py`` checks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.errors import GroundTruthError
from harness.gt.gt_file import GroundTruth, read_gt
from harness.gt.recipe import Recipe
from harness.progress import Counter, ProgressCallback, silent

if TYPE_CHECKING:
    from harness.benchmarks.registry import Benchmark

#: the progress stage of :func:`verify_gt` (one unit per re-trained cell)
VERIFY_STAGE = "re-training GT cells"


@dataclass(frozen=True)
class CellCheck:
    """One re-trained cell: GT row, seed, the stored and the re-trained accuracy."""

    row: int
    arch: str
    seed: int
    stored: float
    retrained: float
    path: str = "sequential-v1"
    batch: int = 1
    built_on: str | None = None  # CPU kind of the build that trained it (None: not recorded)
    same_kind: bool = True  # judged bit for bit (built on this machine's CPU kind), else statistically

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


@dataclass(frozen=True)
class VerifyResult:
    """The re-trained cells, the CPU kinds involved and, for cells of other kinds, the statistical verdict."""

    checks: list[CellCheck]
    here_cpu: str
    build_cpus: list[str]  # CPU kinds the file's builds record (empty: none recorded)
    agreement: dict[str, Any] = field(default_factory=dict)  # of :attr:`other_kind` cells, :func:`statistical_agreement`

    @property
    def same_kind(self) -> bool:
        """Every re-trained cell was built on this machine's CPU kind (so the whole verdict is bit identity)."""
        return all(c.same_kind for c in self.checks)

    @property
    def bit_checked(self) -> list[CellCheck]:
        """The cells built on this machine's CPU kind: each must re-train bit for bit."""
        return [c for c in self.checks if c.same_kind]

    @property
    def other_kind(self) -> list[CellCheck]:
        """The cells built on another (or an unrecorded) CPU kind: tested statistically, as a group."""
        return [c for c in self.checks if not c.same_kind]

    @property
    def bit_identical(self) -> int:
        return sum(c.matches for c in self.checks)

    @property
    def ok(self) -> bool:
        """Bit identity of the cells of this CPU kind, and statistical agreement of the others."""
        bits = all(c.matches for c in self.bit_checked)
        return bits and (not self.other_kind or bool(self.agreement.get("agrees", False)))


def cpu_kind(env: dict[str, Any]) -> str:
    """"model (kernel family)": what decides float rounding of a GT run besides the software versions."""
    return f"{env.get('cpu', '?')} ({env.get('cpu_capability', '?')})"


def statistical_agreement(checks: list[CellCheck], gt: GroundTruth, alpha: float = 0.01) -> dict[str, Any]:
    """Do re-trained cells differ from the stored ones no more than two seeds of the same arch do? (module notes)"""
    from scipy import stats

    d = np.array([c.retrained - c.stored for c in checks])
    ref: list[float] = []
    for c in checks:
        col = [int(s) for s in gt.attrs.get("seeds", [])].index(c.seed)
        row = gt.acc[c.row].copy()
        row[col] = np.nan
        vals = row[np.isfinite(row)]
        ref.extend(abs(vals[a] - vals[b]) for a in range(len(vals)) for b in range(a + 1, len(vals)))
    out: dict[str, Any] = {"n": int(d.size), "mean_diff": float(d.mean()), "mean_abs_diff": float(np.abs(d).mean()),
                           "seed_pair_mean_abs_diff": float(np.mean(ref)) if ref else None, "alpha": alpha}
    if not ref or d.size < 1:
        out.update(p_spread=None, p_shift=None, agrees=False,
                   why="no other seeds of these archs to compare with")
        return out
    p_spread = float(stats.mannwhitneyu(np.abs(d), ref, alternative="greater").pvalue)
    p_shift = float(stats.wilcoxon(d).pvalue) if d.size >= 2 and np.any(d != 0) else 1.0
    out.update(p_spread=p_spread, p_shift=p_shift, agrees=p_spread >= alpha and p_shift >= alpha)
    return out


def _retrain(gt: GroundTruth, cells: list[tuple[int, int]], seeds: list[int], recipe: Recipe, data: Any, workers: int,
             progress: ProgressCallback | None) -> list[float]:
    """Re-train ``cells`` each the way it was built: its path, and for the stacked path a batch of its size."""
    from harness.gt.builder import iter_batches
    from harness.gt.paths import TRAINING_PATHS, path_recorded_as

    jobs: list[tuple[str, str, tuple[int, ...]]] = []
    where: list[list[int | None]] = []  # per job: index into cells of each member (None: a companion only)
    for n, (i, j) in enumerate(cells):
        name = gt.path_names[int(gt.cell_path[i, j])] if gt.cell_path is not None else "sequential-v1"
        known = path_recorded_as(name)
        if known is None:
            raise GroundTruthError(f"GT row {i} seed {seeds[j]} was trained with path {name!r}, unknown to this harness")
        path = known.name
        batch = max(int(gt.cell_batch[i, j]), 1) if gt.cell_batch is not None else 1
        if not known.seeds_together or batch == 1:
            jobs.append((path, gt.archs[i], (seeds[j],)))
            where.append([n])
            continue
        same = [k for k in range(gt.n_seeds) if k != j and gt.cell_path[i, k] == gt.cell_path[i, j]
                and int(gt.cell_batch[i, k]) == batch]
        extra = [s for s in range(max(seeds) + 1, max(seeds) + 1 + batch) if s not in seeds]
        companions = ([seeds[k] for k in same] + extra)[: batch - 1]
        jobs.append((path, gt.archs[i], (seeds[j], *companions)))
        where.append([n] + [None] * len(companions))
    values = [float("nan")] * len(cells)
    counter = Counter(progress or silent, VERIFY_STAGE, len(cells), "cells")
    for path in TRAINING_PATHS:
        mine = [k for k, job in enumerate(jobs) if job[0] == path]
        for k, vals in iter_batches([(jobs[m][1], jobs[m][2]) for m in mine], recipe, data, workers, path):
            for slot, v in zip(where[mine[k]], vals, strict=True):
                if slot is not None:
                    values[slot] = v
                    counter.advance()
    return values


def verify_gt(
    bench: Benchmark,
    *,
    path: Path | None = None,
    n_cells: int = 6,
    rows: tuple[int, int] | None = None,
    sample_seed: int = 0,
    workers: int = 2,
    progress: ProgressCallback | None = None,
    alpha: float = 0.01,
) -> VerifyResult:
    """Re-train ``n_cells`` finished cells of the GT file (default: the benchmark's) with the file's own recipe.

    The recipe, seeds and data hash come from the file; data of another hash is refused (a mismatch would then say
    nothing about the trainer). ``progress`` receives one event per re-trained cell (stage
    :data:`VERIFY_STAGE`). The result names this machine's CPU kind, the builds' ones and each cell's, and carries
    the statistical verdict of the cells built on another kind.
    """
    from harness.gt.builder import build_environment, gt_data

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
    values = _retrain(gt, cells, seeds, recipe, data, workers, progress)
    here = cpu_kind(build_environment(workers))
    builds = gt.attrs.get("builds") if isinstance(gt.attrs.get("builds"), list) else []
    build_kinds = [cpu_kind(b) if isinstance(b, dict) else None for b in builds]
    kinds = sorted({k for k in build_kinds if k is not None})
    checks = []
    for (i, j), v in zip(cells, values, strict=True):
        code = int(gt.cell_build[i, j]) if gt.cell_build is not None else 0
        built_on = build_kinds[code - 1] if 1 <= code <= len(build_kinds) else None
        same = built_on == here if built_on is not None else kinds == [here]
        checks.append(CellCheck(i, gt.archs[i], seeds[j], float(gt.acc[i, j]), v,
                                gt.path_names[int(gt.cell_path[i, j])] if gt.cell_path is not None else "sequential-v1",
                                int(gt.cell_batch[i, j]) if gt.cell_batch is not None else 1, built_on, same))
    other = [c for c in checks if not c.same_kind]
    return VerifyResult(checks, here, kinds, statistical_agreement(other, gt, alpha) if other else {})
