"""Metrics of a weight-sharing supernet's (or any predictor's) scores against standalone ground truth.

Pure functions on numpy arrays, no torch. Each metric is declared once (name, label, direction, neutral point,
point and resampled kernels, needs-params) in the file named by what it computes, and :data:`METRICS` is the one
list every consumer reads:

* :mod:`~harness.metrics.correlation` — Pearson, Kendall τ_b, Spearman, sparse Kendall τ;
* :mod:`~harness.metrics.topk` — P@top-K, P@bottom-K, BR@K, WR@K, top-k regret (m = ⌈K·n/100⌉; ranks 1-based);
* :mod:`~harness.metrics.complexity` — complexity bias CB with its size-blind reference point, ratio τ;
* :mod:`~harness.metrics.resampling` — the bootstrap over archs and the paired comparison;
* :mod:`~harness.metrics.agreement` — the GT's split-half agreement and the best achievable τ;
* :mod:`~harness.metrics.registry` — :data:`METRICS` and evaluation by name;
* :mod:`~harness.metrics.report` — what a scoring run stores, and the leaderboard order;
* :mod:`~harness.metrics.curves` — the app's regret curves.

Definitions, references and conventions: each function's docstring, and ``docs/metrics.md``.

Public API::

    METRICS: dict[str, Metric]   # name -> Metric(name, label, description, higher_is_better, function, resampled,
                                 #   point, neutral, neutral_resampled, needs_params, pair_kernels, unit, agreement, kind)
    compute_metrics(pred, truth, params=None, names=None) -> dict[str, float]
    neutral_values(truth, params, names=None) -> dict[str, float | None]
    bootstrap_ci(pred, truth, params=None, names=None, n_boot=1000, seed=0, level=0.95) -> dict[str, (low, high)]
    split_half_agreement(acc, params=None, names=None, seed=0) -> dict[str, float | None]   (alias noise_ceiling)
    best_achievable_tau(acc, seed=0) -> dict;  projected_kendall_ceiling(acc, seeds_per_half, seed=0) -> dict
    params_baseline(params, truth, names=None) -> dict[str, float]
    evaluate_predictions(pred, acc, params, *, names=None, n_boot=1000, seed=0, level=0.95, baseline_ci=True) -> MetricReport
    paired_bootstrap(pred_a, pred_b, truth, params, metric, n_boot=2000, seed=0, level=0.95) -> dict
    topk_regret_curve(pred, truth, ks) -> ndarray;  random_search_expectation(truth, ks) -> ndarray
    PRIMARY_METRICS, TIE_BREAKS, LEADERBOARD_COLUMNS, rank_key(report_dict, primary) -> tuple[float, ...]
    split_half_of(report_dict), neutral_of(report_dict, name), best_tau_of(report_dict)   # read stored reports
"""

from harness.metrics._arrays import MIN_ARCHS, SPARSE_BIN
from harness.metrics._base import Metric
from harness.metrics.agreement import (
    best_achievable_tau,
    disjoint_subset_pairs,
    half_splits,
    noise_ceiling,
    projected_kendall_ceiling,
    split_half_agreement,
)
from harness.metrics.complexity import (
    complexity_bias,
    complexity_bias_all_pairs,
    complexity_bias_reference,
    ratio_params_tau,
)
from harness.metrics.correlation import kendall_tau, pearson, sparse_kendall_tau, spearman
from harness.metrics.curves import random_search_expectation, topk_regret_curve
from harness.metrics.registry import (
    HEADLINE,
    LEADERBOARD_COLUMNS,
    METRICS,
    MetricSpec,
    compute_metrics,
    neutral_values,
    params_baseline,
)
from harness.metrics.report import (
    PRIMARY_METRICS,
    TIE_BREAKS,
    Estimate,
    MetricReport,
    best_tau_of,
    evaluate_predictions,
    neutral_of,
    rank_key,
    split_half_of,
)
from harness.metrics.resampling import NO_BOOTSTRAP_CI, bootstrap_ci, has_bootstrap_ci, paired_bootstrap, pairwise_resamples
from harness.metrics.topk import (
    REGRET_KS,
    TOP_PERCENTS,
    best_rank_at,
    precision_at_bottom,
    precision_at_top,
    top_count,
    topk_regret,
    worst_rank_at,
)

__all__ = [
    "HEADLINE",
    "LEADERBOARD_COLUMNS",
    "METRICS",
    "MIN_ARCHS",
    "PRIMARY_METRICS",
    "REGRET_KS",
    "SPARSE_BIN",
    "TIE_BREAKS",
    "TOP_PERCENTS",
    "Estimate",
    "Metric",
    "MetricReport",
    "MetricSpec",
    "best_achievable_tau",
    "best_rank_at",
    "best_tau_of",
    "bootstrap_ci",
    "complexity_bias",
    "complexity_bias_all_pairs",
    "complexity_bias_reference",
    "compute_metrics",
    "disjoint_subset_pairs",
    "evaluate_predictions",
    "half_splits",
    "kendall_tau",
    "neutral_of",
    "neutral_values",
    "noise_ceiling",
    "paired_bootstrap",
    "pairwise_resamples",
    "NO_BOOTSTRAP_CI",
    "has_bootstrap_ci",
    "params_baseline",
    "pearson",
    "precision_at_bottom",
    "precision_at_top",
    "projected_kendall_ceiling",
    "random_search_expectation",
    "rank_key",
    "ratio_params_tau",
    "sparse_kendall_tau",
    "spearman",
    "split_half_agreement",
    "split_half_of",
    "top_count",
    "topk_regret",
    "topk_regret_curve",
    "worst_rank_at",
]
