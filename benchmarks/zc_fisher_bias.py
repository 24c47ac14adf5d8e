"""Why `fisher` does not reproduce Table 1 on NAS-Bench-201: the network, checked on the same archs and batch.

The harness scores AutoDL's NB201 network (cell convs without bias, affine BN with running statistics); the paper's
``foresight.models.nasbench2`` builds every cell op with ``affine=False``, which gives the conv a bias
(``bias=not affine``) and the BN no affine parameters nor running statistics. Fisher sums, per channel,
(Σ_s a·∂L/∂a)² over the conv's *output* a; a bias b adds b·Σ_s ∂L/∂a to every sample's term. This script scores
``fisher`` for the first N archs of the Table-1 order (``benchmarks/zc_table1.py``, same batch, same seeded
weights) on both networks and prints Spearman ρ against the 200-epoch GT for each, with bootstrap intervals and
the paired difference:

    NAS_HARNESS_DATA=results/data NAS_HARNESS_VERIFY_CHECKSUMS=0 \
      .venv/bin/python benchmarks/zc_fisher_bias.py --bench nb201-cifar10 --archs 300

The paper variant keeps our initial conv weights and draws each bias from PyTorch's default conv-bias
distribution, U(±1/√fan_in), seeded from the arch; so the two columns differ only in the cell convs' bias and BN.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


def paper_cells(net, generator):  # noqa: ANN001, ANN201 - an NB201Net, a torch.Generator
    """``net`` with every cell op's conv biased and its BN non-affine without running statistics (in place)."""
    import math

    import torch
    from torch import nn

    from reference_nets.nb201 import InferCell, ReLUConvBN

    for cell in net.cells:
        if not isinstance(cell, InferCell):
            continue
        for op in cell.layers:
            if not isinstance(op, ReLUConvBN):
                continue
            conv, bn = op.op[1], op.op[2]
            biased = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                               padding=conv.padding, bias=True)
            with torch.no_grad():
                biased.weight.copy_(conv.weight)
                fan_in = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
                bound = 1.0 / math.sqrt(fan_in)
                biased.bias.copy_(torch.empty(conv.out_channels).uniform_(-bound, bound, generator=generator))
            op.op[1] = biased
            op.op[2] = nn.BatchNorm2d(bn.num_features, affine=False, track_running_stats=False)
    return net.train()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", default="nb201-cifar10")
    parser.add_argument("--archs", type=int, default=300, help="the first N archs of the Table-1 order")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    ns = parser.parse_args()

    import torch
    from scipy import stats

    torch.set_num_threads(1)
    from zc_table1 import arch_order, spearman_ci

    from harness.benchmarks import get_benchmark
    from harness.proxies.batch import training_batch
    from harness.proxies.compute import prepared, score_net
    from harness.proxies.nets import arch_seed, init_net
    from harness.proxies.registry import get_proxy

    bench = get_benchmark(ns.bench)
    gt = bench.ground_truth()
    acc = dict(zip(gt.archs, gt.acc[:, 0], strict=True))
    archs = bench.archs()
    chosen = [archs[i] for i in arch_order(len(archs))[: ns.archs]]
    batch = training_batch(bench, ns.batch, ns.seed)
    fisher = get_proxy("fisher")
    ours, paper = [], []
    t0 = time.time()
    for k, arch in enumerate(chosen, 1):
        ours.append(score_net(fisher, prepared(init_net(bench.space, arch, ns.seed), fisher, in_place=True), batch))
        gen = torch.Generator().manual_seed(arch_seed(ns.seed, arch) ^ 0x5EED)
        net = paper_cells(init_net(bench.space, arch, ns.seed), gen)
        paper.append(score_net(fisher, prepared(net, fisher, in_place=True), batch))
        if k % 50 == 0:
            print(f"{k}/{len(chosen)} archs, {time.time() - t0:.0f} s", flush=True)
    y = np.asarray([acc[a] for a in chosen])
    x_ours, x_paper = np.asarray(ours), np.asarray(paper)
    rng = np.random.default_rng(1)
    diffs = []
    for _ in range(1000):
        i = rng.integers(0, len(y), len(y))
        diffs.append(stats.spearmanr(x_ours[i], y[i]).statistic - stats.spearmanr(x_paper[i], y[i]).statistic)
    print(f"{ns.bench}: fisher on the first {len(chosen)} archs of the Table-1 order, batch {ns.batch}, seed {ns.seed}")
    for label, x in (("harness network (AutoDL: no conv bias, affine BN)", x_ours),
                     ("paper network (conv bias, non-affine BN)", x_paper)):
        rho, lo, hi = spearman_ci(x, y)
        print(f"  {label}: Spearman rho {rho:.3f} [{lo:.3f}, {hi:.3f}]")
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    print(f"  difference (harness - paper): {np.mean(diffs):.3f} [{lo:.3f}, {hi:.3f}] (paired bootstrap over archs)")
    print(f"  {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
