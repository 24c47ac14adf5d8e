"""Run one sandbox job (train or evaluate) in an isolated child process, under a wall-clock budget.

The sandbox in three phases, one module each:

* the **job** (:mod:`harness.submission.job`): what the harness asks for (the job file with its limits and
  confinement flags) and what it gets back (the result record, read as untrusted data);
* the **launcher** (:mod:`harness.submission.launcher`): bwrap or the fallback, the cgroup, supervising the
  process under its budget and scratch quota, capturing its progress and output, killing what is left;
* the **child** (:mod:`harness.submission.child`, started as ``_child.py``): confines itself (rlimits, Landlock,
  seccomp, the audit hook), then runs the phase: train a trainer, or evaluate a submission's own module.

:func:`run_job` is only the order of those phases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.submission.job import (
    RESULT_FILE,
    JobOutcome,
    TrainerOutput,
    full_job,
    job_outcome,
    prepare_scratch,
    read_result,
    recorded_epochs,
    write_job,
)
from harness.submission.launcher import ProgressFn, launch
from harness.submission.policy import Policy


def run_job(
    job: dict[str, Any],
    *,
    policy: Policy,
    scratch: Path,
    seconds: float,
    memory_gb: float,
    mode: str,
    what: str,
    progress: ProgressFn | None = None,
    output: TrainerOutput | None = None,
) -> JobOutcome:
    """Run ``job`` in the sandbox; returns its outcome or raises a one-line SubmissionError/BudgetExceededError.

    ``job`` holds the phase's own fields (``phase``, ``submission``, ``space``, ``device``, ``threads``, ...);
    ``what`` names the job in messages ("trainer", "module evaluation"); ``mode`` is ``"bwrap"`` or
    ``"fallback"`` (:func:`harness.submission.launcher.isolation_mode`). ``output``, when given, receives what the
    child printed and logged before the outcome is judged, so it is kept even when the job failed.
    """
    scratch = Path(scratch)
    out_dir = prepare_scratch(scratch)
    job_path = write_job(scratch, full_job(job, policy=policy, scratch=scratch, seconds=seconds, memory_gb=memory_gb, mode=mode))
    child = launch(job_path, policy=policy, scratch=scratch, seconds=seconds, memory_gb=memory_gb, mode=mode,
                   threads=int(job.get("threads", 1)), progress=progress)
    if output is not None:
        output.log, output.scalars = child.log, list(child.scalars)
        output.epochs = recorded_epochs(read_result(out_dir / RESULT_FILE))
    return job_outcome(child, out_dir, mode=mode, what=what, seconds=seconds, memory_gb=memory_gb)
