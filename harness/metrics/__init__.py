"""Metrics of a weight-sharing supernet's (or any predictor's) scores against standalone ground truth.

Pure functions on numpy arrays. Definitions, conventions (ties, constant input, units) and references are in
:mod:`harness.metrics.point`; the bootstrap in :mod:`harness.metrics.resampling`; the stored report, noise
ceiling and leaderboard key in :mod:`harness.metrics.report`; the app's curves in :mod:`harness.metrics.curves`.

Public API::

    METRICS: dict[str, MetricSpec]            # name -> (name, label, function, higher_is_better, description, neutral, unit)
    compute_metrics(pred, truth, params=None, names=None) -> dict[str, float]
    bootstrap_ci(pred, truth, params=None, names=None, n_boot=1000, seed=0, level=0.95) -> dict[str, (low, high)]
    noise_ceiling(acc, params=None, names=None, seed=0) -> dict[str, float | None]
    projected_kendall_ceiling(acc, seeds_per_half=range(1, 9), seed=0) -> dict  (measured, then calibrated Spearman–Brown: seeds needed)
    params_baseline(params, truth, names=None) -> dict[str, float]
    evaluate_predictions(pred, acc, params, *, names=None, n_boot=1000, seed=0, level=0.95, baseline_ci=True) -> MetricReport
    paired_bootstrap(pred_a, pred_b, truth, params, metric, n_boot=2000, seed=0, level=0.95) -> dict
    topk_regret_curve(pred, truth, ks) -> ndarray;  random_search_expectation(truth, ks) -> ndarray
    PRIMARY_METRICS, TIE_BREAKS, rank_key(report_dict, primary) -> tuple[float, ...]
"""

from harness.metrics._core import MIN_ARCHS, SPARSE_BIN
from harness.metrics._engine import REGRET_KS, TOP_PERCENTS, top_count
from harness.metrics.curves import random_search_expectation, topk_regret_curve
from harness.metrics.point import (
    METRICS,
    MetricSpec,
    best_rank_at,
    complexity_bias,
    compute_metrics,
    kendall_tau,
    params_baseline,
    pearson,
    precision_at_bottom,
    precision_at_top,
    ratio_params_tau,
    sparse_kendall_tau,
    spearman,
    topk_regret,
    worst_rank_at,
)
from harness.metrics.report import (
    PRIMARY_METRICS,
    TIE_BREAKS,
    Estimate,
    MetricReport,
    evaluate_predictions,
    half_splits,
    noise_ceiling,
    disjoint_subset_pairs,
    projected_kendall_ceiling,
    rank_key,
)
from harness.metrics.resampling import bootstrap_ci, paired_bootstrap, pairwise_resamples

__all__ = [
    "METRICS",
    "MIN_ARCHS",
    "PRIMARY_METRICS",
    "REGRET_KS",
    "SPARSE_BIN",
    "TIE_BREAKS",
    "TOP_PERCENTS",
    "Estimate",
    "MetricReport",
    "MetricSpec",
    "best_rank_at",
    "bootstrap_ci",
    "complexity_bias",
    "compute_metrics",
    "evaluate_predictions",
    "half_splits",
    "kendall_tau",
    "noise_ceiling",
    "paired_bootstrap",
    "pairwise_resamples",
    "params_baseline",
    "pearson",
    "precision_at_bottom",
    "disjoint_subset_pairs",
    "projected_kendall_ceiling",
    "precision_at_top",
    "random_search_expectation",
    "rank_key",
    "ratio_params_tau",
    "sparse_kendall_tau",
    "spearman",
    "top_count",
    "topk_regret",
    "topk_regret_curve",
    "worst_rank_at",
]
