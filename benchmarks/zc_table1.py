"""Reproduce Table 1 of Abdelfattah et al. (ICLR 2021): Spearman ρ of zero-cost proxies over NAS-Bench-201.

Resumable: per-arch values go to ``OUT/<benchmark>/<group>.w<k>of<n>.csv`` as they are computed (one file per
worker), archs in a seeded random order, so the archs done at any moment are a uniform random subset of the
15,625 and the Spearman ρ on them (with a bootstrap interval over archs) estimates the full-space value.

    NAS_HARNESS_DATA=results/data NAS_HARNESS_VERIFY_CHECKSUMS=0 \\
      nice -n 19 .venv/bin/python benchmarks/zc_table1.py run --workers 2 --out results/zc_table1
    .venv/bin/python benchmarks/zc_table1.py report --out results/zc_table1

``results/data`` holds (links to) ``nb201/`` (the GT CSV), ``cifar-10-batches-py/`` and ``cifar-100-python/``.
Phases, in order: the data-free proxies (synflow, params, flops) on the three datasets, then the data proxies
(grad_norm, snip, grasp, fisher, jacob_cov, nwot) on CIFAR-10, then on CIFAR-100 (ImageNet16-120 images are not
available here). Published values: the released notebook of SamsungLabs/zero-cost-nas
(notebooks/nasbench201_correlations.ipynb, |ρ| with NaNs omitted, 15,625 archs, batch 64, seed 42), whose rounded
values are the paper's Table 1.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATA_FREE = ("synflow", "params", "flops")
WITH_DATA = ("grad_norm", "snip", "grasp", "fisher", "jacob_cov", "nwot")
DATASETS = {"cifar10": "nb201-cifar10", "cifar100": "nb201-cifar100", "imagenet16": "nb201-imagenet16"}
#: |Spearman ρ| over all 15,625 archs, from the released notebook (the paper's Table 1 rounds these)
PUBLISHED = {
    "nb201-cifar10": {"grad_norm": 0.594, "snip": 0.596, "grasp": 0.514, "fisher": 0.36, "synflow": 0.737, "jacob_cov": 0.731},
    "nb201-cifar100": {"grad_norm": 0.637, "snip": 0.637, "grasp": 0.547, "fisher": 0.385, "synflow": 0.763, "jacob_cov": 0.704},
    "nb201-imagenet16": {"grad_norm": 0.578, "snip": 0.578, "grasp": 0.549, "fisher": 0.327, "synflow": 0.751, "jacob_cov": 0.701},
}
PHASES = [(b, DATA_FREE) for b in DATASETS.values()] + [("nb201-cifar10", WITH_DATA), ("nb201-cifar100", WITH_DATA)]
ORDER_SEED = 33


def group_name(proxies: tuple[str, ...]) -> str:
    return "datafree" if proxies == DATA_FREE else "data"


def arch_order(n: int) -> np.ndarray:
    """The fixed random order in which archs are computed (a prefix of it is a uniform random subset)."""
    return np.random.default_rng(ORDER_SEED).permutation(n)


def _worker(args: tuple) -> str:
    bench_name, proxies, out, k, n_workers, batch_size, seed, limit = args
    import torch

    torch.set_num_threads(1)
    from harness.benchmarks import get_benchmark
    from harness.proxies import resolve_proxies
    from harness.proxies.batch import data_free_batch, training_batch
    from harness.proxies.compute import ValuesFile, compute_values

    bench = get_benchmark(bench_name)
    ps = resolve_proxies(list(proxies))
    needs = any(p.needs_data for p in ps)
    batch = training_batch(bench, batch_size, seed) if needs else data_free_batch(bench)
    archs = bench.archs()
    order = arch_order(len(archs))[: limit or None]
    mine = [archs[i] for i in order[k::n_workers]]
    path = Path(out) / bench_name / f"{group_name(proxies)}.w{k}of{n_workers}.csv"
    config = {"benchmark": bench.label, "seed": seed, **batch.record()}
    t0 = time.time()
    compute_values(ps, bench.space, mine, batch, seed, values_file=ValuesFile(path, [p.name for p in ps], config),
                   flush_every=5)
    return f"{path}: {len(mine)} archs in {time.time() - t0:.0f} s"


def run(ns: argparse.Namespace) -> None:
    phases = [p for p in PHASES if ns.phase is None or f"{p[0]}:{group_name(p[1])}" in ns.phase.split(",")]
    for bench_name, proxies in phases:
        print(f"[{time.strftime('%H:%M:%S')}] phase {bench_name} {group_name(proxies)}", flush=True)
        jobs = [(bench_name, proxies, ns.out, k, ns.workers, ns.batch, ns.seed, ns.limit) for k in range(ns.workers)]
        if ns.workers == 1:
            print(_worker(jobs[0]), flush=True)
            continue
        with mp.get_context("spawn").Pool(ns.workers) as pool:
            for line in pool.imap_unordered(_worker, jobs):
                print(line, flush=True)


def load_values(out: Path, bench_name: str, group: str) -> dict[str, dict[str, float]]:
    """arch -> {proxy: value} from every worker file of one phase."""
    values: dict[str, dict[str, float]] = {}
    for path in sorted((out / bench_name).glob(f"{group}.w*.csv")):
        lines = path.read_text().splitlines()
        if len(lines) < 2:
            continue
        names = lines[1].split(",")[1:]
        for line in lines[2:]:
            parts = line.rsplit(",", len(names))
            if len(parts) == len(names) + 1:
                try:
                    values[parts[0]] = dict(zip(names, map(float, parts[1:]), strict=True))
                except ValueError:
                    continue
    return values


def spearman_ci(x: np.ndarray, y: np.ndarray, n_boot: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """ρ with NaNs omitted, and a percentile bootstrap 95% interval over archs."""
    from scipy import stats

    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    rho = float(stats.spearmanr(x, y).statistic)
    if len(x) < 10:
        return rho, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    boots = []
    for _ in range(n_boot):
        i = rng.integers(0, len(x), len(x))
        boots.append(np.corrcoef(stats.rankdata(rx[i]), stats.rankdata(ry[i]))[0, 1])
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return rho, float(lo), float(hi)


def report(ns: argparse.Namespace) -> None:
    from harness.benchmarks import get_benchmark

    out = Path(ns.out)
    rows = []
    for bench_name in DATASETS.values():
        gt = get_benchmark(bench_name).ground_truth()
        acc = dict(zip(gt.archs, gt.acc[:, 0], strict=True))
        for group, names in (("datafree", DATA_FREE), ("data", WITH_DATA)):
            values = load_values(out, bench_name, group)
            if not values:
                continue
            archs = [a for a in values if a in acc]
            y = np.asarray([acc[a] for a in archs])
            for name in names:
                x = np.asarray([values[a][name] for a in archs])
                rho, lo, hi = spearman_ci(x, y)
                n_nan = int((~np.isfinite(x)).sum())
                pub = PUBLISHED[bench_name].get(name)
                rows.append((bench_name, name, pub, rho, lo, hi, len(archs), n_nan))
    print("| benchmark | proxy | published ρ (abs) | measured ρ | 95% CI (bootstrap over archs) | n archs | NaN | Δ (abs) |")
    print("|---|---|---|---|---|---|---|---|")
    for b, name, pub, rho, lo, hi, n, n_nan in rows:
        delta = "" if pub is None else f"{abs(abs(rho) - pub):.3f}"
        print(f"| {b} | {name} | {'' if pub is None else f'{pub:.3f}'} | {rho:.3f} | [{lo:.3f}, {hi:.3f}] | {n} | {n_nan} | {delta} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", default="results/zc_table1")
    r.add_argument("--workers", type=int, default=2)
    r.add_argument("--batch", type=int, default=64)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--limit", type=int, default=0, help="only the first N archs of the fixed random order (0: all)")
    r.add_argument("--phase", default=None, help="comma list of BENCH:GROUP (e.g. nb201-cifar10:data); all by default")
    p = sub.add_parser("report")
    p.add_argument("--out", default="results/zc_table1")
    ns = parser.parse_args()
    run(ns) if ns.cmd == "run" else report(ns)


if __name__ == "__main__":
    main()
