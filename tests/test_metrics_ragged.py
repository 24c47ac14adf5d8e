"""Ragged GT rows in scoring (issue 17): archs with 12 seeds beside archs with 3, NaN in the seeds a row lacks.

The truth is each arch's mean over its own finished seeds; the split-half agreement splits each row's own seeds;
the best achievable τ uses the harmonic-mean seed count. Each is checked against a computation written out here.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau

from harness.gt.gt_file import GroundTruth
from harness.metrics import evaluate_predictions, split_half_agreement
from harness.metrics.agreement import best_achievable_tau, half_splits, seed_means

N_FULL, N_THIN, SEEDS, THIN = 12, 36, 12, 3


def _ragged(n_full: int = N_FULL, n_thin: int = N_THIN, seed: int = 0, sd: float = 0.02) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(acc with NaN past 3 seeds on the thin rows, expected accuracy, #params), continuous values: no ties."""
    rng = np.random.default_rng(seed)
    n = n_full + n_thin
    mu = rng.uniform(0.6, 0.9, n)
    acc = np.clip(mu[:, None] + rng.normal(0, sd, (n, SEEDS)), 0, 1)
    acc[n_full:, THIN:] = np.nan
    params = rng.integers(10_000, 200_000, n).astype(np.float64)
    return acc, mu, params


def _hand_truth(acc: np.ndarray) -> np.ndarray:
    return np.array([sum(v for v in row if v == v) / sum(1 for v in row if v == v) for row in acc])


def test_ragged_gt_scores_like_its_seed_mean_truth() -> None:
    """Through scoring's own path (GroundTruth, split_indices, split_metrics) as for the v2 GT."""
    from harness.scoring import split_metrics

    acc, mu, params = _ragged()
    n = acc.shape[0]
    rng = np.random.default_rng(5)
    spa = np.where(np.arange(n) < N_FULL, SEEDS, THIN)
    order = rng.permutation(n)
    gt = GroundTruth(archs=[f"a{i}" for i in range(n)], acc=acc, params=params, flops=params,
                     splits={"dev": np.sort(order[: n // 2]), "test": np.sort(order[n // 2 :])},
                     archset_index=np.arange(n) * 2, seeds_per_arch=spa)
    assert gt.ragged and gt.split_indices("all").size == n  # every row has all the seeds it is meant to have
    pred = rng.uniform(0, 1, 2 * n)
    pred[gt.archset_index] = mu + rng.normal(0, 0.03, n)
    out = split_metrics(pred, gt, n_boot=50, seed=0)
    truth = _hand_truth(acc)
    np.testing.assert_allclose(gt.mean_acc, truth, rtol=0, atol=1e-15)  # the truth the verdicts use, too
    for split in ("dev", "test"):
        idx = gt.split_indices(split)
        by_hand = evaluate_predictions(pred[gt.archset_index[idx]], truth[idx], params[idx], n_boot=50, seed=0).to_dict()
        got = out[split]
        for part in ("metrics", "baseline"):
            for name, est in by_hand[part].items():
                for key in ("value", "ci_low", "ci_high"):
                    assert got[part][name][key] == pytest.approx(est[key], abs=1e-12), (split, part, name, key)
        assert got["n"] == idx.size and got["n_seeds"] == SEEDS and got["n_seeds_min"] == THIN
        ceiling = got["noise_ceiling"]
        assert all(np.isfinite(ceiling[m]) and -1 <= ceiling[m] <= 1 for m in ("kendall_tau", "spearman", "pearson"))
        assert np.isfinite(got["best_achievable"]["kendall_tau"])


def test_rectangular_report_is_unchanged_in_shape() -> None:
    acc, mu, params = _ragged(n_thin=0)
    rep = evaluate_predictions(mu, acc, params, n_boot=0).to_dict()
    assert rep["n_seeds"] == rep["n_seeds_min"] == SEEDS
    assert rep["noise_ceiling"]["kendall_tau"] == split_half_agreement(acc, params, ["kendall_tau"])["kendall_tau"]


def test_ragged_split_half_is_each_rows_own_halves() -> None:
    """Rows of 2 and of 4 seeds, Kendall τ: draw j uses split j mod (splits of k) of each group, both orientations."""
    rng = np.random.default_rng(3)
    n2, n4 = 7, 9
    mu = rng.uniform(0.5, 0.9, n2 + n4)
    acc = np.full((n2 + n4, 6), np.nan)
    for i in range(n2):  # two seeds, in scattered columns: a row's seeds are its finite cells, wherever they are
        cols = rng.choice(6, size=2, replace=False)
        acc[i, np.sort(cols)] = mu[i] + rng.normal(0, 0.05, 2)
    acc[n2:, :4] = mu[n2:, None] + rng.normal(0, 0.05, (n4, 4))
    got = split_half_agreement(acc, None, ["kendall_tau"])["kendall_tau"]

    splits2, splits4 = half_splits(2), half_splits(4)
    assert (len(splits2), len(splits4)) == (1, 3)
    taus = []
    for j in range(3):
        (a2, b2), (a4, b4) = splits2[j % 1], splits4[j]
        ha, hb = np.empty(n2 + n4), np.empty(n2 + n4)
        for i in range(n2 + n4):
            vals = acc[i][np.isfinite(acc[i])]
            first, second = (a2, b2) if vals.size == 2 else (a4, b4)
            ha[i], hb[i] = vals[list(first)].mean(), vals[list(second)].mean()
        taus += [kendalltau(ha, hb)[0], kendalltau(hb, ha)[0]]
    assert got == pytest.approx(float(np.mean(taus)), abs=1e-12)


def test_rows_with_one_seed_stay_out_of_the_agreement() -> None:
    acc, _, params = _ragged()
    one = np.full((5, SEEDS), np.nan)
    one[:, 0] = np.linspace(0.6, 0.8, 5)
    with_ones = np.vstack([acc, one])
    params_ones = np.concatenate([params, np.full(5, 50_000.0)])
    names = ["kendall_tau", "spearman", "p_at_top_5"]
    assert split_half_agreement(with_ones, params_ones, names) == split_half_agreement(acc, params, names)
    assert split_half_agreement(one, None, names) == dict.fromkeys(names)  # nothing to split: unknown, not 0


def test_best_achievable_tau_of_a_ragged_gt_tracks_the_truth() -> None:
    """Synthetic GTs with known expected accuracy, 100 archs × 12 seeds + 300 × 3 (the v2 shape, scaled down)."""
    est, actual = [], []
    for rep in range(5):
        rng = np.random.default_rng(rep)
        mu = rng.normal(0.8, 0.02, 400)
        acc = mu[:, None] + rng.normal(0, 0.02, (400, SEEDS))
        acc[100:, THIN:] = np.nan
        best = best_achievable_tau(acc)
        assert best["n_seeds"] == pytest.approx(1 / np.mean(1 / np.where(np.arange(400) < 100, SEEDS, THIN)))
        assert "ragged GT" in best["model"] and 0 < best["tau"] < 1
        est.append(best["tau"])
        actual.append(kendalltau(mu, seed_means(acc))[0])
    assert abs(np.mean(est) - np.mean(actual)) < 0.04, (est, actual)
    full = best_achievable_tau(acc[:100])  # the 12-seed rows alone: a less noisy truth, a higher reference
    assert full["tau"] > np.mean(est)


def test_a_row_without_any_seed_is_refused() -> None:
    acc, mu, params = _ragged()
    acc[4, :] = np.nan
    with pytest.raises(ValueError, match="no finished seed"):
        evaluate_predictions(mu, acc, params, n_boot=0)
    acc[4, 0] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        evaluate_predictions(mu, acc, params, n_boot=0)
