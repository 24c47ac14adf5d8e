"""Write this baseline's predictions.csv (``arch,score``) and, with ``--report``, check it against the real GT.

score = the exact #params (here) or FLOPs (nb201_flops_proxy) of the standalone network of each of the 15,625
archs of ``nb201-cifar100``. Needs no data and no GT; ``--report`` reads the GT CSV from $NAS_HARNESS_DATA.

    .venv/bin/python submissions/nb201_params_proxy/make_predictions.py            # rewrite predictions.csv
    NAS_HARNESS_DATA=../shared/data .venv/bin/python submissions/nb201_params_proxy/make_predictions.py --report

Why a script beside the file: a predictions submission is only trustworthy if anyone can regenerate it.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from scipy import stats

from harness.benchmarks import get_benchmark

BENCHMARK = "nb201-cifar100"
PROXY = "params"  # "params" or "flops"
OUT = Path(__file__).with_name("predictions.csv")
REPORT_SEED, REPORT_N = 0, 1000


def scores(archs: list[str]) -> np.ndarray:
    space = get_benchmark(BENCHMARK).space
    return space.params_many(archs) if PROXY == "params" else space.flops_many(archs)


def write(path: Path = OUT) -> None:
    archs = get_benchmark(BENCHMARK).archs()
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["arch", "score"])
        writer.writerows(zip(archs, scores(archs).tolist()))
    print(f"wrote {len(archs)} scores to {path}")


def report() -> None:
    """Spearman ρ / Kendall τ-b of the proxy vs the GT: 1,000 random archs (fixed seed), 100 such draws, all archs."""
    gt = get_benchmark(BENCHMARK).ground_truth()
    pred, acc = scores(gt.archs).astype(np.float64), gt.acc[:, 0]

    def draw(seed: int) -> np.ndarray:
        return np.random.default_rng(seed).choice(len(acc), size=REPORT_N, replace=False)

    pick = draw(REPORT_SEED)
    rho, tau = stats.spearmanr(pred[pick], acc[pick])[0], stats.kendalltau(pred[pick], acc[pick])[0]
    rhos = np.asarray([stats.spearmanr(pred[i], acc[i])[0] for i in map(draw, range(100))])
    print(f"{PROXY} vs {BENCHMARK} GT ({gt.attrs.get('column')})")
    print(f"  {REPORT_N} archs, default_rng({REPORT_SEED}).choice(15625, {REPORT_N}, replace=False): "
          f"Spearman {rho:.4f}, Kendall {tau:.4f}")
    print(f"  {REPORT_N} archs, seeds 0..99: Spearman mean {rhos.mean():.4f}, std {rhos.std():.4f}, "
          f"range [{rhos.min():.4f}, {rhos.max():.4f}]")
    print(f"  all {len(acc)} archs: Spearman {stats.spearmanr(pred, acc)[0]:.4f}, "
          f"Kendall {stats.kendalltau(pred, acc)[0]:.4f}")

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="print rank correlations with the real GT instead")
    if parser.parse_args().report:
        report()
    else:
        write()
