"""Array building blocks of :mod:`harness.metrics`: validation, tie groups, pair counting, order statistics.

Everything here is a pure function on numpy arrays. Nothing in this module is public API; the public
functions live in :mod:`harness.metrics` and document the definitions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import gammaln

ArrayLike = npt.ArrayLike

MIN_ARCHS = 3
"""Fewest archs any metric accepts (with 2, every correlation is ±1 and carries no information)."""

SPARSE_BIN = 0.001
"""Bin width of the sparse Kendall τ: 0.1 % accuracy, accuracies being fractions in [0, 1]."""


# ------------------------------------------------------------------------------------------ validation
def as_vector(x: ArrayLike, name: str) -> np.ndarray:
    """``x`` as a 1-D float64 array; ValueError if it is not 1-D or holds NaN / ±inf."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per arch), got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.flatnonzero(bad)
        kinds = sorted({"NaN" if np.isnan(arr[i]) else "inf" for i in where[:50]})
        raise ValueError(
            f"{name} has {where.size} non-finite value(s) ({'/'.join(kinds)}) at position(s) "
            f"{', '.join(map(str, where[:5]))}{' …' if where.size > 5 else ''}"
        )
    return arr


def validate(
    pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None, *, need_params: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Check and convert the three per-arch arrays.

    Rules: 1-D, equal lengths, at least :data:`MIN_ARCHS` archs, all values finite, ``truth`` in [0, 1]
    (accuracies as fractions, as in the GT file; percentages would silently scale the regret and the sparse
    Kendall bins by 100, so they are refused). ``params`` may be None only when ``need_params`` is False.
    """
    p = as_vector(pred, "pred")
    t = as_vector(truth, "truth")
    if p.size != t.size:
        raise ValueError(f"pred has {p.size} values but truth has {t.size}; they must describe the same archs")
    c = None
    if params is not None:
        c = as_vector(params, "params")
        if c.size != p.size:
            raise ValueError(f"params has {c.size} values but pred has {p.size}; they must describe the same archs")
    elif need_params:
        raise ValueError("params (#params per arch) is required for the complexity metrics")
    if p.size < MIN_ARCHS:
        raise ValueError(f"need at least {MIN_ARCHS} archs to compute metrics, got {p.size}")
    if t.min() < 0.0 or t.max() > 1.0:
        raise ValueError(
            f"truth must be accuracies as fractions in [0, 1] (got range [{t.min():g}, {t.max():g}]); "
            "divide percentages by 100"
        )
    return p, t, c


def sparse_bins(truth: np.ndarray) -> np.ndarray:
    """Bin index of each accuracy at :data:`SPARSE_BIN`: ``floor(truth / 0.001 + 1/2)`` (round half up).

    A relative guard of 1e-9 bins makes exact halves (e.g. 0.7235 from 1447/2000) round up regardless of
    the binary representation.
    """
    return np.floor(truth / SPARSE_BIN + 0.5 + 1e-9).astype(np.int64)


def dense_rank(x: np.ndarray) -> np.ndarray:
    """Dense rank 0..(#distinct − 1) of each value, ascending; equal values share a rank."""
    return np.unique(x, return_inverse=True)[1].astype(np.int64).reshape(-1)


def is_constant(x: np.ndarray) -> bool:
    return bool(x.size == 0 or np.all(x == x[0]))


# ------------------------------------------------------------------------------------------ tie groups
@dataclass(frozen=True)
class Ordering:
    """A stable sort of one variable and its tie groups (runs of equal values in sorted order)."""

    order: np.ndarray  # positions sorted by value (descending or ascending), stable
    inverse: np.ndarray  # inverse permutation: sorted position of each arch
    starts: np.ndarray  # sorted position where each tie group starts
    gid: np.ndarray  # tie-group id of each sorted position

    @property
    def n_groups(self) -> int:
        return int(self.starts.size)


def ordering(x: np.ndarray, *, descending: bool) -> Ordering:
    order = np.argsort(-x if descending else x, kind="stable")
    xs = x[order]
    new = np.empty(xs.size, dtype=bool)
    new[:1] = True
    new[1:] = xs[1:] != xs[:-1]
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size)
    return Ordering(order=order, inverse=inverse, starts=np.flatnonzero(new), gid=np.cumsum(new) - 1)


# ------------------------------------------------------------------------------------------ pair counts
def count_inversions(a: np.ndarray) -> int:
    """Number of pairs i < j with ``a[i] > a[j]`` (strict), for non-negative integer ``a``.

    Bottom-up merge sort, each level vectorised: blocks of width w are sorted, and every element of a right
    block counts the elements of its left partner that are larger with one ``searchsorted`` on keys
    ``pair_id · M + value``. O(n log² n) in numpy, a few ms for n = 50 000.
    """
    a = np.asarray(a, dtype=np.int64)
    n = a.size
    if n < 2:
        return 0
    big = int(a.max()) + 1
    idx = np.arange(n, dtype=np.int64)
    cur = a.copy()
    total = 0
    width = 1
    while width < n:
        pair = idx // (2 * width)
        right = (idx % (2 * width)) >= width
        keys = pair * big + cur
        left_keys = keys[~right]  # globally sorted: pair ids ascend, values sorted within each block
        pr = pair[right]
        end = np.searchsorted(left_keys, (pr + 1) * big, side="left")
        le = np.searchsorted(left_keys, keys[right], side="right")
        total += int((end - le).sum())
        cur = np.sort(keys) - pair * big  # blocks keep their positions, so pair ids still line up
        width *= 2
    return total


def n_discordant(x: np.ndarray, y: np.ndarray) -> int:
    """Number of pairs with ``(x_i − x_j)(y_i − y_j) < 0`` (pairs tied in x or y are not discordant)."""
    order = np.lexsort((y, x))  # by x, ties in x by y ascending: they cannot form an inversion
    return count_inversions(dense_rank(y)[order])


def n_discordant_untied(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> int:
    """Discordant (x, y) pairs whose z values differ.

    The discordant pairs inside a tie group of z are exactly the discordant pairs of the lexicographic keys
    (z, x) and (z, y): across groups both keys are ordered by z, hence concordant.
    """
    rz, rx, ry = dense_rank(z), dense_rank(x), dense_rank(y)
    m = np.int64(max(rx.max(), ry.max()) + 1)
    return n_discordant(x, y) - n_discordant(rz * m + rx, rz * m + ry)


def n_tied_pairs(x: np.ndarray) -> int:
    """Number of unordered pairs with equal x: Σ_g m_g (m_g − 1) / 2 over the tie groups."""
    counts = np.unique(x, return_counts=True)[1].astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


# ------------------------------------------------------------------------------------------ order statistics
def expected_max_of_subset(values: np.ndarray, counts: np.ndarray, r: int, floor: float = -np.inf) -> float:
    """E[max(floor, max of a uniform random r-subset)] of the multiset {values[i] × counts[i]}.

    With the distinct values sorted descending v₁ > v₂ > … and C_j the number of items ≥ v_j (C₀ = 0),
    drawing r of the s = C_last items without replacement gives

        P(max ≤ v_j) = H(C_{j−1}),   H(c) = C(s − c, r) / C(s, r)   (0 if s − c < r),

    so P(max = v_j) = H(C_{j−1}) − H(C_j) — the hypergeometric order-statistic law (David & Nagaraja,
    *Order Statistics*, 3rd ed., 2003, §2.2 for sampling without replacement). Computed with ``gammaln``.
    """
    values = np.asarray(values, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    keep = counts > 0
    values, counts = values[keep], counts[keep]
    s = float(np.rint(counts.sum()))
    if r <= 0 or s <= 0:
        return float(floor)
    r = int(min(r, s))
    uniq, inv = np.unique(-values, return_inverse=True)  # ascending in −v = descending in v
    agg = np.bincount(inv.reshape(-1), weights=counts, minlength=uniq.size)
    cum = np.concatenate(([0.0], np.cumsum(agg)))
    h = _hyper_none(s, cum, r)
    prob = h[:-1] - h[1:]
    return float(np.sum(prob * np.maximum(floor, -uniq)))


def _hyper_none(s: float, c: np.ndarray, r: int | np.ndarray) -> np.ndarray:
    """H(c) = C(s − c, r) / C(s, r): probability that r draws from s items avoid c given items."""
    c = np.asarray(c, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    ok = (s - c) >= r
    with np.errstate(invalid="ignore"):
        logh = (
            gammaln(np.where(ok, s - c + 1, 1.0))
            - gammaln(np.where(ok, s - c - r + 1, 1.0))
            - gammaln(s + 1)
            + gammaln(s - r + 1)
        )
    return np.where(ok, np.exp(np.where(ok, logh, 0.0)), 0.0)
