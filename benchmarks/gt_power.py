"""Which Δτ a GT design can detect: archs per split × seeds per arch, simulated on the real GT's seed noise.

    python benchmarks/gt_power.py [--reps 300] [--rho 0.8] [--tau-a 0.45] [--file GT.h5]

Noise model, predictors and test: :mod:`harness.metrics.power`. Prints, per design, the SD of the observed τ
difference between two predictors correlated at ρ, the Δτ detected with power 0.8 at α = 0.05 (two-sided), and
the power for Δτ = 0.03. The designs: today's dev split (250 × 12), the issue's v2 (1,300 per split × 3; its
ragged form: the 250 × 12 rows plus 1,050 × 3), and one budget of 3,900 standalone runs per split spent four ways
(3,900 × 1 … 325 × 12) to answer "more archs with few seeds, or more seeds on few archs?".
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--file", default=None, help="GT file (default: the shipped mnist1d-w20 GT)")
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--rho", type=float, default=0.8)
    ap.add_argument("--tau-a", type=float, default=0.45)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    from harness.benchmarks import get_benchmark
    from harness.gt.gt_file import read_gt
    from harness.metrics.power import detectable_delta_tau

    gt = read_gt(args.file) if args.file else get_benchmark("mnist1d-w20").ground_truth()
    full = gt.acc[gt.full]
    print(f"noise model: {full.shape[0]} archs × {full.shape[1]} seeds; ρ = {args.rho}, τ_A = {args.tau_a}, "
          f"{args.reps} simulated benchmarks per design")
    designs: list[tuple[str, int, object]] = [
        ("today's dev split", 250, 12),
        ("v2 split, 3 seeds", 1300, 3),
        ("v2 split, ragged 250×12 + 1050×3", 1300, [12] * 250 + [3] * 1050),
        ("v2 split, 2 seeds", 1300, 2),
        ("3,900 runs: 3900 × 1", 3900, 1),
        ("3,900 runs: 1950 × 2", 1950, 2),
        ("3,900 runs: 1300 × 3", 1300, 3),
        ("3,900 runs: 650 × 6", 650, 6),
        ("3,900 runs: 325 × 12", 325, 12),
    ]
    rows = []
    print(f"{'design':<36} {'archs':>6} {'seeds':>6} {'SD(Δτ̂)':>8} {'detectable Δτ':>14} {'power @0.03':>12}")
    for name, n, k in designs:
        r = detectable_delta_tau(full, n, k, rho=args.rho, tau_a=args.tau_a, reps=args.reps, at=(0.03,))
        rows.append({"design": name, **r.to_dict()})
        print(f"{name:<36} {n:>6} {r.seeds:>6.2f} {r.sd_delta:>8.4f} {r.detectable:>14.4f} {r.power_at[0.03]:>12.2f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=1, default=lambda o: o if not isinstance(o, np.generic) else o.item())


if __name__ == "__main__":
    main()
