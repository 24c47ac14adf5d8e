"""Seed-aware intervals, comparisons and the non-inferiority gate: coverage on synthetic truth, then edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.verdicts import compare_groups, group_interval, non_inferiority
from tests.verdict_sim import simulate, truth

N_ARCHS, N_BOOT, CHUNK = 150, 200, 100


def _studies(seed: int, n_sims: int, groups, **kw):
    rng = np.random.default_rng(seed)
    parts = [simulate(rng, CHUNK, N_ARCHS, N_BOOT, groups, **kw) for _ in range(n_sims // CHUNK)]
    return [tuple(np.concatenate([p[g][i] for p in parts]) for i in range(3)) for g in range(len(groups))]


def test_group_interval_covers_the_group_mean_95():
    """Five seeds whose spread dominates (as measured for spos): the 95 % interval covers E_seed ρ in 93–97 %."""
    (pts, reps, _), = _studies(1, 2000, [(0.4, 0.15, 5)])
    true = truth(0.4, 0.15)
    ivs = [group_interval(pts[i], reps[i], n_archs=N_ARCHS) for i in range(pts.shape[0])]
    cover = np.mean([iv.ci_low <= true <= iv.ci_high for iv in ivs])
    assert 0.93 <= cover <= 0.97, cover
    # the archs-only interval of the same groups (what the harness printed before) covers far less
    arch_only = np.mean([abs(pts[i].mean() - true) <= 1.96 * reps[i].mean(1).std() for i in range(pts.shape[0])])
    assert arch_only < 0.85, arch_only


def test_single_run_interval_covers_its_own_population_value_95():
    """One run: the interval is over archs only, for that seed's population value (and says so)."""
    (pts, reps, rho_s), = _studies(2, 2000, [(0.4, 0.15, 1)])
    ivs = [group_interval(pts[i], reps[i], n_archs=N_ARCHS) for i in range(pts.shape[0])]
    assert not ivs[0].training_noise and ivs[0].seed_var == 0.0
    cover = np.mean([iv.ci_low <= rho_s[i, 0] <= iv.ci_high for i, iv in enumerate(ivs)])
    assert 0.93 <= cover <= 0.97, cover


@pytest.mark.parametrize("paired", [False, True])
def test_difference_interval_covers_the_true_difference_95(paired):
    """Two groups on the same archs (unpaired: independent seeds; paired: same seeds, shared noise)."""
    groups = [(0.4, 0.15, 5), (0.55, 0.15, 5)]
    a, b = _studies(3 + paired, 2000, groups, paired_noise=0.7 if paired else None)
    true = truth(0.4, 0.15) - (truth(0.55, 0.15) if not paired else _paired_truth(0.4, 0.55, 0.15))
    cmps = [compare_groups("pearson", True, a[0][i], a[1][i], b[0][i], b[1][i], paired_by_seed=paired, n_archs=N_ARCHS)
            for i in range(a[0].shape[0])]
    cover = np.mean([c.diff.ci_low <= true <= c.diff.ci_high for c in cmps])
    assert 0.93 <= cover <= 0.97, cover


def _paired_truth(mu_a: float, mu_b: float, sd: float) -> float:
    """The paired model moves every seed by μ_b − μ_a: group B's mean is E ρ(a + μ_b − μ_a)."""
    return truth(mu_b, sd)


def test_detectable_difference_has_its_power_and_p_value_its_size():
    """With a true Δ equal to the typical smallest detectable difference, about 80 % of studies detect it;
    with no true difference, p < 0.05 in about 5 % of them."""
    same = _studies(5, 2000, [(0.4, 0.15, 5), (0.4, 0.15, 5)])
    cmps = [compare_groups("pearson", True, same[0][0][i], same[0][1][i], same[1][0][i], same[1][1][i], n_archs=N_ARCHS)
            for i in range(2000)]
    size = np.mean([c.p_value < 0.05 for c in cmps])
    assert 0.03 <= size <= 0.07, size
    assert np.mean([c.verdict == "no significant difference" for c in cmps]) == pytest.approx(1 - size)
    mde = float(np.median([c.detectable for c in cmps]))
    # find μ_b whose true difference is the MDE, then measure the power there
    mus = np.linspace(0.4, 1.2, 161)
    diffs = np.array([truth(m, 0.15, draws=100_000) for m in mus]) - truth(0.4, 0.15, draws=100_000)
    mu_b = float(np.interp(mde, diffs, mus))
    far = _studies(6, 2000, [(mu_b, 0.15, 5), (0.4, 0.15, 5)])
    power = np.mean([compare_groups("pearson", True, far[0][0][i], far[0][1][i], far[1][0][i], far[1][1][i], n_archs=N_ARCHS).p_value < 0.05
                     for i in range(2000)])
    assert 0.72 <= power <= 0.88, (mde, power)


def test_non_inferiority_gate_errs_at_most_its_level():
    """At a true drop of exactly D the gate passes in ≤ 5 % (one-sided 95 %); at no drop and a D of twice the
    detectable difference it passes nearly always."""
    mu_b = 0.5
    d = truth(mu_b, 0.15) - truth(0.4, 0.15)  # the trick (μ 0.4) is worse than the baseline by exactly d
    a, b = _studies(7, 2000, [(0.4, 0.15, 5), (mu_b, 0.15, 5)])
    gates = [non_inferiority(compare_groups("pearson", True, a[0][i], a[1][i], b[0][i], b[1][i], n_archs=N_ARCHS), d) for i in range(2000)]
    false_pass = np.mean([g.passed for g in gates])
    assert 0.03 <= false_pass <= 0.07, false_pass
    same = _studies(8, 1000, [(0.4, 0.15, 5), (0.4, 0.15, 5)])
    cmps = [compare_groups("pearson", True, same[0][0][i], same[0][1][i], same[1][0][i], same[1][1][i], n_archs=N_ARCHS) for i in range(1000)]
    margin = 2 * float(np.median([c.detectable for c in cmps]))
    assert np.mean([non_inferiority(c, margin).passed for c in cmps]) > 0.95


def test_probability_of_improvement_is_the_t_posterior():
    rng = np.random.default_rng(0)
    reps = rng.normal(0, 0.01, size=(300, 4))
    c = compare_groups("kendall_tau", True, np.array([0.40, 0.42, 0.38, 0.41]), reps,
                       np.array([0.30, 0.33, 0.29, 0.31]), rng.normal(0, 0.01, size=(300, 4)))
    assert c.verdict == "A better" and c.prob_a_better > 0.99 and c.p_value < 0.01
    flipped = compare_groups("top1_regret", False, np.array([0.40, 0.42, 0.38, 0.41]), reps,
                             np.array([0.30, 0.33, 0.29, 0.31]), rng.normal(0, 0.01, size=(300, 4)))
    assert flipped.verdict == "B better" and flipped.prob_a_better < 0.01
    # p two-sided and P(improvement) are the same t tail: P = 1 − p/2 when A's mean is higher
    assert c.prob_a_better == pytest.approx(1 - c.p_value / 2, abs=1e-12)


def test_identical_groups_paired_by_seed_are_exactly_equal():
    pts = np.array([0.3, 0.2, 0.4])
    reps = np.random.default_rng(1).normal(0.3, 0.05, size=(100, 3))
    c = compare_groups("kendall_tau", True, pts, reps, pts.copy(), reps.copy(), paired_by_seed=True)
    assert c.diff.value == 0 and c.diff.se == 0 and c.p_value == 1.0 and c.prob_a_better == 0.5
    assert non_inferiority(c, 0.01).passed and non_inferiority(c, 0.01).outcome == "not worse"
    assert not non_inferiority(c, 0.0).passed  # a tie is not shown to be above −0


def test_single_runs_say_training_noise_is_unaccounted():
    rng = np.random.default_rng(2)
    c = compare_groups("kendall_tau", True, np.array([0.3]), rng.normal(0.3, 0.03, (200, 1)),
                       np.array([0.2]), rng.normal(0.2, 0.03, (200, 1)))
    assert not c.training_noise and math.isinf(c.diff.df)


def test_worse_and_inconclusive_outcomes():
    rng = np.random.default_rng(3)
    base = np.array([0.33, 0.30, 0.35, 0.31, 0.32])
    broken = np.array([0.02, 0.01, 0.03, 0.00, 0.02])
    ra, rb = rng.normal(0, 0.02, (300, 5)), rng.normal(0, 0.02, (300, 5))
    gate = non_inferiority(compare_groups("kendall_tau", True, broken, ra, base, rb), 0.05)
    assert gate.outcome == "worse" and not gate.passed and gate.bound < -0.05
    noisy = np.array([0.46, 0.18, 0.43, 0.27, 0.32])
    gate = non_inferiority(compare_groups("kendall_tau", True, noisy, ra, base, rb), 0.02)
    assert gate.outcome == "inconclusive" and not gate.passed
    with pytest.raises(ValueError):
        non_inferiority(gate.comparison, -1.0)
    with pytest.raises(ValueError):
        group_interval(np.array([0.1, 0.2]), np.zeros((1, 2)))
