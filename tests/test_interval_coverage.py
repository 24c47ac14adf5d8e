"""Coverage of the seed-group intervals where they failed: Kendall τ on 1,300 archs at 3, 5 and 10 seeds.

The simulated studies (:mod:`tests.verdict_sim_tau`) carry seed noise (each seed's skill) and arch noise (the
GT archs are a fresh sample per study, and an arch effect every seed shares) in the shares measured on the
default benchmark: a seed SD of τ ≈ 0.03 against an arch standard error ≈ 0.009. The 95 % interval must
cover the group's expected τ in 93–97 % of the studies; the tolerance is two binomial standard errors of the
observed coverage, so a rule that covers 92 % (the former Welch–Satterthwaite df at 3 seeds) fails at 3 seeds
more often than not, and one that covers 95 % passes with probability ≈ 0.98 per S. The long version, with
more studies and seed shares: ``benchmarks/interval_coverage.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.verdicts import compare_groups, group_interval_cov
from tests.verdict_sim_tau import replicates_with_cov, simulate, truth

N_ARCHS = 1300
MU, SD = 0.9, 0.10  # seed SD of τ ≈ 0.03, arch SE ≈ 0.009: the seed share of V ≈ 0.8 at S = 3


def _band(hits: np.ndarray) -> tuple[float, float, float]:
    cover = float(np.mean(hits))
    se = math.sqrt(0.95 * 0.05 / hits.size)
    return cover, 0.93 - 2 * se, 0.97 + 2 * se


@pytest.mark.parametrize(("seeds", "studies"), [(3, 1500), (5, 800), (10, 400)])
def test_group_interval_covers_expected_kendall_tau(seeds: int, studies: int) -> None:
    (pts, infl, _), = simulate(np.random.default_rng(seeds), studies, N_ARCHS, [(MU, SD, seeds)])
    cov = np.einsum("csn,ctn->cst", infl, infl)
    target = truth(MU, SD)
    ivs = [group_interval_cov(pts[i], cov[i], n_archs=N_ARCHS) for i in range(studies)]
    cover, low, high = _band(np.array([iv.ci_low <= target <= iv.ci_high for iv in ivs]))
    assert low <= cover <= high, (seeds, cover, low, high)


def test_compare_type_one_error_of_three_seed_groups() -> None:
    """Two trainers of equal skill, 3 seeds each, unpaired: ``compare`` calls a difference in 4–6 % (± 2 SE)."""
    studies = 1000
    a, b = simulate(np.random.default_rng(30), studies, N_ARCHS, [(MU, SD, 3), (MU, SD, 3)])
    infl = np.concatenate([a[1], b[1]], axis=1)
    cov = np.einsum("csn,ctn->cst", infl, infl)
    p = []
    for i in range(studies):
        # a (B, 6) replicate matrix with exactly this covariance (the verdict API takes replicates)
        reps = replicates_with_cov(cov[i])
        p.append(compare_groups("kendall_tau", True, a[0][i], reps[:, :3], b[0][i], reps[:, 3:], n_archs=N_ARCHS).p_value)
    rate = float(np.mean(np.array(p) < 0.05))
    se = math.sqrt(0.05 * 0.95 / studies)
    assert 0.04 - 2 * se <= rate <= 0.06 + 2 * se, rate

