"""harness.metrics: every metric against scipy, a hand computation or a brute-force enumeration.

Brute force here means: enumerate every way of breaking the ties (in pred, and in truth where the metric
depends on it) and average the naive metric — this is the definition the closed forms claim to compute.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from scipy import stats

import harness.metrics as M
from harness.errors import UnknownNameError
from harness.metrics._arrays import count_inversions, expected_max_of_subset, n_discordant
from harness.metrics.registry import prepare
from harness.metrics.resampling import weighted_values

ALL = list(M.METRICS)


def _data(n: int = 200, seed: int = 0, ties: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0.5, 0.9, n)
    pred = truth + rng.normal(0, 0.05, n)
    params = rng.integers(10_000, 300_000, n).astype(np.float64)
    if ties:
        truth, pred, params = np.round(truth, 2), np.round(pred, 2), np.round(params, -5)
    return pred, truth, params


# ------------------------------------------------------------------------------------------ brute force
def _tie_orders(x: np.ndarray):
    """Every descending order of the indices of x, over all ways of breaking ties."""
    groups = [list(np.flatnonzero(x == v)) for v in sorted(set(x.tolist()), reverse=True)]
    for perms in itertools.product(*(itertools.permutations(g) for g in groups)):
        yield [int(i) for g in perms for i in g]


def _brute_precision(pred, truth, m, bottom=False):
    s = -1 if bottom else 1
    vals = [len(set(op[:m]) & set(ot[:m])) / m for op in _tie_orders(s * pred) for ot in _tie_orders(s * truth)]
    return float(np.mean(vals))


def _better(truth):
    return np.array([(truth > t).sum() for t in truth])


def _brute_rank(pred, truth, m, worst=False):
    better = (1 + _better(truth)) / truth.size  # 1-based competition rank / n (Ning et al., aw_nas, NASLib)
    f = max if worst else min
    return float(np.mean([f(better[op[:m]]) for op in _tie_orders(pred)]))


def _brute_regret(pred, truth, k):
    return float(np.mean([100 * (truth.max() - truth[op[:k]].max()) for op in _tie_orders(pred)]))


def _brute_cb(pred, truth, params):
    num = den = 0
    for i, j in itertools.combinations(range(pred.size), 2):
        if (pred[i] - pred[j]) * (truth[i] - truth[j]) < 0 and params[i] != params[j]:
            lower = i if pred[i] < pred[j] else j
            other = j if lower == i else i
            den += 1
            num += params[lower] > params[other]
    return M.complexity_bias_reference(truth, params) if den == 0 else num / den


def _brute_reference(truth, params):
    conc = untied = 0
    for i, j in itertools.combinations(range(truth.size), 2):
        s = (truth[i] - truth[j]) * (params[i] - params[j])
        untied += s != 0
        conc += s > 0
    return 0.5 if untied == 0 else conc / untied


# ------------------------------------------------------------------------------------------ registry
def test_registry_names_and_specs() -> None:
    expected = (
        ["pearson", "kendall_tau", "spearman", "sparse_kendall_tau"]
        + [f"p_at_top_{k}" for k in (1, 5, 10, 20)]
        + [f"p_at_bottom_{k}" for k in (1, 5, 10, 20)]
        + [f"br_at_{k}" for k in (1, 5, 10, 20)]
        + [f"wr_at_{k}" for k in (1, 5, 10, 20)]
        + ["top1_regret", "top5_regret", "top10_regret", "complexity_bias", "ratio_params_tau"]
    )
    assert list(M.METRICS) == expected
    for name, spec in M.METRICS.items():
        assert spec.name == name and spec.label and spec.description and callable(spec.function)
    assert M.METRICS["top1_regret"].higher_is_better is False
    assert M.METRICS["br_at_5"].higher_is_better is False
    # CB's neutral point is computed per GT (the size-blind reference), not 0.5 (issue 16)
    assert M.METRICS["complexity_bias"].higher_is_better is None and M.METRICS["complexity_bias"].neutral_per_gt
    assert M.METRICS["ratio_params_tau"].neutral == 0.0
    assert set(M.PRIMARY_METRICS) <= set(M.METRICS)
    pred, truth, params = _data(50)
    for name, spec in M.METRICS.items():  # the registry function and compute_metrics agree
        assert spec.function(pred, truth, params) == pytest.approx(M.compute_metrics(pred, truth, params, [name])[name])


def test_unknown_metric_name() -> None:
    pred, truth, params = _data(20)
    with pytest.raises(UnknownNameError, match="nope"):
        M.compute_metrics(pred, truth, params, ["kendall_tau", "nope"])


# ------------------------------------------------------------------------------------------ correlations
@pytest.mark.parametrize("ties", [False, True])
def test_correlations_match_scipy(ties: bool) -> None:
    pred, truth, params = _data(300, seed=3, ties=ties)
    got = M.compute_metrics(pred, truth, params, ["pearson", "kendall_tau", "spearman"])
    assert got["pearson"] == pytest.approx(stats.pearsonr(pred, truth).statistic, abs=1e-12)
    assert got["kendall_tau"] == pytest.approx(stats.kendalltau(pred, truth, variant="b").statistic, abs=1e-12)
    assert got["spearman"] == pytest.approx(stats.spearmanr(pred, truth).statistic, abs=1e-12)


def test_kendall_hand_computed_with_ties() -> None:
    # pred = [1, 2, 2, 3], truth = [1, 3, 2, 4] (as accuracies /10). Pairs (6):
    # (0,1)+ (0,2)+ (0,3)+ (1,2) tied in pred (1,3)+ (2,3)+  -> P = 5, Q = 0, T (pred-only ties) = 1, U = 0
    # τ_b = 5 / sqrt((5 + 0 + 1)(5 + 0 + 0)) = 5 / sqrt(30)
    pred = np.array([1.0, 2.0, 2.0, 3.0])
    truth = np.array([0.1, 0.3, 0.2, 0.4])
    assert M.kendall_tau(pred, truth) == pytest.approx(5 / math.sqrt(30), abs=1e-15)


def test_sparse_kendall_bins_at_a_tenth_of_a_percent() -> None:
    truth = np.array([0.9001, 0.9004, 0.9100, 0.7235, 0.5])  # 0.9001 and 0.9004 fall in the same 0.1 % bin
    pred = np.array([2.0, 1.0, 3.0, 0.5, 0.0])
    bins = np.array([900, 900, 910, 724, 500])  # 0.7235 rounds half up to 72.4 %
    assert M.sparse_kendall_tau(pred, truth) == pytest.approx(stats.kendalltau(pred, bins, variant="b").statistic)
    # the pair (0, 1) is discordant in the dense τ but tied in the sparse one:
    # dense: P = 9, Q = 1 -> 0.8; sparse: P = 9, Q = 0, U = 1 -> 9 / sqrt(10 · 9)
    assert M.kendall_tau(pred, truth) == pytest.approx(0.8)
    assert M.sparse_kendall_tau(pred, truth) == pytest.approx(9 / math.sqrt(90))


# ------------------------------------------------------------------------------------------ top-K
def test_precision_hand_computed() -> None:
    # n = 10: top 20 % = 2 archs, top 10 % = 1 arch
    truth = np.array([0.90, 0.85, 0.80, 0.75, 0.70, 0.65, 0.60, 0.55, 0.50, 0.45])
    pred = np.array([0.90, 0.10, 0.85, 0.75, 0.70, 0.65, 0.60, 0.55, 0.80, 0.05])
    # predicted top-2 = {0, 2}, true top-2 = {0, 1} -> 1/2; predicted top-1 = {0} = true top-1 -> 1
    assert M.precision_at_top(pred, truth, k_percent=20) == 0.5
    assert M.precision_at_top(pred, truth, k_percent=10) == 1.0
    # predicted bottom-2 = {9, 1}, true bottom-2 = {9, 8} -> 1/2; bottom-1 = {9} both -> 1
    assert M.precision_at_bottom(pred, truth, k_percent=20) == 0.5
    assert M.precision_at_bottom(pred, truth, k_percent=10) == 1.0
    assert M.top_count(5, 250) == 13 and M.top_count(1, 10) == 1 and M.top_count(20, 2500) == 500


def test_precision_with_ties_is_the_tie_breaking_expectation() -> None:
    # pred ties {1, 2, 3} straddle the top-2 boundary: arch 0 is in, one of the three tied archs takes the
    # second slot (prob 1/3 each). True top-2 = {0, 1}. Expected |∩| = 1 + 1/3 -> P = (4/3) / 2 = 2/3.
    truth = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    pred = np.array([5.0, 4.0, 4.0, 4.0, 1.0, 0.9, 0.8, 0.7, 0.6, 0.5])
    assert M.precision_at_top(pred, truth, k_percent=20) == pytest.approx(2 / 3)
    rng = np.random.default_rng(7)
    for _ in range(5):  # against brute-force enumeration of every tie-break (pred and truth)
        pred = rng.integers(0, 4, 8).astype(float)
        truth = rng.integers(1, 5, 8) / 10
        m = M.top_count(20, 8)  # 2 of 8
        assert M.precision_at_top(pred, truth, k_percent=20) == pytest.approx(_brute_precision(pred, truth, m))
        assert M.precision_at_bottom(pred, truth, k_percent=20) == pytest.approx(_brute_precision(pred, truth, m, bottom=True))
        assert M.precision_at_top(pred, truth, k_percent=10) == pytest.approx(_brute_precision(pred, truth, 1))


def test_best_and_worst_rank_hand_computed() -> None:
    truth = np.array([0.90, 0.85, 0.80, 0.75, 0.70, 0.65, 0.60, 0.55, 0.50, 0.45])
    pred = np.array([0.10, 0.95, 0.20, 0.30, 0.40, 0.50, 0.60, 0.70, 0.90, 0.05])
    # predicted top-2 (20 %) = {1, 8}: 1 and 8 archs strictly better -> ranks 2 and 9 (1 + #strictly better,
    # Ning et al. / aw_nas / NASLib; issue 16 moved it from #strictly better) -> BR = 2/10, WR = 9/10
    assert M.best_rank_at(pred, truth, k_percent=20) == pytest.approx(0.2)
    assert M.worst_rank_at(pred, truth, k_percent=20) == pytest.approx(0.9)
    # an arch tied with the true best has rank 1
    truth2 = truth.copy()
    truth2[1] = 0.90
    assert M.best_rank_at(pred, truth2, k_percent=10) == pytest.approx(0.1)


def test_ranks_and_regret_with_ties_match_enumeration() -> None:
    rng = np.random.default_rng(11)
    for _ in range(6):
        pred = rng.integers(0, 3, 8).astype(float)
        truth = rng.integers(1, 6, 8) / 10
        got = M.compute_metrics(pred, truth, None, ["br_at_20", "wr_at_20", "br_at_10", "top1_regret", "top5_regret"])
        assert got["br_at_20"] == pytest.approx(_brute_rank(pred, truth, 2))
        assert got["wr_at_20"] == pytest.approx(_brute_rank(pred, truth, 2, worst=True))
        assert got["br_at_10"] == pytest.approx(_brute_rank(pred, truth, 1))
        assert got["top1_regret"] == pytest.approx(_brute_regret(pred, truth, 1))
        assert got["top5_regret"] == pytest.approx(_brute_regret(pred, truth, 5))


def test_regret_hand_computed() -> None:
    truth = np.array([0.90, 0.85, 0.80, 0.75, 0.70])
    pred = np.array([0.1, 0.9, 0.8, 0.2, 0.3])
    # top-1 pick = arch 1 (0.85): regret 5 points; top-5 (capped at n) includes the best: 0
    assert M.topk_regret(pred, truth, k=1) == pytest.approx(5.0)
    assert M.topk_regret(pred, truth, k=5) == 0.0
    # tie at the top between arch 0 (0.90) and arch 1 (0.85): expected regret (0 + 5) / 2
    pred2 = np.array([0.9, 0.9, 0.8, 0.2, 0.3])
    assert M.topk_regret(pred2, truth, k=1) == pytest.approx(2.5)


# ------------------------------------------------------------------------------------------ complexity
def test_complexity_bias_hand_computed() -> None:
    # 3 archs; pred ranks them in the reverse of truth, so all 3 pairs are mis-ranked.
    # params = [1, 2, 3]; truth = [0.9, 0.8, 0.7]; pred = [1, 2, 3].
    # pair (0,1): lower-predicted is 0 with params 1 < 2 -> not larger; (0,2): 0 again, no; (1,2): 1 (2 < 3), no
    # -> CB = 0/3 = 0 (the predictor over-rates large archs)
    truth = np.array([0.9, 0.8, 0.7])
    pred = np.array([1.0, 2.0, 3.0])
    assert M.complexity_bias(pred, truth, np.array([1.0, 2.0, 3.0])) == 0.0
    assert M.complexity_bias(pred, truth, np.array([3.0, 2.0, 1.0])) == 1.0  # under-rates large archs
    # params tie on pair (1,2): that pair drops out; the other two pairs: 0 is lower-predicted, 3 > 1 -> 2/2
    assert M.complexity_bias(pred, truth, np.array([3.0, 1.0, 1.0])) == 1.0
    # nothing mis-ranked: no evidence of a bias, CB = the size-blind reference: truth vs params all discordant -> 0
    assert M.complexity_bias(truth, truth, np.array([1.0, 2.0, 3.0])) == 0.0 == M.complexity_bias_reference(truth, [1, 2, 3])
    assert M.complexity_bias(truth, truth, np.array([3.0, 2.0, 1.0])) == 1.0


def test_complexity_bias_matches_pair_enumeration() -> None:
    rng = np.random.default_rng(5)
    for ties in (False, True):
        for _ in range(4):
            pred, truth, params = _data(60, seed=int(rng.integers(1e6)), ties=ties)
            assert M.complexity_bias(pred, truth, params) == pytest.approx(_brute_cb(pred, truth, params), abs=1e-12)


def test_pair_counting_helpers() -> None:
    rng = np.random.default_rng(2)
    a = rng.integers(0, 20, 300)
    assert count_inversions(a) == sum(int(a[i] > a[j]) for i in range(300) for j in range(i + 1, 300))
    x, y = rng.integers(0, 5, 80), rng.integers(0, 5, 80)
    assert n_discordant(x, y) == sum(int((x[i] - x[j]) * (y[i] - y[j]) < 0) for i, j in itertools.combinations(range(80), 2))


def test_ratio_params_tau() -> None:
    pred, truth, params = _data(150, seed=4, ties=True)
    assert M.ratio_params_tau(pred, truth, params) == pytest.approx(
        stats.kendalltau(params, pred / truth, variant="b").statistic, abs=1e-12
    )
    truth = truth.copy()
    truth[:3] = 0.0  # ratio undefined there: left out
    ok = truth > 0
    assert M.ratio_params_tau(pred, truth, params) == pytest.approx(
        stats.kendalltau(params[ok], pred[ok] / truth[ok], variant="b").statistic, abs=1e-12
    )


def test_params_baseline_is_params_as_pred() -> None:
    pred, truth, params = _data(100, seed=9)
    base = M.params_baseline(params, truth)
    assert base == pytest.approx(M.compute_metrics(params, truth, params))
    assert base["kendall_tau"] == pytest.approx(stats.kendalltau(params, truth).statistic)
    assert base["complexity_bias"] == 0.0  # never ranks a larger arch lower


# ------------------------------------------------------------------------------------------ edge cases
def test_constant_pred_gives_zero_correlations_and_chance_precision() -> None:
    _, truth, params = _data(100)
    pred = np.full(100, 0.5)
    with np.errstate(all="ignore"):
        assert np.isnan(stats.kendalltau(pred, truth).statistic)  # scipy's NaN, which we turn into 0.0
    got = M.compute_metrics(pred, truth, params)
    for name in ("pearson", "kendall_tau", "spearman", "sparse_kendall_tau"):
        assert got[name] == 0.0
    m = M.top_count(5, 100)
    assert got["p_at_top_5"] == pytest.approx(m / 100)  # expectation of a random pick
    assert got["complexity_bias"] == pytest.approx(M.complexity_bias_reference(truth, params))  # no mis-ranked pair
    assert all(math.isfinite(v) for v in got.values())
    assert M.kendall_tau(truth, np.full(100, 0.7)) == 0.0  # constant truth too


@pytest.mark.parametrize(
    ("pred", "truth", "match"),
    [
        ([0.1, np.nan, 0.3], [0.1, 0.2, 0.3], "pred has 1 non-finite value"),
        ([0.1, np.inf, 0.3], [0.1, 0.2, 0.3], "inf"),
        ([0.1, 0.2, 0.3], [0.1, np.nan, 0.3], "truth has 1 non-finite"),
        ([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3], "same archs"),
        ([0.1, 0.2], [0.1, 0.2], "at least 3"),
        ([0.1, 0.2, 0.3], [10.0, 20.0, 30.0], r"fractions in \[0, 1\]"),
        ([[0.1, 0.2, 0.3]], [0.1, 0.2, 0.3], "1-D"),
    ],
)
def test_bad_inputs_raise_value_error(pred, truth, match) -> None:
    with pytest.raises(ValueError, match=match):
        M.compute_metrics(pred, truth, [1, 2, 3][: len(np.atleast_1d(truth))])


def test_params_required_only_for_complexity_metrics() -> None:
    pred, truth, _ = _data(20)
    assert "kendall_tau" in M.compute_metrics(pred, truth, None, ["kendall_tau", "p_at_top_5"])
    with pytest.raises(ValueError, match="params"):
        M.compute_metrics(pred, truth, None, ["complexity_bias"])
    with pytest.raises(ValueError, match="params has 19"):
        M.compute_metrics(pred, truth, np.ones(19), ["kendall_tau"])


# ------------------------------------------------------------------------------------------ bootstrap
def test_weighted_engine_equals_explicit_resamples() -> None:
    """Each bootstrap statistic is exactly the metric of the explicitly resampled arrays (ties included)."""
    rng = np.random.default_rng(0)
    for ties in (False, True):
        pred, truth, params = _data(80, seed=int(rng.integers(1e6)), ties=ties)
        truth[:2] = 0.0 if ties else truth[:2]  # exercise the ratio's exclusion as well
        prep = prepare(pred, truth, params, ALL)
        w = np.stack([np.bincount(rng.integers(0, 80, 80), minlength=80) for _ in range(6)])
        got = weighted_values(prep, w, ALL)
        for b in range(w.shape[0]):
            idx = np.repeat(np.arange(80), w[b])
            ref = M.compute_metrics(pred[idx], truth[idx], params[idx])
            for name in ALL:
                assert got[name][b] == pytest.approx(ref[name], abs=1e-10), (name, b)


def test_bootstrap_ci_contains_point_value_and_is_reproducible() -> None:
    pred, truth, params = _data(300, seed=1)
    point = M.compute_metrics(pred, truth, params)
    ci = M.bootstrap_ci(pred, truth, params, n_boot=300, seed=4)
    for name in ALL:
        lo, hi = ci[name]
        if not M.has_bootstrap_ci(name):
            assert (lo, hi) == (None, None)
            continue
        assert lo <= hi
        assert lo - 1e-12 <= point[name] <= hi + 1e-12, name
    assert M.bootstrap_ci(pred, truth, params, n_boot=300, seed=4) == ci
    other = M.bootstrap_ci(pred, truth, params, ["kendall_tau"], n_boot=300, seed=5)
    assert other["kendall_tau"] != ci["kendall_tau"]
    narrow = M.bootstrap_ci(pred, truth, params, ["kendall_tau"], n_boot=300, seed=4, level=0.5)["kendall_tau"]
    assert ci["kendall_tau"][0] <= narrow[0] <= narrow[1] <= ci["kendall_tau"][1]


def test_every_metric_uses_every_resample_at_large_n() -> None:
    """Above 2,500 archs the pair sums are projected: all resamples, and the projected Kendall τ replicates have
    the exact bootstrap's spread (checked against explicit resamples)."""
    from harness.metrics._base import EXACT_PAIR_SUMS_UP_TO
    from harness.metrics.registry import prepare
    from harness.metrics.resampling import resample_values

    assert M.pairwise_resamples(1000, 50_000) == 1000
    n = EXACT_PAIR_SUMS_UP_TO + 500
    pred, truth, params = _data(n, seed=7)
    prep = prepare(pred, truth, params, ["kendall_tau", "ratio_params_tau", "complexity_bias"])
    vals = resample_values([prep], ["kendall_tau", "ratio_params_tau", "complexity_bias"], 300, 3)[0]
    assert all(v.size == 300 for v in vals.values())
    rng = np.random.default_rng(3)
    exact = [M.kendall_tau(pred[i], truth[i]) for i in (rng.integers(0, n, n) for _ in range(60))]
    assert np.std(vals["kendall_tau"]) == pytest.approx(np.std(exact), rel=0.3)
    assert abs(np.mean(vals["kendall_tau"]) - M.kendall_tau(pred, truth)) < 0.2 * np.std(exact)


def test_max_type_metrics_get_no_bootstrap_ci() -> None:
    pred, truth, params = _data(300, seed=2)
    ci = M.bootstrap_ci(pred, truth, params, ["top1_regret", "br_at_1", "wr_at_5", "kendall_tau"], n_boot=100)
    assert ci["top1_regret"] == (None, None) and ci["br_at_1"] == (None, None) and ci["wr_at_5"] == (None, None)
    assert None not in ci["kendall_tau"]
    assert not M.has_bootstrap_ci("top5_regret") and M.has_bootstrap_ci("p_at_top_5")


def test_paired_bootstrap_verdicts() -> None:
    rng = np.random.default_rng(3)
    n = 300
    truth = rng.uniform(0.5, 0.9, n)
    params = rng.integers(1000, 100_000, n)
    good = truth + rng.normal(0, 0.01, n)
    bad = truth + rng.normal(0, 0.2, n)
    res = M.paired_bootstrap(good, bad, truth, params, "kendall_tau", n_boot=500)
    assert res["verdict"] == "a better" and res["diff"] > 0 and res["ci_low"] > 0 and res["p_value"] < 0.01
    assert res["value_a"] == pytest.approx(M.kendall_tau(good, truth))
    assert M.paired_bootstrap(bad, good, truth, params, "kendall_tau", n_boot=500)["verdict"] == "b better"
    # lower-is-better metric: the good predictor has the lower regret and still wins
    res = M.paired_bootstrap(good, bad, truth, params, "wr_at_10", n_boot=500)
    assert res["diff"] < 0 and res["verdict"] == "a better"
    same = M.paired_bootstrap(good, good.copy(), truth, params, "kendall_tau", n_boot=200)
    assert same["verdict"] == "no significant difference" and same["diff"] == 0.0 and same["p_value"] == 1.0
    assert same["ci_low"] == same["ci_high"] == 0.0
    cb = M.paired_bootstrap(good, bad, truth, params, "complexity_bias", n_boot=200)
    assert cb["compared"].startswith("distance") and cb["verdict"] in ("a better", "b better", "no significant difference")
    with pytest.raises(ValueError, match="same archs"):
        M.paired_bootstrap(good, bad[:-1], truth, params, "kendall_tau")


# ------------------------------------------------------------------------------------------ noise ceiling
def test_noise_ceiling_one_seed_is_unknown() -> None:
    _, truth, params = _data(50)
    nc = M.noise_ceiling(truth[:, None], params)
    assert set(nc) == set(ALL) and all(v is None for v in nc.values())
    assert M.noise_ceiling(truth, params, ["kendall_tau"]) == {"kendall_tau": None}  # 1-D = one seed


def test_noise_ceiling_identical_seeds_is_perfect() -> None:
    _, truth, params = _data(100, seed=2)
    nc = M.noise_ceiling(np.stack([truth] * 4, axis=1), params)
    for name in ("pearson", "kendall_tau", "spearman", "p_at_top_5", "p_at_bottom_10"):
        assert nc[name] == pytest.approx(1.0)
    # τ_b against binned truth stays below 1: pred still orders archs that share a 0.1 % bin
    assert nc["sparse_kendall_tau"] == pytest.approx(M.sparse_kendall_tau(truth, truth)) and nc["sparse_kendall_tau"] > 0.99
    assert nc["top1_regret"] == pytest.approx(0.0)
    for name in ("br_at_1", "br_at_5"):  # the true best is picked: rank 1, i.e. 1/n (1-based ranks, issue 16)
        assert nc[name] == pytest.approx(1 / 100)
    # the diagnostic metrics' split-half values are fixed by symmetry (CB's reference, τ 0): not applicable
    assert nc["complexity_bias"] is None and nc["ratio_params_tau"] is None


def test_noise_ceiling_two_and_more_seeds() -> None:
    rng = np.random.default_rng(8)
    n = 120
    mean = rng.uniform(0.6, 0.9, n)
    params = rng.integers(1000, 100_000, n)
    acc = np.clip(mean[:, None] + rng.normal(0, 0.01, (n, 2)), 0, 1)
    nc = M.noise_ceiling(acc, params)
    ab = M.compute_metrics(acc[:, 0], acc[:, 1], params)
    ba = M.compute_metrics(acc[:, 1], acc[:, 0], params)
    for name in ("pearson", "kendall_tau", "spearman", "p_at_top_10"):  # symmetric: seed 0 vs seed 1
        assert nc[name] == pytest.approx(ab[name])
    assert nc["top1_regret"] == pytest.approx((ab["top1_regret"] + ba["top1_regret"]) / 2)  # both orientations
    assert len(M.half_splits(2)) == 1 and len(M.half_splits(4)) == 3 and len(M.half_splits(3)) == 3
    assert len(M.half_splits(12)) == 462 and len(M.half_splits(10, max_splits=20)) == 20  # all of C(11, 5); a draw
    assert len(M.half_splits(14)) == 500 and M.half_splits(14, seed=1) == M.half_splits(14, seed=1) != M.half_splits(14)
    acc5 = np.clip(mean[:, None] + rng.normal(0, 0.01, (n, 5)), 0, 1)
    nc5 = M.noise_ceiling(acc5, params, ["kendall_tau"])
    assert 0.5 < nc5["kendall_tau"] < 1.0
    holes = np.where(acc5 > 0.89, np.nan, acc5)  # NaN: a seed the arch does not have (a ragged GT), accepted
    assert np.isnan(holes).any() and 0.5 < M.noise_ceiling(holes, params, ["kendall_tau"])["kendall_tau"] < 1.0
    with pytest.raises(ValueError, match="infinite"):  # inf is a corrupt value, not a gap
        M.noise_ceiling(np.where(acc5 > 0.89, np.inf, acc5), params)
    with pytest.raises(ValueError, match="no finished seed"):
        M.noise_ceiling(np.where(np.arange(n)[:, None] == 3, np.nan, acc5), params)


def test_noise_ceiling_is_memoised_on_the_exact_arrays(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rescoring many runs against one GT computes its ceiling once; any change to the arrays recomputes it."""
    import harness.metrics.agreement as report

    rng = np.random.default_rng(9)
    acc = np.clip(rng.uniform(0.6, 0.9, 60)[:, None] + rng.normal(0, 0.01, (60, 4)), 0, 1)
    params = rng.integers(1000, 100_000, 60)
    calls: list[int] = []
    real = report._split_half_means
    monkeypatch.setattr(report, "_split_half_means", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(report, "_ceiling_memo", {})
    first = M.noise_ceiling(acc, params, ["kendall_tau"])
    first["kendall_tau"] = -1.0  # the caller's copy: must not reach the memo
    assert M.noise_ceiling(acc, params, ["kendall_tau"])["kendall_tau"] == pytest.approx(real(acc, params, ["kendall_tau"], 0)["kendall_tau"])
    assert len(calls) == 1
    changed = acc.copy()
    changed[0, 0] += 0.001
    M.noise_ceiling(changed, params, ["kendall_tau"])
    M.noise_ceiling(acc, params, ["kendall_tau", "pearson"])
    M.noise_ceiling(acc, params + 1, ["kendall_tau"])
    assert len(calls) == 4


def test_projected_kendall_ceiling_predicts_the_measured_one() -> None:
    """Projected from 2 seeds, the 4+4-seed ceiling matches the one measured on 8 seeds (normal latent model)."""
    rng = np.random.default_rng(12)
    n = 2000
    true = rng.normal(0, 1, n)
    acc = 0.5 + 0.05 * (true[:, None] + rng.normal(0, 0.8, (n, 8)))  # single-seed latent r = 1 / 1.64 ≈ 0.61
    proj = M.projected_kendall_ceiling(acc[:, :2], seeds_per_half=[1, 4])
    assert proj["latent_r"] == pytest.approx(1 / 1.64, abs=0.03)
    assert proj["tau_by_seeds_per_half"][1] == pytest.approx(proj["single_seed_tau"])
    measured = M.noise_ceiling(acc, names=["kendall_tau"])["kendall_tau"]
    assert proj["tau_by_seeds_per_half"][4] == pytest.approx(measured, abs=0.02)
    assert proj["tau_by_seeds_per_half"][4] > proj["tau_by_seeds_per_half"][1]
    assert proj["rho_fit"] is None  # one measured k: plain Spearman–Brown, uncalibrated
    one = M.projected_kendall_ceiling(acc[:, :1])
    assert one["single_seed_tau"] is None and all(v is None for v in one["tau_by_seeds_per_half"].values())


def test_projection_calibrated_on_measured_halves_survives_heavy_tailed_seed_noise() -> None:
    """Heavy-tailed seed noise (real standalone training is not Gaussian either) makes the single-seed projection
    optimistic; fitted on the measured 1+1 .. 3+3 curve of 6 seeds it predicts the 4+4 ceiling of 8."""
    rng = np.random.default_rng(3)
    n = 1500
    true = 0.97 - rng.gamma(1.0, 0.02, n)  # most archs near the top, a long tail of weak ones
    acc = np.clip(true[:, None] + 0.01 * rng.standard_t(2.5, (n, 8)), 0, 1)
    measured = M.noise_ceiling(acc, names=["kendall_tau"])["kendall_tau"]
    from_2 = M.projected_kendall_ceiling(acc[:, :2], seeds_per_half=[4])
    from_6 = M.projected_kendall_ceiling(acc[:, :6], seeds_per_half=[3, 4])
    assert from_2["tau_by_seeds_per_half"][4] - measured > 0.05  # the uncalibrated projection overshoots
    assert from_6["rho_fit"] is not None and from_6["rho_fit"]["c"] > 0  # calibrated; ρ_k falls with k
    assert from_6["tau_by_seeds_per_half"][4] == pytest.approx(measured, abs=0.02)
    assert from_6["tau_by_seeds_per_half"][3] == from_6["measured"][3]  # measured values are passed through
    full = M.projected_kendall_ceiling(acc)
    assert full["measured"][4] == pytest.approx(measured, abs=0.01)  # 4+4 subsets = the halves of noise_ceiling
    assert list(full["measured"]) == [1, 2, 3, 4]
    assert full["tau_by_seeds_per_half"][5] > full["measured"][4]


def test_disjoint_subset_pairs() -> None:
    assert len(M.disjoint_subset_pairs(4, 1)) == 6 and len(M.disjoint_subset_pairs(4, 2)) == 3
    big = M.disjoint_subset_pairs(14, 7, max_pairs=20, seed=1)
    assert len(big) == 20 == len(set(big)) and big == M.disjoint_subset_pairs(14, 7, max_pairs=20, seed=1)
    assert all(len(a) == len(b) == 7 and not set(a) & set(b) for a, b in big)
    with pytest.raises(ValueError, match="seeds per subset"):
        M.disjoint_subset_pairs(5, 3)


# ------------------------------------------------------------------------------------------ report
def test_evaluate_predictions_report_round_trip() -> None:
    rng = np.random.default_rng(1)
    n = 200
    mean = rng.uniform(0.6, 0.9, n)
    acc = np.clip(mean[:, None] + rng.normal(0, 0.01, (n, 3)), 0, 1)
    params = rng.integers(1000, 100_000, n)
    pred = mean + rng.normal(0, 0.03, n)
    rep = M.evaluate_predictions(pred, acc, params, n_boot=200, seed=0)
    assert rep.n == n and rep.n_seeds == 3
    truth = acc.mean(axis=1)
    assert rep.metrics["kendall_tau"].value == pytest.approx(stats.kendalltau(pred, truth).statistic)
    assert rep.baseline["kendall_tau"].value == pytest.approx(stats.kendalltau(params, truth).statistic)
    assert rep.baseline["kendall_tau"].ci_low is not None
    assert rep.noise_ceiling["kendall_tau"] is not None
    d = rep.to_dict()
    json.dumps(d, allow_nan=False)
    assert set(d) >= {"n", "metrics", "baseline", "noise_ceiling"}
    assert set(d["metrics"]["pearson"]) == {"value", "ci_low", "ci_high"}
    assert M.MetricReport.from_dict(json.loads(json.dumps(d))).to_dict() == d
    one = M.evaluate_predictions(pred, acc[:, 0], params, names=["kendall_tau"], n_boot=0)
    assert one.noise_ceiling == {"kendall_tau": None} and one.metrics["kendall_tau"].ci_low is None
    json.dumps(one.to_dict(), allow_nan=False)
    with pytest.raises(ValueError, match="same archs"):
        M.evaluate_predictions(pred[:-1], acc, params)


# ------------------------------------------------------------------------------------------ curves
def test_random_search_expectation_vs_enumeration() -> None:
    truth = np.array([0.5, 0.9, 0.7, 0.7, 0.6, 0.8])
    ks = np.arange(1, 7)
    brute = [np.mean([max(c) for c in itertools.combinations(truth, k)]) for k in ks]
    np.testing.assert_allclose(M.random_search_expectation(truth, ks), brute, rtol=1e-12)
    big = np.random.default_rng(0).uniform(0, 1, 2500)
    curve = M.random_search_expectation(big, [1, 10, 2500])
    assert curve[0] == pytest.approx(big.mean()) and curve[-1] == pytest.approx(big.max())
    with pytest.raises(ValueError):
        M.random_search_expectation(truth, [0])


def test_topk_regret_curve() -> None:
    truth = np.array([0.5, 0.9, 0.7, 0.65, 0.6, 0.8])
    pred = np.array([6.0, 5.0, 4.0, 3.0, 2.0, 1.0])  # no ties: running max in pred order
    np.testing.assert_allclose(M.topk_regret_curve(pred, truth, range(1, 7)), [0.5, 0.9, 0.9, 0.9, 0.9, 0.9])
    pred = np.array([3.0, 2.0, 2.0, 2.0, 1.0, 1.0])  # ties: expectation over tie-breaks
    brute = [np.mean([truth[op[:k]].max() for op in _tie_orders(pred)]) for k in range(1, 7)]
    np.testing.assert_allclose(M.topk_regret_curve(pred, truth, range(1, 7)), brute, rtol=1e-12)
    assert M.topk_regret_curve(pred, truth, [1])[0] == pytest.approx(truth.max() - M.topk_regret(pred, truth, k=1) / 100)


def test_expected_max_of_subset_with_multiplicities() -> None:
    values, counts = np.array([3.0, 1.0, 2.0]), np.array([1, 2, 2])
    items = np.repeat(values, counts)
    for r in range(1, 6):
        brute = np.mean([max(c) for c in itertools.combinations(items, r)])
        assert expected_max_of_subset(values, counts, r) == pytest.approx(brute)
        assert expected_max_of_subset(values, counts, r, floor=2.5) == pytest.approx(
            np.mean([max(2.5, *c) for c in itertools.combinations(items, r)])
        )


# ------------------------------------------------------------------------------------------ leaderboard
def test_rank_key_ordering() -> None:
    def rep(**vals):
        return {"metrics": {k: {"value": v, "ci_low": None, "ci_high": None} for k, v in vals.items()}}

    runs = {
        "best": rep(kendall_tau=0.8, spearman=0.9),
        "tie_better_spearman": rep(kendall_tau=0.7, spearman=0.95),
        "tie_worse_spearman": rep(kendall_tau=0.7, spearman=0.85),
        "missing": rep(spearman=0.99),
        "nan": rep(kendall_tau=float("nan"), spearman=0.99),
        "worst": rep(kendall_tau=-0.1, spearman=0.0),
    }
    order = sorted(runs, key=lambda r: M.rank_key(runs[r], "kendall_tau"))
    assert order[:4] == ["best", "tie_better_spearman", "tie_worse_spearman", "worst"]
    assert set(order[4:]) == {"missing", "nan"}
    # lower-is-better primary; flat dicts are accepted too
    flat = {"a": {"top1_regret": 0.5}, "b": {"top1_regret": 0.1}, "c": {"top1_regret": None}}
    assert sorted(flat, key=lambda r: M.rank_key(flat[r], "top1_regret")) == ["b", "a", "c"]
    assert M.rank_key(runs["best"], "spearman")[0] == -0.9
    assert len(M.rank_key(runs["best"], "kendall_tau")) == len(M.TIE_BREAKS)  # primary not repeated
    with pytest.raises(UnknownNameError):
        M.rank_key(runs["best"], "nope")
    with pytest.raises(ValueError):
        M.rank_key(runs["best"], "complexity_bias")
