"""Point metrics of a predictor against the ground truth, and their registry :data:`METRICS`.

Conventions shared by every metric (``f(pred, truth, params) -> float``):

* ``pred``: one score per arch, higher = predicted better (any scale). ``truth``: seed-mean standalone
  accuracy as a fraction in [0, 1] (the GT file's unit; percentages are refused). ``params``: #params.
* Inputs must be 1-D, of equal length, finite, with at least 3 archs; otherwise ``ValueError``.
* **Constant input.** scipy returns NaN for a correlation with a constant side; a leaderboard needs a number,
  so every correlation here returns **0.0** instead: a constant predictor carries no ranking information, and
  0 is also the expected τ of a constant predictor whose ties are broken at random.
* **Ties in pred** (common: inherited-weight accuracies on a finite evaluation split are multiples of
  1/N) are never broken by arch order, which is arbitrary and gameable. Correlations use the tie corrections
  of τ_b and average ranks; the top-K metrics return their *exact expectation* when the tie group straddling
  the top-K boundary is broken uniformly at random (closed form, no sampling). Ties in truth are handled the
  same way for the precision metrics; the true rank of an arch is defined by counting strictly better archs.
* **Ranks.** "True rank" of an arch = number of archs with strictly higher truth (0 = the true best, and
  archs tied with the best also get 0). BR@K and WR@K report it as a fraction of n (0 best, < 1).
* Units: correlations and precisions are unitless; regrets are in accuracy percentage points (pp, i.e.
  100 × the accuracy fraction).

References
----------
.. [K45] M. G. Kendall, "The treatment of ties in ranking problems", Biometrika 33(3):239–251, 1945 (τ_b).
.. [N21] X. Ning, C. Tang, W. Li, Z. Zhou, S. Liang, H. Yang, Y. Wang, "Evaluating Efficient Performance
   Estimators of Neural Architectures", NeurIPS 2021, arXiv:2008.03064 (P@topK, P@bottomK, BR@K, WR@K, and
   the discussion of estimators' bias towards small / large architectures).
.. [Y20] K. Yu, C. Sciuto, M. Jaggi, C. Musat, M. Salzmann, "Evaluating the Search Phase of Neural
   Architecture Search", ICLR 2020, arXiv:1902.08142 (sparse Kendall τ: accuracies rounded to 0.1 %).
.. [S20] J. Siems, L. Zimmer, A. Zela, J. Lukasik, M. Keuper, F. Hutter, "NAS-Bench-301 and the Case for
   Surrogate Benchmarks for Neural Architecture Search", arXiv:2008.09777 (uses the sparse Kendall τ).
.. [C21] CVPR 2021 1st Lightweight NAS Challenge, track 1 (supernet track): rank correlation between
   inherited-weight and standalone accuracy of subnets; the winning reports discuss the supernet's bias
   against larger subnets, which :func:`complexity_bias` and :func:`ratio_params_tau` quantify.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

import numpy as np

from harness.errors import UnknownNameError
from harness.metrics._core import ArrayLike, validate
from harness.metrics._engine import FAMILY, NEEDS_PARAMS, REGRET_KS, TOP_PERCENTS, Prepared, point_values


def _one(name: str, pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None) -> float:
    return compute_metrics(pred, truth, params, [name])[name]


# ------------------------------------------------------------------------------------------ correlations
def pearson(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None) -> float:
    """Pearson's r between pred and truth: ``scipy.stats.pearsonr(pred, truth).statistic``.

    r = Σ(p−p̄)(t−t̄) / sqrt(Σ(p−p̄)² Σ(t−t̄)²). Constant pred or truth → 0.0 (scipy: NaN). The
    CVPR-2021 track-1 metric [C21]. Sensitive to the scale of pred, not only to its ranking.
    """
    return _one("pearson", pred, truth, params)


def kendall_tau(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None) -> float:
    """Kendall's τ_b [K45]: ``scipy.stats.kendalltau(pred, truth, variant='b').statistic``.

    τ_b = (P − Q) / sqrt((P + Q + T)(P + Q + U)), P / Q the concordant / discordant pairs, T the pairs tied only
    in pred, U those tied only in truth. Constant pred or truth → 0.0 (scipy: NaN).
    """
    return _one("kendall_tau", pred, truth, params)


def spearman(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None) -> float:
    """Spearman's ρ: Pearson's r of the average ranks; ``scipy.stats.spearmanr(pred, truth).statistic``.

    Constant pred or truth → 0.0 (scipy: NaN).
    """
    return _one("spearman", pred, truth, params)


def sparse_kendall_tau(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None) -> float:
    """Sparse Kendall τ [Y20, S20]: τ_b between pred and truth rounded to 0.1 % accuracy.

    truth is binned as ``floor(truth / 0.001 + 0.5)`` (round half up, truth a fraction), so archs whose GT
    accuracies differ by less than the GT's own precision count as tied instead of as (dis)concordant pairs;
    pred is not binned. Constant pred or binned truth → 0.0.
    """
    return _one("sparse_kendall_tau", pred, truth, params)


# ------------------------------------------------------------------------------------------ top-K
def precision_at_top(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None, *, k_percent: int) -> float:
    """P@top-K [N21]: |predicted top-m ∩ true top-m| / m, with m = ⌈K·n/100⌉ (at least 1).

    A tie group straddling the m-th place (in pred or in truth) is broken uniformly at random and the exact
    expectation is returned: arch i belongs to the predicted top-m with probability p_i (1 above the boundary
    group, r/s inside it — r free slots, s tied archs — 0 below), to the true top-m with probability q_i, and
    the value is Σ p_i q_i / m (independent tie-breaking). Range [0, 1]; a random predictor scores m/n.
    """
    return _one(f"p_at_top_{k_percent}", pred, truth, params)


def precision_at_bottom(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None, *, k_percent: int) -> float:
    """P@bottom-K [N21]: |predicted bottom-m ∩ true bottom-m| / m, m = ⌈K·n/100⌉; ties as in :func:`precision_at_top`.

    Higher is better (the predictor recognises the worst archs).
    """
    return _one(f"p_at_bottom_{k_percent}", pred, truth, params)


def best_rank_at(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None, *, k_percent: int) -> float:
    """BR@K [N21]: best true rank among the predicted top-m (m = ⌈K·n/100⌉), as a fraction of n.

    True rank of arch i = #{j : truth_j > truth_i} (0 = the true best); BR@K = min over the predicted top-m of
    that count, divided by n. 0 means the true best (or an arch tied with it) is among the predicted top-K %.
    Ties in pred at the boundary: exact expectation over uniform random tie-breaking (order statistics of
    sampling without replacement). Lower is better.
    """
    return _one(f"br_at_{k_percent}", pred, truth, params)


def worst_rank_at(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None, *, k_percent: int) -> float:
    """WR@K [N21]: worst true rank among the predicted top-m, as a fraction of n (same rank as :func:`best_rank_at`).

    WR@K = max over the predicted top-m of #{j : truth_j > truth_i} / n. Lower is better.
    """
    return _one(f"wr_at_{k_percent}", pred, truth, params)


def topk_regret(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None, *, k: int) -> float:
    """Top-k regret in accuracy points: 100 · (max truth − max truth among the predicted top-k archs).

    k is an absolute count (capped at n). What a search that trusts pred and trains its k best picks loses
    against the best arch of the GT set. Ties in pred at the k-th place: exact expectation over uniform random
    tie-breaking. 0 is perfect; lower is better.
    """
    return _one(f"top{k}_regret", pred, truth, params)


# ------------------------------------------------------------------------------------------ complexity
def complexity_bias(pred: ArrayLike, truth: ArrayLike, params: ArrayLike) -> float:
    """Complexity bias CB: among the mis-ranked pairs, the share where the arch predicted lower is the larger one.

    Over the pairs (i, j) with pred_i < pred_j and truth_i > truth_j (mis-ranked) and params_i ≠ params_j,
    CB = #{params_i > params_j} / #{all such pairs}. Pairs tied in pred, truth or params are not counted.
    0.5 = the errors are independent of size (no bias); > 0.5 = the predictor under-rates larger archs (the
    usual weight-sharing bias towards small subnets [N21, C21]); < 0.5 = it over-rates them. No mis-ranked
    pair with unequal params (e.g. a perfect predictor) → 0.5. Computed in O(n log n) from pair counts.
    """
    return _one("complexity_bias", pred, truth, params)


def ratio_params_tau(pred: ArrayLike, truth: ArrayLike, params: ArrayLike) -> float:
    """Kendall τ_b between #params and the ratio pred / truth (supernet accuracy / standalone accuracy).

    Meaningful when pred are accuracies (inherited-weight accuracy of each subnet): τ < 0 means larger subnets
    lose relatively more accuracy under weight sharing (bias against large subnets [C21]), 0 means no
    size-dependent degradation. For scores on another scale the ratio has no meaning. Archs with truth = 0
    are left out (the ratio is undefined there); constant side → 0.0.
    """
    return _one("ratio_params_tau", pred, truth, params)


# ------------------------------------------------------------------------------------------ registry
MetricFn = Callable[[ArrayLike, ArrayLike, "ArrayLike | None"], float]


@dataclass(frozen=True)
class MetricSpec:
    """One named metric.

    ``higher_is_better``: True / False for the ranking metrics; None for the diagnostic ones (complexity bias
    and the ratio τ) whose good value is ``neutral`` (no bias) rather than an extreme.
    """

    name: str
    label: str
    function: MetricFn
    higher_is_better: bool | None
    description: str
    neutral: float | None = None
    unit: str = ""


def _specs() -> dict[str, MetricSpec]:
    specs = [
        MetricSpec("pearson", "Pearson r", pearson, True, "Pearson correlation of pred and GT accuracy"),
        MetricSpec("kendall_tau", "Kendall τ", kendall_tau, True, "Kendall τ_b of pred and GT accuracy"),
        MetricSpec("spearman", "Spearman ρ", spearman, True, "Spearman rank correlation of pred and GT accuracy"),
        MetricSpec("sparse_kendall_tau", "sparse Kendall τ", sparse_kendall_tau, True,
                   "Kendall τ_b with GT accuracy rounded to 0.1 % (Yu et al. 2020)"),
    ]
    for k in TOP_PERCENTS:
        specs.append(MetricSpec(f"p_at_top_{k}", f"P@top{k}%", partial(precision_at_top, k_percent=k), True,
                                f"share of the true top {k} % found in the predicted top {k} %"))
    for k in TOP_PERCENTS:
        specs.append(MetricSpec(f"p_at_bottom_{k}", f"P@bottom{k}%", partial(precision_at_bottom, k_percent=k), True,
                                f"share of the true bottom {k} % found in the predicted bottom {k} %"))
    for k in TOP_PERCENTS:
        specs.append(MetricSpec(f"br_at_{k}", f"BR@{k}%", partial(best_rank_at, k_percent=k), False,
                                f"best true rank (fraction of archs strictly better) among the predicted top {k} %"))
    for k in TOP_PERCENTS:
        specs.append(MetricSpec(f"wr_at_{k}", f"WR@{k}%", partial(worst_rank_at, k_percent=k), False,
                                f"worst true rank (fraction of archs strictly better) among the predicted top {k} %"))
    for k in REGRET_KS:
        specs.append(MetricSpec(f"top{k}_regret", f"top-{k} regret", partial(topk_regret, k=k), False,
                                f"best GT accuracy minus the best GT accuracy among the predicted top {k}, in points",
                                unit="pp"))
    specs += [
        MetricSpec("complexity_bias", "CB", complexity_bias, None,
                   "share of mis-ranked pairs where the arch predicted lower is the larger (0.5 = no bias)",
                   neutral=0.5),
        MetricSpec("ratio_params_tau", "τ(#params, ratio)", ratio_params_tau, None,
                   "Kendall τ between #params and pred/GT accuracy (for accuracy predictions; 0 = no bias)",
                   neutral=0.0),
    ]
    out = {s.name: s for s in specs}
    assert list(out) == list(FAMILY), "registry and engine disagree"
    return out


METRICS: dict[str, MetricSpec] = _specs()
"""All metrics by name, in display order."""


def resolve_names(names: Iterable[str] | str | None) -> list[str]:
    """``names`` as a list of known metric names (all of them when None); UnknownNameError otherwise."""
    if names is None:
        return list(METRICS)
    if isinstance(names, str):
        names = [names]
    out = list(dict.fromkeys(names))
    unknown = [n for n in out if n not in METRICS]
    if unknown:
        raise UnknownNameError(f"unknown metric(s) {', '.join(map(repr, unknown))}; known: {', '.join(METRICS)}")
    return out


def needs_params(names: Iterable[str]) -> bool:
    return any(FAMILY[n][0] in NEEDS_PARAMS for n in names)


def prepare(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None, names: list[str]) -> Prepared:
    p, t, c = validate(pred, truth, params, need_params=needs_params(names))
    return Prepared(p, t, c)


def compute_metrics(
    pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None, names: Iterable[str] | str | None = None
) -> dict[str, float]:
    """The metrics ``names`` (default: all of :data:`METRICS`, in that order) of ``pred`` against ``truth``.

    ``params`` may be None when no complexity metric is asked for. Raises ValueError on bad arrays (see the
    module docstring) and :class:`~harness.errors.UnknownNameError` on unknown names.
    """
    names = resolve_names(names)
    return point_values(prepare(pred, truth, params, names), names)


def params_baseline(params: ArrayLike, truth: ArrayLike, names: Iterable[str] | str | None = None) -> dict[str, float]:
    """Metrics of the #params proxy: ``compute_metrics(pred=params, truth, params, names)``.

    The reference every submission should beat: "bigger is better". Its complexity bias is 0 by construction
    (it never ranks a larger arch lower).
    """
    return compute_metrics(np.asarray(params, dtype=np.float64), truth, params, names)
