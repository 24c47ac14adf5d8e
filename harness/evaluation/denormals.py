"""Subnormal floats flushed to zero while a submission is evaluated.

Why: on x86 CPUs an arithmetic operation with a subnormal operand or result (|x| < 1.2e-38 in float32) takes a
slow microcode path, 10-100x slower. Weights that are valid (finite, the right shapes) but tiny, such as BN weights
of 0 and biases of 1e-39, make every subnet's evaluation that much slower and hold a worker that long. Flushing
(FTZ/DAZ, :func:`torch.set_flush_denormal`) makes them zeros at full speed; results of normal weights do not change
(their values never pass through the subnormal range in a way that survives rounding to the scores).

The flag is per thread (it is the calling thread's MXCSR register): it covers the fast evaluator, which computes
single-threaded in this thread or in its own worker processes (each sets it, see ``workers._worker``). Intra-op
threads of a multi-threaded reference loop are not covered; the wall-clock cap on evaluation
(``[budget] eval_seconds``) bounds that case.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def flush_denormals() -> Iterator[None]:
    """Flush subnormals to zero in this thread for the duration (restored after); a no-op where unsupported."""
    # torch offers no getter: the previous state is assumed off (torch's default), which is what it restores
    supported = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if supported:
            torch.set_flush_denormal(False)
