"""Coverage of the seed-group intervals and the error rates of ``compare`` and of a board, by simulation.

Usage: python benchmarks/interval_coverage.py [--studies 2000] [--archs 1300] [--boards 1000]

The long version of tests/test_interval_coverage.py and tests/test_family.py. Studies simulate Kendall τ on
``--archs`` GT archs (a fresh arch sample per study, an arch effect every seed shares, per-seed noise and a
per-seed skill; :mod:`tests.verdict_sim_tau`), at S = 3, 5, 10 seeds and three seed shares (the seed SD of τ
≈ 0.015, 0.03, 0.06 against an arch SE ≈ 0.009). For each it prints what the 95 % interval covers:

* ``harness``: :func:`harness.verdicts.group_interval` (df with the seed variance at its 70 % upper bound);
* ``plain WS``: the former rule (Welch–Satterthwaite df from the observed s²);
* ``half-widths``: t(S − 1)·se_seed and z·se_arch combined in quadrature (conservative);

then the type-I error of ``compare`` for two equal 3-seed groups (unpaired), and the share of boards of 6
identical trainers × 5 seeds in which some pair is called different, uncorrected and with the board's Holm
correction (:func:`harness.verdicts.family.family_verdicts`; Pearson on 150 archs, :mod:`tests.verdict_sim`).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from unittest import mock

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.verdicts import compare_groups, group_interval_cov  # noqa: E402
from harness.verdicts import stats as vstats  # noqa: E402
from harness.verdicts.family import Evidence, family_verdicts  # noqa: E402
from tests import verdict_sim, verdict_sim_tau  # noqa: E402

MU = 0.9
SHARES = {"seed SD ≈ 0.015": 0.05, "seed SD ≈ 0.03": 0.10, "seed SD ≈ 0.06": 0.20}


def _cover(pts: np.ndarray, cov: np.ndarray, target: float, n: int) -> dict[str, float]:
    c, s = pts.shape
    hits = {"harness": 0, "plain WS": 0, "half-widths": 0}
    for i in range(c):
        iv = group_interval_cov(pts[i], cov[i], n_archs=n)
        hits["harness"] += iv.ci_low <= target <= iv.ci_high
        with mock.patch.object(vstats, "_df_inflation", lambda d: 1.0):
            old = group_interval_cov(pts[i], cov[i], n_archs=n)
        hits["plain WS"] += old.ci_low <= target <= old.ci_high
        half = math.sqrt(stats.t.ppf(0.975, s - 1) ** 2 * iv.seed_var + 1.96 ** 2 * iv.arch_var)
        hits["half-widths"] += abs(iv.value - target) <= half
    return {k: v / c for k, v in hits.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--studies", type=int, default=2000)
    p.add_argument("--archs", type=int, default=1300)
    p.add_argument("--boards", type=int, default=1000)
    args = p.parse_args()
    n, c = args.archs, args.studies
    t0 = time.perf_counter()
    print(f"coverage of the 95 % group interval, Kendall τ on {n} archs, {c} studies per row "
          f"(Monte Carlo SE {100 * math.sqrt(0.95 * 0.05 / c):.1f} pp)")
    print(f"{'seeds':>5}  {'share':<16} {'harness':>8} {'plain WS':>9} {'half-widths':>12}")
    for s in (3, 5, 10):
        for label, sd in SHARES.items():
            (pts, infl, _), = verdict_sim_tau.simulate(np.random.default_rng(1000 * s + int(100 * sd)), c, n, [(MU, sd, s)])
            cov = np.einsum("csn,ctn->cst", infl, infl)
            got = _cover(pts, cov, verdict_sim_tau.truth(MU, sd), n)
            print(f"{s:>5}  {label:<16} {100 * got['harness']:>7.1f}% {100 * got['plain WS']:>8.1f}% {100 * got['half-widths']:>11.1f}%")
    a, b = verdict_sim_tau.simulate(np.random.default_rng(7), c, n, [(MU, 0.10, 3), (MU, 0.10, 3)])
    infl = np.concatenate([a[1], b[1]], axis=1)
    cov = np.einsum("csn,ctn->cst", infl, infl)
    pv = []
    for i in range(c):
        reps = verdict_sim_tau.replicates_with_cov(cov[i])
        pv.append(compare_groups("kendall_tau", True, a[0][i], reps[:, :3], b[0][i], reps[:, 3:], n_archs=n).p_value)
    print(f"compare, two equal 3-seed groups (unpaired): p < 0.05 in {100 * np.mean(np.array(pv) < 0.05):.1f} % "
          f"of {c} studies")
    rng = np.random.default_rng(11)
    raw_any, holm_any = [], []
    for _ in range(args.boards // 100):
        groups = verdict_sim.simulate(rng, 100, 150, 200, [(0.4, 0.15, 5)] * 6)
        for i in range(100):
            rows = [Evidence(f"g{k}", g[0][i], g[1][i], tuple(range(10 * k, 10 * k + 5))) for k, g in enumerate(groups)]
            r = family_verdicts(rows, "pearson", True, n_archs=150)
            raw_any.append(min(r.raw_pairs.values()) < 0.05)
            holm_any.append(r.any_different())
    print(f"boards of 6 identical trainers × 5 seeds ({len(holm_any)} boards): some pair called different in "
          f"{100 * np.mean(raw_any):.1f} % uncorrected, {100 * np.mean(holm_any):.1f} % with Holm over all 15 pairs")
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
