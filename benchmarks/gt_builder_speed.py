"""GT builder speed: the sequential and the stacked training path side by side, on the same GT cells, in one run.

    python benchmarks/gt_builder_speed.py --archs 4 --seeds 3 --rounds 2 [--workers 2] [--recipe default|tiny]

Takes archs of the default benchmark's GT selection beyond the shipped 500 (rows 500.., the ones a v2 build
trains), ``--seeds`` seeds each, and trains every (arch, seed) once per path per round with the builder's own
worker pool (``--workers`` processes, one torch thread each: exactly what ``gt build --path`` runs). Rounds
alternate the order of the paths, so a change in machine load hits both; the ratio of the summed times is the
figure to quote (absolute times on shared cores say little). Also prints how far the two paths' accuracies are
apart per cell against the seed-to-seed spread, a sanity check that the paths train the same thing; ``--json``
also keeps the GT rows and every cell's accuracy per path, so ``--first-row 0`` can be compared with the shipped
cells of the same rows (docs/gt.md does).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", default="mnist1d-w20")
    ap.add_argument("--archs", type=int, default=4)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--first-row", type=int, default=500)
    ap.add_argument("--recipe", choices=("default", "tiny"), default="default")
    ap.add_argument("--paths", default="sequential,stacked")
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    args = ap.parse_args()

    from harness.benchmarks import get_benchmark
    from harness.gt.builder import build_environment, gt_data, gt_selection, iter_batches
    from harness.gt.paths import plan_batches
    from harness.gt.recipe import DEFAULT_RECIPE

    bench = get_benchmark(args.bench)
    archset = bench.archs()
    rows = gt_selection(bench, args.first_row + args.archs, len(archset))[args.first_row :]
    archs = [archset[i] for i in rows]
    recipe = DEFAULT_RECIPE if args.recipe == "default" else replace(DEFAULT_RECIPE, epochs=1, train_samples=1024)
    data, _ = gt_data(bench)
    cells = [(i, j) for i in range(len(archs)) for j in range(args.seeds)]
    paths = args.paths.split(",")
    seconds = dict.fromkeys(paths, 0.0)
    acc: dict[str, np.ndarray] = {p: np.full((len(archs), args.seeds), np.nan) for p in paths}
    env = build_environment(args.workers)
    print(f"{len(cells)} runs per path per round ({len(archs)} archs × {args.seeds} seeds), {args.workers} workers, "
          f"{env['cpu']} ({env['cpu_capability']}), torch {env['torch']}")
    for r in range(args.rounds):
        for p in paths if r % 2 == 0 else paths[::-1]:
            batches = plan_batches(cells, p, max_batch=args.seeds)
            jobs = [(archs[b[0][0]], tuple(j for _, j in b)) for b in batches]
            t0 = time.perf_counter()
            for k, values in iter_batches(jobs, recipe, data, args.workers, p):
                for (i, j), v in zip(batches[k], values, strict=True):
                    acc[p][i, j] = v
            dt = time.perf_counter() - t0
            seconds[p] += dt
            print(f"round {r}  {p:<10} {dt:8.1f} s  {dt / len(cells):6.2f} s/run")
    n_runs = args.rounds * len(cells)
    out = {"runs_per_path": n_runs, "workers": args.workers, "cpu": env["cpu"], "recipe": args.recipe,
           "s_per_run": {p: seconds[p] / n_runs for p in paths},
           "rows": [int(i) for i in rows], "acc": {p: acc[p].tolist() for p in paths}}
    for p in paths:
        print(f"{p:<10} {seconds[p] / n_runs:6.2f} s/run  ({n_runs} runs)")
    if "sequential" in paths:
        for p in paths:
            if p != "sequential":
                ratio = seconds["sequential"] / seconds[p]
                out[f"speedup_{p}"] = ratio
                print(f"speed-up of {p} over sequential: {ratio:.2f}×")
        if args.seeds > 1 and len(paths) > 1:
            other = [p for p in paths if p != "sequential"][0]
            diff = np.abs(acc["sequential"] - acc[other])
            spread = np.nanstd(acc["sequential"], axis=1, ddof=1).mean()
            out["mean_abs_path_diff"] = float(np.nanmean(diff))
            out["mean_seed_sd"] = float(spread)
            print(f"|sequential − {other}| per cell: mean {np.nanmean(diff):.4f} (seed SD per arch: {spread:.4f})")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
