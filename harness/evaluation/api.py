"""``evaluate``: one inherited-weight score per arch under the benchmark's protocol, by the fast or the reference path.

Why one entry point: scoring should not need to know which evaluator can handle which model. The space's fast
evaluator (``space.fast_evaluator()``, e.g. the width spaces' prefix tree) handles its reference supernet (as a
state dict or as the module itself); anything else (a submission's own module, a space without a fast evaluator)
goes through the plain reference loop, which works for any
``forward(x, arch)`` module, and the fallback is logged and reported in :class:`EvalResult.info`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from harness.errors import SubmissionError, UnknownNameError
from harness.evaluation import distributed
from harness.evaluation.bn_calibration import deterministic_kernels
from harness.evaluation.denormals import flush_denormals
from harness.evaluation.fast import FastOptions
from harness.evaluation.params_check import check_realised_params
from harness.evaluation.progress import progress_bar
from harness.progress import ProgressArg
from harness.evaluation.protocol import EvalData, eval_data_for
from harness.evaluation.reference import reference_correct
from harness.evaluation.workers import ChunkJob, default_workers, job_tasks

log = logging.getLogger("harness.evaluation")
EVALUATORS = ("fast", "reference")


@dataclass
class EvalResult:
    scores: np.ndarray  # float64 accuracy per arch, in the order asked
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Prepared:
    state: dict[str, torch.Tensor] | None  # reference-layout weights of a space with a fast evaluator
    module: nn.Module | None  # what the reference loop runs
    custom: bool  # a submission's own module (not the reference class)
    eps: float = 1e-5
    # a few-shot supernet: its split positions and one reference-layout state per copy (fast path per copy)
    few_shot: tuple[tuple[int, ...], list[dict[str, torch.Tensor]]] | None = None


def _prepare(model: Any, bench: Any) -> _Prepared:
    """Validate ``model`` (state dict or module) for ``bench``: keys, shapes, finite weights; one-line errors."""
    from reference_nets.few_shot import copy_states, is_few_shot_state

    from harness.submission.reference import check_finite, is_few_shot_module, new_reference_supernet, validate_state_dict

    space = bench.space
    fast = space.fast_evaluator()
    if isinstance(model, nn.Module) and is_few_shot_module(model, space):
        model = model.state_dict()
    if isinstance(model, Mapping):
        what = "the few-shot supernet" if is_few_shot_state(dict(model)) else "checkpoint"
        state = validate_state_dict(model, space, what)
        if is_few_shot_state(state):  # validation admits few-shot states of spaces with few-shot choices only
            return _Prepared(None, None, False, few_shot=copy_states(state))
        if fast is not None:
            return _Prepared(state, None, False)
        module = new_reference_supernet(space)
        module.load_state_dict(state)
        return _Prepared(None, module, False)
    if not isinstance(model, nn.Module):
        raise SubmissionError(f"the model is a {type(model).__name__}, not a state dict or an nn.Module with forward(x, arch)")
    check_finite(dict(model.named_parameters()), "the supernet")
    if type(model) is type(new_reference_supernet(space)):
        state = validate_state_dict(model.state_dict(), space, "the supernet")
        eps = fast.bn_eps(model) if fast is not None else 1e-5
        return _Prepared(state if fast is not None else None, model, False, eps)
    return _Prepared(None, model, True)


def _fast_jobs(prep: _Prepared, space: Any, fast: Any, archs: list[str]) -> tuple[list[ChunkJob], list[np.ndarray]]:
    """The fast evaluator's jobs (one per supernet copy that serves any arch) and, per job, for each arch it
    serves, the arch's index in ``archs`` and its row among the job's distinct widths."""
    if prep.few_shot is None:
        assert prep.state is not None
        groups = [(prep.state, np.arange(len(archs)))]
    else:
        from reference_nets.few_shot import split_keys

        from harness.submission.reference import split_choices

        positions, copies = prep.few_shot
        index = {key: i for i, key in enumerate(split_keys(split_choices(space), positions))}
        copy_of = np.asarray([index[tuple(space.parse(a)[p] for p in positions)] for a in archs], dtype=np.int64)
        groups = [(copies[c], np.flatnonzero(copy_of == c)) for c in range(len(copies)) if np.any(copy_of == c)]
    jobs, members = [], []
    for state, which in groups:
        widths, inverse = fast.distinct([archs[i] for i in which], space.parse)
        jobs.append(ChunkJob(state, widths))
        members.append(np.stack([which, inverse]))
    return jobs, members


def _validated(space: Any, archs: Sequence[str]) -> list[str]:
    archs = list(archs)
    for a in archs:
        space.canonical(a)  # raises InvalidArchError with the arch named
    return archs


def _run_fast(prep: _Prepared, bench: Any, archs: list[str], data: EvalData, device: torch.device, opts: FastOptions, progress: ProgressArg, info: dict) -> np.ndarray:
    space = bench.space
    fast = space.fast_evaluator()
    jobs, members = _fast_jobs(prep, space, fast, archs)
    sched = fast.schedule(data, opts, device)
    tasks = job_tasks(jobs, sched)
    n_distinct = sum(len(job.widths) for job in jobs)
    info.update(n_distinct=int(n_distinct), chunk_size=sched.chunk_size, eval_block=sched.eval_block,
                single_pass=sched.single_pass, dtype=opts.dtype, supernet_copies=len(jobs), strategy=sched.strategy)
    counts = [np.zeros(len(job.widths), dtype=np.int64) for job in jobs]
    mine = [tasks[u] for u in distributed.my_units(len(tasks))]
    with progress_bar(n_distinct, f"evaluating {bench.name} (fast)", progress) as advance:
        if device.type == "cpu":
            workers = opts.workers or default_workers()
            info["workers"] = min(workers, len(mine))
            chunks = fast.run_chunks(jobs, data, opts=opts, sched=sched, eps=prep.eps, tasks=mine, workers=workers)
        else:
            run = fast.job_runner(jobs, data, opts, sched, prep.eps, device)
            chunks = (run(task) for task in mine)
        for j, start, correct, finite in chunks:
            counts[j][start : start + len(correct)] = np.where(finite, correct, -1)
            advance(len(correct))
    flat = distributed.sum_over_ranks(np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64))
    out = np.zeros(len(archs), dtype=np.int64)
    offset = 0
    for job, (which, inverse) in zip(jobs, members, strict=True):
        out[which] = flat[offset + inverse]
        offset += len(job.widths)
    bad = np.flatnonzero(out < 0)
    if len(bad):
        raise SubmissionError(f"model output for arch {archs[bad[0]]} is not finite (NaN or inf); {len(bad)} arch(s) affected")
    return out


def _run_reference(prep: _Prepared, bench: Any, archs: list[str], data: EvalData, device: torch.device, progress: ProgressArg) -> np.ndarray:
    module = prep.module
    if module is None:  # weights only (a reference or few-shot state dict) asked for the reference loop
        from harness.submission.reference import new_few_shot_supernet, new_reference_supernet

        if prep.few_shot is not None:
            positions, copies = prep.few_shot
            module = new_few_shot_supernet(bench.space, positions)
            for copy_module, state in zip(module.copies, copies, strict=True):
                copy_module.load_state_dict(state)
        else:
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
    progress: ProgressArg = True,
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
    if evaluator == "fast" and prep.state is None and prep.few_shot is None:
        used = "reference"
        info["fallback_reason"] = (
            "a custom module (not the reference supernet class)" if prep.custom else f"no fast evaluator for the space {bench.space.name}"
        )
        log.warning("fast evaluator not applicable (%s): using the plain reference loop", info["fallback_reason"])
    info["evaluator"] = used
    opts = options or FastOptions()
    with deterministic_kernels(device, allow_tf32=opts.dtype != "fp32"), flush_denormals():
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
    progress: ProgressArg = True,
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
