"""Is a disagreement between a fast path and the reference loop a near-tie flip or a real difference?

Runs both fast strategies and the fp32 reference loop on the default benchmark (a supernet after a few SPOS steps,
as ``eval_throughput.py`` makes it; the fast paths see the GT archs *among* ``--archs`` others, so chunks are
composed as in a real sweep), and for every GT arch where any of them differs re-runs the reference protocol in
**float64** on that arch. Printed per arch: correct counts of fp64 reference, fp32 reference, walk and grouped;
fp32-vs-fp64 flips of the reference; and how many samples have an fp64 top-2 logit margin (relative to the
sample's largest |logit|) below 1e-6 and 1e-4. A path that differs from fp64 by more samples than there are
near-ties computes something else, not the same function rounded differently.

Usage: python benchmarks/eval_agreement_fp64.py [--archs 5000] [--ref-archs 200] [--train-steps 200]
"""

from __future__ import annotations

import argparse
import copy
from types import SimpleNamespace

import numpy as np
import torch


def _logits(net, arch: str, data, dtype: torch.dtype) -> torch.Tensor:
    from harness.evaluation.bn_calibration import bn_layers, end_calibration, start_calibration

    m = copy.deepcopy(net).to(dtype)
    layers = bn_layers(m)
    with torch.no_grad():
        start_calibration(m, layers)
        for xb in data.calib_batches():
            m(xb.to(dtype), arch)
        end_calibration(layers)
        return m(data.eval_x.to(dtype), arch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", type=int, default=5000, help="arch-set archs the GT archs are evaluated among")
    parser.add_argument("--ref-archs", type=int, default=200, help="GT archs compared")
    parser.add_argument("--train-steps", type=int, default=200)
    args = parser.parse_args()

    from eval_throughput import _default_bench, _machine

    from harness.evaluation import FastOptions, evaluate
    from harness.evaluation.protocol import eval_data_for

    bench, net, archs = _default_bench(SimpleNamespace(bench="mnist1d-w20", train_steps=args.train_steps))
    print(f"machine: {_machine()}; torch {torch.__version__}")
    gt_archs = list(dict.fromkeys(bench.ground_truth().archs))[: args.ref_archs]
    swept = list(dict.fromkeys([*gt_archs, *list(archs)[: args.archs]]))
    ref = evaluate(net, bench, gt_archs, evaluator="reference", progress=False)
    paths = {s: evaluate(net, bench, swept, progress=False, options=FastOptions(strategy=s))[: len(gt_archs)]
             for s in ("walk", "grouped")}
    bad = np.flatnonzero(np.any([p != ref for p in paths.values()], axis=0))
    print(f"{len(bad)} of {len(gt_archs)} GT archs where a fast path differs from the fp32 reference loop "
          f"(evaluated among {len(swept)} archs)")
    data = eval_data_for(bench, torch.device("cpu"))
    n = int(data.eval_x.shape[0])
    for k in bad:
        arch = gt_archs[k]
        l32, l64 = _logits(net, arch, data, torch.float32), _logits(net, arch, data, torch.float64)
        top2 = l64.topk(2, dim=1).values
        margin = (top2[:, 0] - top2[:, 1]) / l64.abs().max(dim=1).values
        c64 = int((l64.argmax(1) == data.eval_y).sum())
        counts = ", ".join(f"{s} {round(float(p[k]) * n)}" for s, p in paths.items())
        print(f"  {arch}: correct of {n}: fp64 reference {c64}, fp32 reference {round(float(ref[k]) * n)}, {counts}; "
              f"fp32 vs fp64 reference flips {int((l32.argmax(1) != l64.argmax(1)).sum())}; samples with fp64 "
              f"relative top-2 margin < 1e-6: {int((margin < 1e-6).sum())}, < 1e-4: {int((margin < 1e-4).sum())}")


if __name__ == "__main__":
    main()
