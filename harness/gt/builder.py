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
* **Where each cell was trained.** Standalone training is chaotic: a rounding difference early on (another torch
  build, another CPU kernel family) moves one seed's accuracy by several points. Results are bit-for-bit
  reproducible only on the same software and CPU kind, so every build session that trains cells appends its
  environment and cell count to the ``builds`` attribute, and ``nas-harness gt verify`` re-checks cells.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.errors import GroundTruthError
from harness.gt.gt_file import read_gt, split_dev_test, write_gt
from harness.gt.recipe import DEFAULT_RECIPE, Recipe
from harness.gt.train import GTData, train_one

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


def build_environment(workers: int) -> dict[str, Any]:
    """What decides whether a cell retrains bit for bit: software versions and the CPU kernel family."""
    import platform

    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "harness_version": harness_version(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu": cpu,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "workers": int(workers),
        "cells": 0,
    }


def gt_selection(bench: Benchmark, n: int, archset_size: int) -> np.ndarray:
    """Indices into the arch set of the first ``n`` GT archs (a prefix of one fixed seeded permutation)."""
    if not 1 <= n <= archset_size:
        raise GroundTruthError(f"--archs must lie in 1..{archset_size} (the arch-set size), got {n}")
    seed = int(bench.gt.get("select_seed", SELECT_SEED))
    return np.random.default_rng(seed).permutation(archset_size)[:n].astype(np.int64)


def _splits(bench: Benchmark, n: int) -> dict[str, np.ndarray]:
    return split_dev_test(n, float(bench.gt.get("test_fraction", TEST_FRACTION)), int(bench.gt.get("split_seed", SPLIT_SEED)))


def gt_data(bench: Benchmark) -> tuple[GTData, str]:
    """The GT-run tensors of ``bench`` (train split and GT-test split) and the data hash a GT file must carry."""
    space = bench.space
    d = bench.load_data()
    geometry = dict(dims=int(getattr(space, "dims", 1)), in_channels=int(getattr(space, "in_channels", 1)))
    data = GTData(d.train.x, d.train.y, d.gt_test.x, d.gt_test.y, num_classes=d.num_classes, **geometry)
    return data, d.data_hash


# ------------------------------------------------------------------------------------------ the file state
class _State:
    """The GT being built, in memory; :meth:`save` rewrites the file atomically."""

    def __init__(self, path: Path, archs: list[str], index: np.ndarray, acc: np.ndarray, attrs: dict[str, Any],
                 params: np.ndarray, flops: np.ndarray, splits: dict[str, np.ndarray]) -> None:
        self.path, self.archs, self.index, self.acc, self.attrs = path, archs, index, acc, attrs
        self.params, self.flops, self.splits = params, flops, splits

    def save(self) -> None:
        write_gt(self.path, archs=self.archs, acc=self.acc, params=self.params, flops=self.flops,
                 splits=self.splits, archset_index=self.index, attrs=self.attrs)


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
    if seeds[: len(old_seeds)] != old_seeds:
        raise GroundTruthError(f"{path} has seeds {old_seeds}; the new seeds {seeds} must start with them; {fix}")
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
    old_acc = np.empty((0, 0))
    if old is not None:
        n = max(n_archs, len(old.archs))  # never drop trained archs
        index_full = gt_selection(bench, n, len(archset))
        _check_compatible(path, old, attrs, seeds, index_full)
        attrs["created"] = old.attrs.get("created", attrs["created"])
        attrs["builds"] = list(old.attrs.get("builds", []))
        old_acc = old.acc
    acc = np.full((n, len(seeds)), np.nan)
    acc[: old_acc.shape[0], : old_acc.shape[1]] = old_acc
    archs = [archset[i] for i in index_full]
    space = bench.space
    return _State(path, archs, index_full, acc, attrs, space.params_many(archs), space.flops_many(archs), _splits(bench, n))


# ------------------------------------------------------------------------------------------------ workers
_WORKER_DATA: GTData | None = None


def _init_worker(data: GTData, threads: int) -> None:
    import torch

    global _WORKER_DATA
    torch.set_num_threads(threads)
    _WORKER_DATA = data


def _run_task(arch: str, seed: int, recipe_json: str) -> float:
    assert _WORKER_DATA is not None
    return train_one(arch, seed, Recipe.from_json(recipe_json), _WORKER_DATA)


# --------------------------------------------------------------------------------------------------- main
def build_gt(
    bench: Benchmark | str,
    *,
    n_archs: int,
    seeds: Sequence[int],
    workers: int = 2,
    out: Path | None = None,
    resume: bool = True,
    progress: bool = True,
    recipe: Recipe | None = None,
    on_result: ResultHook | None = None,
) -> Path:
    """Train the first ``n_archs`` GT archs of ``bench`` for every seed; write the GT file as results arrive.

    ``out`` defaults to the benchmark's GT path. With ``resume`` an existing compatible file is completed (only
    its NaN cells are trained; archs and seeds may be extended); without it the file is started afresh.
    ``workers`` ≤ 1 trains in this process. ``on_result(row, seed_column, acc)`` is called after each result is
    on disk (tests use it to prove nothing is trained twice). Returns the path of the file.
    """
    from harness.benchmarks import get_benchmark

    if isinstance(bench, str):
        bench = get_benchmark(bench)
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise GroundTruthError("--seeds must be a non-empty list of distinct integers")
    recipe = recipe or DEFAULT_RECIPE
    path = Path(out) if out is not None else bench.gt_path()
    if path is None:
        raise GroundTruthError(f"benchmark {bench.name} reads its GT from a released file; it cannot be built here")
    data, data_hash = gt_data(bench)
    state = _open_state(bench, path, n_archs, seeds, recipe, data_hash, resume)
    state.save()
    todo = [(i, j) for i in range(min(n_archs, len(state.archs))) for j in range(len(seeds)) if math.isnan(state.acc[i, j])]
    if todo:
        state.attrs.setdefault("builds", []).append(build_environment(workers))
    _run(state, todo, seeds, recipe, data, workers, progress, on_result)
    return path


def _run(state: _State, todo: list[tuple[int, int]], seeds: list[int], recipe: Recipe, data: GTData, workers: int,
         progress: bool, on_result: ResultHook | None) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    console = Console(stderr=True)
    total = int(state.acc[: len(state.archs)].size)
    done0 = total - int(np.isnan(state.acc).sum())
    bar = Progress(TextColumn("[bold]GT {task.fields[bench]}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TimeRemainingColumn(), console=console, disable=not progress)
    plain_log = progress and not console.is_terminal  # e.g. nohup: rich cannot redraw, log lines instead
    started = time.monotonic()
    jobs = [(state.archs[i], seeds[j]) for i, j in todo]
    with bar:
        task = bar.add_task("train", total=total, completed=done0, bench=state.attrs["benchmark"])
        for n_done, (k, value) in enumerate(iter_trained(jobs, recipe, data, workers), start=1):
            i, j = todo[k]
            state.acc[i, j] = value
            state.attrs["builds"][-1]["cells"] += 1
            state.save()
            bar.advance(task)
            if on_result is not None:
                on_result(i, j, value)
            if plain_log and (n_done % 20 == 0 or n_done == len(todo)):
                rate = (time.monotonic() - started) / n_done
                console.log(f"{n_done}/{len(todo)} runs this session, {rate:.2f} s/run, last {state.archs[i]} seed {seeds[j]}: {value:.4f}")


def iter_trained(jobs: Sequence[tuple[str, int]], recipe: Recipe, data: GTData, workers: int) -> Iterator[tuple[int, float]]:
    """Train each (arch, seed) of ``jobs``; yield (job index, accuracy) as runs finish.

    ``workers`` ≤ 1 trains in this process, in order. Otherwise spawned processes take the jobs through a short
    queue (2 per worker), so results arrive roughly in job order and stopping the consumer (or a kill) abandons at
    most the runs in flight. Every path trains with one torch thread: kernels may split their sums differently
    across threads, and a cell must not depend on ``--workers``.
    """
    if workers <= 1:
        import torch

        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for k, (arch, seed) in enumerate(jobs):
                yield k, train_one(arch, seed, recipe, data)
        finally:
            torch.set_num_threads(previous)
        return
    import multiprocessing as mp

    ctx = mp.get_context("spawn")  # fork after torch has started threads can deadlock
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(data, 1)) as pool:
        futures: dict[Future[float], int] = {}
        queue = iter(enumerate(jobs))
        rj = recipe.to_json()

        def submit_one() -> None:
            item = next(queue, None)
            if item is not None:
                k, (arch, seed) = item
                futures[pool.submit(_run_task, arch, seed, rj)] = k

        try:
            for _ in range(2 * workers):
                submit_one()
            while futures:
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for fut in finished:
                    k = futures.pop(fut)
                    value = fut.result()
                    submit_one()
                    yield k, value
        finally:
            for fut in futures:
                fut.cancel()


def train_cells(jobs: Sequence[tuple[str, int]], recipe: Recipe, data: GTData, workers: int,
                on_cell: Callable[[int, int], None] | None = None) -> list[float]:
    """Train every (arch, seed) of ``jobs`` and return the accuracies in job order; ``on_cell(done, total)``."""
    values = [math.nan] * len(jobs)
    for done, (k, value) in enumerate(iter_trained(jobs, recipe, data, workers), start=1):
        values[k] = value
        if on_cell is not None:
            on_cell(done, len(jobs))
    return values


def trim_gt(path: Path, *, n_seeds: int | None = None) -> tuple[int, int]:
    """Cut a partly built GT file to what is finished: its first ``n_seeds`` seed columns (default: all) and the
    longest prefix of archs trained for every one of them. Returns the new (archs, seeds) shape.

    Why a prefix: the GT archs are a prefix of one fixed permutation of the arch set, so a trimmed file is still a
    valid GT and a later resumed build can extend it again. The dev/test split is recomputed for the new size.
    """
    gt = read_gt(path)
    seeds = list(gt.attrs.get("seeds", []))
    k = gt.n_seeds if n_seeds is None else int(n_seeds)
    if not 1 <= k <= gt.n_seeds:
        raise GroundTruthError(f"{path} has {gt.n_seeds} seed columns; cannot keep {k}")
    done = ~np.isnan(gt.acc[:, :k]).any(axis=1)
    n = int(np.argmin(done)) if not done.all() else len(done)
    if n == 0:
        raise GroundTruthError(f"{path}: not even the first arch is finished for {k} seeds")
    attrs = dict(gt.attrs)
    attrs["seeds"] = seeds[:k]
    splits = split_dev_test(n, float(attrs.get("test_fraction", TEST_FRACTION)), int(attrs.get("split_seed", SPLIT_SEED)))
    write_gt(path, archs=gt.archs[:n], acc=gt.acc[:n, :k], params=gt.params[:n], flops=gt.flops[:n], splits=splits,
             archset_index=None if gt.archset_index is None else gt.archset_index[:n], attrs=attrs)
    return n, k
