"""Curves for the app: best GT accuracy among a predictor's top-k, and the random-search expectation."""

from __future__ import annotations

import numpy as np

from harness.metrics._arrays import ArrayLike, _hyper_none, as_vector, expected_max_of_subset, ordering


def _ks(ks: ArrayLike, n: int) -> np.ndarray:
    k = np.asarray(ks)
    if k.ndim == 0:
        k = k[None]
    if k.ndim != 1 or not np.issubdtype(k.dtype, np.number) or np.any(k != np.floor(k)):
        raise ValueError("ks must be a 1-D sequence of integers")
    k = k.astype(np.int64)
    if k.size and (k.min() < 1 or k.max() > n):
        raise ValueError(f"every k must be in [1, {n}] (the number of archs), got range [{k.min()}, {k.max()}]")
    return k


def topk_regret_curve(pred: ArrayLike, truth: ArrayLike, ks: ArrayLike) -> np.ndarray:
    """Best GT accuracy among the predicted top-k archs, for each k in ``ks`` (same unit as ``truth``).

    Without ties in pred this is the running maximum of truth in the order of decreasing pred. When the k-th
    place falls inside a tie group of pred, the value is the exact expectation over a uniformly random order
    within the group (order statistics of sampling without replacement). The regret at k is
    ``truth.max() - curve``. Plot it against :func:`random_search_expectation`.
    """
    p, t = as_vector(pred, "pred"), as_vector(truth, "truth")
    if p.size != t.size:
        raise ValueError(f"pred has {p.size} values but truth has {t.size}")
    if p.size == 0:
        raise ValueError("need at least one arch")
    k = _ks(ks, p.size)
    o = ordering(p, descending=True)
    ts = t[o.order]
    cummax = np.maximum.accumulate(ts)
    starts = o.starts
    ends = np.append(starts[1:], p.size)  # group g occupies sorted positions [starts[g], ends[g])
    out = np.empty(k.size)
    for i, kk in enumerate(k):
        g = o.gid[kk - 1]
        s0, s1 = int(starts[g]), int(ends[g])
        if kk == s1 or s1 - s0 == 1:
            out[i] = cummax[kk - 1]
        else:
            floor = cummax[s0 - 1] if s0 > 0 else -np.inf
            out[i] = expected_max_of_subset(ts[s0:s1], np.ones(s1 - s0), kk - s0, floor=float(floor))
    return out


def random_search_expectation(truth: ArrayLike, ks: ArrayLike) -> np.ndarray:
    """E[best GT accuracy among k archs drawn uniformly without replacement], for each k in ``ks``.

    Exact, by order statistics: with t_(1) ≥ … ≥ t_(n) the sorted accuracies,
    P(best = t_(j)) = C(n − j, k − 1) / C(n, k), so E = Σ_j t_(j) [H(j − 1) − H(j)] with
    H(c) = C(n − c, k) / C(n, k) (log-gamma arithmetic; no simulation). k = 1 gives the mean, k = n the max.
    """
    t = as_vector(truth, "truth")
    if t.size == 0:
        raise ValueError("need at least one arch")
    k = _ks(ks, t.size)
    ts = np.sort(t)[::-1]
    n = t.size
    c = np.arange(n + 1, dtype=np.float64)
    out = np.empty(k.size)
    rows = max(1, (1 << 21) // (n + 1))
    for start in range(0, k.size, rows):
        kk = k[start : start + rows, None]
        h = _hyper_none(float(n), c[None, :], kk)
        out[start : start + rows] = ((h[:, :-1] - h[:, 1:]) * ts[None, :]).sum(axis=1)
    return out
