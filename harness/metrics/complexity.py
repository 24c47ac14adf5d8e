"""Does the predictor's error depend on model size? Complexity bias CB, its size-blind reference point, ratio τ.

Complexity bias
---------------
Over the *mis-ranked* pairs (i, j) — pred_i < pred_j while truth_i > truth_j, strictly — whose #params differ,

    CB = #{pairs where the arch predicted lower (i) is the larger one: params_i > params_j} / #{such pairs}.

Pairs tied in pred, truth or params are not counted. CB is the conditional probability that, given a ranking error
between two archs of different size, the under-rated arch is the larger one. The weight-sharing literature reads
CB > 0.5 as "the supernet under-rates larger subnets" (the bias of weight sharing towards small subnets [N21, C21];
CB is the unfairness measure of Jeon et al. [J25], who train high-complexity subnets with a larger learning rate).

**Neutral point.** 0.5 is *not* the value of a predictor that ignores size. In a GT where larger archs are mostly
better, a ranking error of a size-blind predictor between two archs of different size under-rates the larger one
whenever the larger one is truly better, i.e. with probability C/(C+D) of (truth vs #params), the concordance of
accuracy and size over the pairs untied in both. That is exactly the CB of a uniformly random ranking (each such
pair is mis-ranked with probability 1/2 independently of size), computed here per GT by
:func:`complexity_bias_reference` (0.696 on the default benchmark's dev split, 0.788 on the CVPR-21 dev GT). A
predictor under-rates large archs *more than size alone explains* when CB exceeds the reference, not 0.5. The
reference assumes the errors fall on pairs like a random ranking's; a good predictor errs mostly on close pairs,
whose size concordance may differ, so read small distances to the reference with the bootstrap CI.

**Ties in #params.** The conditional form above drops pairs tied in #params from the denominator. The literal form
(what we read as Eq. 9 of [J25]; the paper text was not available to this project to quote, so treat this attribution
as ours) counts all mis-ranked pairs in the denominator: CB_all = CB · (share of mis-ranked pairs untied in #params).
The two agree when #params has almost no ties (0.016 % of the pairs on the default benchmark's dev split, 0.003 %
on CVPR-21 dev: equal to three decimals there) and differ in spaces with many equal-size archs: issue 16 measured
the literal form 0.069 lower on NAS-Bench-201 (not re-measured here: its data is not in this workplace). The conditional form is kept
because the literal one mixes the bias with the space's share of equal-size pairs (a pair of equal size can never
count as "the larger one under-rated"), so it is not comparable across spaces and its size-blind reference would be
C/(C+D+T_params) instead of C/(C+D). :func:`complexity_bias_all_pairs` computes the literal form for comparison.

**Degenerate input.** With no mis-ranked pair of unequal size (a perfect or a constant predictor) there is no
evidence of a bias and CB returns the reference point (0.5 when the reference is undefined too).

Ratio τ
-------
Kendall τ_b between #params and pred / truth (supernet / standalone accuracy): for accuracy predictions, τ < 0 means
larger subnets lose relatively more accuracy under weight sharing. Neutral point 0: the τ of pred = truth × a
size-independent factor (a random ranking is *not* neutral here, since truth enters the ratio).

References
----------
.. [N21] X. Ning et al., "Evaluating Efficient Performance Estimators of Neural Architectures", NeurIPS 2021,
   arXiv:2008.03064 (estimators' bias towards small / large architectures).
.. [C21] CVPR 2021 1st Lightweight NAS Challenge, track 1: the winning reports discuss the supernet's bias against
   larger subnets.
.. [J25] J. Jeon, Y. Oh, J. Lee, D. Baek, D. Kim, C. Eom, B. Ham, "Subnet-Aware Dynamic Supernet Training for Neural
   Architecture Search", CVPR 2025, arXiv:2503.10740 (complexity-aware LR; unfairness towards high-complexity subnets).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from harness.metrics._arrays import ArrayLike, dense_rank, n_discordant, n_discordant_untied, n_tied_pairs, validate
from harness.metrics._base import Metric, PairKernel, Prepared, Resample, tau_b, value_of
from harness.metrics.correlation import _scipy_or_zero


# ------------------------------------------------------------------------------------------ public functions
def complexity_bias(pred: ArrayLike, truth: ArrayLike, params: ArrayLike) -> float:
    """Complexity bias CB: among mis-ranked pairs of unequal #params, the share where the arch predicted lower is the larger.

    See the module docstring for the definition, its neutral point (:func:`complexity_bias_reference`, not 0.5), the
    treatment of #params ties and the degenerate case. Computed in O(n log n) from pair counts.
    """
    return value_of(COMPLEXITY_BIAS, pred, truth, params)


def complexity_bias_reference(truth: ArrayLike, params: ArrayLike) -> float:
    """CB of a size-blind ranking: C / (C + D) of (truth, #params) over the pairs untied in both; 0.5 if there are none.

    The exact CB of a uniformly random ranking, as a ratio of expectations (each counted pair is mis-ranked with
    probability 1/2 independently of its sizes). The point CB should be compared with.
    """
    t = np.asarray(truth, dtype=np.float64)
    c = np.asarray(params, dtype=np.float64)
    _, t, c = validate(t, t, c, need_params=True)
    return _reference_exact(t, c)


def complexity_bias_all_pairs(pred: ArrayLike, truth: ArrayLike, params: ArrayLike) -> float:
    """The literal form: #{mis-ranked pairs whose lower-predicted arch is larger} / #{all mis-ranked pairs}.

    Pairs tied in #params stay in the denominator (see the module docstring, "Ties in #params"); for comparison
    with published figures only. No mis-ranked pair → 0.5.
    """
    p, t, c = validate(pred, truth, params, need_params=True)
    d_pt_all = n_discordant(p, t)
    if d_pt_all == 0:
        return 0.5
    d_pt = n_discordant_untied(p, t, c)
    d_pc = n_discordant_untied(p, c, t)
    d_tc = n_discordant_untied(t, c, p)
    return float((d_pt + d_pc - d_tc) / 2 / d_pt_all)


def ratio_params_tau(pred: ArrayLike, truth: ArrayLike, params: ArrayLike) -> float:
    """Kendall τ_b between #params and the ratio pred / truth (supernet accuracy / standalone accuracy).

    Meaningful when pred are accuracies (inherited-weight accuracy of each subnet): τ < 0 means larger subnets
    lose relatively more accuracy under weight sharing (bias against large subnets [C21]), 0 means no
    size-dependent degradation. For scores on another scale the ratio has no meaning. Archs with truth = 0
    are left out (the ratio is undefined there); constant side → 0.0.
    """
    return value_of(RATIO_PARAMS_TAU, pred, truth, params)


# ------------------------------------------------------------------------------------------ point kernels
def _reference_exact(truth: np.ndarray, params: np.ndarray) -> float:
    n = truth.size
    rt, rc = dense_rank(truth), dense_rank(params)
    both = n_tied_pairs(rt * (int(rc.max()) + 1) + rc)
    untied = n * (n - 1) // 2 - n_tied_pairs(rt) - n_tied_pairs(rc) + both
    if untied == 0:
        return 0.5
    d = n_discordant(truth, params)
    return float((untied - d) / untied)


def _cb_exact(prep: Prepared) -> float:
    """CB from pair counts in O(n log n).

    Over the pairs untied in all three variables each pair either agrees in all three orders or exactly one
    variable is the odd one out, so with D*_ab the (a, b)-discordant pairs untied in the third variable,
    n_pred_odd = (D*_pt + D*_pc − D*_tc) / 2 and CB = n_pred_odd / D*_pt.
    """
    pred, truth, params = prep.pred, prep.truth, prep.need_params()
    d_pt = n_discordant_untied(pred, truth, params)
    if d_pt == 0:
        return _reference_exact(truth, params)
    d_pc = n_discordant_untied(pred, params, truth)
    d_tc = n_discordant_untied(truth, params, pred)
    return float((d_pt + d_pc - d_tc) / 2 / d_pt)


def _ratio_point(prep: Prepared) -> float:
    ok = prep.ratio_valid
    c = prep.need_params()
    return _scipy_or_zero(stats.kendalltau, c[ok], prep.ratio[ok], variant="b") if ok.sum() >= 2 else 0.0


# ------------------------------------------------------------------------------------------ resampled kernels
# mis-ranked pairs where the lower-predicted arch has more params / mis-ranked pairs with unequal params
_CB_NUM = PairKernel("cb_num", ("pred", "truth", "params"),
                     lambda s: ((s["pred"] * s["truth"]) < 0) & ((s["pred"] * s["params"]) < 0),
                     skip=lambda p: p.pred_is_params)  # pred = params never ranks a larger arch lower
_CB_DEN = PairKernel("cb_den", ("pred", "truth", "params"), lambda s: ((s["pred"] * s["truth"]) < 0) & (s["params"] != 0))
# the reference point: (truth, params)-concordant pairs / pairs untied in both
_REF_CONC = PairKernel("cb_ref_conc", ("truth", "params"), lambda s: (s["truth"] * s["params"]) > 0)
_REF_PAIRS = PairKernel("cb_ref_pairs", ("truth", "params"), lambda s: (s["truth"] * s["params"]) != 0)
_RATIO = PairKernel("ratio", ("params", "ratio"), lambda s: s["params"] * s["ratio"], weights="w_ratio")


def _reference_resampled(ctx: Resample) -> np.ndarray:
    pairs = ctx.pair_sum(_REF_PAIRS)
    conc = ctx.pair_sum(_REF_CONC)
    out = np.full(pairs.shape, 0.5)
    ok = pairs > 0
    out[ok] = conc[ok] / pairs[ok]
    return out


def _cb_resampled(ctx: Resample) -> np.ndarray:
    den, num = ctx.sums["cb_den"], ctx.sums["cb_num"]
    cb = np.empty(den.shape)
    ok = den > 0
    cb[ok] = num[ok] / den[ok]
    if not ok.all():  # no evidence of a bias in these rows: the size-blind reference (computed only when needed)
        cb[~ok] = _reference_resampled(ctx)[~ok]
    return cb


def _ratio_resampled(ctx: Resample) -> np.ndarray:
    return tau_b(ctx.sums["ratio"], ctx.w_ratio.sum(axis=1), ctx.groups("ratio_params").tied_pairs, ctx.groups("ratio").tied_pairs)


# ------------------------------------------------------------------------------------------ declarations
COMPLEXITY_BIAS = Metric(
    "complexity_bias", "CB",
    "share of mis-ranked pairs where the arch predicted lower is the larger; neutral = the size-blind reference "
    "C/(C+D) of GT vs #params (not 0.5)",
    None, complexity_bias, _cb_resampled, point=_cb_exact,
    neutral=lambda truth, params: complexity_bias_reference(truth, params), neutral_resampled=_reference_resampled,
    needs_params=True, pair_kernels=(_CB_NUM, _CB_DEN), agreement=False, kind="complexity",
)
RATIO_PARAMS_TAU = Metric(
    "ratio_params_tau", "τ(#params, ratio)",
    "Kendall τ between #params and pred/GT accuracy (for accuracy predictions; 0 = no bias)",
    None, ratio_params_tau, _ratio_resampled, point=_ratio_point, neutral=0.0,
    needs_params=True, pair_kernels=(_RATIO,), agreement=False, kind="complexity",
)

METRICS: tuple[Metric, ...] = (COMPLEXITY_BIAS, RATIO_PARAMS_TAU)
"""The complexity metrics, in display order."""
