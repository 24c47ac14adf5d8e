"""What every metric file builds on: the declaration :class:`Metric`, the prepared arrays, and the resample context.

A metric is declared once, in the file named by what it computes (:mod:`~harness.metrics.correlation`,
:mod:`~harness.metrics.topk`, :mod:`~harness.metrics.complexity`), as a :class:`Metric` with two kernels:

* ``point(prep) -> float``: the exact value on the given archs (None: the resampled kernel on one row of ones);
* ``resampled(ctx) -> (B,)``: the same statistic for each of B rows of integer multiplicities ``ctx.w`` (B × n),
  where ``w[b, i]`` is how often arch i appears in bootstrap resample b. Row b is *exactly* the metric of the
  explicitly resampled arrays (``np.repeat(pred, w[b])`` …), but no resample is materialised:

  - Kendall-type statistics are quadratic forms ``wᵀ S w`` over a pair matrix S (sign products, zero diagonal),
    declared as :class:`PairKernel` s and summed for all rows and all requested kernels in one pass of float32
    BLAS products ``W @ S`` per block of columns (entries are integers < 2²⁴, so the products are exact; the row
    sums are taken in float64);
  - Spearman uses each arch's average rank inside the resample, from cumulative weights over its sort order;
  - top-K statistics use each arch's expected membership of the (tie-broken at random) top-K set.

The tests check row by row that both kernels agree on explicit resamples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Union

import numpy as np

from harness.metrics._arrays import ArrayLike, Ordering, dense_rank, expected_max_of_subset, ordering, sparse_bins

BLOCK_ELEMS = 1 << 22  # pair-matrix block: n × (BLOCK_ELEMS // n) entries (4 Mi, 4 MiB as int8)
CACHE_SIGNS_UP_TO = 3000  # keep full n × n int8 sign matrices in memory up to this n (9 MB each)
#: above this n the pair sums of a resample are linearised (Hoeffding projection, see :func:`pair_sums`)
EXACT_PAIR_SUMS_UP_TO = 2500


# ================================================================================ prepared arrays
class Prepared:
    """Validated arrays of one (pred, truth, params) triple with lazily cached sorts and ranks."""

    def __init__(self, pred: np.ndarray, truth: np.ndarray, params: np.ndarray | None) -> None:
        self.pred, self.truth, self.params = pred, truth, params
        self.n = int(pred.size)
        self._signs: dict[tuple[str, int], np.ndarray] = {}
        self._rank_cache: dict[str, np.ndarray] = {}
        self._projections: dict[tuple[str, str], tuple[np.ndarray, float]] = {}

    @cached_property
    def pred_asc(self) -> Ordering:
        return ordering(self.pred, descending=False)

    @cached_property
    def truth_asc(self) -> Ordering:
        return ordering(self.truth, descending=False)

    @cached_property
    def params_asc(self) -> Ordering:
        return ordering(self.need_params(), descending=False)

    @cached_property
    def bins(self) -> np.ndarray:
        return sparse_bins(self.truth)

    @cached_property
    def bins_asc(self) -> Ordering:
        return ordering(self.bins.astype(np.float64), descending=False)

    @cached_property
    def ratio_valid(self) -> np.ndarray:
        """Archs where the ratio pred / truth is defined (truth > 0)."""
        return self.truth > 0

    @cached_property
    def ratio(self) -> np.ndarray:
        out = np.zeros(self.n)
        ok = self.ratio_valid
        out[ok] = self.pred[ok] / self.truth[ok]
        return out

    @cached_property
    def ratio_asc(self) -> Ordering:
        return ordering(self.ratio, descending=False)

    @cached_property
    def pred_is_params(self) -> bool:
        return self.params is not None and bool(np.array_equal(self.pred, self.params))

    def need_params(self) -> np.ndarray:
        if self.params is None:
            raise ValueError("params (#params per arch) is required for the complexity metrics")
        return self.params

    def rank(self, var: str) -> np.ndarray:
        """Dense int32 ranks of 'pred', 'truth', 'params', 'bins' or 'ratio'."""
        if var not in self._rank_cache:
            source = {"pred": lambda: self.pred, "truth": lambda: self.truth, "params": self.need_params,
                      "bins": lambda: self.bins, "ratio": lambda: self.ratio}[var]()
            self._rank_cache[var] = dense_rank(source).astype(np.int32)
        return self._rank_cache[var]

    def signs(self, var: str, start: int, stop: int) -> np.ndarray:
        """int8 matrix sign(x_i − x_j) for all i and j in [start, stop)."""
        key = (var, start)
        hit = self._signs.get(key)
        if hit is not None and hit.shape[1] == stop - start:
            return hit
        r = self.rank(var)
        a, b = r[:, None], r[None, start:stop]
        out = (a > b).view(np.int8) - (a < b).view(np.int8)  # sign(r_i − r_j) without an int32 temporary
        if self.n <= CACHE_SIGNS_UP_TO:
            self._signs[key] = out
        return out


# ================================================================================ resample context
class Groups:
    """Per-row weights of the tie groups of one variable (groups in ascending order of the value).

    Group level, shape (B, G): ``gw`` = resample weight of the group, ``below`` = weight of the groups with a
    smaller value, ``above = N − below − gw`` = weight of the groups with a larger value.
    """

    def __init__(self, w: np.ndarray, o: Ordering) -> None:
        self.o = o
        self.gw = np.add.reduceat(w[:, o.order], o.starts, axis=1)
        self.below = np.cumsum(self.gw, axis=1)
        self.below -= self.gw
        self.total = w.sum(axis=1)
        self.gid = o.gid[o.inverse]  # group of each arch, original order

    @cached_property
    def above(self) -> np.ndarray:
        return self.total[:, None] - self.below - self.gw

    @cached_property
    def n_distinct(self) -> np.ndarray:
        return (self.gw > 0).sum(axis=1)

    @cached_property
    def tied_pairs(self) -> np.ndarray:
        return (np.einsum("ij,ij->i", self.gw, self.gw) - self.total) / 2.0  # Σ_g m_g (m_g − 1) / 2

    def avg_rank(self) -> np.ndarray:
        """Average 1-based rank of each arch inside the resample (scipy's 'average' method), (B, n)."""
        return self.below[:, self.gid] + (self.gw[:, self.gid] + 1.0) / 2.0

    def candidates(self, m: int, *, top: bool) -> np.ndarray:
        """Archs (original indices) that may be among the m largest (top) / smallest items in some row.

        A group can hold members only if the weight strictly before it (``above`` for top, ``below`` for
        bottom) is < m; in the sort order these groups form a prefix (top: a suffix of the ascending order),
        so only its columns need to be touched: O(B·m) instead of O(B·n).
        """
        lvl = self.above if top else self.below
        depth = int((lvl < m).sum(axis=1).max())  # most groups any row needs
        n_groups = self.o.starts.size
        if top:
            first = self.o.starts[n_groups - depth] if depth < n_groups else 0
            return self.o.order[first:]
        end = self.o.starts[depth] if depth < n_groups else self.o.order.size
        return self.o.order[:end]

    def membership(self, m: int, cols: np.ndarray, *, top: bool) -> np.ndarray:
        """P(arch among the m largest / smallest items), boundary ties broken uniformly at random; (B, cols)."""
        g = self.gid[cols]
        gw = self.gw[:, g]
        p = np.zeros_like(gw)
        np.divide(m - (self.above if top else self.below)[:, g], gw, out=p, where=gw > 0)
        return np.clip(p, 0.0, 1.0, out=p)

    def best_value(self, values_sorted_unique: np.ndarray) -> np.ndarray:
        """Largest value present (weight > 0) in each row."""
        last = self.gw.shape[1] - 1 - np.argmax(self.gw[:, ::-1] > 0, axis=1)
        return values_sorted_unique[last]


@dataclass(frozen=True)
class PairKernel:
    """A pair matrix S (from sign blocks of the named variables) whose weighted sum Σ_{i≠j} w_i w_j S_ij is needed.

    ``weights``: "w" (all archs) or "w_ratio" (archs where pred / truth is defined). ``skip``: when it holds for
    the prepared arrays the sum is known without computing it (e.g. pred = params) and is reported as zeros.
    """

    name: str
    variables: tuple[str, ...]
    matrix: Callable[[Mapping[str, np.ndarray]], np.ndarray]
    weights: str = "w"
    skip: Callable[[Prepared], bool] | None = None


class Resample:
    """The resample context a metric's resampled kernel reads: weights, tie groups and pair sums, all cached."""

    def __init__(self, prep: Prepared, w: np.ndarray, kernels: Sequence[PairKernel]) -> None:
        self.prep, self.w, self.n = prep, w, prep.n
        self.tot = w.sum(axis=1)
        self._groups: dict[str, Groups] = {}
        self.sums = pair_sums(prep, self._weights(kernels), kernels)

    def _weights(self, kernels: Sequence[PairKernel]) -> dict[str, np.ndarray]:
        return {"w": self.w, "w_ratio": self.w_ratio} if any(k.weights == "w_ratio" for k in kernels) else {"w": self.w}

    def pair_sum(self, kernel: PairKernel) -> np.ndarray:
        """The sum of one pair kernel: from the shared pass when it was declared, else computed now (and kept)."""
        if kernel.name not in self.sums:
            self.sums.update(pair_sums(self.prep, self._weights([kernel]), [kernel]))
        return self.sums[kernel.name]

    @cached_property
    def w_ratio(self) -> np.ndarray:
        return self.w * self.prep.ratio_valid

    def groups(self, var: str) -> Groups:
        """Tie groups of 'pred', 'truth', 'params', 'bins', 'ratio' (ratio weights) or 'ratio_params'."""
        if var not in self._groups:
            if var == "ratio_params":
                self._groups[var] = Groups(self.w_ratio, self.prep.params_asc)
            elif var == "ratio":
                self._groups[var] = Groups(self.w_ratio, self.prep.ratio_asc)
            else:
                self._groups[var] = Groups(self.w, getattr(self.prep, var + "_asc"))
        return self._groups[var]


def pair_sums(prep: Prepared, weights: Mapping[str, np.ndarray], kernels: Sequence[PairKernel]) -> dict[str, np.ndarray]:
    """Σ_{i≠j} w_i w_j S_ij per row for each kernel (each unordered pair counted twice).

    Up to :data:`EXACT_PAIR_SUMS_UP_TO` archs: exactly, in one blocked pass of float32 BLAS products (O(B·n²)).
    Above it: the Hoeffding projection (the linear term of the U-statistic) around the expected weights w₀
    (1, or the ratio mask), K(w) ≈ K(w₀) + 2 (w − w₀)ᵀ S w₀, whose row sums S w₀ are computed once (O(n²)) and
    then cost O(B·n) for any number of resamples. Why: the exact sums made every resample of n = 7,800 archs cost
    0.1 s, so only 102 of 1,000 were affordable (CI ends at the 2nd–3rd order statistic); the projection gives
    all of them. What is dropped is the degenerate quadratic term, whose share of a resample's variance is
    O(1/n) (≈ 0.1 % at n = 2,500), so the resampled values keep the U-statistic's influence-function variance
    (Hoeffding 1948; Efron & Tibshirani 1993, §21: the "linear bootstrap"). Tie corrections (τ_b's
    denominators) stay exact per resample.
    """
    b = next(iter(weights.values())).shape[0]
    out = {k.name: np.zeros(b) for k in kernels}
    todo = [k for k in {k.name: k for k in kernels}.values() if not (k.skip is not None and k.skip(prep))]
    if not todo:
        return out
    if prep.n > EXACT_PAIR_SUMS_UP_TO:
        proj = projections(prep, todo)
        for k in todo:
            row, total = proj[k.name]
            w = weights[k.weights]
            out[k.name] = total + 2.0 * ((w - _expected_weights(prep, k)) @ row)
        return out
    w32 = {key: weights[key].astype(np.float32) for key in {k.weights for k in todo}}
    for start, stop, blocks in _sign_blocks(prep, todo):
        for k in todo:
            ws = w32[k.weights] @ k.matrix(blocks).astype(np.float32)  # exact: integer entries < 2**24
            out[k.name] += np.einsum("ij,ij->i", ws.astype(np.float64), weights[k.weights][:, start:stop])
    return out


def _sign_blocks(prep: Prepared, kernels: Sequence[PairKernel]) -> Iterator[tuple[int, int, dict[str, np.ndarray]]]:
    """(start, stop, {variable: n × (stop − start) int8 sign block}) over column blocks of the pair matrix,
    each variable's block built once for all ``kernels``."""
    n = prep.n
    bs = max(1, min(n, BLOCK_ELEMS // n))
    names = list(dict.fromkeys(v for k in kernels for v in k.variables))
    for start in range(0, n, bs):
        stop = min(n, start + bs)
        yield start, stop, {var: prep.signs(var, start, stop) for var in names}


def _expected_weights(prep: Prepared, kernel: PairKernel) -> np.ndarray:
    return prep.ratio_valid.astype(np.float64) if kernel.weights == "w_ratio" else np.ones(prep.n)


def projections(prep: Prepared, kernels: Sequence[PairKernel]) -> dict[str, tuple[np.ndarray, float]]:
    """Per kernel, (S w₀, w₀ᵀ S w₀) at the expected weights w₀; all missing ones in one blocked O(n²) pass,
    cached on ``prep``. ``S w₀`` is each arch's (weighted) concordance count: the U-statistic's influence
    function up to scale. Integer column sums of the int8 blocks (S is symmetric, so they are the row sums)."""
    missing = [k for k in kernels if (k.name, k.weights) not in prep._projections]
    if missing:
        rows = {k.name: np.empty(prep.n) for k in missing}
        invalid = np.flatnonzero(~prep.ratio_valid)
        for start, stop, blocks in _sign_blocks(prep, missing):
            for k in missing:
                m = k.matrix(blocks)
                col = m.sum(axis=0, dtype=np.int64)
                if k.weights == "w_ratio" and invalid.size:
                    col = col - m[invalid].sum(axis=0, dtype=np.int64)
                rows[k.name][start:stop] = col
        for k in missing:
            prep._projections[(k.name, k.weights)] = (rows[k.name], float(np.dot(_expected_weights(prep, k), rows[k.name])))
    return {k.name: prep._projections[(k.name, k.weights)] for k in kernels}


# ================================================================================ shared statistics
def expected_extreme(w: np.ndarray, p: np.ndarray, v: np.ndarray, *, largest: bool) -> np.ndarray:
    """Per row, E[max (or min) of v over the selected items]; p = membership probabilities.

    Items with p = 1 are always selected; the boundary tie group (0 < p < 1) contributes a uniform random
    subset of its r = Σ p·w free slots, handled exactly by :func:`expected_max_of_subset` when its values
    differ (rare in a bootstrap: there the boundary group is usually copies of one arch).
    """
    sign = 1.0 if largest else -1.0
    x = np.broadcast_to(sign * v, w.shape)
    pos = w > 0
    full = pos & (p >= 1.0)
    bnd = pos & (p > 0.0) & (p < 1.0)
    u = np.where(full, x, -np.inf).max(axis=1)
    hi = np.where(bnd, x, -np.inf).max(axis=1)
    lo = np.where(bnd, x, np.inf).min(axis=1)
    res = np.maximum(u, hi)
    for b in np.flatnonzero((hi > lo) & (hi > u)):
        mask = bnd[b]
        r = int(np.rint((p[b, mask] * w[b, mask]).sum()))
        res[b] = expected_max_of_subset(x[b, mask], w[b, mask], r, floor=float(u[b]))
    return sign * res


def weighted_pearson(w: np.ndarray, x: np.ndarray, y: np.ndarray, degenerate: np.ndarray) -> np.ndarray:
    """Weighted Pearson r per row (x, y of shape (n,) or (B, n)); 0.0 where ``degenerate``."""
    tot = w.sum(axis=1)
    if x.ndim == 1 and y.ndim == 1:  # fixed values: five matrix-vector products (x, y centred by the caller)
        mx, my = (w @ x) / tot, (w @ y) / tot
        cov = w @ (x * y) - tot * mx * my
        vx = w @ (x * x) - tot * mx * mx
        vy = w @ (y * y) - tot * my * my
    else:
        mx = np.einsum("ij,ij->i", w, x) / tot
        my = np.einsum("ij,ij->i", w, y) / tot
        dx = x - mx[:, None]
        dy = y - my[:, None]
        cov = np.einsum("ij,ij,ij->i", w, dx, dy)
        vx = np.einsum("ij,ij,ij->i", w, dx, dx)
        vy = np.einsum("ij,ij,ij->i", w, dy, dy)
    den = np.sqrt(np.maximum(vx, 0.0) * np.maximum(vy, 0.0))
    ok = ~degenerate & (den > 0)
    r = np.zeros(w.shape[0])
    r[ok] = cov[ok] / den[ok]
    return np.clip(r, -1.0, 1.0)


def tau_b(pair_sum: np.ndarray, tot: np.ndarray, ties_x: np.ndarray, ties_y: np.ndarray) -> np.ndarray:
    """τ_b = (P − Q) / sqrt((n₀ − n₁)(n₀ − n₂)) with P − Q = ½ wᵀSw; 0.0 where a side is constant."""
    n0 = tot * (tot - 1.0) / 2.0
    den = (n0 - ties_x) * (n0 - ties_y)
    ok = den > 0
    tau = np.zeros(pair_sum.shape[0])
    tau[ok] = (pair_sum[ok] / 2.0) / np.sqrt(den[ok])
    return np.clip(tau, -1.0, 1.0)


# ================================================================================ the declaration
NeutralFn = Callable[[np.ndarray, np.ndarray], float]
"""Reference point computed per GT: f(truth, params) -> value (e.g. the CB of a size-blind ranking)."""


@dataclass(frozen=True)
class Metric:
    """One metric, declared once: everything the CLI, the app, the bootstrap and ``compare`` need to know.

    ``higher_is_better``: True / False for the ranking metrics; None for the diagnostic ones (complexity bias,
    ratio τ) whose good value is the ``neutral`` point rather than an extreme. ``neutral``: a number (the value of
    a predictor with no bias), a :data:`NeutralFn` computed per GT from (truth, params) — with its resampled form
    ``neutral_resampled`` so that ``compare`` measures the distance to the reference on the same resamples — or
    None. ``agreement``: whether the GT's split-half agreement of this metric carries information (it does not for
    the diagnostic metrics, whose seed-half value is their neutral point by symmetry). ``pair_kernels``: the O(n²)
    pair sums its resampled kernel reads (such metrics get fewer resamples above n = 2500). ``function``: the
    public ``f(pred, truth, params) -> float``. ``kind``: the file it is declared in (correlation, top-k, complexity).
    ``max_type``: the metric is an extreme over a few archs and gets no bootstrap CI.
    """

    name: str
    label: str
    description: str
    higher_is_better: bool | None
    function: Callable[..., float]
    resampled: Callable[[Resample], np.ndarray]
    point: Callable[[Prepared], float] | None = None
    neutral: Union[float, NeutralFn, None] = None
    neutral_resampled: Callable[[Resample], np.ndarray] | None = None
    needs_params: bool = False
    pair_kernels: tuple[PairKernel, ...] = ()
    unit: str = ""
    agreement: bool = True
    kind: str = ""
    #: an extreme of a few archs (top-k regret, BR@K, WR@K): the percentile bootstrap does not estimate its sampling
    #: law (harness.metrics.resampling), so no bootstrap CI is reported for it
    max_type: bool = False

    @property
    def pairwise(self) -> bool:
        return bool(self.pair_kernels)

    @property
    def neutral_per_gt(self) -> bool:
        """True when the neutral point depends on the GT (call :meth:`neutral_value`)."""
        return callable(self.neutral)

    def neutral_value(self, truth: ArrayLike | None = None, params: ArrayLike | None = None) -> float | None:
        """The neutral point: the fixed number, or the per-GT reference computed from (truth, params)."""
        if callable(self.neutral):
            if truth is None or params is None:
                return None
            return float(self.neutral(np.asarray(truth, dtype=np.float64), np.asarray(params, dtype=np.float64)))
        return None if self.neutral is None else float(self.neutral)


# ================================================================================ evaluation of declared metrics
def point_value(metric: Metric, prep: Prepared, ctx: Resample | None = None) -> float:
    """The metric's exact value: its point kernel, or its resampled kernel on one row of ones.

    ``ctx``: a one-row context of ones shared by several metrics (:func:`point_values`), so that their tie
    groups and pair sums are built once rather than per metric.
    """
    if metric.point is not None:
        return float(metric.point(prep))
    if ctx is None:
        ctx = Resample(prep, np.ones((1, prep.n)), metric.pair_kernels)
    return float(metric.resampled(ctx)[0])


def value_of(metric: Metric, pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None) -> float:
    """Validate the three arrays (rules in :func:`harness.metrics._arrays.validate`) and compute one metric."""
    from harness.metrics._arrays import validate

    p, t, c = validate(pred, truth, params, need_params=metric.needs_params)
    return point_value(metric, Prepared(p, t, c))
