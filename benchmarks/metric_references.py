"""Reference points of the metrics on a benchmark's GT: what the README's claims about CB and τ must be read against.

For each GT split: the CB reference point (C/(C+D) of GT vs #params: the CB of a size-blind ranking), the share of
arch pairs tied in #params (where the literal all-pairs CB departs from the conditional one), the split-half
agreement of Kendall τ (two disjoint seed halves) and the estimated best achievable τ (a perfect predictor of
expected accuracy against the S-seed mean). With ``--predictions FILE.json`` (CVPR-21 track-1 layout) it also
prints both CB forms of that predictor.

    NAS_HARNESS_DATA=/work/shared/data .venv/bin/python benchmarks/metric_references.py mnist1d-w20 cvpr21-track1
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

import harness.metrics as M
from harness.benchmarks import get_benchmark
from harness.metrics._arrays import n_tied_pairs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("benchmarks", nargs="+")
    ap.add_argument("--predictions", help="CVPR-21 layout JSON {archN: {acc: …}} of the last benchmark's arch set")
    args = ap.parse_args()
    for name in args.benchmarks:
        bench = get_benchmark(name)
        gt = bench.ground_truth()
        print(f"== {name}: {gt.layout_text} archs × seeds, {int(gt.complete.sum())} complete")
        pred_all = None
        if args.predictions and name == args.benchmarks[-1]:
            data = json.loads(open(args.predictions).read())
            pred_all = np.array([float(data[f"arch{i + 1}"]["acc"]) for i in gt.archset_index])
        for split in ("all", *gt.splits):
            idx = np.flatnonzero(gt.complete) if split == "all" else np.asarray(gt.splits[split])
            acc, params = gt.acc[idx], gt.params[idx]
            truth = gt.seed_mean[idx]  # each arch's mean over its own seeds: a ragged GT (v2) has NaN beyond them
            n = idx.size
            t0 = time.perf_counter()
            ref = M.complexity_bias_reference(truth, params)
            ties = n_tied_pairs(params) / (n * (n - 1) / 2)
            line = f"  {split:>4} n={n}: CB reference {ref:.3f}; #params-tied pairs {100 * ties:.3f} %"
            if gt.n_seeds > 1:
                sh = M.split_half_agreement(acc, params, ["kendall_tau"])["kendall_tau"]
                best = M.best_achievable_tau(acc)
                line += f"; split-half τ {sh:.3f}; best achievable τ {best['tau']:.3f} ({best['model']})"
            print(line + f"  [{time.perf_counter() - t0:.1f} s]")
            if pred_all is not None:
                p = pred_all[idx]
                print(f"        predictions: CB {M.complexity_bias(p, truth, params):.3f} (conditional), "
                      f"{M.complexity_bias_all_pairs(p, truth, params):.3f} (all mis-ranked pairs); "
                      f"Kendall τ {M.kendall_tau(p, truth):.3f}")


if __name__ == "__main__":
    main()
