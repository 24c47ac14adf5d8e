"""CPU parallelism for the fast evaluator: single-threaded worker processes pulling chunks from a queue.

The processes are :class:`harness.workerpool.WorkerPool` workers, started as their own program: a caller's
script (guarded or not) or notebook is never re-run by them.

Why processes and not intra-op threads: the work is thousands of small kernels per chunk, and an OpenMP parallel
region waits for its slowest thread. On a shared box (other jobs on the same cores) one descheduled thread stalls
every kernel for a time slice; measured on the 2-core box under load, 2 intra-op threads were 8x *slower* than 1.
Independent single-threaded workers never wait on each other, and a chunk computed single-threaded gives the same
bits whichever worker (or how many) ran it, so results never depend on the worker count.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from harness.evaluation.fast import ChunkEvaluator, FastOptions, FastSchedule
from harness.evaluation.protocol import EvalData
from harness.workerpool import WorkerPool, WorkerProcessError

#: the error of a worker that failed to start, died or raised (kept under its old name for callers)
EvaluationWorkerError = WorkerProcessError


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class single_thread:
    """Context: torch intra-op threads pinned to 1 (restored after)."""

    def __enter__(self) -> None:
        self.saved = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc: object) -> None:
        torch.set_num_threads(self.saved)


@dataclass(frozen=True)
class ChunkJob:
    """One supernet's weights and the distinct subnets (sorted widths) it serves: a few-shot supernet is one job
    per copy, an ordinary supernet one job."""

    state: dict[str, torch.Tensor]
    widths: np.ndarray


Task = tuple[int, int]  # (job index, chunk index)
Result = tuple[int, int, np.ndarray, np.ndarray]  # (job index, start row, correct counts, finite flags)


def job_runner(jobs: Sequence[ChunkJob], dims: int, data: EvalData, opts: FastOptions, sched: FastSchedule, eps: float,
               device: torch.device | str = "cpu") -> Callable[[Task], Result]:
    """Run a task on a ChunkEvaluator of its job, kept while consecutive tasks share the job (tasks come job by job)."""
    current: dict[int, ChunkEvaluator] = {}

    def run(task: Task) -> Result:
        j, ci = task
        if j not in current:
            current.clear()
            current[j] = ChunkEvaluator(jobs[j].state, dims, jobs[j].widths, data, device=device, opts=opts, sched=sched, eps=eps)
        return (j, *current[j].run(ci))

    return run


def worker_runner(args: dict[str, Any]) -> Callable[[Task], Result]:
    """The factory a worker process builds its ``run(task)`` from (:class:`harness.workerpool.WorkerPool`)."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # subnormal weights must not slow the evaluation (harness.evaluation.denormals)
    return job_runner(args["jobs"], args["dims"], args["data"], args["opts"], args["sched"], args["eps"])


def job_tasks(jobs: Sequence[ChunkJob], sched: FastSchedule) -> list[Task]:
    """Every (job, chunk) unit, job by job; fixed by the jobs and the schedule alone (never by the worker count)."""
    return [(j, ci) for j, job in enumerate(jobs) for ci in range(math.ceil(len(job.widths) / sched.chunk_size))]


def run_chunks(
    jobs: Sequence[ChunkJob],
    dims: int,
    data: EvalData,
    *,
    opts: FastOptions,
    sched: FastSchedule,
    eps: float,
    tasks: Sequence[Task],
    workers: int,
) -> Iterator[Result]:
    """Results of ``tasks`` (in completion order) computed by ``workers`` processes (in-process when 1)."""
    tasks = list(tasks)
    if workers <= 1 or len(tasks) <= 1:
        run = job_runner(jobs, dims, data, opts, sched, eps)
        with single_thread():
            for task in tasks:
                yield run(task)
        return
    args = {"jobs": [ChunkJob({k: v.cpu() for k, v in job.state.items()}, job.widths) for job in jobs], "dims": dims,
            "data": data.to("cpu"), "opts": opts, "sched": sched, "eps": eps}
    pool = WorkerPool("harness.evaluation.workers:worker_runner", args, min(workers, len(tasks)), what="fast-evaluator worker")
    yield from pool.run(tasks)
