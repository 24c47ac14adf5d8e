"""Correlations of a predictor's scores with the GT accuracy: Pearson r, Kendall τ_b, Spearman ρ, sparse Kendall τ.

Conventions (shared with every metric; see :mod:`harness.metrics`): ``pred`` one score per arch, higher =
predicted better; ``truth`` the seed-mean standalone accuracy as a fraction in [0, 1]. **Constant input**: scipy
returns NaN for a correlation with a constant side; a leaderboard needs a number, so every correlation here returns
**0.0**: a constant predictor carries no ranking information, and 0 is also the expected τ of a constant predictor
whose ties are broken at random. **Ties** are never broken by arch order (arbitrary and gameable): τ_b's tie
corrections and average ranks.

References
----------
.. [K45] M. G. Kendall, "The treatment of ties in ranking problems", Biometrika 33(3):239–251, 1945 (τ_b).
.. [Y20] K. Yu, C. Sciuto, M. Jaggi, C. Musat, M. Salzmann, "Evaluating the Search Phase of Neural
   Architecture Search", ICLR 2020, arXiv:1902.08142 (sparse Kendall τ: accuracies rounded to 0.1 %).
.. [S20] J. Siems et al., "NAS-Bench-301 and the Case for Surrogate Benchmarks for Neural Architecture Search",
   arXiv:2008.09777 (uses the sparse Kendall τ).
.. [C21] CVPR 2021 1st Lightweight NAS Challenge, track 1 (supernet track): Pearson / Kendall between
   inherited-weight and standalone accuracy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

from harness.metrics._arrays import ArrayLike, is_constant
from harness.metrics._base import Metric, PairKernel, Prepared, Resample, tau_b, value_of, weighted_pearson


def _scipy_or_zero(fn: Callable[..., object], x: np.ndarray, y: np.ndarray, **kw: object) -> float:
    """scipy's statistic, with 0.0 (not NaN) when either side is constant: no information, no association."""
    if is_constant(x) or is_constant(y):
        return 0.0
    return float(np.clip(fn(x, y, **kw).statistic, -1.0, 1.0))  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------------------ public functions
def pearson(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None) -> float:
    """Pearson's r between pred and truth: ``scipy.stats.pearsonr(pred, truth).statistic``.

    r = Σ(p−p̄)(t−t̄) / sqrt(Σ(p−p̄)² Σ(t−t̄)²). Constant pred or truth → 0.0 (scipy: NaN). The
    CVPR-2021 track-1 metric [C21]. Sensitive to the scale of pred, not only to its ranking.
    """
    return value_of(PEARSON, pred, truth, params)


def kendall_tau(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None) -> float:
    """Kendall's τ_b [K45]: ``scipy.stats.kendalltau(pred, truth, variant='b').statistic``.

    τ_b = (P − Q) / sqrt((P + Q + T)(P + Q + U)), P / Q the concordant / discordant pairs, T the pairs tied only
    in pred, U those tied only in truth. Constant pred or truth → 0.0 (scipy: NaN).
    """
    return value_of(KENDALL, pred, truth, params)


def spearman(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None) -> float:
    """Spearman's ρ: Pearson's r of the average ranks; ``scipy.stats.spearmanr(pred, truth).statistic``.

    Constant pred or truth → 0.0 (scipy: NaN).
    """
    return value_of(SPEARMAN, pred, truth, params)


def sparse_kendall_tau(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None) -> float:
    """Sparse Kendall τ [Y20, S20]: τ_b between pred and truth rounded to 0.1 % accuracy.

    truth is binned as ``floor(truth / 0.001 + 0.5)`` (round half up, truth a fraction), so archs whose GT
    accuracies differ by less than the GT's own precision count as tied instead of as (dis)concordant pairs;
    pred is not binned. Constant pred or binned truth → 0.0.
    """
    return value_of(SPARSE_KENDALL, pred, truth, params)


# ------------------------------------------------------------------------------------------ resampled kernels
_KENDALL_PAIRS = PairKernel("kendall", ("pred", "truth"), lambda s: s["pred"] * s["truth"])
_SPARSE_PAIRS = PairKernel("sparse", ("pred", "bins"), lambda s: s["pred"] * s["bins"])


def _pearson_resampled(ctx: Resample) -> np.ndarray:
    degenerate = (ctx.groups("pred").n_distinct <= 1) | (ctx.groups("truth").n_distinct <= 1)
    p = ctx.prep
    return weighted_pearson(ctx.w, p.pred - p.pred.mean(), p.truth - p.truth.mean(), degenerate)


def _spearman_resampled(ctx: Resample) -> np.ndarray:
    gp, gt = ctx.groups("pred"), ctx.groups("truth")
    degenerate = (gp.n_distinct <= 1) | (gt.n_distinct <= 1)
    return weighted_pearson(ctx.w, gp.avg_rank(), gt.avg_rank(), degenerate)


def _kendall_resampled(ctx: Resample) -> np.ndarray:
    return tau_b(ctx.sums["kendall"], ctx.tot, ctx.groups("pred").tied_pairs, ctx.groups("truth").tied_pairs)


def _sparse_resampled(ctx: Resample) -> np.ndarray:
    return tau_b(ctx.sums["sparse"], ctx.tot, ctx.groups("pred").tied_pairs, ctx.groups("bins").tied_pairs)


def _point(fn: Callable[..., object], truth_of: Callable[[Prepared], np.ndarray], **kw: object) -> Callable[[Prepared], float]:
    return lambda p: _scipy_or_zero(fn, p.pred, truth_of(p), **kw)


# ------------------------------------------------------------------------------------------ declarations
PEARSON = Metric(
    "pearson", "Pearson r", "Pearson correlation of pred and GT accuracy", True, pearson,
    _pearson_resampled, point=_point(stats.pearsonr, lambda p: p.truth), kind="correlation",
)
KENDALL = Metric(
    "kendall_tau", "Kendall τ", "Kendall τ_b of pred and GT accuracy", True, kendall_tau,
    _kendall_resampled, point=_point(stats.kendalltau, lambda p: p.truth, variant="b"),
    pair_kernels=(_KENDALL_PAIRS,), kind="correlation",
)
SPEARMAN = Metric(
    "spearman", "Spearman ρ", "Spearman rank correlation of pred and GT accuracy", True, spearman,
    _spearman_resampled, point=_point(stats.spearmanr, lambda p: p.truth), kind="correlation",
)
SPARSE_KENDALL = Metric(
    "sparse_kendall_tau", "sparse Kendall τ", "Kendall τ_b with GT accuracy rounded to 0.1 % (Yu et al. 2020)", True,
    sparse_kendall_tau, _sparse_resampled, point=_point(stats.kendalltau, lambda p: p.bins.astype(np.float64), variant="b"),
    pair_kernels=(_SPARSE_PAIRS,), kind="correlation",
)

METRICS: tuple[Metric, ...] = (PEARSON, KENDALL, SPEARMAN, SPARSE_KENDALL)
"""The correlation metrics, in display order."""
