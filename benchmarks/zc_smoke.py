"""Every proxy on every named benchmark, on a few GT archs: the check that ``nas-harness proxy`` can run there.

    NAS_HARNESS_DATA=results/data NAS_HARNESS_VERIFY_CHECKSUMS=0 .venv/bin/python benchmarks/zc_smoke.py

Runs :func:`harness.proxies.predictions.write_proxy_submission`'s computation (same batch, same nets) on the
first ``--archs`` GT archs of each benchmark and prints one line per (benchmark, proxy): the values, or the one-line
error a user would see (e.g. no ImageNet16-120 images for a data proxy).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BENCHMARKS = ("mnist1d-w20", "cvpr21-track1", "nb201-cifar10", "nb201-cifar100", "nb201-imagenet16")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    ns = parser.parse_args()

    from harness.benchmarks import get_benchmark
    from harness.errors import HarnessError
    from harness.proxies import proxy_names, resolve_proxies
    from harness.proxies.batch import data_free_batch, training_batch
    from harness.proxies.compute import compute_values

    for name in BENCHMARKS:
        bench = get_benchmark(name)
        gt_archs = list(bench.ground_truth().archs)[: ns.archs]
        for p in resolve_proxies(proxy_names()):
            try:
                batch = training_batch(bench, ns.batch, 0) if p.needs_data else data_free_batch(bench)
                values = compute_values([p], bench.space, gt_archs, batch, 0)[:, 0]
                print(f"{name:<17} {p.name:<10} ok  {', '.join(f'{v:.4g}' for v in values)}", flush=True)
            except HarnessError as exc:
                print(f"{name:<17} {p.name:<10} ERR {type(exc).__name__}: {exc}", flush=True)


if __name__ == "__main__":
    main()
