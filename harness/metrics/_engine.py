"""The two evaluators behind every metric: exact point values, and the same statistics for many weight vectors.

* :func:`point_values` computes metrics on the given archs (scipy for the correlations, O(n log n) pair counts
  for the complexity bias, the tie-aware top-K code for the rest).
* :func:`weighted_values` computes the same statistics for B rows of integer weights ``W`` (B × n), where
  ``W[b, i]`` is how many times arch i appears in bootstrap resample b. The result of row b is *exactly* the
  metric of the explicitly resampled arrays (``np.repeat(pred, W[b])`` …), but no resample is materialised:

  - Kendall-type statistics are quadratic forms ``wᵀ S w`` over a pair matrix S (sign products, zero
    diagonal), done for all rows at once as one float32 BLAS product ``W @ S`` per block of columns (entries
    are integers < 2²⁴, so the float32 products are exact; the row sums are taken in float64);
  - Spearman uses each arch's average rank inside the resample, from cumulative weights over its sort order;
  - top-K statistics use each arch's expected membership of the (tie-broken at random) top-K set.

The tests check row by row that both evaluators agree on explicit resamples.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property

import numpy as np
from scipy import stats

from harness.metrics._core import (
    Ordering,
    dense_rank,
    expected_max_of_subset,
    is_constant,
    n_discordant_untied,
    ordering,
    sparse_bins,
)

TOP_PERCENTS: tuple[int, ...] = (1, 5, 10, 20)
REGRET_KS: tuple[int, ...] = (1, 5, 10)
BLOCK_ELEMS = 1 << 22  # pair-matrix block: n × (BLOCK_ELEMS // n) entries (4 Mi, 4 MiB as int8)
CACHE_SIGNS_UP_TO = 3000  # keep full n × n int8 sign matrices in memory up to this n (9 MB each)


def top_count(k_percent: int, n: int) -> int:
    """Size m of a top-K % set among n archs: ⌈K·n/100⌉ (integer arithmetic), at least 1."""
    return max(1, -(-int(k_percent) * int(n) // 100))


# name -> (family, argument)
FAMILY: dict[str, tuple[str, int | None]] = {
    "pearson": ("pearson", None),
    "kendall_tau": ("kendall", None),
    "spearman": ("spearman", None),
    "sparse_kendall_tau": ("sparse", None),
    **{f"p_at_top_{k}": ("p_top", k) for k in TOP_PERCENTS},
    **{f"p_at_bottom_{k}": ("p_bottom", k) for k in TOP_PERCENTS},
    **{f"br_at_{k}": ("br", k) for k in TOP_PERCENTS},
    **{f"wr_at_{k}": ("wr", k) for k in TOP_PERCENTS},
    **{f"top{k}_regret": ("regret", k) for k in REGRET_KS},
    "complexity_bias": ("cb", None),
    "ratio_params_tau": ("ratio", None),
}
PAIRWISE_FAMILIES = frozenset({"kendall", "sparse", "ratio", "cb"})  # cost O(B n²) in the bootstrap
NEEDS_PARAMS = frozenset({"cb", "ratio"})


class Prepared:
    """Validated arrays of one (pred, truth, params) triple with lazily cached sorts and ranks."""

    def __init__(self, pred: np.ndarray, truth: np.ndarray, params: np.ndarray | None) -> None:
        self.pred, self.truth, self.params = pred, truth, params
        self.n = int(pred.size)
        self._signs: dict[tuple[str, int], np.ndarray] = {}
        self._rank_cache: dict[str, np.ndarray] = {}

    # orderings (tie groups) ------------------------------------------------------------------
    @cached_property
    def pred_asc(self) -> Ordering:
        return ordering(self.pred, descending=False)

    @cached_property
    def truth_asc(self) -> Ordering:
        return ordering(self.truth, descending=False)

    @cached_property
    def params_asc(self) -> Ordering:
        return ordering(self._need_params(), descending=False)

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

    def _need_params(self) -> np.ndarray:
        if self.params is None:
            raise ValueError("params (#params per arch) is required for the complexity metrics")
        return self.params

    # dense ranks and pair signs -----------------------------------------------------------------
    def rank(self, var: str) -> np.ndarray:
        """Dense int32 ranks of 'pred', 'truth', 'params', 'bins' or 'ratio'."""
        if var not in self._rank_cache:
            source = {"pred": lambda: self.pred, "truth": lambda: self.truth, "params": self._need_params,
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
        out = np.sign(r[:, None] - r[None, start:stop]).astype(np.int8)
        if self.n <= CACHE_SIGNS_UP_TO:
            self._signs[key] = out
        return out


# ================================================================================ weighted (bootstrap)
class _Groups:
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


def _expected_extreme(w: np.ndarray, p: np.ndarray, v: np.ndarray, *, largest: bool) -> np.ndarray:
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


def _wpearson(w: np.ndarray, x: np.ndarray, y: np.ndarray, degenerate: np.ndarray) -> np.ndarray:
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


def _tau_b(pair_sum: np.ndarray, tot: np.ndarray, ties_x: np.ndarray, ties_y: np.ndarray) -> np.ndarray:
    """τ_b = (P − Q) / sqrt((n₀ − n₁)(n₀ − n₂)) with P − Q = ½ wᵀSw; 0.0 where a side is constant."""
    n0 = tot * (tot - 1.0) / 2.0
    den = (n0 - ties_x) * (n0 - ties_y)
    ok = den > 0
    tau = np.zeros(pair_sum.shape[0])
    tau[ok] = (pair_sum[ok] / 2.0) / np.sqrt(den[ok])
    return np.clip(tau, -1.0, 1.0)


# kernel: (weights key, variables, function of the sign blocks -> pair matrix block)
_Kernel = tuple[str, tuple[str, ...], Callable[[dict[str, np.ndarray]], np.ndarray]]
KERNELS: dict[str, _Kernel] = {
    "kendall": ("w", ("pred", "truth"), lambda s: s["pred"] * s["truth"]),
    "sparse": ("w", ("pred", "bins"), lambda s: s["pred"] * s["bins"]),
    "ratio": ("w_ratio", ("params", "ratio"), lambda s: s["params"] * s["ratio"]),
    # mis-ranked pairs where the lower-predicted arch has more params / mis-ranked pairs with unequal params
    "cb_num": ("w", ("pred", "truth", "params"), lambda s: ((s["pred"] * s["truth"]) < 0) & ((s["pred"] * s["params"]) < 0)),
    "cb_den": ("w", ("pred", "truth", "params"), lambda s: ((s["pred"] * s["truth"]) < 0) & (s["params"] != 0)),
}


def _pair_sums(prep: Prepared, weights: dict[str, np.ndarray], keys: Sequence[str]) -> dict[str, np.ndarray]:
    """Σ_{i≠j} w_i w_j S_ij per row for each kernel in ``keys`` (each unordered pair counted twice)."""
    n = prep.n
    bs = max(1, min(n, BLOCK_ELEMS // n))
    w32 = {k: weights[k].astype(np.float32) for k in {KERNELS[key][0] for key in keys}}
    out = {key: np.zeros(next(iter(weights.values())).shape[0]) for key in keys}
    for start in range(0, n, bs):
        stop = min(n, start + bs)
        blocks: dict[str, np.ndarray] = {}
        for key in keys:
            wkey, variables, fn = KERNELS[key]
            for var in variables:
                if var not in blocks:
                    blocks[var] = prep.signs(var, start, stop)
            ws = w32[wkey] @ fn(blocks).astype(np.float32)  # exact: integer entries < 2**24
            out[key] += np.einsum("ij,ij->i", ws.astype(np.float64), weights[wkey][:, start:stop])
    return out


def weighted_values(prep: Prepared, w: np.ndarray, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Each metric in ``names`` for every row of the multiplicity matrix ``w`` (B × n, rows summing to n)."""
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] != prep.n:
        raise ValueError(f"weights must have shape (B, {prep.n}), got {w.shape}")
    n = prep.n
    fams = {FAMILY[name][0] for name in names}
    tot = w.sum(axis=1)
    groups: dict[str, _Groups] = {}

    def g(key: str) -> _Groups:
        if key not in groups:
            if key == "ratio_params":
                groups[key] = _Groups(w_ratio, prep.params_asc)
            elif key == "ratio":
                groups[key] = _Groups(w_ratio, prep.ratio_asc)
            else:
                groups[key] = _Groups(w, getattr(prep, key + "_asc"))
        return groups[key]

    w_ratio = w * prep.ratio_valid if "ratio" in fams else w
    vals: dict[str, np.ndarray] = {}

    pair_keys = [k for k in ("kendall", "sparse", "ratio") if k in fams]
    if "cb" in fams:
        pair_keys += ["cb_den"] if prep.pred_is_params else ["cb_num", "cb_den"]
    sums = _pair_sums(prep, {"w": w, "w_ratio": w_ratio}, pair_keys) if pair_keys else {}

    for name in names:
        fam, arg = FAMILY[name]
        if fam == "pearson":
            degenerate = (g("pred").n_distinct <= 1) | (g("truth").n_distinct <= 1)
            vals[name] = _wpearson(w, prep.pred - prep.pred.mean(), prep.truth - prep.truth.mean(), degenerate)
        elif fam == "spearman":
            gp, gt = g("pred"), g("truth")
            degenerate = (gp.n_distinct <= 1) | (gt.n_distinct <= 1)
            vals[name] = _wpearson(w, gp.avg_rank(), gt.avg_rank(), degenerate)
        elif fam == "kendall":
            vals[name] = _tau_b(sums["kendall"], tot, g("pred").tied_pairs, g("truth").tied_pairs)
        elif fam == "sparse":
            vals[name] = _tau_b(sums["sparse"], tot, g("pred").tied_pairs, g("bins").tied_pairs)
        elif fam == "ratio":
            vals[name] = _tau_b(sums["ratio"], w_ratio.sum(axis=1), g("ratio_params").tied_pairs, g("ratio").tied_pairs)
        elif fam == "cb":
            den = sums["cb_den"]
            num = np.zeros_like(den) if prep.pred_is_params else sums["cb_num"]  # pred = params: never
            cb = np.full(den.shape, 0.5)
            ok = den > 0
            cb[ok] = num[ok] / den[ok]
            vals[name] = cb
        elif fam in ("p_top", "p_bottom"):
            m = top_count(arg, n)
            top = fam == "p_top"
            gp, gt = g("pred"), g("truth")
            cols = gp.candidates(m, top=top)
            vals[name] = np.einsum(
                "ij,ij,ij->i", w[:, cols], gp.membership(m, cols, top=top), gt.membership(m, cols, top=top)
            ) / m
        elif fam in ("br", "wr"):
            m = top_count(arg, n)
            gp, gt = g("pred"), g("truth")
            cols = gp.candidates(m, top=True)
            better = gt.above[:, gt.gid[cols]] / n  # fraction of archs strictly better
            vals[name] = _expected_extreme(w[:, cols], gp.membership(m, cols, top=True), better, largest=fam == "wr")
        elif fam == "regret":
            m = min(int(arg), n)
            gp, gt = g("pred"), g("truth")
            cols = gp.candidates(m, top=True)
            got = _expected_extreme(w[:, cols], gp.membership(m, cols, top=True), prep.truth[cols], largest=True)
            best = gt.best_value(prep.truth[prep.truth_asc.order[prep.truth_asc.starts]])
            vals[name] = 100.0 * np.maximum(best - got, 0.0)
        else:  # pragma: no cover - FAMILY and this dispatch are edited together
            raise AssertionError(fam)
    return vals


# ================================================================================ point values
def _scipy_or_zero(fn: Callable[..., object], x: np.ndarray, y: np.ndarray, **kw: object) -> float:
    """scipy's statistic, with 0.0 (not NaN) when either side is constant: no information, no association."""
    if is_constant(x) or is_constant(y):
        return 0.0
    return float(np.clip(fn(x, y, **kw).statistic, -1.0, 1.0))  # type: ignore[attr-defined]


def complexity_bias_exact(pred: np.ndarray, truth: np.ndarray, params: np.ndarray) -> float:
    """CB from pair counts in O(n log n) (see :func:`harness.metrics.complexity_bias` for the definition).

    Over the pairs untied in all three variables each pair either agrees in all three orders or exactly one
    variable is the odd one out, so with D*_ab the (a, b)-discordant pairs untied in the third variable,
    n_pred_odd = (D*_pt + D*_pc − D*_tc) / 2 and CB = n_pred_odd / D*_pt.
    """
    d_pt = n_discordant_untied(pred, truth, params)
    if d_pt == 0:
        return 0.5
    d_pc = n_discordant_untied(pred, params, truth)
    d_tc = n_discordant_untied(truth, params, pred)
    return float((d_pt + d_pc - d_tc) / 2 / d_pt)


def point_values(prep: Prepared, names: Sequence[str]) -> dict[str, float]:
    """Point value of each metric in ``names`` on the arrays of ``prep``."""
    p, t = prep.pred, prep.truth
    out: dict[str, float] = {}
    rest: list[str] = []
    for name in names:
        fam = FAMILY[name][0]
        if fam == "pearson":
            out[name] = _scipy_or_zero(stats.pearsonr, p, t)
        elif fam == "kendall":
            out[name] = _scipy_or_zero(stats.kendalltau, p, t, variant="b")
        elif fam == "spearman":
            out[name] = _scipy_or_zero(stats.spearmanr, p, t)
        elif fam == "sparse":
            out[name] = _scipy_or_zero(stats.kendalltau, p, prep.bins.astype(np.float64), variant="b")
        elif fam == "ratio":
            ok = prep.ratio_valid
            c = prep._need_params()
            out[name] = _scipy_or_zero(stats.kendalltau, c[ok], prep.ratio[ok], variant="b") if ok.sum() >= 2 else 0.0
        elif fam == "cb":
            out[name] = complexity_bias_exact(p, t, prep._need_params())
        else:
            rest.append(name)
    if rest:
        vals = weighted_values(prep, np.ones((1, prep.n)), rest)
        out.update({k: float(v[0]) for k, v in vals.items()})
    return {name: out[name] for name in names}

