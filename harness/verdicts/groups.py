"""Seed groups and comparisons from stored runs: GT-arch predictions -> metric kernels -> :mod:`.stats`.

Why here and not in the metrics package: the metrics are pure functions of one predictor's scores; a verdict
needs several runs, their seeds and one set of arch resamples shared by all of them, which is the store's and
the benchmark's business. The metric values themselves come only from :mod:`harness.metrics`' kernels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import BenchmarkVersionError, HarnessError, UnknownNameError, UsageError
from harness.metrics import METRICS
from harness.verdicts.stats import LEVEL, Comparison, Interval, compare_groups, group_interval

N_BOOT = 1000


def metric_replicates(
    preds: Sequence[np.ndarray], truth: np.ndarray, params: np.ndarray | None, metric: str, *,
    n_boot: int = N_BOOT, seed: int = 0, clusters: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Point value per predictor (S,) and its values on ``n_boot`` arch resamples shared by all (B, S);
    ``clusters``: resample clusters of archs (NB201's isomorphism classes) instead of archs."""
    from harness.metrics.registry import point_values, prepare
    from harness.metrics.resampling import resample_values

    preps = [prepare(p, truth, params, [metric]) for p in preds]
    points = np.array([point_values(p, [metric])[metric] for p in preps], dtype=np.float64)
    reps = resample_values(preps, [metric], n_boot, seed, clusters=clusters)
    return points, np.column_stack([r[metric] for r in reps])


def check_metric(name: str) -> bool:
    """The metric's better direction; a diagnostic without one cannot be compared or gated on."""
    spec = METRICS.get(name)
    if spec is None:
        raise UnknownNameError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
    if spec.higher_is_better is None:
        raise UsageError(f"{name} is a diagnostic with no better direction; compare or gate on another metric")
    return bool(spec.higher_is_better)


@dataclass(frozen=True)
class Side:
    """One side of a verdict: a seed group (several trainer runs) or a single run."""

    label: str  # the group id or the run id
    submission: str
    kind: str
    runs: tuple[Any, ...]  # RunRecord
    is_group: bool

    @property
    def seeds(self) -> list[int | None]:
        return [r.seed for r in self.runs]

    @property
    def training_noise(self) -> bool:
        """True when the side's spread includes training-seed variance (a group of >= 2 runs)."""
        return self.is_group and len(self.runs) >= 2

    @property
    def benchmark(self) -> str:
        return str(self.runs[0].benchmark)

    @property
    def version(self) -> int:
        """The benchmark version of the side's runs (a group never mixes versions, :func:`resolve` checks)."""
        return int(self.runs[0].bench_version)

    @property
    def what(self) -> str:
        """``run ID`` or ``group ID``: how a message names the side."""
        return f"{'group' if self.is_group else 'run'} {self.label}"


def resolve(store: Any, key: str) -> Side:
    """A run id or a group id (``g…``) -> its completed runs."""
    if store.is_group_id(key):
        runs = store.group_runs(key)
        if not runs:
            raise HarnessError(f"group {key!r} has no completed runs")
        if len({r.submission for r in runs}) != 1 or len({r.benchmark for r in runs}) != 1:
            raise HarnessError(f"group {key!r} mixes submissions or benchmarks")
        if len({r.bench_version for r in runs}) != 1:
            shown = ", ".join(f"v{v}" for v in sorted({r.bench_version for r in runs}))
            raise BenchmarkVersionError(f"group {key!r} mixes benchmark versions ({shown}) of {runs[0].benchmark}")
        return Side(runs[0].group_id or key, runs[0].submission, runs[0].kind, tuple(runs), True)
    run = store.get_run(key)
    if run.status != "ok":
        raise HarnessError(f"run {run.run_id} has status {run.status}; only completed runs can be compared")
    return Side(run.run_id, run.submission, run.kind, (run,), False)


def check_same_version(a: Side, b: Side) -> None:
    """Refuse to compare two sides of different versions of a benchmark (one line, exit 2)."""
    if a.version != b.version:
        raise BenchmarkVersionError(
            f"{a.what} is on {a.benchmark} v{a.version} and {b.what} on v{b.version}: "
            "runs of different benchmark versions are never compared"
        )


def require_current_version(side: Side, bench: Any) -> None:
    """Refuse a side of another version than ``bench``'s: verdicts recompute metrics against the benchmark's
    current GT, which is not the GT (or arch set, or protocol) an older version's runs were scored on."""
    version = int(getattr(bench, "version", 1))
    if side.version != version:
        raise BenchmarkVersionError(
            f"{side.what} is on {side.benchmark} v{side.version} and the benchmark is now v{version}: "
            f"verdicts use the current GT, so only runs of v{version} can be compared or gated"
        )


def _split_preds(store: Any, side: Side, gt: Any, split: str) -> list[np.ndarray]:
    from harness.scoring import split_predictions

    out = []
    for r in side.runs:
        archs, scores = store.load_predictions(r.run_id)
        out.append(split_predictions(list(archs), np.asarray(scores), gt, split))
    return out


@dataclass(frozen=True)
class GroupSummary:
    side: Side
    metric: str
    split: str
    n_archs: int
    values: tuple[float, ...]  # per run
    sd: float | None  # run-level SD (None for one run)
    interval: Interval

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.side.label, "submission": self.side.submission, "kind": self.side.kind,
            "is_group": self.side.is_group, "runs": [r.run_id for r in self.side.runs], "seeds": self.side.seeds,
            "gt_only": [bool(r.gt_only) for r in self.side.runs], "metric": self.metric, "split": self.split,
            "n_archs": self.n_archs, "values": list(self.values), "sd": self.sd, "mean": self.interval.value,
            "interval": self.interval.to_dict(), "training_noise": self.interval.training_noise,
        }


def _gt_arrays(bench: Any, split: str) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:
    gt = bench.ground_truth()
    idx = gt.split_indices(split)
    if idx.size < 3:
        raise HarnessError(f"the {split} split has {idx.size} complete GT archs; too few to compare")
    return gt, idx, gt.mean_acc[idx], gt.params[idx]


def _clusters(gt: Any, split: str) -> np.ndarray | None:
    return gt.split_clusters(split) if hasattr(gt, "split_clusters") else None


def side_replicates(store: Any, side: Side, bench: Any, split: str, metric: str, *, n_boot: int = N_BOOT,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """A side's metric per run (S,), its values on the split's shared arch resamples (B, S), and n_archs.

    The resamples depend only on (n_archs, n_boot, seed), so the replicates of every side of one board line up:
    what :func:`harness.verdicts.family.family_verdicts` needs.
    """
    require_current_version(side, bench)
    gt, idx, truth, params = _gt_arrays(bench, split)
    points, reps = metric_replicates(_split_preds(store, side, gt, split), truth, params, metric, n_boot=n_boot, seed=seed,
                                     clusters=_clusters(gt, split))
    return points, reps, int(idx.size)


def summarize(store: Any, side: Side, bench: Any, split: str, metric: str, *, n_boot: int = N_BOOT,
              seed: int = 0, level: float = LEVEL) -> GroupSummary:
    """A side's mean metric with an interval over seeds and archs (archs only for a single run).

    The side must be of ``bench``'s current version (the metrics are recomputed against its GT); a side of an
    older version is summarised from its stored values instead: :func:`stored_summary`.
    """
    points, reps, n = side_replicates(store, side, bench, split, metric, n_boot=n_boot, seed=seed)
    return summary_of(side, split, metric, points, reps, n, level)


def summary_of(side: Side, split: str, metric: str, points: np.ndarray, reps: np.ndarray, n_archs: int,
               level: float = LEVEL) -> GroupSummary:
    """The :class:`GroupSummary` of replicates already computed (:func:`side_replicates`)."""
    sd = float(np.std(points, ddof=1)) if points.size > 1 else None
    return GroupSummary(side, metric, split, n_archs, tuple(float(v) for v in points), sd,
                        group_interval(points, reps, level, n_archs=n_archs))


def stored_summary(side: Side, split: str, metric: str, *, level: float = LEVEL) -> GroupSummary:
    """A side of an older benchmark version, from the metric values stored with its runs.

    Why not recomputed: the benchmark's current GT (and maybe arch set) is not the one these runs were scored
    on, and that older GT may no longer be available. The interval is the seed part only (a t interval of the
    stored per-run values; for one run, its stored arch-bootstrap interval), so it is narrower than a current
    version's: rows of older versions are shown for the record and ranked only among themselves.
    """
    from scipy import stats

    values = [v for v in (r.metric(metric, split) for r in side.runs) if v is not None]
    n_archs = int(side.runs[0].report(split).get("n") or 0)
    nan = float("nan")
    if not values:
        iv = Interval(nan, nan, nan, level, nan, nan, 0.0, 0.0, False)
        return GroupSummary(side, metric, split, n_archs, (), None, iv)
    m = float(np.mean(values))
    if len(values) == 1:
        est = (side.runs[0].report(split).get("metrics") or {}).get(metric) or {}
        lo, hi = est.get("ci_low"), est.get("ci_high")
        iv = Interval(m, nan, nan, level, nan if lo is None else float(lo), nan if hi is None else float(hi), 0.0, nan, False)
        return GroupSummary(side, metric, split, n_archs, (m,), None, iv)
    sd = float(np.std(values, ddof=1))
    se = sd / np.sqrt(len(values))
    half = float(stats.t.ppf(0.5 + level / 2, len(values) - 1)) * se
    iv = Interval(m, float(se), float(len(values) - 1), level, m - half, m + half, float(se * se), 0.0, True)
    return GroupSummary(side, metric, split, n_archs, tuple(values), sd, iv)


def compare_sides(store: Any, a: Side, b: Side, bench: Any, split: str, metric: str, *, n_boot: int = N_BOOT,
                  seed: int = 0, level: float = LEVEL) -> Comparison:
    """A vs B on the same GT archs and the same arch resamples; paired by seed when both ran the same seeds.

    Both sides must be of one benchmark version, ``bench``'s current one (:class:`BenchmarkVersionError`).
    """
    check_same_version(a, b)
    require_current_version(a, bench)
    hib = check_metric(metric)
    gt, idx, truth, params = _gt_arrays(bench, split)
    pa, pb = _split_preds(store, a, gt, split), _split_preds(store, b, gt, split)
    points, reps = metric_replicates(pa + pb, truth, params, metric, n_boot=n_boot, seed=seed, clusters=_clusters(gt, split))
    k = len(pa)
    paired = (a.training_noise and b.training_noise and None not in a.seeds and a.seeds == b.seeds)
    return compare_groups(metric, hib, points[:k], reps[:, :k], points[k:], reps[:, k:], paired_by_seed=paired,
                          level=level, n_archs=int(idx.size))


def matching_seeds(trick: Side, base: Side) -> Side:
    """``base`` cut to the trick's seeds when those are a subset of its own (so the comparison pairs by seed).

    Why: the same seed gives both trainers the same initialisation and data order (common random numbers), so
    the per-seed difference cancels what the seed fixes; a gate on a few seeds of the trick gains most from it.
    """
    if not (trick.is_group and base.is_group) or None in base.seeds or None in trick.seeds:
        return base
    by_seed = {r.seed: r for r in base.runs}
    if trick.seeds == base.seeds or not set(trick.seeds) <= set(by_seed):
        return base
    return Side(base.label, base.submission, base.kind, tuple(by_seed[s] for s in trick.seeds), True)


def fix_command(side: Side) -> str:
    """The command that turns a single trainer run into a seed group."""
    return f"nas-harness score SUBMISSION_DIR --seeds 5   (the folder of {side.submission})"
