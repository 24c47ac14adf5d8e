"""Statistical power of a GT: which Kendall-τ difference between two submissions it can detect.

Why simulate on the real GT's noise instead of a formula: the seed noise of standalone training is heteroscedastic
and heavy-tailed (see ``projected_kendall_ceiling``), and τ differences of correlated predictors have no simple
closed-form variance. So the noise model is taken from a rectangular block of the real GT (every arch with all S
seeds, e.g. the 500 × 12 of ``mnist1d-w20``):

* **archs**: each simulated arch copies one real arch (drawn with replacement); its *true* accuracy is that
  arch's S-seed mean shrunk towards the grand mean so that the spread is the true-score spread,
  ``var(true) = var(seed means) − mean(seed variance) / S`` (the seed means over-disperse by their own noise);
* **GT seeds**: a k-seed GT value is the true value plus the mean of k draws *with replacement* from that
  arch's own S residuals (rescaled by √(S/(S−1)), so that one draw has the unbiased seed variance s² and a
  k-seed mean s²/k at every k): arch-specific noise, real tails. Why with replacement: k draws without
  replacement from S centred residuals have variance s²/k · (S − k)/(S − 1), 18 % short at k = 3 and *zero*
  at k = S (the 12-seed designs were once simulated with no GT noise at all);
* **two predictors** A and B on the normal-score scale of the truth ``z``: ``p = a·z + √(1−a²)·e`` with latent
  validities ``a_A = sin(π τ_A / 2)``, ``a_B = sin(π (τ_A − δ) / 2)`` (Greiner) and errors correlated so that
  ``corr(p_A, p_B) = ρ`` (two submissions of similar methods agree with each other much more than with the GT).

The test is the paired comparison of τ(p_A, GT) − τ(p_B, GT) on the same archs, two-sided at level α, with the
null spread taken from simulations at δ = 0 (an oracle for what ``nas-harness compare``'s paired bootstrap
estimates). The *detectable Δτ* is the smallest difference of expected GT-measured τ found with probability
``power``: ``(z_{1−α/2} + z_{power}) · SD(Δτ̂)``, reported on the scale a leaderboard shows (τ against the
noisy GT; the true-scale δ behind it is larger by the attenuation the GT noise causes, also reported).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class NoiseModel:
    """Seed-noise model fitted on a rectangular block of a GT (n archs × S seeds, all finite)."""

    mean: np.ndarray  # (n,) seed means
    residuals: np.ndarray  # (n, S) unbiased residuals of each arch's seeds around its mean
    true_sd: float  # SD of the true (infinite-seed) accuracy across archs
    seed_sd: float  # root mean seed variance

    @classmethod
    def fit(cls, acc: np.ndarray) -> NoiseModel:
        a = np.asarray(acc, dtype=np.float64)
        if a.ndim != 2 or a.shape[1] < 2 or a.shape[0] < 3 or not np.isfinite(a).all():
            raise ValueError("the noise model needs ≥ 3 archs × ≥ 2 seeds, all trained")
        s = a.shape[1]
        m = a.mean(axis=1)
        res = (a - m[:, None]) * math.sqrt(s / (s - 1))
        seed_var = a.var(axis=1, ddof=1).mean()
        true_var = max(m.var(ddof=1) - seed_var / s, 1e-12)
        return cls(mean=m, residuals=res, true_sd=math.sqrt(true_var), seed_sd=math.sqrt(seed_var))


@dataclass(frozen=True)
class PowerResult:
    """Detectable Δτ and the figures behind it, for one GT design."""

    n_archs: int
    seeds: float  # seeds per arch (mean when ragged)
    rho: float
    tau_a: float
    sd_delta: float  # SD of the observed τ difference under the null
    attenuation: float  # observed Δτ per unit of true-scale Δτ
    detectable: float  # observed-scale Δτ found with the requested power
    detectable_true: float  # the same on the true-accuracy scale
    power_at: dict[float, float]  # observed-scale Δτ -> power
    reps: int

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _normal_scores(x: np.ndarray) -> np.ndarray:
    r = stats.rankdata(x)
    return stats.norm.ppf(r / (len(x) + 1))


def _predictors(z: np.ndarray, a: float, b: float, rho: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    ea, eb = math.sqrt(max(1 - a * a, 0.0)), math.sqrt(max(1 - b * b, 0.0))
    c = 0.0 if ea * eb == 0 else (rho - a * b) / (ea * eb)
    if not -1.0 <= c <= 1.0:
        raise ValueError(f"predictors of validity {a:.3f} and {b:.3f} cannot correlate at ρ = {rho}")
    u = rng.standard_normal(len(z))
    v = c * u + math.sqrt(1 - c * c) * rng.standard_normal(len(z))
    return a * z + ea * u, b * z + eb * v


def _simulate(model: NoiseModel, seeds: np.ndarray, tau_a: float, delta_true: float, rho: float, reps: int,
              rng: np.random.Generator) -> np.ndarray:
    """Observed τ(A, GT) − τ(B, GT) over ``reps`` simulated benchmarks (one per rep)."""
    n = len(seeds)
    s_max = model.residuals.shape[1]
    if seeds.max() > s_max:
        raise ValueError(f"the noise model has {s_max} seeds; cannot simulate {int(seeds.max())}")
    a = math.sin(math.pi * tau_a / 2)
    b = math.sin(math.pi * (tau_a - delta_true) / 2)
    grand = model.mean.mean()
    shrink = model.true_sd / max(model.mean.std(ddof=1), 1e-12)
    out = np.empty(reps)
    for r in range(reps):
        src = rng.integers(0, len(model.mean), n)
        true = grand + (model.mean[src] - grand) * shrink
        draws = rng.integers(0, s_max, size=(n, s_max))  # with replacement: each k-mean has variance s²/k
        res = np.take_along_axis(model.residuals[src], draws, axis=1)
        take = np.arange(s_max)[None, :] < seeds[:, None]
        gt = true + (res * take).sum(axis=1) / seeds
        pa, pb = _predictors(_normal_scores(true), a, b, rho, rng)
        out[r] = stats.kendalltau(pa, gt).statistic - stats.kendalltau(pb, gt).statistic
    return out


def detectable_delta_tau(
    acc_full: np.ndarray,
    n_archs: int,
    seeds: int | Sequence[int],
    *,
    rho: float = 0.8,
    tau_a: float = 0.45,
    alpha: float = 0.05,
    power: float = 0.8,
    reps: int = 300,
    at: Sequence[float] = (0.03,),
    seed: int = 0,
) -> PowerResult:
    """The Δτ a GT of ``n_archs`` archs per split with ``seeds`` seeds each (an int, or one count per arch) detects.

    ``acc_full`` is the rectangular block of the real GT the noise is taken from. ``tau_a`` is the better
    predictor's τ against the true accuracy, ``rho`` the correlation of the two predictors. ``at`` lists
    observed-scale differences whose power is reported as well (normal approximation with the simulated spread).
    """
    if not 0 < alpha < 1 or not 0 < power < 1 or n_archs < 3 or reps < 20:
        raise ValueError("need 0 < alpha, power < 1, n_archs ≥ 3 and reps ≥ 20")
    model = NoiseModel.fit(acc_full)
    k = np.full(n_archs, int(seeds)) if np.isscalar(seeds) else np.asarray(list(seeds), dtype=np.int64)
    if k.shape != (n_archs,) or k.min() < 1:
        raise ValueError("seeds must be a positive int or one positive count per arch")
    rng = np.random.default_rng(seed)
    null = _simulate(model, k, tau_a, 0.0, rho, reps, rng)
    probe = 0.05
    alt = _simulate(model, k, tau_a, probe, rho, reps, rng)
    sd = float(null.std(ddof=1))
    att = float((alt.mean() - null.mean()) / probe)
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    detect = (za + zb) * sd
    power_at = {float(d): float(stats.norm.cdf(d / sd - za) + stats.norm.cdf(-d / sd - za)) for d in at}
    return PowerResult(n_archs=n_archs, seeds=float(k.mean()), rho=rho, tau_a=tau_a, sd_delta=sd, attenuation=att,
                       detectable=float(detect), detectable_true=float(detect / att) if att > 0 else math.inf,
                       power_at=power_at, reps=reps)
