"""``evaluate``: one inherited-weight score per arch under the benchmark's protocol, by the fast or the reference path.

Why one entry point: scoring should not need to know which evaluator can handle which model. The fast tree
evaluator handles the reference width supernet (as a state dict or as the module itself); anything else (a
submission's own module, another space's supernet) goes through the plain reference loop, which works for any
``forward(x, arch)`` module, and the fallback is logged and reported in :class:`EvalResult.info`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from harness.errors import SubmissionError, UnknownNameError
from harness.evaluation import distributed
from harness.evaluation.bn_calibration import deterministic_kernels
from harness.evaluation.fast import FastOptions, fast_correct_chunks, schedule, unique_widths
from harness.evaluation.params_check import check_realised_params
from harness.evaluation.progress import progress_bar
from harness.evaluation.protocol import EvalData, eval_data_for
from harness.evaluation.reference import reference_correct
from harness.evaluation.workers import default_workers, run_chunks

log = logging.getLogger("harness.evaluation")
EVALUATORS = ("fast", "reference")
WIDTH_SPACES = ("resnet20-width-1d", "resnet20-width-2d")


@dataclass
class EvalResult:
    scores: np.ndarray  # float64 accuracy per arch, in the order asked
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Prepared:
    state: dict[str, torch.Tensor] | None  # reference-layout weights of a width space (fast path possible)
    module: nn.Module | None  # what the reference loop runs
    custom: bool  # a submission's own module (not the reference class)
    eps: float = 1e-5


def _prepare(model: Any, bench: Any) -> _Prepared:
    """Validate ``model`` (state dict or module) for ``bench``: keys, shapes, finite weights; one-line errors."""
    from harness.submission.reference import check_finite, new_reference_supernet, validate_state_dict

    space = bench.space
    width = space.name in WIDTH_SPACES
    if isinstance(model, Mapping):
        state = validate_state_dict(model, space, "checkpoint")
        if width:
            return _Prepared(state, None, False)
        module = new_reference_supernet(space)
        module.load_state_dict(state)
        return _Prepared(None, module, False)
    if not isinstance(model, nn.Module):
        raise SubmissionError(f"the model is a {type(model).__name__}, not a state dict or an nn.Module with forward(x, arch)")
    check_finite(dict(model.named_parameters()), "the supernet")
    if type(model) is type(new_reference_supernet(space)):
        state = validate_state_dict(model.state_dict(), space, "the supernet")
        eps = float(getattr(getattr(model, "stem_bn", None), "eps", 1e-5))
        return _Prepared(state if width else None, model, False, eps)
    return _Prepared(None, model, True)


def _validated(space: Any, archs: Sequence[str]) -> list[str]:
    archs = list(archs)
    for a in archs:
        space.canonical(a)  # raises InvalidArchError with the arch named
    return archs


def _run_fast(prep: _Prepared, bench: Any, archs: list[str], data: EvalData, device: torch.device, opts: FastOptions, progress: bool | Callable[[float, str], None], info: dict) -> np.ndarray:
    space = bench.space
    widths, inverse = unique_widths(archs, space.parse)
    sched = schedule(data, space.dims, opts, device)
    n_chunks = -(-len(widths) // sched.chunk_size)
    info.update(n_distinct=int(len(widths)), chunk_size=sched.chunk_size, eval_block=sched.eval_block,
                single_pass=sched.single_pass, dtype=opts.dtype)
    counts = np.zeros(len(widths), dtype=np.int64)
    mine = distributed.my_units(n_chunks)
    with progress_bar(len(widths), f"evaluating {bench.name} (fast)", progress) as advance:
        if device.type == "cpu":
            workers = opts.workers or default_workers()
            info["workers"] = min(workers, len(mine))
            chunks = run_chunks(prep.state, space.dims, widths, data, opts=opts, sched=sched, eps=prep.eps, chunk_ids=mine, workers=workers)
        else:
            chunks = fast_correct_chunks(prep.state, space.dims, widths, data, device=device, opts=opts, sched=sched, eps=prep.eps, chunk_ids=mine)
        for start, correct, finite in chunks:
            counts[start : start + len(correct)] = np.where(finite, correct, -1)
            advance(len(correct))
    counts = distributed.sum_over_ranks(counts)
    bad = np.flatnonzero(counts[inverse] < 0)
    if len(bad):
        raise SubmissionError(f"model output for arch {archs[bad[0]]} is not finite (NaN or inf); {len(bad)} arch(s) affected")
    return counts[inverse]


def _run_reference(prep: _Prepared, bench: Any, archs: list[str], data: EvalData, device: torch.device, progress: bool | Callable[[float, str], None]) -> np.ndarray:
    module = prep.module
    if module is None:  # a width-space state dict asked for the reference loop
        from harness.submission.reference import new_reference_supernet

        module = new_reference_supernet(bench.space)
        module.load_state_dict(prep.state)
    mine = distributed.my_units(len(archs))
    counts = np.zeros(len(archs), dtype=np.int64)
    with progress_bar(len(mine), f"evaluating {bench.name} (reference loop)", progress) as advance:
        counts[mine] = reference_correct(module, [archs[i] for i in mine], data, device=device, on_done=advance)
    return distributed.sum_over_ranks(counts)


def evaluate_with_info(
    model: nn.Module | Mapping[str, torch.Tensor],
    bench: Any,
    archs: Sequence[str],
    *,
    evaluator: str = "fast",
    device: str | torch.device = "cpu",
    progress: bool | Callable[[float, str], None] = True,
    options: FastOptions | None = None,
    check_params: bool = True,
) -> EvalResult:
    """Like :func:`evaluate`, and says what ran (``info``: evaluator used, fallback reason, timings, chunking)."""
    if evaluator not in EVALUATORS:
        raise UnknownNameError(f"unknown evaluator {evaluator!r}; use one of: {', '.join(EVALUATORS)}")
    t0 = time.perf_counter()
    device = torch.device(device)
    archs = _validated(bench.space, archs)
    prep = _prepare(model, bench)
    data = eval_data_for(bench, device)
    rank, size = distributed.world()
    info: dict[str, Any] = {"requested": evaluator, "device": str(device), "n_archs": len(archs), "world_size": size, "fallback_reason": None}
    if prep.custom and check_params:
        check_realised_params(prep.module, bench.space, archs, data.sample_shape)
        info["params_check"] = "passed"
    used = evaluator
    if evaluator == "fast" and prep.state is None:
        used = "reference"
        info["fallback_reason"] = (
            "a custom module (not the reference supernet class)" if prep.custom else f"no fast evaluator for the space {bench.space.name}"
        )
        log.warning("fast evaluator not applicable (%s): using the plain reference loop", info["fallback_reason"])
    info["evaluator"] = used
    opts = options or FastOptions()
    with deterministic_kernels(device, allow_tf32=opts.dtype != "fp32"):
        if used == "fast":
            counts = _run_fast(prep, bench, archs, data, device, opts, progress, info)
        else:
            counts = _run_reference(prep, bench, archs, data, device, progress)
    info["seconds"] = time.perf_counter() - t0
    return EvalResult(counts.astype(np.float64) / data.n_eval, info)


def evaluate(
    model: nn.Module | Mapping[str, torch.Tensor],
    bench: Any,
    archs: Sequence[str],
    *,
    evaluator: str = "fast",
    device: str | torch.device = "cpu",
    progress: bool | Callable[[float, str], None] = True,
    options: FastOptions | None = None,
    check_params: bool = True,
) -> np.ndarray:
    """Top-1 accuracy (float64 in [0, 1]) of every arch on ``bench``'s eval split, in the order of ``archs``.

    Protocol (``bench.protocol``): for each subnet, BN statistics are recomputed from scratch on
    ``calib_batches`` batches of ``calib_batch_size`` consecutive calib samples (precise BN: exact average of the
    per-batch mean and unbiased variance), no gradient; then eval mode, accuracy on the whole eval split.
    ``model`` is a reference-layout state dict or a module with ``forward(x, arch)``; a module that is not the
    reference supernet is first checked with :func:`check_realised_params` (``check_params``) and evaluated by the
    reference loop. ``evaluator="reference"`` forces the plain per-subnet loop (the oracle).
    Raises :class:`SubmissionError` (one line) for bad weights, NaN outputs, failing forwards.
    """
    return evaluate_with_info(model, bench, archs, evaluator=evaluator, device=device, progress=progress,
                              options=options, check_params=check_params).scores
