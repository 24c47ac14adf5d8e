"""Seed groups scored by Kendall τ on many GT archs, vectorised over thousands of simulated studies.

Why a second simulator (beside :mod:`tests.verdict_sim`'s Pearson): the intervals failed where Kendall τ on the
default benchmark's 1,300 dev archs and 3 seeds put them (Welch–Satterthwaite df from a noisy s²), so the
coverage test simulates exactly that. Model as in :mod:`tests.verdict_sim`: seed s predicts
``x = a_s·y + G·u + e`` (a_s ~ N(μ, sd²) the seed's skill, u an arch effect shared by the seeds, e per-seed
noise); the population τ of a seed is (2/π)·arcsin ρ(a_s) (Greiner), the estimand E_a τ(a).

Speed: each seed's per-arch concordance counts k_i = Σ_j sign(x_i − x_j)·sign(y_i − y_j) come from one
Fenwick-tree sweep in x order, vectorised over all rows (O(n log n) numpy calls of the row count), which gives
the τ point value (Σ k / n(n − 1)) and the influence function of the U-statistic (2 k_i / n(n − 1)), whose
cross-products are the arch-sampling covariance of the seeds (the exact bootstrap needs B·n² per seed).
"""

from __future__ import annotations

import numpy as np

G = 0.6


def tau_of(a: np.ndarray) -> np.ndarray:
    """Population Kendall τ of a seed with skill a (Greiner: (2/π)·arcsin of the Pearson ρ)."""
    return 2.0 / np.pi * np.arcsin(a / np.sqrt(a * a + G * G + 1.0))


def truth(mu: float, sd: float, draws: int = 2_000_000) -> float:
    """E_a τ(a), a ~ N(μ, sd²), by Monte Carlo (error ~1e-5)."""
    return float(tau_of(mu + sd * np.random.default_rng(12345).normal(size=draws)).mean())


def concordance(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Rows (R, n) of continuous values (no ties) -> k (R, n), k_i = Σ_j sign(x_i − x_j)·sign(y_i − y_j)."""
    r, n = x.shape
    ox = np.argsort(x, axis=1)
    rx = np.argsort(ox, axis=1)
    ry = np.argsort(np.argsort(y, axis=1), axis=1)
    tree = np.zeros((r, n + 1), np.int32)
    low = np.zeros((r, n), np.int64)  # #j with x_j < x_i and y_j < y_i
    rows = np.arange(r)
    for t in range(n):
        i = ox[:, t]
        j = ry[rows, i]
        acc = np.zeros(r, np.int64)
        q = j.copy()
        while (m := q > 0).any():
            acc[m] += tree[rows[m], q[m]]
            q[m] -= q[m] & -q[m]
        low[rows, i] = acc
        q = j + 1
        while (m := q <= n).any():
            tree[rows[m], q[m]] += 1
            q[m] += q[m] & -q[m]
    concordant = 2 * low + (n - 1) - rx - ry
    return 2 * concordant - (n - 1)


def simulate(rng: np.random.Generator, c: int, n: int, groups: list[tuple[float, float, int]]
             ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``c`` studies of several groups (μ, sd, S) on the same n archs: per group points (c, S), the arch
    covariance of all seeds of all groups' columns is returned per group pair via the influence functions.

    Returns per group (points (c, S), influence (c, S, n) centred and scaled so that
    ``einsum('csn,ctn->cst')`` is the arch-sampling covariance, skills a (c, S)).
    """
    y, u = rng.normal(size=(c, n)), rng.normal(size=(c, n))
    out = []
    for mu, sd, s in groups:
        a = mu + sd * rng.normal(size=(c, s))
        x = a[..., None] * y[:, None] + G * u[:, None] + rng.normal(size=(c, s, n))
        k = concordance(x.reshape(c * s, n), np.repeat(y, s, axis=0)).reshape(c, s, n).astype(np.float64)
        pts = k.sum(-1) / (n * (n - 1.0))
        infl = 2.0 * k / (n * (n - 1.0))
        infl -= infl.mean(-1, keepdims=True)
        out.append((pts, infl, a))
    return out


def replicates_with_cov(cov: np.ndarray) -> np.ndarray:
    """A (2k, k) replicate matrix whose sample covariance is exactly ``cov`` (the verdict API takes replicates):
    ± the rows of the symmetric square root, scaled for ``np.cov``'s n − 1."""
    vals, vecs = np.linalg.eigh(cov)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    return np.vstack([root.T, -root.T]) * np.sqrt((2 * cov.shape[0] - 1) / 2.0)
