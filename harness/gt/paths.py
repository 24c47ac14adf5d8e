"""The GT builder's training paths, declared once: what ``gt build --path`` accepts, what a GT file records per cell,
and how each path groups and trains cells.

Why a registry: the builder, ``gt verify`` and ``benchmarks/gt_builder_speed.py`` all need to know, for a path,
the name a file stores, whether it trains the seeds of one arch together and which spaces it supports; spelling
that out by name in each of them is how one of them ends up re-training a cell another way than it was built.
A path's ``train`` is a module-level function (GT workers are spawned processes that look it up by name).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.errors import GroundTruthError
from harness.gt.gt_file import PATH_NAMES

if TYPE_CHECKING:
    from harness.gt.recipe import Recipe
    from harness.gt.train import GTData
    from harness.spaces.base import SearchSpace

TrainFn = Callable[[str, Sequence[int], "Recipe", "GTData"], list[float]]


@dataclass(frozen=True)
class TrainingPath:
    """One way of training the standalone nets of a GT.

    ``recorded`` is the name stored in GT files (bump its version when the path's numerics change);
    ``seeds_together`` says whether a batch holds several seeds of one arch (then a cell's bits depend on its batch
    size, which the file records); ``supports(space)`` whether the path can train that space's nets.
    """

    name: str
    recorded: str
    seeds_together: bool
    train: TrainFn
    supports: Callable[[SearchSpace], bool]


def _train_sequential(arch: str, seeds: Sequence[int], recipe: Recipe, data: GTData) -> list[float]:
    from harness.gt.train import train_one

    return [train_one(arch, int(s), recipe, data) for s in seeds]


def _train_stacked(arch: str, seeds: Sequence[int], recipe: Recipe, data: GTData) -> list[float]:
    from harness.gt.stacked import train_stacked

    return train_stacked(arch, seeds, recipe, data)


TRAINING_PATHS: dict[str, TrainingPath] = {
    p.name: p
    for p in (
        TrainingPath("sequential", "sequential-v1", False, _train_sequential, lambda space: True),
        TrainingPath("stacked", "stacked-v1", True, _train_stacked, lambda space: bool(space.stacked_gt)),
    )
}
#: Sequential by default: on idle cores of the AMD EPYC (AVX2) the stacked path was 1.03× the sequential one (36 runs
#: each, ``benchmarks/gt_builder_speed.py --first-row 0 --archs 12 --seeds 3 --rounds 1``), 1.23× only on cores
#: shared with other jobs; the sequential path trained all v1 cells, and its bits do not depend on a batch.
DEFAULT_PATH = "sequential"
#: the path a space's nets fall back to when a requested path does not support the space
FALLBACK_PATH = "sequential"

if not all(p.recorded in PATH_NAMES for p in TRAINING_PATHS.values()):  # a new path needs a code in GT files
    raise RuntimeError("every training path's recorded name must be listed in harness.gt.gt_file.PATH_NAMES")


def get_path(name: str) -> TrainingPath:
    """The training path called ``name`` (as ``--path`` spells it); unknown names are one GroundTruthError."""
    try:
        return TRAINING_PATHS[name]
    except KeyError:
        raise GroundTruthError(f"unknown GT training path {name!r}; use one of {', '.join(TRAINING_PATHS)}") from None


def path_recorded_as(recorded: str) -> TrainingPath | None:
    """The path a GT file's stored name refers to (None: a path this harness does not know)."""
    return next((p for p in TRAINING_PATHS.values() if p.recorded == recorded), None)


def plan_batches(cells: Sequence[tuple[int, int]], path: str, max_batch: int) -> list[list[tuple[int, int]]]:
    """Group (row, seed column) cells into training batches: a seeds-together path takes the pending seeds of one
    row together (at most ``max_batch``), any other one cell at a time. Order: row-major, as given."""
    if not get_path(path).seeds_together:
        return [[c] for c in cells]
    batches: list[list[tuple[int, int]]] = []
    for cell in cells:
        if batches and batches[-1][0][0] == cell[0] and len(batches[-1]) < max_batch:
            batches[-1].append(cell)
        else:
            batches.append([cell])
    return batches
