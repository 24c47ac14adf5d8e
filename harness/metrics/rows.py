"""The correlation metrics of many (pred, truth) row pairs at once: Pearson, Spearman, Kendall τ_b, sparse τ.

Why: the GT's split-half agreement scores every metric on hundreds of seed-half pairs (462 for 12 seeds, both
ways); one scipy call per pair and metric spent most of a scoring run's time in call overhead. Here each metric
is computed for all rows in a few vectorised numpy passes, with the same conventions as
:mod:`harness.metrics.correlation` (average ranks; τ_b's tie corrections; a constant side gives 0.0).

Kendall τ_b counts discordant pairs as the inversions of y after sorting each row by (x, y), by a bottom-up merge
sort vectorised over rows and blocks: at each of the ⌈log₂ n⌉ levels, every element of a right block counts the
elements of its left block that are greater (one ``searchsorted`` over row- and block-offset keys), then the two
blocks are merged (one sort). O(R·n log² n) numpy work, no Python loop over rows (Knight 1966's algorithm, as
scipy's ``kendalltau`` uses per row).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def _constant(x: np.ndarray) -> np.ndarray:
    return (x == x[:, :1]).all(axis=1)


def pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair; 0.0 where a side is constant."""
    dx = x - x.mean(axis=1, keepdims=True)
    dy = y - y.mean(axis=1, keepdims=True)
    den = np.sqrt((dx * dx).sum(axis=1) * (dy * dy).sum(axis=1))
    r = np.zeros(x.shape[0])
    ok = (den > 0) & ~_constant(x) & ~_constant(y)
    r[ok] = (dx * dy).sum(axis=1)[ok] / den[ok]
    return np.clip(r, -1.0, 1.0)


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman ρ (Pearson r of average ranks) of each row pair; 0.0 where a side is constant."""
    return pearson_rows(rankdata(x, axis=1), rankdata(y, axis=1))


def _tied_pairs(r: np.ndarray) -> np.ndarray:
    """Σ t(t − 1)/2 over the tie groups of each row of dense ranks r (R, n), values in [0, n)."""
    rows, n = r.shape
    counts = np.bincount((np.arange(rows)[:, None] * n + r).ravel(), minlength=rows * n).reshape(rows, n)
    counts = counts.astype(np.float64)
    return (counts * (counts - 1.0) / 2.0).sum(axis=1)


def _dense(v: np.ndarray) -> np.ndarray:
    return (rankdata(v, axis=1, method="dense") - 1).astype(np.int64)


def _inversions(v: np.ndarray) -> np.ndarray:
    """#pairs i < j with v_i > v_j in each row of non-negative ints v (R, n) (strict: equal values are no inversion)."""
    rows, n = v.shape
    width = 1
    while width < n:
        width *= 2
    pad = np.full((rows, width), np.iinfo(np.int64).max // 4, dtype=np.int64)  # padding sorts last, adds nothing
    pad[:, :n] = v
    big = int(v.max(initial=0)) + 2
    count = np.zeros(rows, dtype=np.int64)
    size = 1
    while size < width:
        blocks = pad.reshape(rows, width // (2 * size), 2, size)
        left, right = blocks[:, :, 0, :], blocks[:, :, 1, :]  # each already sorted
        nb = left.shape[1]
        offset = (np.arange(rows)[:, None] * nb + np.arange(nb)[None, :]) * big  # row and block keys
        real_left = np.minimum(left, big - 1) + offset[..., None]
        real_right = np.minimum(right, big - 1) + offset[..., None]
        keys = real_left.ravel()  # globally sorted: rows, then blocks, then values
        # elements of the left block greater than r: (end of the block) − (position of the first > r)
        first_greater = np.searchsorted(keys, real_right.ravel(), side="right").reshape(rows, nb, size)
        block_end = ((np.arange(rows)[:, None] * nb + np.arange(nb)[None, :]) + 1) * size
        greater = block_end[..., None] - first_greater
        valid = right < big - 1  # padded right elements count nothing (pads are a suffix: never left of a real one)
        count += np.where(valid, greater, 0).sum(axis=(1, 2))
        pad = np.sort(blocks.reshape(rows, nb, 2 * size), axis=2).reshape(rows, width)
        size *= 2
    return count


def kendall_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall τ_b of each row pair (scipy's ``kendalltau(variant='b')`` per row); 0.0 where a side is constant."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    rows, n = x.shape
    rx, ry = _dense(x), _dense(y)
    order = np.argsort(rx * n + ry, axis=1, kind="stable")  # by x, ties in x by y: those add no inversion
    ys = np.take_along_axis(ry, order, axis=1)
    dis = _inversions(ys)
    xtie, ytie = _tied_pairs(rx), _tied_pairs(ry)
    both = _tied_pairs(_dense(rx * n + ry))
    tot = n * (n - 1) / 2.0
    con_minus_dis = tot - xtie - ytie + both - 2.0 * dis
    den = (tot - xtie) * (tot - ytie)
    tau = np.zeros(rows)
    ok = den > 0
    tau[ok] = con_minus_dis[ok] / np.sqrt(den[ok])
    return np.clip(tau, -1.0, 1.0)
