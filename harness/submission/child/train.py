"""The train phase inside the sandbox: load the trainer, build its context, train, check and save what it returned.

Imported by ``_child.py`` only after the confinement is in place (it imports torch and the harness). Each step is
one function; :func:`run_train` is their order, which matters: the reference supernet class is captured and every
harness module imported before the audit hook is installed and before any submission code runs.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from harness.benchmarks.registry import Budget
from harness.errors import one_line
from harness.spaces import get_space
from harness.submission.child.channel import Failure, describe, report
from harness.submission.child.checks import check_subnets
from harness.submission.child.confinement import install_audit
from harness.submission.child.loading import import_submission_file
from harness.submission.context import TrainContext
from harness.submission.reference import is_few_shot_module, new_reference_supernet


def run_train(job: dict, scratch: str) -> dict[str, object]:
    """Train the submission and write ``out/state.pt`` (and ``out/module.pt`` for its own module); the result record."""
    space = get_space(job["space"]["name"], **job["space"]["kwargs"])
    reference_cls = type(new_reference_supernet(space))  # captured before any submission code runs
    data = torch.load(os.path.join(scratch, "in", "train.pt"), weights_only=True)
    seed = int(job["seed"])
    seed_everything(seed, int(job["threads"]))
    budget = Budget(**job["budget"])
    sub_dir = job["submission"]

    install_audit(job)
    trainer = load_trainer(sub_dir, job.get("entry", "trainer.py"), budget.memory_gb)
    ctx = build_context(job, space, data, budget)
    report("status", m="training")
    net, seconds = call_train(trainer.train, ctx, sub_dir, budget.memory_gb)

    # the reference class, or the harness's few-shot container of reference copies: plain data, so the harness
    # evaluates it outside the sandbox with the fast evaluator
    reference = type(net) is reference_cls or is_few_shot_module(net, space)
    result: dict[str, object] = {"ok": True, "reference": reference, "train_seconds": seconds,
                                 "class": f"{type(net).__module__}.{type(net).__qualname__}",
                                 "epochs": ctx.epochs_trained}
    if not reference:
        check_returned_module(net, space, seed, tuple(ctx.train_x.shape[1:]), sub_dir, budget.memory_gb)
    out = os.path.join(scratch, "out")
    os.makedirs(out, exist_ok=True)
    net = save_state(net, out, sub_dir, budget.memory_gb)
    if not reference:
        result["module"] = save_module(net, trainer, out)
    return result


def seed_everything(seed: int, threads: int) -> None:
    """torch, numpy and random seeded with the run's seed (the context says they are), torch's thread count set."""
    torch.set_num_threads(threads)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def load_trainer(sub_dir: str, entry: str, memory_gb: float):  # noqa: ANN201 - the trainer's module
    """Import the submission's trainer file; it must define ``train(ctx)``."""
    sys.path.insert(0, sub_dir)
    report("status", m="importing trainer.py")
    try:
        trainer = import_submission_file(os.path.join(sub_dir, entry), "trainer")
    except Failure:
        raise
    except BaseException as exc:  # noqa: BLE001 - any import failure is the submission's
        raise Failure(describe(exc, sub_dir, memory_gb, subject=os.path.basename(entry), action="failed to import:")) from None
    if not callable(getattr(trainer, "train", None)):
        raise Failure("trainer.py defines no train(ctx) function")
    return trainer


def build_context(job: dict, space, data: dict[str, torch.Tensor], budget: Budget) -> TrainContext:  # noqa: ANN001
    """The trainer's whole view of the run: the training split on its device, the space, budget, seed, deadline."""
    device = job["device"]
    return TrainContext(
        space=space,
        train_x=data["x"].to(device),
        train_y=data["y"].to(device),
        num_classes=int(job["num_classes"]),
        budget=budget,
        device=device,
        seed=int(job["seed"]),
        deadline=float(job["deadline"]),
        _new_supernet=lambda: new_reference_supernet(space),
        _report=lambda f, m: report("progress", f=f, m=m),
        _scalars=lambda step, values: report("scalars", s=step, v=values),
        hparams=dict(job.get("hparams") or {}),
    )


def call_train(train: Callable[[TrainContext], object], ctx: TrainContext, sub_dir: str, memory_gb: float) -> tuple[nn.Module, float]:
    """``train(ctx)`` and its wall seconds; anything but an ``nn.Module`` back is the submission's failure."""
    t0 = time.time()
    try:
        net = train(ctx)
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, SystemExit):
            raise Failure(f"the trainer called sys.exit({exc.code}) instead of returning a module") from None
        raise Failure(describe(exc, sub_dir, memory_gb)) from None
    seconds = time.time() - t0
    if not isinstance(net, nn.Module):
        raise Failure(f"train(ctx) returned {type(net).__name__}, not an nn.Module")
    return net, seconds


def check_returned_module(net: nn.Module, space, seed: int, sample_shape: tuple[int, ...], sub_dir: str, memory_gb: float) -> None:  # noqa: ANN001
    """A module of the submission's own class: its extreme subnets and a seeded sample realise the space's #params."""
    report("status", m="checking the subnets of the returned module")
    probe = [*space.extreme_archs(), *space.sample(np.random.default_rng(seed + 1), 6)]
    check_subnets(net, space, probe, sample_shape, n_check=len(probe), sub_dir=sub_dir, memory_gb=memory_gb,
                  subject="the returned module", action="failed on a subnet:")


def save_state(net: nn.Module, out: str, sub_dir: str, memory_gb: float) -> nn.Module:
    """``out/state.pt``: the returned module's weights as plain CPU tensors; returns the module, moved to CPU."""
    try:
        net = net.to("cpu")
        state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        torch.save(state, os.path.join(out, "state.pt"))
    except BaseException as exc:  # noqa: BLE001
        raise Failure(describe(exc, sub_dir, memory_gb, subject="the returned module", action="could not be saved:")) from None
    return net


def save_module(net: nn.Module, trainer, out: str) -> str:  # noqa: ANN001
    """How the harness gets the module back for evaluation in a later sandbox: ``"pickle"`` (``out/module.pt``)
    or, when it cannot be pickled, ``"build"`` (the trainer's ``build_supernet(space)`` plus ``state.pt``)."""
    try:
        torch.save(net, os.path.join(out, "module.pt"))
        return "pickle"
    except Exception as exc:  # noqa: BLE001 - e.g. a class defined inside a function
        if os.path.exists(os.path.join(out, "module.pt")):
            os.remove(os.path.join(out, "module.pt"))
        if not callable(getattr(trainer, "build_supernet", None)):
            raise Failure(
                f"the returned {type(net).__name__} cannot be saved ({one_line(str(exc), 120)}); define it at module "
                "level, or add build_supernet(space) to trainer.py so the harness can rebuild it"
            ) from None
        return "build"
