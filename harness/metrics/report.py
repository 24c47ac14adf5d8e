"""What a scoring run stores: values with CIs, the #params baseline, the GT noise ceiling; leaderboard order."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.data.hashing import hash_arrays
from harness.errors import UnknownNameError
from harness.metrics._core import ArrayLike, as_vector
from harness.metrics._engine import point_values
from harness.metrics.point import METRICS, compute_metrics, prepare, resolve_names
from harness.metrics.resampling import _check_level, _percentile, resample_values

# All half-splits up to this many (12 seeds have 462): near a target such as τ 0.7 a 20-split mean carried a
# sampling error of about 0.005, which is the size of the question. Beyond it (14 seeds: 1,716) a seeded draw.
MAX_HALF_SPLITS = 500
_CEILING_MEMO_SIZE = 16
_ceiling_memo: dict[tuple[Any, ...], dict[str, float | None]] = {}


# ------------------------------------------------------------------------------------------ noise ceiling
def _as_acc_matrix(acc: ArrayLike) -> np.ndarray:
    a = np.asarray(acc, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"acc must be (n_archs, n_seeds), got shape {a.shape}")
    if not np.isfinite(a).all():
        bad = np.flatnonzero(~np.isfinite(a).all(axis=1))
        raise ValueError(
            f"acc has non-finite values (untrained seeds?) in {bad.size} arch row(s), first at {bad[:5].tolist()}; "
            "pass complete archs only"
        )
    return a


def half_splits(n_seeds: int, max_splits: int = MAX_HALF_SPLITS, seed: int = 0) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Balanced splits of the seeds into two halves (sizes ⌊S/2⌋ and ⌈S/2⌉), each unordered split once.

    All of them when there are at most ``max_splits``, else ``max_splits`` drawn without replacement with
    ``default_rng(seed)``. Two seeds: the single split ((0,), (1,)).
    """
    seeds = tuple(range(n_seeds))
    h = n_seeds // 2
    if n_seeds % 2 == 0:  # fix seed 0 in the first half so each unordered split appears once
        combos = [(0, *rest) for rest in itertools.combinations(seeds[1:], h - 1)]
    else:
        combos = list(itertools.combinations(seeds, h))
    if len(combos) > max_splits:
        pick = np.sort(np.random.default_rng(seed).choice(len(combos), size=max_splits, replace=False))
        combos = [combos[i] for i in pick]
    return [(a, tuple(s for s in seeds if s not in a)) for a in combos]


def noise_ceiling(
    acc: ArrayLike, params: ArrayLike | None = None, names: Iterable[str] | str | None = None, seed: int = 0
) -> dict[str, float | None]:
    """What the GT agrees with itself: each metric between two halves of the seeds.

    For a balanced split of the S seeds into halves A and B, pred = mean accuracy over the seeds of A and
    truth = mean over B; the metric is averaged over both orientations (A→B and B→A: the top-K, regret and
    complexity metrics are not symmetric) and over all half-splits, or ``MAX_HALF_SPLITS`` (500) random ones when
    there are more (seeded). With 2 seeds this is seed 0 vs seed 1, both ways.

    All metrics over all 462 splits of 12 seeds take seconds for a few hundred archs, so results are memoised
    in-process on the exact arrays: rescoring many runs against one GT computes each ceiling once.

    With one seed column the noise of the GT is unknown and every value is None — never invented.

    Interpretation: a perfect estimator of the *expected* standalone accuracy would score about this much
    against a half-seed mean; against the full S-seed mean it can score somewhat more (for Pearson's r the
    Spearman–Brown formula 2r/(1+r) gives the reliability of the full mean). So the ceiling is a conservative
    reference for "no submission can be expected to beat this by much", not a hard bound.
    """
    names = resolve_names(names)
    a = _as_acc_matrix(acc)
    if a.shape[1] < 2:
        return {m: None for m in names}
    if a.shape[0] < 3:
        raise ValueError(f"need at least 3 archs to compute metrics, got {a.shape[0]}")
    key = (hash_arrays(a), None if params is None else hash_arrays(np.asarray(params, dtype=np.float64)), tuple(names),
           seed, MAX_HALF_SPLITS)
    if key not in _ceiling_memo:
        if len(_ceiling_memo) >= _CEILING_MEMO_SIZE:
            _ceiling_memo.pop(next(iter(_ceiling_memo)))
        _ceiling_memo[key] = _split_half_means(a, params, names, seed)
    return dict(_ceiling_memo[key])


def _split_half_means(a: np.ndarray, params: ArrayLike | None, names: list[str], seed: int) -> dict[str, float | None]:
    total = dict.fromkeys(names, 0.0)
    count = 0
    for first, second in half_splits(a.shape[1], MAX_HALF_SPLITS, seed):
        ma, mb = a[:, list(first)].mean(axis=1), a[:, list(second)].mean(axis=1)
        for p, t in ((ma, mb), (mb, ma)):
            vals = compute_metrics(p, t, params, names)
            for m in names:
                total[m] += vals[m]
            count += 1
    return {m: total[m] / count for m in names}


def disjoint_subset_pairs(n_seeds: int, k: int, max_pairs: int = MAX_HALF_SPLITS, seed: int = 0) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Unordered pairs of disjoint k-seed subsets: all when there are at most ``max_pairs``, else a seeded draw.

    Two halves of an even seed count are the splits :func:`half_splits` gives, drawn the same way, so the
    ceiling measured at k = S/2 is the very value :func:`noise_ceiling` reports, not a second draw of it.
    """
    if not 1 <= k <= n_seeds // 2:
        raise ValueError(f"need 1 <= k <= {n_seeds // 2} seeds per subset for {n_seeds} seeds, got {k}")
    if 2 * k == n_seeds:
        return half_splits(n_seeds, max_pairs, seed)
    count = math.comb(n_seeds, k) * math.comb(n_seeds - k, k) // 2
    if count <= max_pairs:
        return [(a, b) for a in itertools.combinations(range(n_seeds), k)
                for b in itertools.combinations(range(n_seeds), k) if a < b and not set(a) & set(b)]
    rng = np.random.default_rng(seed)
    found: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()
    while len(found) < max_pairs:
        perm = rng.permutation(n_seeds)
        a, b = tuple(sorted(int(i) for i in perm[:k])), tuple(sorted(int(i) for i in perm[k : 2 * k]))
        found.add((min(a, b), max(a, b)))
    return sorted(found)


def _reliability_from_tau(tau: float) -> float:
    """Greiner's relation for bivariate normal ranks: latent correlation r = sin(πτ/2)."""
    return math.sin(math.pi * max(-1.0, min(1.0, tau)) / 2)


def _tau_from_reliability(r: float) -> float:
    return 2 / math.pi * math.asin(max(-1.0, min(1.0, r)))


def projected_kendall_ceiling(acc: ArrayLike, seeds_per_half: Iterable[int] = range(1, 9), seed: int = 0) -> dict[str, Any]:
    """How the Kendall-τ noise ceiling grows with seeds: measured where the seeds allow it, projected beyond.

    Why: a GT whose ceiling is too low needs more seeds, and building them costs hours; this says how many.

    *Measured*: for k = 1 .. ⌊S/2⌋ seeds per half, the mean Kendall τ between the means of two disjoint k-seed
    subsets (all subset pairs, or ``MAX_HALF_SPLITS`` seeded draws).

    *Projected*: each measured τ_k gives the reliability of a k-seed mean, R_k = sin(πτ_k/2) (Greiner), and the
    per-seed reliability it implies by Spearman–Brown, ρ_k = R_k / (k − (k−1)R_k); a k-seed mean then has
    R_k = kρ_k / (1 + (k−1)ρ_k) and two of them agree with τ = (2/π)·arcsin(R_k). Under Gaussian seed noise ρ_k is
    the same for every k. Real seed noise is not Gaussian (its size varies from arch to arch, its tails are
    heavier), the Greiner relation no longer holds exactly, and ρ_k is seen to fall as k grows. Projecting from
    single seeds alone then overstates the ceiling: on ``mnist1d-w20`` (500 archs × 12 seeds) the first 3 seeds
    project the 6+6 ceiling to 0.755 against 0.707 measured. So with two or more measured k, ρ_k = ρ∞ + c/k is
    fitted by least squares (there, the first 4, 6 and 8 seeds project 0.727, 0.714 and 0.719: still a little
    high, so read a projection as an upper estimate), and extrapolated when c > 0; when ρ_k does not fall, the
    last measured ρ is held (never extrapolate upwards). With one measured k the plain Spearman–Brown value is
    returned and ``rho_fit`` is None: read it as an optimistic estimate.

    Returns ``single_seed_tau``, ``latent_r`` (ρ_1), ``measured`` {k: τ}, ``rho_fit`` {rho_inf, c} (None when
    uncalibrated) and ``tau_by_seeds_per_half`` {k: τ} (measured values where k ≤ ⌊S/2⌋). With one seed column
    every value is None (the noise is unknown). References: Greiner (1909); Spearman (1910), Brown (1910).
    """
    from harness.metrics.point import kendall_tau

    a = _as_acc_matrix(acc)
    ks = [int(k) for k in seeds_per_half]
    n_seeds = a.shape[1]
    if n_seeds < 2:
        return {"single_seed_tau": None, "latent_r": None, "measured": {}, "rho_fit": None,
                "tau_by_seeds_per_half": dict.fromkeys(ks)}
    measured: dict[int, float] = {}
    for k in range(1, n_seeds // 2 + 1):
        pairs = disjoint_subset_pairs(n_seeds, k, max_pairs=1_000 if k == 1 else MAX_HALF_SPLITS, seed=seed)
        measured[k] = float(np.mean([kendall_tau(a[:, list(x)].mean(axis=1), a[:, list(y)].mean(axis=1)) for x, y in pairs]))
    rho = {k: (r / (k - (k - 1) * r)) for k, r in ((k, _reliability_from_tau(t)) for k, t in measured.items())}
    last = max(measured)
    fit = None
    if len(rho) >= 2:
        x = np.array([1.0 / k for k in rho])
        y = np.array(list(rho.values()))
        c, rho_inf = (float(v) for v in np.polyfit(x, y, 1))
        fit = {"rho_inf": rho_inf, "c": c}

    def rho_at(k: int) -> float:
        if fit is not None and fit["c"] > 0:
            return fit["rho_inf"] + fit["c"] / k
        return rho[last]

    projected = {}
    for k in ks:
        if k in measured:
            projected[k] = measured[k]
        else:
            r = rho_at(k)
            projected[k] = _tau_from_reliability(k * r / (1 + (k - 1) * r))
    return {"single_seed_tau": measured[1], "latent_r": rho[1], "measured": measured, "rho_fit": fit,
            "tau_by_seeds_per_half": projected}


# ------------------------------------------------------------------------------------------ report
@dataclass(frozen=True)
class Estimate:
    """A point value with its bootstrap interval (None when no bootstrap was run)."""

    value: float
    ci_low: float | None = None
    ci_high: float | None = None

    def to_dict(self) -> dict[str, float | None]:
        return {"value": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | float) -> Estimate:
        if not isinstance(d, Mapping):
            return cls(float(d))
        return cls(_num(d.get("value")), _num(d.get("ci_low")), _num(d.get("ci_high")))  # type: ignore[arg-type]


def _num(x: Any) -> float | None:
    return None if x is None else float(x)


@dataclass
class MetricReport:
    """Everything a scoring run stores about one GT split. JSON shape of :meth:`to_dict`::

        {"n": int, "n_seeds": int, "n_boot": int, "level": float, "seed": int,
         "metrics":  {name: {"value": float, "ci_low": float|None, "ci_high": float|None}},
         "baseline": {name: {"value": ..., "ci_low": ..., "ci_high": ...}},   # the #params proxy
         "noise_ceiling": {name: float|None}}                                 # None: one seed column
    """

    n: int
    metrics: dict[str, Estimate]
    baseline: dict[str, Estimate]
    noise_ceiling: dict[str, float | None]
    n_seeds: int = 1
    n_boot: int = 0
    level: float = 0.95
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def value(self, name: str) -> float:
        return self.metrics[name].value

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": int(self.n),
            "n_seeds": int(self.n_seeds),
            "n_boot": int(self.n_boot),
            "level": float(self.level),
            "seed": int(self.seed),
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            "baseline": {k: v.to_dict() for k, v in self.baseline.items()},
            "noise_ceiling": {k: (None if v is None else float(v)) for k, v in self.noise_ceiling.items()},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MetricReport:
        return cls(
            n=int(d["n"]),
            metrics={k: Estimate.from_dict(v) for k, v in d.get("metrics", {}).items()},
            baseline={k: Estimate.from_dict(v) for k, v in d.get("baseline", {}).items()},
            noise_ceiling={k: _num(v) for k, v in d.get("noise_ceiling", {}).items()},
            n_seeds=int(d.get("n_seeds", 1)),
            n_boot=int(d.get("n_boot", 0)),
            level=float(d.get("level", 0.95)),
            seed=int(d.get("seed", 0)),
        )


def evaluate_predictions(
    pred: ArrayLike,
    acc: ArrayLike,
    params: ArrayLike,
    *,
    names: Iterable[str] | str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    baseline_ci: bool = True,
) -> MetricReport:
    """Values, bootstrap CIs, #params baseline (with CIs on the same resamples) and noise ceiling.

    ``acc``: standalone accuracies (n, seeds) — or (n,) for one seed — of the same archs as ``pred``; truth is
    the seed mean. ``n_boot=0`` skips the bootstrap (CIs None). ``baseline_ci=False`` skips the baseline's CIs.
    """
    _check_level(level)
    names = resolve_names(names)
    a = _as_acc_matrix(acc)
    truth = a.mean(axis=1)
    p_vec = as_vector(pred, "pred")
    if p_vec.size != a.shape[0]:
        raise ValueError(f"pred has {p_vec.size} values but acc has {a.shape[0]} rows; they must describe the same archs")
    prep = prepare(p_vec, truth, params, names)
    base = prepare(np.asarray(params, dtype=np.float64), truth, params, names)
    values = point_values(prep, names)
    base_values = point_values(base, names)
    ci: dict[str, tuple[float | None, float | None]] = {m: (None, None) for m in names}
    base_ci = dict(ci)
    if n_boot > 0:
        preps = [prep, base] if baseline_ci else [prep]
        boot = resample_values(preps, names, n_boot, seed)
        ci = {m: _percentile(boot[0][m], level) for m in names}
        if baseline_ci:
            base_ci = {m: _percentile(boot[1][m], level) for m in names}
    return MetricReport(
        n=prep.n,
        metrics={m: Estimate(values[m], *ci[m]) for m in names},
        baseline={m: Estimate(base_values[m], *base_ci[m]) for m in names},
        noise_ceiling=noise_ceiling(a, params, names, seed=seed),
        n_seeds=int(a.shape[1]),
        n_boot=int(n_boot),
        level=level,
        seed=seed,
    )


# ------------------------------------------------------------------------------------------ leaderboard order
PRIMARY_METRICS: tuple[str, ...] = (
    "kendall_tau",
    "spearman",
    "pearson",
    "sparse_kendall_tau",
    "p_at_top_5",
    "p_at_top_10",
    "top1_regret",
)
"""Metrics a benchmark may declare primary (directional summary metrics)."""

TIE_BREAKS: tuple[str, ...] = (
    "kendall_tau",
    "spearman",
    "pearson",
    "p_at_top_5",
    "p_at_top_10",
    "top1_regret",
    "sparse_kendall_tau",
)
"""Tie-break order after the primary metric (the primary is skipped where it appears)."""


def rank_key(report_dict: Mapping[str, Any], primary: str) -> tuple[float, ...]:
    """Sort key (ascending = better first) of a run: the primary metric, then :data:`TIE_BREAKS`.

    ``report_dict`` is :meth:`MetricReport.to_dict` output (or a flat ``{name: value}`` /
    ``{name: {"value": …}}`` mapping). Each component is −value for higher-is-better metrics and value for
    lower-is-better ones; a missing, None or NaN value sorts last (+inf). Callers append the run's creation time
    to break remaining ties in favour of the earlier run.
    """
    if primary not in METRICS:
        raise UnknownNameError(f"unknown primary metric {primary!r}; known: {', '.join(METRICS)}")
    if METRICS[primary].higher_is_better is None:
        raise ValueError(f"{primary!r} has no better direction and cannot rank a leaderboard; use one of {PRIMARY_METRICS}")
    metrics = report_dict.get("metrics", report_dict) if isinstance(report_dict, Mapping) else {}
    key: list[float] = []
    for name in (primary, *(m for m in TIE_BREAKS if m != primary)):
        raw = metrics.get(name) if isinstance(metrics, Mapping) else None
        if isinstance(raw, Mapping):
            raw = raw.get("value")
        try:
            v = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            v = math.nan
        if not math.isfinite(v):
            key.append(math.inf)
        else:
            key.append(-v if METRICS[name].higher_is_better else v)
    return tuple(key)
