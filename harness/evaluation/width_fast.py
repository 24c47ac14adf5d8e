"""The fast evaluator of the ResNet20 width spaces, as the object the space hands out (``space.fast_evaluator()``).

Why an object: :mod:`harness.evaluation.api` must not know which space has a fast path. A space that has one
returns an object with this interface; the api groups archs with :meth:`distinct`, plans with :meth:`schedule`
and runs chunks with :meth:`run_chunks` (CPU worker processes) or :meth:`job_runner` (in process, e.g. CUDA).
The work itself is :mod:`harness.evaluation.fast` (prefix tree + grouped convolutions) and
:mod:`harness.evaluation.workers`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from harness.evaluation.fast import FastOptions, FastSchedule, schedule, unique_widths
from harness.evaluation.protocol import EvalData
from harness.evaluation.workers import ChunkJob, Result, Task, job_runner, run_chunks


@dataclass(frozen=True)
class WidthFastEvaluator:
    """Fast evaluation of reference :class:`reference_nets.resnet20_width.WidthSuperNet` state dicts."""

    dims: int

    def bn_eps(self, module: nn.Module) -> float:
        """The BN epsilon of a reference supernet module (its stem BN's; every BN of the class has the same)."""
        return float(getattr(getattr(module, "stem_bn", None), "eps", 1e-5))

    def distinct(self, archs: Sequence[str], parse: Callable[[str], tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray]:
        """Distinct subnets among ``archs`` (rows of used widths) and, per arch, its row."""
        return unique_widths(archs, parse)

    def schedule(self, data: EvalData, opts: FastOptions, device: torch.device) -> FastSchedule:
        return schedule(data, self.dims, opts, device)

    def run_chunks(self, jobs: Sequence[ChunkJob], data: EvalData, *, opts: FastOptions, sched: FastSchedule,
                   eps: float, tasks: Sequence[Task], workers: int) -> Iterator[Result]:
        return run_chunks(jobs, self.dims, data, opts=opts, sched=sched, eps=eps, tasks=tasks, workers=workers)

    def job_runner(self, jobs: Sequence[ChunkJob], data: EvalData, opts: FastOptions, sched: FastSchedule, eps: float,
                   device: torch.device) -> Callable[[Task], Result]:
        return job_runner(jobs, self.dims, data, opts, sched, eps, device)
