"""The program that runs inside the sandbox: ``python -I -B _child.py JOB.json``.

Only the order of the child's steps lives here (the security argument: see :mod:`harness.submission.child`):
limits and watchdog, then Landlock and the hardening layer, then, and only then, the phase module (which imports
torch, installs the audit hook and runs the submission's code). Whatever happens, one result record is written to
``scratch/out/result.json`` and the process ends without interpreter teardown.
"""

from __future__ import annotations

import json
import os
import sys

from harness.errors import one_line
from harness.submission.child.channel import EXIT_FAILED, Failure, report
from harness.submission.child.confinement import apply_rlimits, confine, start_watchdog


def run_phase(job: dict, scratch: str) -> dict[str, object]:
    """The job's phase; its module is imported here, after the confinement (it imports torch)."""
    if job["phase"] == "train":
        from harness.submission.child.train import run_train

        return run_train(job, scratch)
    from harness.submission.child.evaluate import run_evaluate

    return run_evaluate(job, scratch)


def main() -> int:
    job_path = sys.argv[1]
    with open(job_path) as f:
        job = json.load(f)
    scratch = job["scratch"]
    result_path = os.path.join(scratch, "out", "result.json")
    os.makedirs(os.path.dirname(result_path), exist_ok=True)
    apply_rlimits(job.get("limits", {}))
    start_watchdog(job.get("kill_at"))
    try:
        applied = confine(job)
        report("status", m="sandbox ready", **applied)
        result = run_phase(job, scratch)
    except Failure as exc:
        result = {"ok": False, "error": one_line(str(exc), 300)}
    except MemoryError:
        subject = "the trainer" if job["phase"] == "train" else "the module evaluation"
        result = {"ok": False, "error": f"{subject} ran out of memory (the budget allows {job['budget']['memory_gb']:g} GB)"}
    except BaseException as exc:  # noqa: BLE001 - report, never a traceback to the participant
        result = {"ok": False, "error": one_line(f"the sandbox failed: {type(exc).__name__}: {exc}", 300)}
    with open(result_path, "w") as f:
        json.dump(result, f)
    report("done", ok=bool(result.get("ok")))
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: skip interpreter teardown (atexit hooks and threads the submission left behind cannot hang us)
    os._exit(0 if result.get("ok") else EXIT_FAILED)


if __name__ == "__main__":
    main()
