"""Bootstrap over archs: percentile confidence intervals and the paired comparison of two predictors.

A resample draws n archs with replacement (uniformly, seeded ``numpy.random.default_rng(seed)``), i.e. a
multinomial vector of multiplicities w. Every statistic of a resample is computed from w without building
the resampled arrays (each metric's resampled kernel, see :mod:`harness.metrics._base`); the value is exactly the metric of the explicit
resample. Percentile interval [Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993, §13.3]:
the (1−level)/2 and (1+level)/2 quantiles (numpy's default linear interpolation) of the resampled values.

Cost: up to n = 2,500 the pairwise metrics (Kendall τ, sparse τ, ratio τ, CB) sum their pairs exactly per
resample, O(B·n²) flops as float32 BLAS products; above it, their pair sums are the U-statistic's Hoeffding
projection (see :func:`harness.metrics._base.pair_sums`), O(n²) once and O(B·n) per resample, so **every metric
uses all** ``n_boot`` **resamples at every n** (formerly 102 of 1,000 at n = 7,813, which put the CI ends at the
2nd–3rd order statistic). The rest are O(B·n).

**Max-type metrics** (:data:`NO_BOOTSTRAP_CI`: top-k regret, BR@K, WR@K): the nonparametric bootstrap is
inconsistent for a statistic that depends on the extreme of the sample (Bickel & Freedman 1981; Andrews 2000):
a resample holds the true best arch with probability 1 − (1 − 1/n)ⁿ ≈ 0.63 and the statistic jumps with it
(on NB201, BR intervals of [0.000, 0.000]). Their CIs are therefore not reported (None, shown as "—"); their
point values are, and ``compare`` / the group verdicts still use their replicates only through variances
(the seed spread dominates there), never through percentiles. No m-out-of-n bootstrap is offered: its
subsample size needs tuning per n and per metric, and a wrong one reports a confident wrong interval.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from harness.metrics._arrays import ArrayLike
from harness.metrics._base import Prepared, Resample
from harness.metrics.registry import METRICS, point_values, prepare, resolve_names

CHUNK_ELEMS = 1 << 22  # rows of the weight matrix processed at once: CHUNK_ELEMS // n
NO_BOOTSTRAP_CI: frozenset[str] = frozenset(name for name, m in METRICS.items() if m.max_type)
"""Max-type metrics: no percentile bootstrap CI (see the module docstring)."""


def pairwise_resamples(n_boot: int, n: int) -> int:  # noqa: ARG001 - kept: part of the public API
    """Number of resamples the O(n²) metrics use: all ``n_boot`` at every n (pair sums projected above 2,500)."""
    return int(n_boot)


def has_bootstrap_ci(name: str) -> bool:
    """False for the max-type metrics, whose percentile bootstrap CI is not reported."""
    return name not in NO_BOOTSTRAP_CI


def weighted_values(prep: Prepared, w: np.ndarray, names: Sequence[str], *, neutral: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """Each metric in ``names`` for every row of the multiplicity matrix ``w`` (B × n, rows summing to n).

    All pair kernels the metrics declare are summed in one shared pass. For each name in ``neutral`` whose metric
    has a per-GT neutral point, its resampled reference is returned too, under ``"NAME.neutral"``.
    """
    w = np.asarray(w, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] != prep.n:
        raise ValueError(f"weights must have shape (B, {prep.n}), got {w.shape}")
    kernels = [k for name in names for k in METRICS[name].pair_kernels]
    ctx = Resample(prep, w, kernels)
    out = {name: METRICS[name].resampled(ctx) for name in names}
    for name in neutral:
        fn = METRICS[name].neutral_resampled
        if fn is not None:
            out[f"{name}.neutral"] = fn(ctx)
    return out


def _weight_chunks(n: int, n_boot: int, seed: int, clusters: np.ndarray | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, multiplicities) chunks of the B × n resample matrix; deterministic for (n, n_boot, seed).

    ``clusters`` (n,) ids: a cluster bootstrap — each row draws as many clusters as there are, with replacement,
    and every arch of a drawn cluster enters with its cluster's count (Davison & Hinkley 1997, §3.8). Why: archs
    of one cluster (NB201 isomorphs) are one network measured several times, not independent evidence.
    """
    rng = np.random.default_rng(seed)
    rows = max(1, CHUNK_ELEMS // n)
    inverse = None
    if clusters is not None:
        _, inverse = np.unique(np.asarray(clusters), return_inverse=True)
        if inverse.size != n:
            raise ValueError(f"clusters must have one id per arch ({n}), got {inverse.size}")
    g = n if inverse is None else int(inverse.max()) + 1
    for start in range(0, n_boot, rows):
        b = min(rows, n_boot - start)
        idx = rng.integers(0, g, size=(b, g)) + (np.arange(b) * g)[:, None]
        counts = np.bincount(idx.ravel(), minlength=b * g).reshape(b, g)
        yield start, (counts if inverse is None else counts[:, inverse])


def resample_values(
    preps: Sequence[Prepared], names: Sequence[str], n_boot: int, seed: int, *, neutral: Sequence[str] = (),
    clusters: np.ndarray | None = None,
) -> list[dict[str, np.ndarray]]:
    """Per prepared triple, the value of each metric on each resample (the same resamples for all triples).

    Arrays have length ``n_boot``. ``clusters``: resample clusters of archs (:func:`_weight_chunks`). ``neutral``: metrics
    whose per-GT neutral point is resampled too (first triple only, key ``"NAME.neutral"``).
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    n = preps[0].n
    neutral = [m for m in neutral if METRICS[m].neutral_resampled is not None]
    parts: list[dict[str, list[np.ndarray]]] = [{m: [] for m in names} for _ in preps]
    parts[0].update({f"{m}.neutral": [] for m in neutral})
    for _, w in _weight_chunks(n, n_boot, seed, clusters):
        for i, (prep, part) in enumerate(zip(preps, parts)):
            vals = weighted_values(prep, w, names, neutral=neutral if i == 0 else ())
            for m, v in vals.items():
                part[m].append(v)
    return [{m: np.concatenate(v) for m, v in part.items()} for part in parts]


def _percentile(values: np.ndarray, level: float) -> tuple[float, float]:
    lo, hi = np.quantile(values, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return float(lo), float(hi)


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")


def bootstrap_ci(
    pred: ArrayLike,
    truth: ArrayLike,
    params: ArrayLike | None = None,
    names: Iterable[str] | str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    clusters: ArrayLike | None = None,
) -> dict[str, tuple[float | None, float | None]]:
    """Percentile bootstrap CI of each metric, resampling archs with replacement.

    ``clusters``: one id per arch to resample clusters instead of archs (NB201's isomorphism classes).
    Returns ``{name: (low, high)}``, ``(None, None)`` for the max-type metrics (:data:`NO_BOOTSTRAP_CI`).
    Reproducible: the same (n, n_boot, seed) gives the same resamples. Like any percentile
    interval, it may not contain the point value of a strongly biased statistic.
    """
    _check_level(level)
    names = resolve_names(names)
    prep = prepare(pred, truth, params, names)
    vals = resample_values([prep], names, n_boot, seed, clusters=None if clusters is None else np.asarray(clusters))[0]
    return {m: percentile_ci(m, vals[m], level) for m in names}


def percentile_ci(name: str, values: np.ndarray, level: float) -> tuple[float | None, float | None]:
    """The percentile interval of metric ``name``'s resampled values, or (None, None) for a max-type metric."""
    return _percentile(values, level) if has_bootstrap_ci(name) else (None, None)


def paired_bootstrap(
    pred_a: ArrayLike,
    pred_b: ArrayLike,
    truth: ArrayLike,
    params: ArrayLike | None,
    metric: str,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, object]:
    """Is predictor a better than b on ``metric``? Paired bootstrap over the same archs.

    Both predictors are scored on the same resamples; d* = m(a) − m(b) per resample. Returns a dict with
    ``metric``, ``value_a``, ``value_b``, ``diff`` (= value_a − value_b), ``ci_low`` / ``ci_high`` (percentile
    interval of d* at ``level``), ``p_value`` (two-sided: min(1, 2·min(#{d* ≤ 0}+1, #{d* ≥ 0}+1)/(B+1))),
    ``neutral``, ``verdict`` ("a better", "b better" or "no significant difference": significant when the interval excludes 0,
    the direction following ``higher_is_better``), ``higher_is_better``, ``compared``, ``n``, ``n_boot``,
    ``level``.

    For the diagnostic metrics (complexity bias, ratio τ; no better direction) the comparison is on the
    distance from the neutral point, |m − ν| (``compared`` says so), and lower distance is better. ν is the
    metric's declared neutral value, or its per-GT reference (CB: the size-blind C/(C+D) of GT vs #params),
    recomputed on each resample so that both predictors are measured against the reference of the same archs;
    ``neutral`` reports the full-sample ν.
    """
    _check_level(level)
    name = resolve_names([metric])[0]
    spec = METRICS[name]
    pa = prepare(pred_a, truth, params, [name])
    pb = prepare(pred_b, truth, params, [name])
    if pa.n != pb.n:
        raise ValueError(f"pred_a has {pa.n} values but pred_b has {pb.n}; compare on the same archs")
    va, vb = point_values(pa, [name])[name], point_values(pb, [name])[name]
    boot = resample_values([pa, pb], [name], n_boot, seed, neutral=[name] if spec.neutral_per_gt else ())
    ra, rb = boot[0][name], boot[1][name]
    nu: float | None = None
    if spec.higher_is_better is None:
        nu = spec.neutral_value(pa.truth, pa.params)
        nu = 0.0 if nu is None else nu
        nu_star = boot[0].get(f"{name}.neutral", np.full(ra.shape, nu))
        d, dstar = abs(va - nu) - abs(vb - nu), np.abs(ra - nu_star) - np.abs(rb - nu_star)
        what = "the size-blind reference" if spec.neutral_per_gt else "the neutral value"
        higher_is_better, compared = False, f"distance from {what} {nu:.3f}"
    else:
        d, dstar = va - vb, ra - rb
        higher_is_better, compared = spec.higher_is_better, "value"
    lo, hi = _percentile(dstar, level)
    b = dstar.size
    p = min(1.0, 2.0 * min((np.sum(dstar <= 0) + 1) / (b + 1), (np.sum(dstar >= 0) + 1) / (b + 1)))
    if lo > 0:
        verdict = "a better" if higher_is_better else "b better"
    elif hi < 0:
        verdict = "b better" if higher_is_better else "a better"
    else:
        verdict = "no significant difference"
    return {
        "metric": name,
        "value_a": va,
        "value_b": vb,
        "diff": float(d),
        "ci_low": lo,
        "ci_high": hi,
        "p_value": float(p),
        "verdict": verdict,
        "higher_is_better": spec.higher_is_better,
        "compared": compared,
        "neutral": nu,
        "n": pa.n,
        "n_boot": int(b),
        "level": level,
    }
