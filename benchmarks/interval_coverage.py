"""Coverage of the seed-group intervals with the real metric kernels (Kendall τ), on synthetic truth.

Usage: python benchmarks/interval_coverage.py [--sims 1000] [--archs 250] [--seeds 5] [--boot 400]

The fast test (tests/test_verdicts.py) checks every interval with a vectorised Pearson; this script runs the same
model through :func:`harness.verdicts.metric_replicates` (the harness's Kendall τ and bootstrap engine) and also
prints what the naive alternatives cover: the archs-only interval (what the harness printed before seed groups)
and a percentile bootstrap over seeds then archs. Kendall τ of a bivariate normal is (2/π)·arcsin ρ, and τ-a is
an unbiased U-statistic, so the truth E_seed τ is exact up to Monte Carlo error.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from verdict_sim import G, _z  # noqa: E402

from harness.verdicts import compare_groups, group_interval, metric_replicates  # noqa: E402


def tau(a: np.ndarray) -> np.ndarray:
    return 2.0 / np.pi * np.arcsin(a / np.sqrt(a * a + G * G + 1.0))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sims", type=int, default=1000)
    p.add_argument("--archs", type=int, default=250)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--boot", type=int, default=400)
    args = p.parse_args()
    rng = np.random.default_rng(2026)
    mu_a, mu_b, sd = 0.4, 0.55, 0.15
    true_a = float(tau(mu_a + sd * _z(2_000_000)).mean())
    true_d = true_a - float(tau(mu_b + sd * _z(2_000_000)).mean())
    hits = {"group (seeds + archs)": 0, "archs only": 0, "percentile seeds→archs": 0, "difference": 0}
    t0 = time.perf_counter()
    n, s = args.archs, args.seeds
    for i in range(args.sims):
        y, u = rng.normal(size=n), rng.normal(size=n)
        truth = 0.5 + 0.01 * y  # accuracies in [0, 1]; ranks are those of y
        preds = []
        for mu in (mu_a, mu_b):
            a = mu + sd * rng.normal(size=s)
            preds += [a[k] * y + G * u + rng.normal(size=n) for k in range(s)]
        pts, reps = metric_replicates(preds, truth, None, "kendall_tau", n_boot=args.boot, seed=i)
        iv = group_interval(pts[:s], reps[:, :s])
        hits["group (seeds + archs)"] += iv.ci_low <= true_a <= iv.ci_high
        half = 1.96 * reps[:, :s].mean(1).std()
        hits["archs only"] += abs(pts[:s].mean() - true_a) <= half
        pick = rng.integers(0, s, size=(args.boot, s))
        boot = reps[np.arange(args.boot)[:, None], pick].mean(1)
        lo, hi = np.quantile(boot, [0.025, 0.975])
        hits["percentile seeds→archs"] += lo <= true_a <= hi
        c = compare_groups("kendall_tau", True, pts[:s], reps[:, :s], pts[s:], reps[:, s:])
        hits["difference"] += c.diff.ci_low <= true_d <= c.diff.ci_high
    print(f"{args.sims} simulated studies, {n} archs, {s} seeds per group, {args.boot} arch resamples "
          f"({time.perf_counter() - t0:.0f} s); nominal 95 %, Monte Carlo SE {100 * np.sqrt(0.95 * 0.05 / args.sims):.1f} pp")
    for k, v in hits.items():
        print(f"  {k:<24} covers {100 * v / args.sims:5.1f} %")


if __name__ == "__main__":
    main()
