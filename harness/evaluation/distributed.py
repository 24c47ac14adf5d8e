"""Sharding the arch set over processes launched by ``torchrun`` (torch.distributed), when one is running.

Why this shape: the work units (chunks of the fast evaluator, archs of the reference loop) are fixed by the arch
set alone, never by the number of processes, and each unit is computed by exactly one rank; the counts are then
summed across ranks. So a run on 8 GPUs gives the same bits as a run on one GPU of the same kind, and a host with
more hardware scales out without new code: ``torchrun --nproc_per_node 8 -m harness.cli score ...``.
"""

from __future__ import annotations

import numpy as np
import torch


def world() -> tuple[int, int]:
    """(rank, world size); (0, 1) when no process group is initialised."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def my_units(n_units: int) -> list[int]:
    """Round-robin share of this rank (units are interleaved so that cheap and costly ones spread evenly)."""
    rank, size = world()
    return list(range(rank, n_units, size))


def sum_over_ranks(values: np.ndarray) -> np.ndarray:
    """Element-wise sum of an int64 array over all ranks (a no-op on one process)."""
    rank, size = world()
    if size == 1:
        return values
    dist = torch.distributed
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
    t = torch.as_tensor(values, dtype=torch.int64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.cpu().numpy()
