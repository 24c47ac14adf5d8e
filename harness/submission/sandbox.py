"""Run a trainer submission: ``train(ctx) -> nn.Module`` in the sandbox, under the benchmark's budget.

Why in a separate, confined process: the trainer is a stranger's code. It gets the training split only (written
into its scratch folder as tensors; the evaluation and GT-test labels never leave the harness process), it cannot
see the GT file or the results store, it has no network, and it is killed past its wall-clock budget. What comes
back is data, not code: the returned module's state dict, read with ``weights_only=True`` and checked against the
reference supernet. A module of the submission's own class also comes back as a pickle that is only ever loaded
inside the sandbox again (see :class:`SubnetModuleHandle`); the harness process never unpickles it.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from harness.errors import SubmissionError
from harness.progress import ProgressCallback, fractions
from harness.submission.torch_file import expected_state_bytes, safe_torch_load
from harness.config import sandbox_threads
from harness.submission.handle import SubnetModuleHandle
from harness.submission.isolation import run_job
from harness.submission.job import TrainerOutput, make_scratch, remove_tree
from harness.submission.launcher import isolation_mode
from harness.submission.policy import make_policy
from harness.submission.reference import check_finite, validate_state_dict

if TYPE_CHECKING:
    from harness.benchmarks import Benchmark
    from harness.benchmarks.registry import Budget
    from harness.submission.folder import Submission

#: seconds before the kill that ``ctx.deadline`` leaves for returning and saving the weights
SAVE_RESERVE_S = 5.0


def run_trainer(
    sub: Submission,
    bench: Benchmark,
    *,
    budget: Budget | None = None,
    device: str = "cpu",
    seed: int = 0,
    progress: ProgressCallback | None = None,
    scratch: Path | None = None,
    isolation: str | None = None,
    threads: int | None = None,
    hparams: dict[str, Any] | None = None,
    output: TrainerOutput | None = None,
) -> dict[str, torch.Tensor] | SubnetModuleHandle:
    """Train the submission in the sandbox and return its weights.

    Returns the state dict of the reference supernet (validated: keys, shapes, finite values) when ``train``
    returned the reference class, else a :class:`SubnetModuleHandle` for the submission's own module.

    ``budget`` defaults to the benchmark's; ``budget.seconds`` is wall clock for the whole child process (start,
    training, saving); ``budget.memory_gb`` caps its address space. ``progress`` receives the trainer's
    ``ctx.progress`` as events of stage "train" (fraction in [0, 1]; status lines repeat the last fraction). ``scratch`` is the folder the
    trainer may write (a private temporary folder by default, removed afterwards). ``isolation`` overrides
    ``$NAS_HARNESS_SANDBOX`` (``auto``, ``bwrap``, ``fallback``); ``threads`` is the sandbox's torch thread count
    (default 1, or ``$NAS_HARNESS_SANDBOX_THREADS``). ``hparams``: the trainer's ``ctx.hparams`` (default: the
    manifest's ``[hparams]``). ``output`` receives what the trainer printed and logged and the epochs it trained,
    also when it fails.

    Raises :class:`SubmissionError` (trainer crashed, exited, failed to import, returned NaN weights or a module
    whose subnets do not have the space's #params) or :class:`BudgetExceededError` (killed past the budget).
    """
    if sub.kind != "trainer":
        raise SubmissionError(f"{sub.dir.name} is a {sub.kind} submission, not a trainer")
    budget = budget or bench.budget
    mode = isolation_mode(isolation)
    own_scratch = scratch is None
    work = make_scratch("nas-harness-train-") if scratch is None else Path(scratch)
    try:
        (work / "in").mkdir(parents=True, exist_ok=True)
        data = bench.load_data()
        torch.save({"x": data.train.x.contiguous(), "y": data.train.y.contiguous()}, work / "in" / "train.pt")
        policy = make_policy(sub.dir, work, deny=_gt_paths(bench), cuda=device.startswith("cuda"))
        started = time.time()
        job = {
            "phase": "train",
            "submission": str(sub.dir),
            "entry": sub.payload_path.name,
            "space": {"name": bench.space.name, "kwargs": dict(bench.space_kwargs)},
            "num_classes": int(data.num_classes),
            "budget": {"epochs": int(budget.epochs), "seconds": float(budget.seconds), "memory_gb": float(budget.memory_gb)},
            "deadline": started + float(budget.seconds) - min(SAVE_RESERVE_S, 0.1 * float(budget.seconds)),
            "device": device,
            "seed": int(seed),
            "threads": threads or sandbox_threads(),
            "hparams": dict(sub.manifest.hparams if hparams is None else hparams),
        }
        outcome = run_job(
            job, policy=policy, scratch=work, seconds=float(budget.seconds), memory_gb=float(budget.memory_gb),
            mode=mode, what="trainer", progress=fractions(progress, "train"), output=output,
        )
        # the output folder is as untrusted as the trainer's code (it may have written these files itself and
        # exited): a reference state dict is bounded by the benchmark's size, the zip and tensors are checked
        reference = outcome.result.get("reference") is True
        state = safe_torch_load(outcome.out_dir / "state.pt", what="the trainer's returned weights",
                                max_data_bytes=expected_state_bytes(bench.space) if reference else None)
        if not isinstance(state, dict):
            raise SubmissionError("the trainer's returned weights are not a state dict")
        if reference:
            return validate_state_dict(state, bench.space, "the trainer's returned supernet")
        check_finite(state, "the trainer's returned module")
        return SubnetModuleHandle.for_trainer(sub, bench, replace(budget), outcome.out_dir, outcome.result)
    finally:
        if own_scratch:
            remove_tree(work)


def _gt_paths(bench: Benchmark) -> list[Path]:
    """The benchmark's GT file (hidden from every sandbox, wherever it lives)."""
    try:
        path = bench.gt_path()
    except Exception:  # noqa: BLE001 - a benchmark whose GT lives in user data may not resolve; nothing to hide then
        return []
    return [path] if path is not None else []
