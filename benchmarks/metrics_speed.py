"""Time the full metric report (values, 95 % bootstrap CIs for submission and baseline, noise ceiling).

Usage: python benchmarks/metrics_speed.py [--n 250 2500] [--boot 1000]
Prints wall and CPU seconds per size; performance figures live here, never as timed assertions in tests.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import harness.metrics as M


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, nargs="+", default=[250, 2500])
    parser.add_argument("--boot", type=int, default=1000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for n in args.n:
        mean = rng.uniform(0.6, 0.9, n)
        acc = np.clip(mean[:, None] + rng.normal(0, 0.01, (n, 3)), 0, 1)
        pred = np.round(mean + rng.normal(0, 0.03, n), 3)
        params = rng.integers(1000, 300_000, n)
        wall, cpu = time.perf_counter(), time.process_time()
        M.evaluate_predictions(pred, acc, params, n_boot=args.boot)
        print(f"n={n:>6}  boot={args.boot}  wall {time.perf_counter() - wall:6.2f} s  cpu {time.process_time() - cpu:6.2f} s")


if __name__ == "__main__":
    main()
