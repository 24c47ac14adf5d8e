"""Queue throughput: N cheap predictions submissions on the tiny test benchmark, drained by worker slots.

Why: the durable queue adds a claim, heartbeats and a finish transaction around each ``score_submission``; this
measures that overhead as a ratio (jobs/s with 1 slot vs 2 slots, and the time of the bare scoring calls), side by
side in one run, so the figure survives loaded machines.

    nice -n 10 .venv/bin/python benchmarks/challenge_queue.py --jobs 20
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=20)
    args = ap.parse_args()
    from tiny_bench import make_tiny_benchmark

    tmp = Path(tempfile.mkdtemp(prefix="challenge-bench-"))
    os.environ["NAS_HARNESS_BENCHMARK_DIRS"] = str(make_tiny_benchmark(tmp / "bench"))
    from challenge_helpers import T0, predictions_folder, write_challenge
    from harness.challenge import intake, open_challenge, worker
    from harness.challenge.clock import FakeClock
    from harness.scoring import ScoreOptions, score_submission
    from harness.store import ResultStore

    sub = predictions_folder(tmp / "subs", "p", 0.7)
    t0 = time.perf_counter()
    plain = ResultStore(tmp / "plain")
    for _ in range(args.jobs):
        score_submission(sub, plain, ScoreOptions(n_boot=0, progress=False))
    bare = time.perf_counter() - t0
    print(f"score_submission x{args.jobs}: {bare:.2f} s ({args.jobs / bare:.1f} jobs/s)")
    for slots in (1, 2):
        host = open_challenge(write_challenge(tmp / f"c{slots}"), clock=FakeClock(T0.timestamp() + 3600))
        host.add_team("Alpha")
        for _ in range(args.jobs):
            intake.submit_folder(host, "Alpha", sub)
        t0 = time.perf_counter()
        outs = worker.run_worker(host, once=True, concurrency=slots)
        dt = time.perf_counter() - t0
        assert len(outs) == args.jobs and all(o.event == "finished" for o in outs)
        print(f"queue, {slots} slot(s), x{args.jobs}: {dt:.2f} s ({args.jobs / dt:.1f} jobs/s, {dt / bare:.2f}x the bare calls)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
