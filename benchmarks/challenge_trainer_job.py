"""A trainer entry from upload to a finished board row: the time a team waits for its SPOS submission's row.

What it does, as a host's setup would: a challenge on the default benchmark (mnist1d-w20) whose development
phase is open now, one team, one `nas-harness worker` process already waiting (a subprocess, real clock, its
own imports and sandbox). Then the team's upload: ``submissions/spos`` zipped and sent through the intake (the
Submit page's path). The script polls the store and reports the stages:

    upload   zip + intake (the folder checks, the enqueue)
    queued   until a worker claims the job (its poll interval)
    running  until the job is finished: training in the sandbox, evaluating the GT archs, the metrics, the store
    board    building the phase board that shows the row (metric, CI, ties, baselines)

and the run's own timings (train_s, eval_gt_s, metrics_s, ...). The target (issue 31) is <= 5 min from upload
to the board row on 2 idle cores; ``--full-sweep`` measures what the old every-arch sweep costs instead.

    .venv/bin/python benchmarks/challenge_trainer_job.py            # GT archs only (the default)
    .venv/bin/python benchmarks/challenge_trainer_job.py --full-sweep

Figures depend on the CPU (and its load): the script prints the CPU model and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONFIG = """
name = "bench"
benchmark = "{benchmark}"

[scoring]
n_boot = {n_boot}
full_sweep = {full_sweep}
lease_seconds = 120
heartbeat_seconds = 10

[submissions]
kinds = ["predictions", "checkpoint", "trainer"]

[limits]
concurrent = 10

[[phases]]
name = "development"
start = {start}
end = {end}
split = "dev"
visibility = "public"
"""


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--submission", type=Path, default=ROOT / "submissions" / "spos")
    ap.add_argument("--benchmark", default="mnist1d-w20")
    ap.add_argument("--full-sweep", action="store_true", help="evaluate the whole arch set (the old behaviour)")
    ap.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples of the stored metrics (the template's)")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--keep", action="store_true", help="keep the temporary challenge folder")
    args = ap.parse_args()

    from harness.challenge import board, intake, open_challenge

    tmp = Path(tempfile.mkdtemp(prefix="challenge-trainer-job-"))
    now = datetime.now(UTC)
    fmt = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    (tmp / "c").mkdir()
    (tmp / "c" / "challenge.toml").write_text(CONFIG.format(
        benchmark=args.benchmark, n_boot=args.n_boot, full_sweep=str(args.full_sweep).lower(),
        start=fmt(now - timedelta(days=1)), end=fmt(now + timedelta(days=1))))
    host = open_challenge(tmp / "c")
    token = host.add_team("Alpha")
    load_before = os.getloadavg()
    worker = subprocess.Popen([sys.executable, "-m", "harness.cli", "worker", "--challenge", str(tmp / "c")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(5)  # the worker is up and polling before the team uploads, as on a running host
        t_upload = time.time()
        job = intake.submit_zip(host, token, intake.zip_folder(args.submission))
        t_queued = time.time()
        t_running = t_finished = None
        while time.time() - t_upload < args.timeout:
            j = host.queue.get_job(job.job_id)
            if t_running is None and j.state in ("running", "finished", "failed"):
                t_running = j.started_ns / 1e9 if j.started_ns else time.time()
            if j.state in ("finished", "failed", "cancelled"):
                t_finished = j.finished_ns / 1e9 if j.finished_ns else time.time()
                break
            time.sleep(0.5)
        else:
            raise SystemExit(f"the job did not finish within {args.timeout:.0f} s")
        if j.state != "finished":
            raise SystemExit(f"the job ended {j.state}: {j.error}")
        rows = board.challenge_board(host, "development")
        t_board = time.time()
        row = next(r for r in rows if r["submission"] == job.job_id)
        run = host.store.get_run(j.run_id)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    result = {
        "cpu": cpu_model(), "cores": os.cpu_count(), "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()], "benchmark": args.benchmark,
        "submission": args.submission.name, "full_sweep": args.full_sweep, "gt_only": bool(run.gt_only),
        "stages_s": {"upload": round(t_queued - t_upload, 2), "queued": round(t_running - t_queued, 2),
                     "running": round(t_finished - t_running, 2), "board": round(t_board - t_finished, 2)},
        "upload_to_board_row_s": round(t_board - t_upload, 1),
        "run_timings_s": {k: round(float(v), 2) for k, v in (run.timings or {}).items()},
        "row": {k: row[k] for k in ("rank", "team", "metric", "value", "ci", "tied_with_leader")},
    }
    print(json.dumps(result, indent=1))
    print(f"{args.submission.name} on {args.benchmark} ({'full sweep' if args.full_sweep else 'GT archs only'}): "
          f"upload -> board row {result['upload_to_board_row_s']:.0f} s on {result['cpu']} "
          f"({result['cores']} cores, load average before {load_before[0]:.2f})")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
