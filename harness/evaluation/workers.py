"""CPU parallelism for the fast evaluator: single-threaded worker processes pulling chunks from a queue.

Why processes and not intra-op threads: the work is thousands of small kernels per chunk, and an OpenMP parallel
region waits for its slowest thread. On a shared box (other jobs on the same cores) one descheduled thread stalls
every kernel for a time slice; measured on the 2-core box under load, 2 intra-op threads were 8x *slower* than 1.
Independent single-threaded workers never wait on each other, and a chunk computed single-threaded gives the same
bits whichever worker (or how many) ran it, so results never depend on the worker count.
"""

from __future__ import annotations

import os
import queue as queue_mod
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from harness.evaluation.fast import FastOptions, FastSchedule, fast_correct_chunks
from harness.evaluation.protocol import EvalData

Result = tuple[int, np.ndarray, np.ndarray]


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


def _die_with_parent() -> None:
    """Linux: SIGKILL this worker when the scoring process dies (kill -9 included), so no orphan keeps computing."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):  # not Linux: the daemon flag still ends workers on a clean exit
        pass


def _worker(args: dict[str, Any], tasks: Any, results: Any, parent: int) -> None:
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the death signal was armed
        return
    torch.set_num_threads(1)
    try:
        while True:
            ci = tasks.get()
            if ci is None:
                break
            for item in fast_correct_chunks(args["state"], args["dims"], args["widths"], args["data"], opts=args["opts"],
                                            sched=args["sched"], eps=args["eps"], chunk_ids=[ci]):
                results.put(("ok", item))
    except BaseException as exc:  # noqa: BLE001 - report any failure to the parent as one line
        results.put(("error", f"{type(exc).__name__}: {exc}"))
    results.put(("done", None))


def run_chunks(
    state: dict[str, torch.Tensor],
    dims: int,
    widths: np.ndarray,
    data: EvalData,
    *,
    opts: FastOptions,
    sched: FastSchedule,
    eps: float,
    chunk_ids: Sequence[int],
    workers: int,
) -> Iterator[Result]:
    """Results of ``chunk_ids`` (in completion order) computed by ``workers`` processes (in-process when 1)."""
    chunk_ids = list(chunk_ids)
    if workers <= 1 or len(chunk_ids) <= 1:
        with single_thread():
            yield from fast_correct_chunks(state, dims, widths, data, opts=opts, sched=sched, eps=eps, chunk_ids=chunk_ids)
        return
    ctx = torch.multiprocessing.get_context("spawn")  # fork after OpenMP has started can deadlock
    tasks, results = ctx.Queue(), ctx.Queue()
    for ci in chunk_ids:
        tasks.put(ci)
    n = min(workers, len(chunk_ids))
    for _ in range(n):
        tasks.put(None)
    args = {"state": {k: v.cpu() for k, v in state.items()}, "dims": dims, "widths": widths, "data": data.to("cpu"),
            "opts": opts, "sched": sched, "eps": eps}
    procs = [ctx.Process(target=_worker, args=(args, tasks, results, os.getpid()), daemon=True) for _ in range(n)]
    for p in procs:
        p.start()
    done, error = 0, None
    try:
        while done < n:
            try:
                kind, payload = results.get(timeout=5.0)
            except queue_mod.Empty:
                if not any(p.is_alive() for p in procs):
                    raise RuntimeError("fast evaluator workers died without reporting (killed for memory?)") from None
                continue
            if kind == "ok":
                yield payload
            elif kind == "error":
                error = error or payload
            else:
                done += 1
    finally:
        for p in procs:
            p.join(timeout=1.0)
            if p.is_alive():
                p.terminate()
    if error is not None:
        raise RuntimeError(f"fast evaluator worker failed: {error}")
