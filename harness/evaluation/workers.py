"""CPU parallelism for the fast evaluator: single-threaded worker processes pulling chunks from a queue.

Why processes and not intra-op threads: the work is thousands of small kernels per chunk, and an OpenMP parallel
region waits for its slowest thread. On a shared box (other jobs on the same cores) one descheduled thread stalls
every kernel for a time slice; measured on the 2-core box under load, 2 intra-op threads were 8x *slower* than 1.
Independent single-threaded workers never wait on each other, and a chunk computed single-threaded gives the same
bits whichever worker (or how many) ran it, so results never depend on the worker count.
"""

from __future__ import annotations

import math
import os
import queue as queue_mod
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from harness.errors import HarnessError
from harness.evaluation.fast import ChunkEvaluator, FastOptions, FastSchedule
from harness.evaluation.protocol import EvalData
from harness.lifetime import die_with_parent, parent_changed

# How long a worker may take from spawn to its first message (importing torch on a loaded box takes tens of seconds)
START_TIMEOUT_S = 600.0


class EvaluationWorkerError(HarnessError):
    """A fast-evaluator worker process that failed to start, died, or raised: the evaluation cannot complete."""

    exit_code = 7


def _start_failure(exitcode: int | None) -> EvaluationWorkerError:
    code = "still starting" if exitcode is None else f"exit code {exitcode}"
    return EvaluationWorkerError(
        f"a fast-evaluator worker process died while starting ({code}); worker processes re-import the main script, so "
        "a script that calls evaluate() must guard its top-level code with `if __name__ == \"__main__\":` "
        "(or pass FastOptions(workers=1))"
    )


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


def _worker(args: dict[str, Any], tasks: Any, results: Any, parent: int) -> None:
    die_with_parent()
    if parent_changed(parent):  # the parent died before the death signal was armed
        return
    results.put(("started", os.getpid()))
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)  # subnormal weights must not slow the evaluation (harness.evaluation.denormals)
    try:
        run = job_runner(args["jobs"], args["dims"], args["data"], args["opts"], args["sched"], args["eps"])
        while True:
            task = tasks.get()
            if task is None:
                break
            results.put(("ok", run(task)))
    except BaseException as exc:  # noqa: BLE001 - report any failure to the parent as one line
        results.put(("error", f"{type(exc).__name__}: {exc}"))
    results.put(("done", os.getpid()))


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
    ctx = torch.multiprocessing.get_context("spawn")  # fork after OpenMP has started can deadlock
    queue, results = ctx.Queue(), ctx.Queue()
    for task in tasks:
        queue.put(task)
    n = min(workers, len(tasks))
    for _ in range(n):
        queue.put(None)
    args = {"jobs": [ChunkJob({k: v.cpu() for k, v in job.state.items()}, job.widths) for job in jobs], "dims": dims,
            "data": data.to("cpu"), "opts": opts, "sched": sched, "eps": eps}
    procs = [ctx.Process(target=_worker, args=(args, queue, results, os.getpid()), daemon=True) for _ in range(n)]
    for p in procs:
        p.start()
    done, error, started, finished = 0, None, set(), set()
    t_start = time.monotonic()
    try:
        while done < n:
            try:
                kind, payload = results.get(timeout=1.0)
            except queue_mod.Empty:
                _check_workers(procs, started, finished, t_start)
                continue
            if kind == "started":
                started.add(payload)
            elif kind == "ok":
                yield payload
            elif kind == "error":
                error = error or payload
            else:
                done += 1
                finished.add(payload)
    finally:
        for p in procs:
            p.join(timeout=1.0)
            if p.is_alive():
                p.terminate()
    if error is not None:
        raise EvaluationWorkerError(f"fast evaluator worker failed: {error}")


def _check_workers(procs: Sequence[Any], started: set[int], finished: set[int], t_start: float) -> None:
    """Raise at once when a worker died before starting or before finishing; never wait on a dead worker."""
    for p in procs:
        if p.pid in finished or p.is_alive() and p.pid in started:
            continue
        if p.pid not in started:
            if not p.is_alive() or time.monotonic() - t_start > START_TIMEOUT_S:
                raise _start_failure(p.exitcode)
            continue
        raise EvaluationWorkerError(f"a fast-evaluator worker process died while evaluating (exit code {p.exitcode}; killed for memory?)")
