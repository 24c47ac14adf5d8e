"""The resumable ground-truth builder: train the standalone net of each GT arch for every seed, write as you go.

Design, and why:

* **Which archs.** The GT archs are a seeded random subset of the benchmark's arch set: the first ``n`` entries of
  a fixed permutation (:func:`gt_selection`). A larger ``n`` extends a smaller build instead of replacing it.
* **Incremental, crash-safe writes.** After every finished (arch, seed) the whole file is rewritten atomically
  (:func:`harness.gt.gt_file.write_gt`), so a build killed at any instant loses only the runs in flight.
  Pending work is exactly the NaN cells of ``acc``, so a resumed build trains nothing twice and loses nothing.
* **No mixing.** A file made with another recipe, data hash or benchmark is refused; seeds may only be extended
  (old seeds a prefix of the new list), archs likewise.
* **Both cores.** ``workers`` spawned processes, one torch thread each (on 2 cores, 2 independent runs beat one
  run with 2 threads: the nets are too small for intra-op parallelism to pay).
* **Order.** Arch-major (all seeds of arch 0, then arch 1, ...), so a build stopped early leaves complete archs.
* **Training paths** (:mod:`harness.gt.paths`). ``sequential`` trains one net at a time
  (:func:`harness.gt.train.train_one`); ``stacked`` trains all pending seeds of one arch together
  (:mod:`harness.gt.stacked`), the same independent trainings with fewer, larger kernels. The file records per
  cell which path trained it, how many models shared the batch and which build session trained it
  (``cell_path`` / ``cell_batch`` / ``cell_build``), and each build session its path; ``gt verify`` re-trains alike.
* **Ragged seeds.** ``seeds`` sets how many seeds the rows this call touches should have: rows already in the file
  keep their count when it is larger (``seeds_per_arch``), new rows get ``len(seeds)``; so ``--archs 2600
  --seeds 3`` on the 500 × 12 file adds 2,100 rows of 3 seeds and leaves the 12-seed rows as they are.
* **Where each cell was trained.** Standalone training is chaotic: a rounding difference early on (another torch
  build, another CPU kernel family) moves one seed's accuracy by several points. Results are bit-for-bit
  reproducible only on the same software and CPU kind, so every build session that trains cells appends its
  environment and cell count to the ``builds`` attribute, and ``nas-harness gt verify`` re-checks cells.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.errors import GroundTruthError
from harness.gt.gt_file import PATH_NAMES, read_gt, split_dev_test, write_gt
from harness.gt.paths import DEFAULT_PATH, FALLBACK_PATH, get_path, plan_batches
from harness.gt.recipe import DEFAULT_RECIPE, Recipe
from harness.gt.train import GTData
from harness.progress import Counter, ProgressArg, ProgressCallback, ProgressEvent, resolve, silent

if TYPE_CHECKING:
    from harness.benchmarks.registry import Benchmark

#: seed of the permutation of the arch set whose prefix forms the GT (overridable with ``[gt] select_seed``)
SELECT_SEED = 2024
#: dev/test partition of the GT archs: half/half with this seed (``[gt] test_fraction`` / ``split_seed``)
TEST_FRACTION = 0.5
SPLIT_SEED = 0

ResultHook = Callable[[int, int, float], None]


def harness_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nas-harness")
    except PackageNotFoundError:
        return "0+unknown"


def cpu_model() -> str:
    """The CPU model name (``/proc/cpuinfo``), else what :mod:`platform` says."""
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    return cpu


def build_environment(workers: int, path: str = "sequential") -> dict[str, Any]:
    """What decides whether a cell retrains bit for bit: software versions and the CPU kernel family."""
    import platform

    import torch

    return {
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "harness_version": harness_version(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "workers": int(workers),
        "path": get_path(path).recorded,
        "cells": 0,
    }


def gt_selection(bench: Benchmark, n: int, archset_size: int) -> np.ndarray:
    """Indices into the arch set of the first ``n`` GT archs (a prefix of one fixed seeded permutation)."""
    if not 1 <= n <= archset_size:
        raise GroundTruthError(f"--archs must lie in 1..{archset_size} (the arch-set size), got {n}")
    seed = int(bench.gt.get("select_seed", SELECT_SEED))
    return np.random.default_rng(seed).permutation(archset_size)[:n].astype(np.int64)


def _splits(bench: Benchmark, n: int, old: dict[str, np.ndarray] | None = None, n_old: int = 0) -> dict[str, np.ndarray]:
    """The dev/test partition of ``n`` GT rows. Extending a file keeps its rows' split and splits only the new rows
    (seeded by ``split_seed + n_old``): otherwise archs of the hidden test half would move into the public dev half,
    and their values would leak with the next release."""
    frac, seed = float(bench.gt.get("test_fraction", TEST_FRACTION)), int(bench.gt.get("split_seed", SPLIT_SEED))
    if not old or n_old == 0 or set(old) != {"dev", "test"}:
        return split_dev_test(n, frac, seed)
    if n <= n_old:
        return {k: v[v < n] for k, v in old.items()}
    new = split_dev_test(n - n_old, frac, seed + n_old)
    return {k: np.sort(np.concatenate([old[k], new[k] + n_old])) for k in ("test", "dev")}


def gt_data(bench: Benchmark) -> tuple[GTData, str]:
    """The GT-run tensors of ``bench`` (train split and GT-test split) and the data hash a GT file must carry."""
    d = bench.load_data()
    if d.num_classes != bench.space.num_classes:
        raise GroundTruthError(f"benchmark {bench.name}: the data has {d.num_classes} classes, the space "
                               f"{bench.space.name} {bench.space.num_classes}")
    data = GTData(d.train.x, d.train.y, d.gt_test.x, d.gt_test.y, bench.space_name, dict(bench.space_kwargs))
    return data, d.data_hash


# ------------------------------------------------------------------------------------------ the file state
class _State:
    """The GT being built, in memory; :meth:`save` rewrites the file atomically."""

    def __init__(self, path: Path, archs: list[str], index: np.ndarray, acc: np.ndarray, attrs: dict[str, Any],
                 params: np.ndarray, flops: np.ndarray, splits: dict[str, np.ndarray], target: np.ndarray,
                 cell_path: np.ndarray, cell_batch: np.ndarray, cell_build: np.ndarray) -> None:
        self.path, self.archs, self.index, self.acc, self.attrs = path, archs, index, acc, attrs
        self.params, self.flops, self.splits = params, flops, splits
        self.target, self.cell_path, self.cell_batch, self.cell_build = target, cell_path, cell_batch, cell_build

    def save(self) -> None:
        ragged = bool((self.target < self.acc.shape[1]).any())
        write_gt(self.path, archs=self.archs, acc=self.acc, params=self.params, flops=self.flops,
                 splits=self.splits, archset_index=self.index, attrs=self.attrs,
                 seeds_per_arch=self.target if ragged else None, cell_path=self.cell_path, cell_batch=self.cell_batch,
                 cell_build=self.cell_build)


def _check_compatible(path: Path, old: Any, attrs: dict[str, Any], seeds: list[int], index: np.ndarray) -> None:
    """Refuse to resume into a file whose results mean something else."""
    fix = "remove it, pass another --out, or rebuild without resume"
    if old.attrs.get("benchmark") != attrs["benchmark"]:
        raise GroundTruthError(f"{path} holds the GT of benchmark {old.attrs.get('benchmark')!r}, not {attrs['benchmark']!r}; {fix}")
    if old.attrs.get("data_hash") != attrs["data_hash"]:
        raise GroundTruthError(f"{path} was built on other data (data hash differs); {fix}")
    old_recipe = Recipe.stored_in(old.attrs, path, fix)
    new_recipe = Recipe.from_json(attrs["recipe"])
    if old_recipe != new_recipe:
        diff = [k for k in vars(new_recipe) if getattr(old_recipe, k) != getattr(new_recipe, k)]
        raise GroundTruthError(f"{path} was built with another recipe (differs in {', '.join(diff)}); {fix}")
    old_seeds = [int(s) for s in old.attrs.get("seeds", [])]
    k = min(len(old_seeds), len(seeds))
    if seeds[:k] != old_seeds[:k]:
        raise GroundTruthError(f"{path} has seeds {old_seeds}; the new seeds {seeds} must start with them "
                               f"(or be their first ones); {fix}")
    if tuple(old.path_names) != PATH_NAMES[: len(old.path_names)]:
        raise GroundTruthError(f"{path} names its training paths {list(old.path_names)}, unknown to this harness; {fix}")
    n_old = len(old.archs)
    if old.archset_index is None or not np.array_equal(old.archset_index, index[:n_old]):
        raise GroundTruthError(f"{path} holds another selection of archs than this benchmark's GT; {fix}")


def _open_state(bench: Benchmark, path: Path, n_archs: int, seeds: list[int], recipe: Recipe, data_hash: str,
                resume: bool) -> _State:
    archset = bench.archs()
    index_full = gt_selection(bench, n_archs, len(archset))
    attrs: dict[str, Any] = {
        "benchmark": bench.name,
        "recipe": recipe.to_json(),
        "seeds": list(seeds),
        "data_hash": data_hash,
        "harness_version": harness_version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "space": bench.space.describe(),
        "split_seed": int(bench.gt.get("split_seed", SPLIT_SEED)),
        "test_fraction": float(bench.gt.get("test_fraction", TEST_FRACTION)),
    }
    old = read_gt(path) if resume and path.is_file() else None
    n = n_archs
    columns = list(seeds)
    old_acc = np.empty((0, 0))
    if old is not None:
        n = max(n_archs, len(old.archs))  # never drop trained archs
        index_full = gt_selection(bench, n, len(archset))
        _check_compatible(path, old, attrs, seeds, index_full)
        attrs["created"] = old.attrs.get("created", attrs["created"])
        attrs["builds"] = list(old.attrs.get("builds", []))
        old_acc = old.acc
        old_seeds = [int(s) for s in old.attrs.get("seeds", [])]
        columns = old_seeds if len(old_seeds) >= len(seeds) else list(seeds)
    attrs["seeds"] = columns
    attrs["path_names"] = list(PATH_NAMES)
    acc = np.full((n, len(columns)), np.nan)
    acc[: old_acc.shape[0], : old_acc.shape[1]] = old_acc
    cell_path = np.zeros(acc.shape, dtype=np.int64)
    cell_batch = np.zeros(acc.shape, dtype=np.int64)
    cell_build = np.zeros(acc.shape, dtype=np.int64)
    target = np.full(n, len(seeds), dtype=np.int64)
    if old is not None:
        m = len(old.archs)
        cell_path[:m, : old.n_seeds] = old.cell_path
        cell_batch[:m, : old.n_seeds] = old.cell_batch
        if old.cell_build is not None:
            cell_build[:m, : old.n_seeds] = old.cell_build
        target[:m] = np.maximum(old.target_seeds, len(seeds))
    archs = [archset[i] for i in index_full]
    space = bench.space
    splits = _splits(bench, n, old.splits if old is not None else None, len(old.archs) if old is not None else 0)
    return _State(path, archs, index_full, acc, attrs, space.params_many(archs), space.flops_many(archs), splits,
                  target, cell_path, cell_batch, cell_build)


# ------------------------------------------------------------------------------------------------ workers
_WORKER_DATA: GTData | None = None
#: one unit of work: (arch, seeds trained together); the sequential path takes one seed per batch
Batch = tuple[str, tuple[int, ...]]


def _init_worker(data: GTData, threads: int) -> None:
    import torch

    global _WORKER_DATA
    torch.set_num_threads(threads)
    _WORKER_DATA = data


def train_batch(path: str, arch: str, seeds: Sequence[int], recipe: Recipe, data: GTData) -> list[float]:
    """Train ``arch`` once per seed with training path ``path`` (:mod:`harness.gt.paths`)."""
    return get_path(path).train(arch, seeds, recipe, data)


def _run_batch(path: str, arch: str, seeds: tuple[int, ...], recipe_json: str) -> list[float]:
    assert _WORKER_DATA is not None
    return train_batch(path, arch, seeds, Recipe.from_json(recipe_json), _WORKER_DATA)


def batch_runner(data: GTData) -> Callable[[tuple[int, str, str, tuple[int, ...], str]], tuple[int, list[float]]]:
    """A GT worker process's ``run(task)`` (:class:`harness.workerpool.WorkerPool`): one torch thread, ``data``
    kept; a task ``(job index, path, arch, seeds, recipe JSON)`` gives ``(job index, accuracies)``."""
    _init_worker(data, 1)

    def run(task: tuple[int, str, str, tuple[int, ...], str]) -> tuple[int, list[float]]:
        k, path, arch, seeds, rj = task
        return k, _run_batch(path, arch, seeds, rj)

    return run


# --------------------------------------------------------------------------------------------------- main
def build_gt(
    bench: Benchmark | str,
    *,
    n_archs: int,
    seeds: Sequence[int],
    workers: int = 2,
    out: Path | None = None,
    resume: bool = True,
    progress: ProgressArg = True,
    recipe: Recipe | None = None,
    on_result: ResultHook | None = None,
    path: str = DEFAULT_PATH,
    max_batch: int = 12,
) -> Path:
    """Train the first ``n_archs`` GT archs of ``bench`` for every seed; write the GT file as results arrive.

    ``out`` defaults to the benchmark's GT path. With ``resume`` an existing compatible file is completed (only
    its pending cells are trained; archs and seeds may be extended, see the module notes on ragged seeds); without
    it the file is started afresh. ``workers`` ≤ 1 trains in this process. ``path`` is the training path
    (a name of :data:`harness.gt.paths.TRAINING_PATHS`), ``max_batch`` the most models a seeds-together path trains
    together.
    ``on_result(row, seed_column, acc)`` is called after each result is on disk (tests use it to prove nothing is
    trained twice). ``progress`` gets one event per finished batch: stage ``GT <benchmark>``, cells done of all the
    file's cells, and a line on this session's rate (:func:`harness.progress.resolve`). Returns the path of the file.
    """
    from harness.benchmarks import get_benchmark

    if isinstance(bench, str):
        bench = get_benchmark(bench)
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise GroundTruthError("--seeds must be a non-empty list of distinct integers")
    training_path = get_path(path)
    if max_batch < 1:
        raise GroundTruthError("--max-batch must be at least 1")
    recipe = recipe or DEFAULT_RECIPE
    out_path = Path(out) if out is not None else bench.gt_path()
    if out_path is None:
        raise GroundTruthError(f"benchmark {bench.name} reads its GT from a released file; it cannot be built here")
    data, data_hash = gt_data(bench)
    if not training_path.supports(bench.space):
        path = FALLBACK_PATH  # e.g. the stacked path implements some spaces only (the space says which)
    state = _open_state(bench, out_path, n_archs, seeds, recipe, data_hash, resume)
    state.save()
    todo = [(i, j) for i in range(min(n_archs, len(state.archs))) for j in range(int(state.target[i]))
            if math.isnan(state.acc[i, j])]
    if todo:
        state.attrs.setdefault("builds", []).append(build_environment(workers, path))
    _run(state, plan_batches(todo, path, max_batch), path, recipe, data, workers, progress, on_result)
    return out_path


def _run(state: _State, batches: list[list[tuple[int, int]]], path: str, recipe: Recipe, data: GTData, workers: int,
         progress: ProgressArg, on_result: ResultHook | None) -> None:
    report = resolve(progress)
    want = np.arange(state.acc.shape[1])[None, :] < state.target[:, None]
    total = int(want.sum())
    done0 = int((want & np.isfinite(state.acc)).sum())
    n_todo = sum(len(b) for b in batches)
    stage = f"GT {state.attrs['benchmark']}"
    started = time.monotonic()
    seeds = [int(s) for s in state.attrs["seeds"]]
    jobs = [(state.archs[b[0][0]], tuple(seeds[j] for _, j in b)) for b in batches]
    code = PATH_NAMES.index(get_path(path).recorded)
    build = len(state.attrs.get("builds", []))  # 1 + index of this build (appended by build_gt when cells are due)
    n_done = 0
    report(ProgressEvent(stage, done0, total, f"{n_todo} runs to train ({path})"))
    for k, values in iter_batches(jobs, recipe, data, workers, path):
        for (i, j), value in zip(batches[k], values, strict=True):
            state.acc[i, j] = value
            state.cell_path[i, j] = code
            state.cell_batch[i, j] = len(batches[k])
            state.cell_build[i, j] = build
        state.attrs["builds"][-1]["cells"] += len(values)
        state.save()
        n_done += len(values)
        if on_result is not None:
            for (i, j), value in zip(batches[k], values, strict=True):
                on_result(i, j, value)
        rate = (time.monotonic() - started) / n_done
        i, j = batches[k][-1]
        report(ProgressEvent(stage, done0 + n_done, total,
                             f"{n_done}/{n_todo} runs this session, {rate:.2f} s/run ({path}), last {state.archs[i]} "
                             f"seed {seeds[j]}: {state.acc[i, j]:.4f}"))


def iter_batches(jobs: Sequence[Batch], recipe: Recipe, data: GTData, workers: int,
                 path: str = "sequential") -> Iterator[tuple[int, list[float]]]:
    """Train each (arch, seeds) batch of ``jobs`` with ``path``; yield (job index, accuracies) as batches finish.

    ``workers`` ≤ 1 trains in this process, in order. Otherwise worker processes (:mod:`harness.workerpool`) take the
    jobs in order, one at a time each, so results arrive roughly in job order and stopping the consumer (or a kill)
    abandons at most the batches in flight. Every path trains with one torch thread: kernels may split their sums differently
    across threads, and a cell must not depend on ``--workers``.
    """
    if workers <= 1:
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for k, (arch, seeds) in enumerate(jobs):
                yield k, train_batch(path, arch, seeds, recipe, data)
        finally:
            torch.set_num_threads(previous)
        return
    from harness.workerpool import WorkerPool

    # worker processes of their own program (never a re-run of the caller's script, see harness.workerpool);
    # tasks are handed out in job order, so results arrive roughly in that order, and stopping the consumer
    # (or a kill) abandons only the batches in flight
    pool = WorkerPool("harness.gt.builder:batch_runner", data, workers, what="GT training worker")
    rj = recipe.to_json()
    yield from pool.run((k, path, arch, tuple(seeds), rj) for k, (arch, seeds) in enumerate(jobs))


def iter_trained(jobs: Sequence[tuple[str, int]], recipe: Recipe, data: GTData, workers: int) -> Iterator[tuple[int, float]]:
    """Sequential-path training of single (arch, seed) jobs; yields (job index, accuracy) as runs finish."""
    for k, values in iter_batches([(a, (s,)) for a, s in jobs], recipe, data, workers, "sequential"):
        yield k, values[0]


def train_cells(jobs: Sequence[tuple[str, int]], recipe: Recipe, data: GTData, workers: int,
                progress: ProgressCallback | None = None) -> list[float]:
    """Train every (arch, seed) of ``jobs`` and return the accuracies in job order; one ``progress`` event a cell."""
    values = [math.nan] * len(jobs)
    counter = Counter(progress or silent, "training GT cells", len(jobs), "cells")
    for k, value in iter_trained(jobs, recipe, data, workers):
        values[k] = value
        counter.advance()
    return values


def trim_gt(path: Path, *, n_seeds: int | None = None) -> tuple[int, int]:
    """Cut a partly built GT file to what is finished: its first ``n_seeds`` seed columns (default: all) and the
    longest prefix of archs trained for every one of them (in a ragged file: for each row's own seed count, up to
    ``n_seeds``). Returns the new (archs, seed columns) shape.

    Why a prefix: the GT archs are a prefix of one fixed permutation of the arch set, so a trimmed file is still a
    valid GT and a later resumed build can extend it again. Rows keep their dev/test split.
    """
    gt = read_gt(path)
    seeds = list(gt.attrs.get("seeds", []))
    k = gt.n_seeds if n_seeds is None else int(n_seeds)
    if not 1 <= k <= gt.n_seeds:
        raise GroundTruthError(f"{path} has {gt.n_seeds} seed columns; cannot keep {k}")
    target = np.minimum(gt.target_seeds, k)
    done = ~(np.isnan(gt.acc[:, :k]) & (np.arange(k)[None, :] < target[:, None])).any(axis=1)
    n = int(np.argmin(done)) if not done.all() else len(done)
    if n == 0:
        raise GroundTruthError(f"{path}: not even the first arch is finished for {k} seeds")
    attrs = dict(gt.attrs)
    attrs["seeds"] = seeds[:k]
    splits = ({k: v[v < n] for k, v in gt.splits.items()} if set(gt.splits) == {"dev", "test"} else
              split_dev_test(n, float(attrs.get("test_fraction", TEST_FRACTION)), int(attrs.get("split_seed", SPLIT_SEED))))
    write_gt(path, archs=gt.archs[:n], acc=gt.acc[:n, :k], params=gt.params[:n], flops=gt.flops[:n], splits=splits,
             archset_index=None if gt.archset_index is None else gt.archset_index[:n], attrs=attrs,
             seeds_per_arch=target[:n] if (target[:n] < k).any() else None,
             cell_path=None if gt.cell_path is None else gt.cell_path[:n, :k],
             cell_batch=None if gt.cell_batch is None else gt.cell_batch[:n, :k],
             cell_build=None if gt.cell_build is None else gt.cell_build[:n, :k])
    return n, k
