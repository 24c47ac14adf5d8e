"""Board-level verdicts: Holm over all pairs keeps false differences among identical trainers at <= 5 %."""

from __future__ import annotations

import numpy as np
import pytest

from harness.verdicts.family import Evidence, family_verdicts, holm
from tests.verdict_sim import simulate

N_ARCHS, N_BOOT = 150, 200


def _boards(seed: int, n_boards: int, groups):
    rng = np.random.default_rng(seed)
    parts = [simulate(rng, 100, N_ARCHS, N_BOOT, groups) for _ in range(n_boards // 100)]
    return [[(np.concatenate([p[g][0] for p in parts]), np.concatenate([p[g][1] for p in parts]))
             for g in range(len(groups))]]


def _rows(board, i):
    return [Evidence(f"g{k}", pts[i], reps[i], tuple(range(100 * k, 100 * k + pts.shape[1])))
            for k, (pts, reps) in enumerate(board)]


def test_identical_trainers_are_rarely_split():
    """6 identical trainers × 5 seeds: some pair is called different in <= 5 % of boards (uncorrected: far more)."""
    n_boards = 400
    board, = _boards(11, n_boards, [(0.4, 0.15, 5)] * 6)
    results = [family_verdicts(_rows(board, i), "pearson", True, n_archs=N_ARCHS) for i in range(n_boards)]
    assert all(r.n_pairs == 15 for r in results)
    fwer = np.mean([r.any_different() for r in results])
    assert fwer <= 0.05, fwer
    # without the correction, at least one of the 15 raw p-values is below 0.05 in a third of the boards
    uncorrected = np.mean([min(r.raw_pairs.values()) < 0.05 for r in results])
    assert uncorrected > 0.2, uncorrected
    ties = np.mean([all(v.tied_with_leader for v in r.rows.values()) for r in results])
    assert ties == pytest.approx(1.0 - np.mean([any(not v.tied_with_leader for v in r.rows.values()) for r in results]))


def test_a_clearly_better_trainer_leads_alone():
    board, = _boards(12, 100, [(1.2, 0.05, 5), (0.4, 0.05, 5), (0.42, 0.05, 5)])
    r = family_verdicts(_rows(board, 0), "pearson", True, n_archs=N_ARCHS)
    assert r.leader == "g0"
    assert r.rows["g0"].tied_with_leader is True
    assert r.rows["g1"].tied_with_leader is False and r.rows["g2"].tied_with_leader is False
    assert r.rows["g1"].p_vs_leader_holm >= r.rows["g1"].p_vs_leader


def test_rows_without_noise_stay_out_and_lower_is_better():
    rng = np.random.default_rng(0)
    rows = [Evidence("a", np.array([1.0, 1.1, 0.9]), None), Evidence("b", np.array([3.0, 3.2, 2.9]), None),
            Evidence("lone", np.array([0.5]), None), Evidence("nan", np.array([np.nan, 1.0]), rng.normal(size=(10, 2)))]
    r = family_verdicts(rows, "top1_regret", False)
    assert r.leader == "a" and r.n_pairs == 1
    assert r.rows["lone"].tied_with_leader is None and r.rows["nan"].tied_with_leader is None
    assert r.rows["b"].tied_with_leader is False


def test_holm_matches_its_definition():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04 -> 0.02, 0.03, 0.06, 0.06 (monotone)
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([]).size == 0
