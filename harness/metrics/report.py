"""What a scoring run stores: values with CIs, the #params baseline, the GT's split-half agreement, the best
achievable τ and each metric's neutral point; and the leaderboard order."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.errors import UnknownNameError
from harness.metrics._arrays import ArrayLike, as_vector
from harness.metrics.agreement import as_ragged_acc, best_achievable_tau, seed_means, split_half_agreement
from harness.metrics.registry import METRICS, neutral_values, point_values, prepare, resolve_names
from harness.metrics.resampling import _check_level, percentile_ci, resample_values

# ------------------------------------------------------------------------------------------ report
@dataclass(frozen=True)
class Estimate:
    """A point value with its bootstrap interval (None when no bootstrap was run)."""

    value: float
    ci_low: float | None = None
    ci_high: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        return {"value": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | float) -> Estimate:
        if not isinstance(d, Mapping):
            return cls(float(d))
        return cls(_num(d.get("value")), _num(d.get("ci_low")), _num(d.get("ci_high")))  # type: ignore[arg-type]


def _num(x: Any) -> float | None:
    return None if x is None else float(x)


@dataclass
class MetricReport:
    """Everything a scoring run stores about one GT split. JSON shape of :meth:`to_dict`::

        {"n": int, "n_seeds": int, "n_seeds_min": int, "n_boot": int, "level": float, "seed": int,
         "metrics":  {name: {"value": float, "ci_low": float|None, "ci_high": float|None}},
         "baseline": {name: {"value": ..., "ci_low": ..., "ci_high": ...}},   # the #params proxy
         "noise_ceiling": {name: float|None},   # the split-half agreement (key kept for stored runs); None:
                                                # one seed column, or not applicable (CB, ratio τ)
         "neutral": {name: float|None},         # each metric's neutral point on this split (CB: size-blind
                                                # reference C/(C+D) of GT vs #params; ratio τ: 0); None: directional
         "best_achievable": {"kendall_tau": float|None, "kendall_tau_ci": [lo, hi]|None, "reliability": …,
                             "rho": …, "split_half": …, "model": str}}   # the expected τ of an oracle

    ``n_seeds`` is the most finished seeds any arch of the split has and ``n_seeds_min`` the fewest: equal for a
    rectangular GT, 12 and 3 for a ragged one (the truth of each arch is the mean of its own seeds). Why two
    numbers and not a mean: ``n_seeds`` keeps its meaning for every stored run and reader (the seed columns of a
    complete GT), and the pair says at once whether the truth is equally noisy on every arch.

    ``neutral``, ``best_achievable`` and ``n_seeds_min`` are absent from runs stored before they existed:
    :meth:`from_dict` reads the first two as empty and ``n_seeds_min`` as ``n_seeds``; :func:`neutral_of`
    recomputes nothing, it only reads.
    """

    n: int
    metrics: dict[str, Estimate]
    baseline: dict[str, Estimate]
    noise_ceiling: dict[str, float | None]
    n_seeds: int = 1
    n_boot: int = 0
    level: float = 0.95
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    neutral: dict[str, float | None] = field(default_factory=dict)
    best_achievable: dict[str, Any] = field(default_factory=dict)
    n_seeds_min: int | None = None  # None: as n_seeds (a rectangular GT, or a run stored before ragged GTs)

    @property
    def split_half(self) -> dict[str, float | None]:
        """The GT's split-half agreement per metric (stored under the historical key ``noise_ceiling``)."""
        return self.noise_ceiling

    def value(self, name: str) -> float:
        return self.metrics[name].value

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": int(self.n),
            "n_seeds": int(self.n_seeds),
            "n_seeds_min": int(self.n_seeds if self.n_seeds_min is None else self.n_seeds_min),
            "n_boot": int(self.n_boot),
            "level": float(self.level),
            "seed": int(self.seed),
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            "baseline": {k: v.to_dict() for k, v in self.baseline.items()},
            "noise_ceiling": {k: (None if v is None else float(v)) for k, v in self.noise_ceiling.items()},
            "neutral": {k: (None if v is None else float(v)) for k, v in self.neutral.items()},
            "best_achievable": dict(self.best_achievable),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MetricReport:
        return cls(
            n=int(d["n"]),
            metrics={k: Estimate.from_dict(v) for k, v in d.get("metrics", {}).items()},
            baseline={k: Estimate.from_dict(v) for k, v in d.get("baseline", {}).items()},
            noise_ceiling={k: _num(v) for k, v in d.get("noise_ceiling", {}).items()},
            n_seeds=int(d.get("n_seeds", 1)),
            n_boot=int(d.get("n_boot", 0)),
            level=float(d.get("level", 0.95)),
            seed=int(d.get("seed", 0)),
            neutral={k: _num(v) for k, v in (d.get("neutral") or {}).items()},
            best_achievable=dict(d.get("best_achievable") or {}),
            n_seeds_min=int(d.get("n_seeds_min", d.get("n_seeds", 1))),
        )


def evaluate_predictions(
    pred: ArrayLike,
    acc: ArrayLike,
    params: ArrayLike,
    *,
    names: Iterable[str] | str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    baseline_ci: bool = True,
    clusters: ArrayLike | None = None,
) -> MetricReport:
    """Values, bootstrap CIs (none for the max-type metrics: ``resampling.NO_BOOTSTRAP_CI``), #params baseline (with CIs on the same resamples), neutral points, the GT's
    split-half agreement and the expected Kendall τ of an oracle (with its interval).

    ``acc``: standalone accuracies (n, seeds) — or (n,) for one seed — of the same archs as ``pred``; truth is
    the seed mean. ``n_boot=0`` skips the bootstrap (CIs None). ``baseline_ci=False`` skips the baseline's CIs.
    ``clusters``: one id per arch; the bootstrap then resamples clusters (NB201's isomorphism classes).

    Ragged rows are accepted: NaN marks a seed an arch does not have (a GT with 12 seeds on some archs and 3 on
    the others). The truth is then each arch's mean over its finished seeds (:func:`~harness.metrics.agreement.
    seed_means`), the split-half agreement and the oracle's expected τ handle the rows as their docstrings say, and
    ``n_seeds`` / ``n_seeds_min`` report the most and fewest seeds. A row with no finished seed has no truth: it
    is a ValueError, leave it out first (scoring passes the complete archs of ``GroundTruth.split_indices``).
    """
    _check_level(level)
    names = resolve_names(names)
    a = as_ragged_acc(acc)
    truth = seed_means(a)
    counts = np.isfinite(a).sum(axis=1)
    p_vec = as_vector(pred, "pred")
    if p_vec.size != a.shape[0]:
        raise ValueError(f"pred has {p_vec.size} values but acc has {a.shape[0]} rows; they must describe the same archs")
    prep = prepare(p_vec, truth, params, names)
    base = prepare(np.asarray(params, dtype=np.float64), truth, params, names)
    values = point_values(prep, names)
    base_values = point_values(base, names)
    ci: dict[str, tuple[float | None, float | None]] = {m: (None, None) for m in names}
    base_ci = dict(ci)
    if n_boot > 0:
        preps = [prep, base] if baseline_ci else [prep]
        boot = resample_values(preps, names, n_boot, seed, clusters=None if clusters is None else np.asarray(clusters))
        ci = {m: percentile_ci(m, boot[0][m], level) for m in names}
        if baseline_ci:
            base_ci = {m: percentile_ci(m, boot[1][m], level) for m in names}
    return MetricReport(
        n=prep.n,
        metrics={m: Estimate(values[m], *ci[m]) for m in names},
        baseline={m: Estimate(base_values[m], *base_ci[m]) for m in names},
        noise_ceiling=split_half_agreement(a, params, names, seed=seed),
        n_seeds=int(counts.max()) if counts.size else int(a.shape[1]),
        n_seeds_min=int(counts.min()) if counts.size else int(a.shape[1]),
        n_boot=int(n_boot),
        level=level,
        seed=seed,
        neutral=neutral_values(truth, params, names),
        best_achievable=_best_summary(a, seed),
    )


def _best_summary(a: np.ndarray, seed: int) -> dict[str, Any]:
    best = best_achievable_tau(a, seed=seed)
    return {"kendall_tau": best["tau"], "kendall_tau_ci": best.get("tau_ci"), "reliability": best["reliability"],
            "rho": best["rho"], "split_half": best["split_half"], "model": best["model"]}


def split_half_of(report_dict: Mapping[str, Any]) -> dict[str, float | None]:
    """A stored report's split-half agreement per metric, None where it does not apply (CB, ratio τ).

    Runs stored before the agreement of the diagnostic metrics was dropped hold 0.5 and 0 there; this hides them.
    """
    raw = report_dict.get("noise_ceiling") or {}
    return {k: (_num(v) if (k not in METRICS or METRICS[k].agreement) else None) for k, v in raw.items()}


def neutral_of(report_dict: Mapping[str, Any], name: str) -> float | None:
    """The neutral point of metric ``name`` as stored with the report, else its fixed declared value (or None)."""
    stored = (report_dict.get("neutral") or {}).get(name)
    if stored is not None:
        return _num(stored)
    spec = METRICS.get(name)
    return None if spec is None or spec.neutral_per_gt else spec.neutral_value()


def best_tau_of(report_dict: Mapping[str, Any]) -> float | None:
    """The stored expected τ of an oracle on the report's GT split (None for older runs and one-seed GTs)."""
    return _num((report_dict.get("best_achievable") or {}).get("kendall_tau"))


# ------------------------------------------------------------------------------------------ leaderboard order
PRIMARY_METRICS: tuple[str, ...] = (
    "kendall_tau",
    "spearman",
    "pearson",
    "sparse_kendall_tau",
    "p_at_top_5",
    "p_at_top_10",
    "top1_regret",
)
"""Metrics a benchmark may declare primary (directional summary metrics)."""

TIE_BREAKS: tuple[str, ...] = (
    "kendall_tau",
    "spearman",
    "pearson",
    "p_at_top_5",
    "p_at_top_10",
    "top1_regret",
    "sparse_kendall_tau",
)
"""Tie-break order after the primary metric (the primary is skipped where it appears)."""


def rank_key(report_dict: Mapping[str, Any], primary: str) -> tuple[float, ...]:
    """Sort key (ascending = better first) of a run: the primary metric, then :data:`TIE_BREAKS`.

    ``report_dict`` is :meth:`MetricReport.to_dict` output (or a flat ``{name: value}`` /
    ``{name: {"value": …}}`` mapping). Each component is −value for higher-is-better metrics and value for
    lower-is-better ones; a missing, None or NaN value sorts last (+inf). Callers append the run's creation time
    to break remaining ties in favour of the earlier run.
    """
    if primary not in METRICS:
        raise UnknownNameError(f"unknown primary metric {primary!r}; known: {', '.join(METRICS)}")
    if METRICS[primary].higher_is_better is None:
        raise ValueError(f"{primary!r} has no better direction and cannot rank a leaderboard; use one of {PRIMARY_METRICS}")
    metrics = report_dict.get("metrics", report_dict) if isinstance(report_dict, Mapping) else {}
    key: list[float] = []
    for name in (primary, *(m for m in TIE_BREAKS if m != primary)):
        raw = metrics.get(name) if isinstance(metrics, Mapping) else None
        if isinstance(raw, Mapping):
            raw = raw.get("value")
        try:
            v = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            v = math.nan
        if not math.isfinite(v):
            key.append(math.inf)
        else:
            key.append(-v if METRICS[name].higher_is_better else v)
    return tuple(key)
