"""Per-arch cost of every zero-cost proxy, side by side in one run (so ratios hold on a shared machine).

    NAS_HARNESS_DATA=results/data NAS_HARNESS_VERIFY_CHECKSUMS=0 \\
      .venv/bin/python benchmarks/proxy_cost.py --benchmark nb201-cifar10 --archs 6 --batch 64

Each proxy runs on the same archs (a fixed random sample), one torch thread, network construction included
(every proxy builds its own seeded network here, as ``nas-harness proxy`` does). Prints seconds per arch, the ratio
to synflow, and the projected single-core hours for all archs of the benchmark's arch set.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--benchmark", default="nb201-cifar10")
    parser.add_argument("--archs", type=int, default=6)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--proxies", default=None, help="comma list (default: all)")
    ns = parser.parse_args()

    import platform

    import torch

    from harness.benchmarks import get_benchmark
    from harness.proxies import resolve_proxies
    from harness.proxies.batch import data_free_batch, training_batch
    from harness.proxies.compute import arch_values

    torch.set_num_threads(1)
    bench = get_benchmark(ns.benchmark)
    all_archs = bench.archs()
    archs = [all_archs[i] for i in np.random.default_rng(0).choice(len(all_archs), ns.archs, replace=False)]
    proxies = resolve_proxies(ns.proxies)
    data = training_batch(bench, ns.batch, 0) if any(p.needs_data for p in proxies) else None
    free = data_free_batch(bench)
    cost: dict[str, float] = {}
    for arch in archs[:1]:  # warm-up (imports, allocator)
        for p in proxies:
            arch_values([p], bench.space, arch, data if p.needs_data else free, 0)
    for p in proxies:
        t0 = time.perf_counter()
        for arch in archs:
            arch_values([p], bench.space, arch, data if p.needs_data else free, 0)
        cost[p.name] = (time.perf_counter() - t0) / len(archs)
    ref = cost.get("synflow")
    print(f"{bench.label}: {len(archs)} archs, batch {ns.batch}, 1 torch thread, {platform.processor() or platform.machine()}")
    print(f"{'proxy':<10} {'s/arch':>9} {'x synflow':>10} {'core-h, all ' + str(len(all_archs)):>16}")
    for name, s in cost.items():
        ratio = f"{s / ref:10.1f}" if ref else f"{'':>10}"
        print(f"{name:<10} {s:9.4f} {ratio} {s * len(all_archs) / 3600:16.2f}")


if __name__ == "__main__":
    main()
