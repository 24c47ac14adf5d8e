"""Synthetic seed groups with known truth, for the coverage tests of :mod:`harness.verdicts.stats`.

Model (all N(0, 1)): GT accuracy y_i, an arch effect u_i every seed shares (a systematic bias of the trainer),
per-(seed, arch) noise e. Seed s of a trainer predicts ``p = a_s·y + g·u + e`` with a_s ~ N(μ, sd²): the seed
moves how well the ranking tracks the GT, as training seeds do. The population Pearson r of seed s is then
ρ(a_s) = a_s / sqrt(a_s² + g² + 1), and the estimand of a group is E_a ρ(a) (by Monte Carlo with 4M draws).
Bootstrap replicates use one set of arch resamples per simulation, shared by every seed and both groups, as
:func:`harness.verdicts.groups.metric_replicates` does; Pearson is vectorised here over simulations so that
thousands of simulated studies run in seconds (the real kernels: ``benchmarks/interval_coverage.py``).
"""

from __future__ import annotations

import functools

import numpy as np

G = 0.6


def rho(a: np.ndarray) -> np.ndarray:
    return a / np.sqrt(a * a + G * G + 1.0)


@functools.lru_cache(maxsize=None)
def _z(size: int) -> np.ndarray:
    return np.random.default_rng(12345).normal(size=size)


def truth(mu: float, sd: float, draws: int = 2_000_000) -> float:
    """E_a ρ(a), a ~ N(μ, sd²), by Monte Carlo (error ~1e-5 at 2M draws: far below the intervals' widths)."""
    return float(rho(mu + sd * _z(draws)).mean())


def pearson_reps(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x (c, S, n) predictions, y (c, n) truth, w (c, B, n) resample counts -> points (c, S), reps (c, B, S)."""
    n = y.shape[-1]

    def r(sx, sy, sxx, syy, sxy, m):
        return (m * sxy - sx * sy) / np.sqrt((m * sxx - sx * sx) * (m * syy - sy * sy))

    points = r(x.sum(-1), y.sum(-1)[:, None], (x * x).sum(-1), (y * y).sum(-1)[:, None], (x * y[:, None]).sum(-1), n)
    sx = np.einsum("cbn,csn->cbs", w, x)
    sxx = np.einsum("cbn,csn->cbs", w, x * x)
    sxy = np.einsum("cbn,csn->cbs", w, x * y[:, None])
    sy = np.einsum("cbn,cn->cb", w, y)[..., None]
    syy = np.einsum("cbn,cn->cb", w, y * y)[..., None]
    return points, r(sx, sy, sxx, syy, sxy, n)


def simulate(rng: np.random.Generator, c: int, n: int, b: int, groups: list[tuple[float, float, int]],
             paired_noise: float | None = None) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``c`` simulated studies of several groups (μ, sd, S) on the same n archs and resamples.

    Returns per group (points (c, S), reps (c, B, S), per-seed population ρ (c, S)). ``paired_noise``: groups
    after the first reuse the first group's seed draws (a_s + (μ_k − μ_0)) and the share ``paired_noise`` of its
    per-arch noise, as the same training seed would (common random numbers).
    """
    y = rng.normal(size=(c, n))
    u = rng.normal(size=(c, n))
    w = rng.multinomial(n, np.full(n, 1.0 / n), size=(c, b)).astype(np.float64)
    out = []
    base_z = base_e = None
    for k, (mu, sd, s) in enumerate(groups):
        z = rng.normal(size=(c, s))
        e = rng.normal(size=(c, s, n))
        if paired_noise is not None and k > 0:
            z = base_z
            e = np.sqrt(paired_noise) * base_e + np.sqrt(1.0 - paired_noise) * e
        if k == 0:
            base_z, base_e = z, e
        a = mu + sd * z
        x = a[..., None] * y[:, None] + G * u[:, None] + e
        pts, reps = pearson_reps(x, y, w)
        out.append((pts, reps, rho(a)))
    return out
