"""Intervals that carry both noises: the training seed and the sample of GT archs.

Why not a percentile bootstrap over seeds and then archs: with the 3–10 seeds a group has, the percentile
interval of a mean over resampled seeds is too narrow (it uses the plug-in variance and normal tails; at five
seeds a nominal 95 % interval covers about 85 %, see ``benchmarks/interval_coverage.py``). So the two levels
are separated instead, and each is estimated where it is measurable:

* the **seed level** from the spread of the per-seed metric values (each on all archs of the split);
* the **arch level** from a bootstrap over archs whose resamples are *the same for every seed and both groups*
  (paired on the same archs): its covariances give the part of the arch-sampling error that all seeds share.

Model. Seed s of group A scores m_s = τ_s + e_s: τ_s is that seed's metric on the whole arch population (varies
with the seed, variance σ²), e_s the error of using n sampled archs (variance v, covariance c between seeds,
since all seeds are scored on the same archs). Then Var(mean_s m_s) = σ²/S + c + (v − c)/S, and the sample
variance s² of the m_s estimates σ² + v − c, hence

    V = s²/S + ĉ,   ĉ = mean off-diagonal bootstrap covariance of the seeds' metric values.

For a difference of two groups the shared term is ĉ_A + ĉ_B − 2ĉ_AB (ĉ_AB: the mean cross-covariance, which is
what pairing on the same archs buys). Paired by seed (both groups ran the same seeds): the same formula on the
per-seed differences. A group of one run has no seed term: its interval is over archs only, and it says so.

Degrees of freedom. Intervals are Student-t, value ± t(df)·√V. The plain Welch–Satterthwaite df, computed
from the observed s², is correlated with the error it should describe: a seed sample that happens to be tight
gives a small s², hence a small seed share, a large df and a short t quantile, all at once.
At 3 seeds (median df ≈ 4) the 95 % interval of Kendall τ on 1,300 archs then covered 92 % (87–88 % when s² fell
below its median). So the df is computed with each seed variance at its one-sided :data:`DF_SEED_QUANTILE`
(70 %) upper confidence bound, s²·d / χ²_d(0.30), while V itself keeps the unbiased s²: the df can no longer be
inflated by a lucky seed sample. Across every seed share this covers 94.5–96 % at S = 3, 95–95.5 % at S = 5
and 95–95.2 % at S = 10 (ideal model), and 95 ± 1 % in the Kendall-τ simulation of
``tests/test_interval_coverage.py`` and ``benchmarks/interval_coverage.py`` (figures in docs/metrics.md). Why
not simply combine the seed half-width t(S − 1)·se_seed with the arch one in quadrature: that is conservative
by up to 2.7 points at 3 seeds (97.7 % when both shares are equal). The arch term keeps n_archs − 1 df.

Everything here is pure numpy/scipy on (point values, replicate matrix) pairs; :mod:`harness.verdicts.groups`
builds those from stored runs with the metric kernels of :mod:`harness.metrics`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

LEVEL = 0.95
POWER = 0.80
#: the seed variances enter the degrees of freedom at their one-sided upper confidence bound of this
#: probability (see the module docstring: 0.5 would be the plain median; 0.3 keeps coverage 94.5–96 % at S ≥ 3)
DF_SEED_QUANTILE = 0.30
#: what ``compare`` says about the two GT splits (measured on 30 reference runs of the default benchmark)
SPLITS_NOTE = ("dev is the exploratory split and test the confirmatory one; a run's dev and test scores correlate "
               "at r ≈ 0.90 (the same predictor on overlapping kinds of archs), so a verdict on both splits is not two "
               "independent pieces of evidence: decide on test, once")


@dataclass(frozen=True)
class Interval:
    """A mean with its t interval: ``value ± t(level, df)·se``."""

    value: float
    se: float
    df: float
    level: float
    ci_low: float
    ci_high: float
    seed_var: float  # the seed-level part of se² (0 for a single run)
    arch_var: float  # the shared arch-sampling part of se²
    training_noise: bool  # False: one run, its interval is over archs only

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


def _t(q: float, df: float) -> float:
    return float(stats.norm.ppf(q) if not math.isfinite(df) else stats.t.ppf(q, df))


def _df_inflation(d: int) -> float:
    """s²·d/χ²_d(q): the factor that takes a seed variance with d df to its upper (1 − q) confidence bound."""
    return float(d / stats.chi2.ppf(DF_SEED_QUANTILE, d))


def _interval(value: float, seed_terms: list[tuple[float, int]], arch_var: float, level: float,
              n_archs: int | None = None) -> Interval:
    """t interval of ``value`` with se² = Σ seed terms (variance, df) + arch_var (df n_archs − 1, or known).

    The df is Welch–Satterthwaite with each seed variance at its upper confidence bound (module docstring).
    """
    seed_var = float(sum(v for v, _ in seed_terms))
    arch = max(arch_var, 0.0)
    var = max(seed_var + arch, 0.0)
    upper = [(v * _df_inflation(d), d) for v, d in seed_terms if d > 0]
    denom = sum(v * v / d for v, d in upper)
    if n_archs is not None and n_archs > 1:
        denom += arch ** 2 / (n_archs - 1)
    df_var = sum(v for v, _ in upper) + arch
    df = df_var * df_var / denom if denom > 0 else math.inf
    se = math.sqrt(var)
    half = _t(0.5 + level / 2.0, df) * se
    return Interval(float(value), se, df, level, float(value - half), float(value + half), seed_var,
                    float(arch), bool(seed_terms))


def _check(points: np.ndarray, reps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = np.asarray(points, dtype=np.float64).ravel()
    r = np.asarray(reps, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] != m.size or r.shape[0] < 2:
        raise ValueError(f"replicates must be (n_boot >= 2, {m.size}), got {r.shape}")
    if m.size < 1:
        raise ValueError("a group needs at least one run")
    return m, r


def _mean_offdiag(cov: np.ndarray) -> float:
    k = cov.shape[0]
    if k < 2:
        return float(cov[0, 0])
    return float((cov.sum() - np.trace(cov)) / (k * (k - 1)))


def group_interval(points: np.ndarray, reps: np.ndarray, level: float = LEVEL, n_archs: int | None = None) -> Interval:
    """Interval of a group's mean metric: ``points`` per seed (S,), ``reps`` (B, S) on shared arch resamples.

    ``n_archs`` (the GT archs the metric used) gives the arch term its n − 1 degrees of freedom; without it the
    arch term counts as known (normal tails).
    """
    m, r = _check(points, reps)
    return group_interval_cov(m, np.atleast_2d(np.cov(r, rowvar=False)), level, n_archs)


def group_interval_cov(points: np.ndarray, cov: np.ndarray, level: float = LEVEL, n_archs: int | None = None) -> Interval:
    """:func:`group_interval` from the seeds' arch-sampling covariance matrix (S, S) itself.

    Why separate: the covariance may come from a bootstrap (:func:`group_interval`) or from the metrics'
    influence functions (a U-statistic's variance), and the coverage simulations use the latter at scale.
    """
    m = np.asarray(points, dtype=np.float64).ravel()
    c = np.atleast_2d(np.asarray(cov, dtype=np.float64))
    if m.size < 1 or c.shape != (m.size, m.size):
        raise ValueError(f"a group needs >= 1 point and an ({m.size}, {m.size}) covariance, got {c.shape}")
    s = m.size
    if s == 1:
        return _interval(m[0], [], float(c[0, 0]), level, n_archs)
    return _interval(m.mean(), [(float(np.var(m, ddof=1)) / s, s - 1)], _mean_offdiag(c), level, n_archs)


@dataclass(frozen=True)
class Comparison:
    """A − B of one metric (oriented so that positive means A better when ``higher_is_better``)."""

    metric: str
    higher_is_better: bool
    value_a: float
    value_b: float
    n_a: int
    n_b: int
    paired_by_seed: bool
    diff: Interval  # of value_a − value_b
    p_value: float
    prob_a_better: float  # P(true A is better | data), flat prior, t posterior
    detectable: float  # smallest |Δ| this comparison detects with POWER at the two-sided level
    training_noise: bool  # False when either side is a single run
    verdict: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["diff"] = self.diff.to_dict()
        return d


def compare_groups(
    metric: str, higher_is_better: bool, points_a: np.ndarray, reps_a: np.ndarray, points_b: np.ndarray,
    reps_b: np.ndarray, *, paired_by_seed: bool = False, level: float = LEVEL, n_archs: int | None = None,
) -> Comparison:
    """Δ = mean A − mean B with both noises; ``reps_a``/``reps_b`` must come from the same arch resamples.

    ``paired_by_seed`` (both groups ran the same seeds, in the same order): the seed term comes from the per-seed
    differences, which cancels what the seed fixes in both (initialisation, data order).
    """
    ma, ra = _check(points_a, reps_a)
    mb, rb = _check(points_b, reps_b)
    if ra.shape[0] != rb.shape[0]:
        raise ValueError("both groups must be resampled on the same arch resamples")
    sa, sb = ma.size, mb.size
    delta = float(ma.mean() - mb.mean())
    if paired_by_seed:
        if sa != sb:
            raise ValueError("pairing by seed needs the same seeds on both sides")
        d, rd = ma - mb, ra - rb
        cov = np.atleast_2d(np.cov(rd, rowvar=False))
        if sa == 1:
            diff = _interval(delta, [], float(cov[0, 0]), level, n_archs)
        else:
            diff = _interval(delta, [(float(np.var(d, ddof=1)) / sa, sa - 1)], _mean_offdiag(cov), level, n_archs)
    else:
        cov = np.atleast_2d(np.cov(np.hstack([ra, rb]), rowvar=False))
        caa, cbb, cab = cov[:sa, :sa], cov[sa:, sa:], cov[:sa, sa:]
        terms = []
        if sa > 1:
            terms.append((float(np.var(ma, ddof=1)) / sa, sa - 1))
        if sb > 1:
            terms.append((float(np.var(mb, ddof=1)) / sb, sb - 1))
        shared = _mean_offdiag(caa) + _mean_offdiag(cbb) - 2.0 * float(cab.mean())
        diff = _interval(delta, terms, shared, level, n_archs)
    training_noise = sa > 1 and sb > 1
    sign = 1.0 if higher_is_better else -1.0
    if diff.se > 0:
        z = delta / diff.se
        tdist = stats.norm if not math.isfinite(diff.df) else stats.t(diff.df)
        p = float(2.0 * tdist.sf(abs(z)))
        prob = float(tdist.cdf(sign * z))
    else:
        p = 1.0 if delta == 0 else 0.0
        prob = 0.5 if delta == 0 else float(sign * delta > 0)
    detectable = (_t(0.5 + level / 2.0, diff.df) + _t(POWER, diff.df)) * diff.se
    if diff.ci_low > 0 or diff.ci_high < 0:
        better = "A" if (diff.ci_low > 0) == higher_is_better else "B"
        verdict = f"{better} better"
    else:
        verdict = "no significant difference"
    return Comparison(metric, higher_is_better, float(ma.mean()), float(mb.mean()), sa, sb, bool(paired_by_seed),
                      diff, p, prob, float(detectable), training_noise, verdict)


@dataclass(frozen=True)
class NonInferiority:
    """Is A (the trick) not worse than B (the baseline) by more than ``max_drop``, at one-sided ``level``?"""

    passed: bool
    outcome: str  # "not worse", "worse" or "inconclusive"
    max_drop: float
    level: float
    bound: float  # one-sided bound of the oriented Δ (lower for higher-is-better metrics)
    comparison: Comparison

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["comparison"] = self.comparison.to_dict()
        return d


def non_inferiority(cmp: Comparison, max_drop: float, level: float = LEVEL) -> NonInferiority:
    """The CI gate: pass iff the one-sided ``level`` bound of the (oriented) Δ is above −``max_drop``.

    "worse" when even the optimistic one-sided bound is below −max_drop (the drop is established), else
    "inconclusive" (neither shown): a gate passes only what it has shown, so inconclusive fails too.
    """
    if not max_drop >= 0:
        raise ValueError("max_drop must be >= 0")
    sign = 1.0 if cmp.higher_is_better else -1.0
    d = sign * cmp.diff.value
    q = _t(level, cmp.diff.df) * cmp.diff.se
    low, high = d - q, d + q
    if low > -max_drop:
        outcome = "not worse"
    elif high < -max_drop:
        outcome = "worse"
    else:
        outcome = "inconclusive"
    return NonInferiority(outcome == "not worse", outcome, float(max_drop), level, float(low), cmp)
