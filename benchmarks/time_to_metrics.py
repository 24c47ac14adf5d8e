"""Time to the metric table of `nas-harness score`: GT archs first vs the full sweep, side by side in one run.

Usage: python benchmarks/time_to_metrics.py [submissions/spos] [--gt-only] [--seed 0]

Scores the submission once into a temporary store through :func:`harness.scoring.score_submission` (the code the
CLI runs) and prints: seconds from start to the final metrics (training + GT archs + metrics: when `score` prints
its table), seconds to the end of the full sweep (the time to the table before the GT archs went first), their
ratio, the stage timings the run recorded, and the load average before and after (report figures with it: on
shared cores they are not idle-core figures).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submission", nargs="?", default="submissions/spos")
    parser.add_argument("--gt-only", action="store_true", help="skip the rest of the arch set (time to metrics only)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from harness.scoring import ScoreOptions, score_submission
    from harness.store import ResultStore

    load0 = os.getloadavg()
    seen: dict[str, float] = {}
    start = time.perf_counter()

    def on_metrics(_: dict) -> None:
        seen["metrics"] = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        store = ResultStore(Path(tmp) / "store")
        run = score_submission(Path(args.submission), store, ScoreOptions(seed=args.seed, gt_only=args.gt_only,
                                                                          progress=False, on_metrics=on_metrics))
    total = time.perf_counter() - start
    load1 = os.getloadavg()
    print(f"{run.submission} seed {args.seed}: Kendall τ dev {run.metric('kendall_tau', 'dev'):.4f}")
    print(f"time to the metric table (GT archs first): {seen['metrics']:7.1f} s")
    if args.gt_only:
        print("full sweep skipped (--gt-only)")
    else:
        print(f"time to the end of the full sweep:          {total:7.1f} s   (ratio {total / seen['metrics']:.1f}×)")
    print("stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in run.timings.items()))
    print(f"load average (1 min) before {load0[0]:.1f}, after {load1[0]:.1f}; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
