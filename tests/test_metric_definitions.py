"""The metric definitions audited in issue 16, against hand-computed values (ties included), and the one list.

* BR@K / WR@K use the 1-based rank 1 + #strictly better (Ning et al. 2021, aw_nas, NASLib);
* P@K's m = ⌈K·n/100⌉ (documented against aw_nas's ⌊·⌋);
* CB's neutral point is the size-blind reference C/(C+D) of GT vs #params, not 0.5; the literal all-pairs form;
* the split-half agreement is not an upper bound; the best achievable τ is estimated and checked on synthetic GTs
  with a known expected accuracy.
"""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

import harness.metrics as M
from harness.metrics.agreement import kendall_rows
from harness.metrics.registry import prepare
from harness.metrics.resampling import weighted_values


# ------------------------------------------------------------------------------------------ the one list
def test_every_metric_is_declared_once_with_everything_consumers_need() -> None:
    labels = [m.label for m in M.METRICS.values()]
    assert len(set(labels)) == len(labels)
    for name, m in M.METRICS.items():
        assert m.name == name and m.label and m.description and callable(m.function) and callable(m.resampled)
        assert m.higher_is_better in (True, False, None) and m.kind in ("correlation", "top-k", "complexity")
        if m.higher_is_better is None:  # diagnostic: a neutral point, and no split-half agreement
            assert m.neutral is not None and not m.agreement
        else:
            assert m.neutral is None and m.agreement
    assert {n for n, m in M.METRICS.items() if m.needs_params} == {"complexity_bias", "ratio_params_tau"}
    assert {n for n, m in M.METRICS.items() if m.pairwise} == {"kendall_tau", "sparse_kendall_tau", "complexity_bias", "ratio_params_tau"}
    assert set(M.LEADERBOARD_COLUMNS) <= set(M.METRICS) and set(M.HEADLINE) <= set(M.METRICS)
    assert M.MetricSpec is M.Metric  # the former name still works


def test_metrics_import_without_torch() -> None:
    code = "import sys, harness.metrics, leaderboard_app.tables; assert 'torch' not in sys.modules, 'torch imported'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


# ------------------------------------------------------------------------------------------ top-K conventions
def test_top_count_is_the_ceiling_and_differs_from_the_floor_only_off_integers() -> None:
    # n = 250: K = 1 % -> ⌈2.5⌉ = 3 (aw_nas ⌊2.5⌋ = 2); 5 % -> 13 (12); 10 % and 20 % are integers: 25, 50 both ways
    assert [M.top_count(k, 250) for k in (1, 5, 10, 20)] == [3, 13, 25, 50]
    assert [max(1, k * 250 // 100) for k in (1, 5, 10, 20)] == [2, 12, 25, 50]
    for n in (100, 1000, 2500, 15625 * 4):
        assert all(M.top_count(k, n) == k * n // 100 for k in M.TOP_PERCENTS)
    assert M.top_count(1, 50) == 1  # the floor would be 0 archs


def test_best_and_worst_rank_are_one_based_with_ties_in_truth_and_pred() -> None:
    truth = np.array([0.9, 0.9, 0.8, 0.8, 0.8, 0.5, 0.4, 0.3, 0.2, 0.1])
    pred = np.array([0.0, 0.1, 9.0, 0.2, 0.3, 8.0, 7.0, 0.4, 0.5, 0.6])
    # n = 10, K = 20 % -> m = 2: predicted top-2 = archs 2 and 5. Arch 2 (0.8): 2 archs strictly better -> rank 3;
    # arch 5 (0.5): 5 strictly better -> rank 6. BR = 3/10, WR = 6/10.
    assert M.best_rank_at(pred, truth, k_percent=20) == pytest.approx(0.3)
    assert M.worst_rank_at(pred, truth, k_percent=20) == pytest.approx(0.6)
    # K = 10 % -> m = 1: arch 2 alone
    assert M.best_rank_at(pred, truth, k_percent=10) == pytest.approx(0.3) == M.worst_rank_at(pred, truth, k_percent=10)
    # pred tie at the boundary: arch 6 ties arch 5 (8.0); the second slot is 5 (rank 6) or 6 (rank 7), each 1/2
    pred2 = pred.copy()
    pred2[6] = 8.0
    assert M.worst_rank_at(pred2, truth, k_percent=20) == pytest.approx((0.6 + 0.7) / 2)
    assert M.best_rank_at(pred2, truth, k_percent=20) == pytest.approx(0.3)
    # the true best (tied): rank 1 -> 1/n
    assert M.best_rank_at(truth, truth, k_percent=10) == pytest.approx(0.1)


# ------------------------------------------------------------------------------------------ complexity bias
def test_cb_reference_hand_computed_with_ties() -> None:
    truth = np.array([0.9, 0.8, 0.8, 0.7])
    params = np.array([1.0, 3.0, 2.0, 2.0])
    # pairs: (0,1) t+ p− D; (0,2) D; (0,3) D; (1,2) tied in truth: out; (1,3) t+ p+ C; (2,3) tied in params: out
    assert M.complexity_bias_reference(truth, params) == pytest.approx(1 / 4)
    assert M.complexity_bias_reference(truth, np.ones(4)) == 0.5  # no pair untied in both: undefined -> 0.5
    assert M.neutral_values(truth, params, ["complexity_bias", "ratio_params_tau", "kendall_tau"]) == {
        "complexity_bias": pytest.approx(0.25), "ratio_params_tau": 0.0, "kendall_tau": None}


def test_cb_conditional_and_literal_forms_with_params_ties() -> None:
    truth = np.array([0.9, 0.8, 0.7, 0.6])
    pred = np.array([1.0, 2.0, 3.0, 4.0])  # fully reversed: all 6 pairs mis-ranked, the lower-predicted is i < j
    params = np.array([3.0, 2.0, 2.0, 1.0])
    # the lower-predicted arch is the larger in (0,1) (0,2) (0,3) (1,3) (2,3); (1,2) is tied in #params
    assert M.complexity_bias(pred, truth, params) == pytest.approx(5 / 5)  # ties left out of the denominator
    assert M.complexity_bias_all_pairs(pred, truth, params) == pytest.approx(5 / 6)  # literal: all mis-ranked pairs
    rng = np.random.default_rng(4)
    for _ in range(5):  # CB_all = CB · share of mis-ranked pairs untied in #params
        t = rng.integers(1, 9, 40) / 10
        p = rng.integers(0, 6, 40).astype(float)
        c = rng.integers(1, 4, 40).astype(float)
        mis = [(i, j) for i, j in itertools.combinations(range(40), 2) if (p[i] - p[j]) * (t[i] - t[j]) < 0]
        share = np.mean([c[i] != c[j] for i, j in mis])
        assert M.complexity_bias_all_pairs(p, t, c) == pytest.approx(M.complexity_bias(p, t, c) * share)


def test_a_size_blind_predictor_scores_the_reference_not_one_half() -> None:
    rng = np.random.default_rng(0)
    n = 150
    params = rng.uniform(1e4, 3e5, n)
    truth = np.clip(0.6 + 0.2 * (np.log(params) - np.log(params).mean()) + rng.normal(0, 0.05, n), 0, 1)
    ref = M.complexity_bias_reference(truth, params)
    assert ref > 0.65  # bigger is mostly better here
    cbs = [M.complexity_bias(rng.permutation(n).astype(float), truth, params) for _ in range(300)]
    assert np.mean(cbs) == pytest.approx(ref, abs=0.01)
    assert abs(np.mean(cbs) - 0.5) > 0.1


def test_cb_neutral_resampled_equals_explicit_resamples_and_compare_uses_it() -> None:
    rng = np.random.default_rng(1)
    n = 60
    truth = np.round(rng.uniform(0.5, 0.9, n), 2)
    params = np.round(rng.uniform(1, 5, n))
    pred = truth + rng.normal(0, 0.05, n)
    prep = prepare(pred, truth, params, ["complexity_bias"])
    w = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(5)])
    got = weighted_values(prep, w, ["complexity_bias"], neutral=["complexity_bias"])
    for b in range(5):
        idx = np.repeat(np.arange(n), w[b])
        assert got["complexity_bias.neutral"][b] == pytest.approx(M.complexity_bias_reference(truth[idx], params[idx]))
    other = rng.permutation(n).astype(float)
    res = M.paired_bootstrap(pred, other, truth, params, "complexity_bias", n_boot=200)
    nu = M.complexity_bias_reference(truth, params)
    assert res["neutral"] == pytest.approx(nu) and "reference" in res["compared"]
    assert res["diff"] == pytest.approx(abs(res["value_a"] - nu) - abs(res["value_b"] - nu))
    tau = M.paired_bootstrap(pred, other, truth, params, "ratio_params_tau", n_boot=50)
    assert tau["neutral"] == 0.0 and M.paired_bootstrap(pred, other, truth, params, "kendall_tau", n_boot=50)["neutral"] is None


# ------------------------------------------------------------------------------------------ agreement
def test_kendall_rows_matches_scipy_with_ties_and_constants() -> None:
    rng = np.random.default_rng(2)
    x = np.round(rng.normal(size=(9, 70)), 1)
    y = np.round(x + rng.normal(size=(9, 70)), 1)
    x[4] = 0.3
    got = kendall_rows(x, y)
    for r in range(9):
        want = 0.0 if r == 4 else stats.kendalltau(x[r], y[r], variant="b").statistic
        assert got[r] == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("noise", ["gaussian", "heavy-tailed"])
def test_best_achievable_tau_recovers_the_known_truth(noise: str) -> None:
    """Synthetic GTs with known expected accuracy μ: the estimate matches τ(μ, S-seed mean), which the split-half
    agreement understates. Heavy-tailed seed noise (real training is not Gaussian) makes it lean high."""
    rng = np.random.default_rng(20 if noise == "gaussian" else 21)
    n, s = 500, 8
    if noise == "gaussian":
        mu = 0.8 + 0.02 * rng.normal(size=n)
        acc = mu[:, None] + 0.02 * rng.normal(size=(n, s))
    else:
        mu = 0.97 - rng.gamma(1.0, 0.02, n)
        acc = np.clip(mu[:, None] + 0.01 * rng.standard_t(2.5, (n, s)), 0, 1)
    truth_tau = stats.kendalltau(mu, acc.mean(axis=1)).statistic
    best = M.best_achievable_tau(acc)
    split_half = M.split_half_agreement(acc, names=["kendall_tau"])["kendall_tau"]
    assert best["split_half"] == pytest.approx(split_half, abs=1e-9)  # the same 4+4 splits
    assert split_half < truth_tau - 0.05  # the agreement of two halves is no upper bound
    assert best["tau"] == pytest.approx(truth_tau, abs=0.02 if noise == "gaussian" else 0.04)
    assert 0 < best["reliability"] < 1 and best["n_seeds"] == s
    one = M.best_achievable_tau(acc[:, :1])
    assert one["tau"] is None and one["reliability"] is None


def test_split_half_agreement_drops_the_diagnostic_metrics_and_old_payloads_read_clean() -> None:
    rng = np.random.default_rng(3)
    acc = np.clip(rng.uniform(0.6, 0.9, 80)[:, None] + rng.normal(0, 0.01, (80, 4)), 0, 1)
    params = rng.integers(1000, 100_000, 80)
    sh = M.split_half_agreement(acc, params, ["kendall_tau", "complexity_bias", "ratio_params_tau"])
    assert sh["kendall_tau"] > 0.5 and sh["complexity_bias"] is None and sh["ratio_params_tau"] is None
    assert M.noise_ceiling is M.split_half_agreement
    old = {"noise_ceiling": {"kendall_tau": 0.7, "complexity_bias": 0.5, "ratio_params_tau": 0.0}}  # a stored run
    assert M.split_half_of(old) == {"kendall_tau": 0.7, "complexity_bias": None, "ratio_params_tau": None}
    assert M.neutral_of(old, "ratio_params_tau") == 0.0 and M.neutral_of(old, "complexity_bias") is None
    assert M.best_tau_of(old) is None


def test_report_stores_neutral_points_and_best_achievable_tau() -> None:
    rng = np.random.default_rng(5)
    n = 120
    mean = rng.uniform(0.6, 0.9, n)
    acc = np.clip(mean[:, None] + rng.normal(0, 0.01, (n, 4)), 0, 1)
    params = rng.integers(1000, 100_000, n)
    pred = mean + rng.normal(0, 0.03, n)
    rep = M.evaluate_predictions(pred, acc, params, n_boot=0)
    d = rep.to_dict()
    assert d["neutral"]["complexity_bias"] == pytest.approx(M.complexity_bias_reference(acc.mean(axis=1), params))
    assert d["neutral"]["ratio_params_tau"] == 0.0 and d["neutral"]["kendall_tau"] is None
    assert d["best_achievable"]["kendall_tau"] == pytest.approx(M.best_achievable_tau(acc)["tau"])
    assert d["noise_ceiling"]["complexity_bias"] is None and rep.split_half is rep.noise_ceiling
    back = M.MetricReport.from_dict(d)
    assert back.to_dict() == d and M.neutral_of(d, "complexity_bias") == d["neutral"]["complexity_bias"]
    assert M.best_tau_of(d) == d["best_achievable"]["kendall_tau"]
