"""The power computation of a GT design (harness/metrics/power.py) on synthetic truth with known noise."""

from __future__ import annotations

import numpy as np
import pytest

from harness.metrics.power import NoiseModel, detectable_delta_tau


def _gt(n: int = 300, s: int = 8, true_sd: float = 0.03, seed_sd: float = 0.02, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.9, true_sd, n)[:, None] + rng.normal(0, seed_sd, (n, s))


def test_noise_model_recovers_the_true_and_the_seed_spread() -> None:
    m = NoiseModel.fit(_gt(n=2000))
    assert m.true_sd == pytest.approx(0.03, rel=0.08) and m.seed_sd == pytest.approx(0.02, rel=0.05)
    assert m.residuals.shape == (2000, 8) and np.allclose(m.residuals.mean(axis=1), 0)


def test_detectable_delta_shrinks_as_one_over_root_n_and_power_grows_with_delta() -> None:
    acc = _gt()
    small = detectable_delta_tau(acc, 150, 2, reps=80, at=(0.02, 0.08), seed=1)
    large = detectable_delta_tau(acc, 600, 2, reps=80, at=(0.02, 0.08), seed=1)
    assert large.detectable < small.detectable
    assert small.detectable / large.detectable == pytest.approx(2.0, rel=0.3)  # √(600/150)
    assert small.power_at[0.02] < small.power_at[0.08] and large.power_at[0.08] > 0.9
    assert 0.3 < small.attenuation < 1.3  # GT noise attenuates the observed τ difference, it does not invert it


def test_ragged_seed_counts_and_bad_input() -> None:
    acc = _gt(n=100, s=4)
    r = detectable_delta_tau(acc, 50, [4] * 10 + [1] * 40, reps=30)
    assert r.seeds == pytest.approx((40 + 40) / 50)
    with pytest.raises(ValueError, match="cannot simulate"):
        detectable_delta_tau(acc, 50, 5, reps=30)
    with pytest.raises(ValueError, match="one positive count per arch"):
        detectable_delta_tau(acc, 50, [1, 2], reps=30)
    with pytest.raises(ValueError, match="all trained"):
        NoiseModel.fit(np.full((5, 3), np.nan))


def test_gt_noise_of_a_k_seed_mean_is_s2_over_k_at_every_k() -> None:
    """Residuals are drawn with replacement: at k = S the GT still carries seed noise (s²/S), so the observed
    τ difference is attenuated there as well (drawing without replacement gave k = S no noise at all)."""
    full = detectable_delta_tau(_gt(n=400, s=4, seed_sd=0.03), 300, 4, reps=60, seed=2)
    assert full.attenuation < 0.97  # noise at k = S attenuates; without it the attenuation would be ≈ 1
