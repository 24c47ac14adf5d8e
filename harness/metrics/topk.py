"""How well the predictor finds the best (and worst) archs: P@top-K, P@bottom-K, BR@K, WR@K, top-k regret.

Conventions
-----------
* **Size of a top-K % set**: m = ⌈K·n/100⌉, at least 1 (:func:`top_count`). aw_nas (Ning et al.'s code) and
  NASLib take ⌊K·n/100⌋; the two agree whenever K·n/100 is an integer (n = 100, 1000, 2500, 15 625 with K = 1, 5,
  10, 20 …) and differ by one arch otherwise: at n = 250, K = 1 % is 3 archs here and 2 there, K = 5 % is 13 and 12.
  The ceiling is chosen because the set then always covers at least K % of the archs and is never empty (the floor
  gives 0 archs for n < 100/K and needs a special case); a leaderboard compares runs on one n, so the choice shifts
  every run alike. State m when comparing with published figures at such n.
* **Ties** in pred at the m-th place are broken uniformly at random and the *exact expectation* is returned (closed
  form, no sampling); ties in truth likewise for the precision metrics.
* **True rank** of an arch (BR@K, WR@K) = 1 + #{archs with strictly higher truth}: the competition ("min") rank,
  1 = the true best (archs tied with the best also get 1). BR@K and WR@K report it divided by n, in (0, 1]: the
  convention of Ning et al. [N21], aw_nas and NASLib, so 1/n (not 0) is the best possible value.
* Regrets are in accuracy percentage points (pp: 100 × the accuracy fraction).

References
----------
.. [N21] X. Ning, C. Tang, W. Li, Z. Zhou, S. Liang, H. Yang, Y. Wang, "Evaluating Efficient Performance
   Estimators of Neural Architectures", NeurIPS 2021, arXiv:2008.03064 (P@topK, P@bottomK, BR@K, WR@K);
   code: github.com/walkerning/aw_nas. NASLib: github.com/automl/NASLib.
"""

from __future__ import annotations

import numpy as np

from harness.metrics._arrays import ArrayLike
from harness.metrics._base import Metric, Resample, expected_extreme, value_of

TOP_PERCENTS: tuple[int, ...] = (1, 5, 10, 20)
REGRET_KS: tuple[int, ...] = (1, 5, 10)


def top_count(k_percent: int, n: int) -> int:
    """Size m of a top-K % set among n archs: ⌈K·n/100⌉ (integer arithmetic), at least 1 (see the module docstring)."""
    return max(1, -(-int(k_percent) * int(n) // 100))


# ------------------------------------------------------------------------------------------ public functions
def precision_at_top(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None, *, k_percent: int) -> float:
    """P@top-K [N21]: |predicted top-m ∩ true top-m| / m, with m = ⌈K·n/100⌉ (at least 1).

    A tie group straddling the m-th place (in pred or in truth) is broken uniformly at random and the exact
    expectation is returned: arch i belongs to the predicted top-m with probability p_i (1 above the boundary
    group, r/s inside it — r free slots, s tied archs — 0 below), to the true top-m with probability q_i, and
    the value is Σ p_i q_i / m (independent tie-breaking). Range [0, 1]; a random predictor scores m/n.
    """
    return value_of(_BY_NAME[f"p_at_top_{k_percent}"], pred, truth, params)


def precision_at_bottom(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None, *, k_percent: int) -> float:
    """P@bottom-K [N21]: |predicted bottom-m ∩ true bottom-m| / m, m = ⌈K·n/100⌉; ties as in :func:`precision_at_top`.

    Higher is better (the predictor recognises the worst archs).
    """
    return value_of(_BY_NAME[f"p_at_bottom_{k_percent}"], pred, truth, params)


def best_rank_at(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None, *, k_percent: int) -> float:
    """BR@K [N21]: best true rank among the predicted top-m (m = ⌈K·n/100⌉), divided by n.

    True rank of arch i = 1 + #{j : truth_j > truth_i} (1 = the true best, as in aw_nas / NASLib); BR@K = min over
    the predicted top-m of that rank, / n. 1/n means the true best (or an arch tied with it) is among the predicted
    top-K %. Ties in pred at the boundary: exact expectation over uniform random tie-breaking (order statistics of
    sampling without replacement). Lower is better; range [1/n, 1].
    """
    return value_of(_BY_NAME[f"br_at_{k_percent}"], pred, truth, params)


def worst_rank_at(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None, *, k_percent: int) -> float:
    """WR@K [N21]: worst true rank among the predicted top-m, divided by n (rank as in :func:`best_rank_at`).

    WR@K = max over the predicted top-m of (1 + #{j : truth_j > truth_i}) / n. Lower is better; range [m/n, 1]
    without ties in truth.
    """
    return value_of(_BY_NAME[f"wr_at_{k_percent}"], pred, truth, params)


def topk_regret(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None, *, k: int) -> float:
    """Top-k regret in accuracy points: 100 · (max truth − max truth among the predicted top-k archs).

    k is an absolute count (capped at n). What a search that trusts pred and trains its k best picks loses
    against the best arch of the GT set. Ties in pred at the k-th place: exact expectation over uniform random
    tie-breaking. 0 is perfect; lower is better.
    """
    return value_of(_BY_NAME[f"top{k}_regret"], pred, truth, params)


# ------------------------------------------------------------------------------------------ resampled kernels
def _precision(k: int, *, top: bool):
    def kernel(ctx: Resample) -> np.ndarray:
        m = top_count(k, ctx.n)
        gp, gt = ctx.groups("pred"), ctx.groups("truth")
        cols = gp.candidates(m, top=top)
        return np.einsum("ij,ij,ij->i", ctx.w[:, cols], gp.membership(m, cols, top=top), gt.membership(m, cols, top=top)) / m
    return kernel


def _rank(k: int, *, worst: bool):
    def kernel(ctx: Resample) -> np.ndarray:
        m = top_count(k, ctx.n)
        gp, gt = ctx.groups("pred"), ctx.groups("truth")
        cols = gp.candidates(m, top=True)
        rank = (1.0 + gt.above[:, gt.gid[cols]]) / ctx.n  # (1 + #archs strictly better) / n
        return expected_extreme(ctx.w[:, cols], gp.membership(m, cols, top=True), rank, largest=worst)
    return kernel


def _regret(k: int):
    def kernel(ctx: Resample) -> np.ndarray:
        m = min(int(k), ctx.n)
        p = ctx.prep
        gp, gt = ctx.groups("pred"), ctx.groups("truth")
        cols = gp.candidates(m, top=True)
        got = expected_extreme(ctx.w[:, cols], gp.membership(m, cols, top=True), p.truth[cols], largest=True)
        best = gt.best_value(p.truth[p.truth_asc.order[p.truth_asc.starts]])
        return 100.0 * np.maximum(best - got, 0.0)
    return kernel


# ------------------------------------------------------------------------------------------ declarations
def _fn(public, **kw):
    def f(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None) -> float:
        return public(pred, truth, params, **kw)
    f.__doc__ = public.__doc__
    return f


METRICS: tuple[Metric, ...] = (
    *(Metric(f"p_at_top_{k}", f"P@top{k}%", f"share of the true top {k} % found in the predicted top {k} %", True,
             _fn(precision_at_top, k_percent=k), _precision(k, top=True), kind="top-k") for k in TOP_PERCENTS),
    *(Metric(f"p_at_bottom_{k}", f"P@bottom{k}%", f"share of the true bottom {k} % found in the predicted bottom {k} %",
             True, _fn(precision_at_bottom, k_percent=k), _precision(k, top=False), kind="top-k") for k in TOP_PERCENTS),
    *(Metric(f"br_at_{k}", f"BR@{k}%", f"best true rank (1 + #archs strictly better, / n) among the predicted top {k} %",
             False, _fn(best_rank_at, k_percent=k), _rank(k, worst=False), kind="top-k", max_type=True) for k in TOP_PERCENTS),
    *(Metric(f"wr_at_{k}", f"WR@{k}%", f"worst true rank (1 + #archs strictly better, / n) among the predicted top {k} %",
             False, _fn(worst_rank_at, k_percent=k), _rank(k, worst=True), kind="top-k", max_type=True) for k in TOP_PERCENTS),
    *(Metric(f"top{k}_regret", f"top-{k} regret",
             f"best GT accuracy minus the best GT accuracy among the predicted top {k}, in points", False,
             _fn(topk_regret, k=k), _regret(k), unit="pp", kind="top-k", max_type=True) for k in REGRET_KS),
)
"""The top-K metrics, in display order."""

_BY_NAME = {m.name: m for m in METRICS}
