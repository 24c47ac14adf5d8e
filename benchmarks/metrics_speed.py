"""Time the metrics of a predictions file, this tree side by side with an older commit of the harness.

Usage: python benchmarks/metrics_speed.py [--old 6434dde] [--boot 1000] [--nb201-n 7800] [--repeat 1]

Two workloads, each in a fresh process (so nothing is memoised: the GT's split-half agreement and expected
oracle τ are computed as in a first scoring run):

* ``default``: :func:`harness.scoring.split_metrics` on the default benchmark (``mnist1d-w20``: both GT splits,
  every metric, 95 % bootstrap CIs of the submission and the #params baseline, split-half agreement);
* ``nb201``: :func:`harness.metrics.evaluate_predictions` on ``--nb201-n`` archs with one GT column (an NB201
  split): the real NB201 CIFAR-10 accuracies when ../shared/data/nb201 is present, else synthetic ones rounded
  to 0.01 % (NB201's tie structure).

The old path is the same code at ``--old``, extracted with ``git archive`` into a temporary folder. Prints wall
and CPU seconds of each; only ratios measured in one run of this script are comparable on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

WORKLOAD = r'''
import json, sys, time
from pathlib import Path
import numpy as np
kind, boot, n_nb, data = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(0)
if kind == "default":
    from harness.benchmarks import get_benchmark
    from harness.scoring import split_metrics
    gt = get_benchmark("mnist1d-w20").ground_truth()
    pred = rng.normal(size=int(gt.archset_index.max()) + 1)
    pred[gt.archset_index] = np.nanmean(gt.acc, axis=1) + rng.normal(0, 0.01, gt.acc.shape[0])
    run = lambda: split_metrics(pred, gt, n_boot=boot, seed=0)
else:
    import harness.metrics as M
    csv_path = Path(data) / "nb201" / "nb201_test_acc_200ep.csv"
    if csv_path.is_file():
        import csv
        with csv_path.open(newline="") as f:
            acc = np.array([float(r["CIFAR10TestAccuracy200Epochs"]) for r in csv.DictReader(f)]) / 100
        acc = acc[rng.permutation(acc.size)[:n_nb]]
    else:
        acc = np.round(rng.uniform(0.1, 0.94, n_nb), 4)
    params = rng.integers(100_000, 1_500_000, acc.size)
    pred = acc + rng.normal(0, 0.03, acc.size)
    run = lambda: M.evaluate_predictions(pred, acc[:, None], params, n_boot=boot, seed=0)
w, c = time.perf_counter(), time.process_time()
run()
print(json.dumps({"wall": time.perf_counter() - w, "cpu": time.process_time() - c}))
'''


def _old_tree(commit: str, into: Path) -> Path:
    blob = subprocess.run(["git", "-C", str(REPO), "archive", commit, "harness"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return into


def _time(root: Path, kind: str, boot: int, n_nb: int) -> dict[str, float]:
    data = str(REPO.parent / "shared" / "data")
    env_path = f"{root}"
    out = subprocess.run([sys.executable, "-c", WORKLOAD, kind, str(boot), str(n_nb), data], check=True,
                         capture_output=True, text=True, cwd=root, env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin",
                                                                       "NAS_HARNESS_DATA": data, "HOME": str(Path.home())})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--old", default="6434dde", help="commit of the old path")
    p.add_argument("--boot", type=int, default=1000)
    p.add_argument("--nb201-n", type=int, default=7800)
    p.add_argument("--repeat", type=int, default=1)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = _old_tree(args.old, Path(tmp))
        print(f"{'workload':<10} {'path':<14} {'wall s':>8} {'cpu s':>8}")
        for kind in ("default", "nb201"):
            for label, root in ((f"old {args.old}", old), ("this tree", REPO)):
                for _ in range(args.repeat):
                    t = _time(root, kind, args.boot, args.nb201_n)
                    print(f"{kind:<10} {label:<14} {t['wall']:>8.2f} {t['cpu']:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
