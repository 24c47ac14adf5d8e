"""Train one standalone net of a space (``space.new_standalone(arch)``) from scratch and measure its test accuracy.

Why a plain loop over pre-loaded tensors (no DataLoader): MNIST-1D fits in a few MB, the nets are tiny, and on
a CPU the per-step Python overhead dominates; index batches from one tensor are the cheapest input pipeline.
The last partial batch is dropped so every step has the same shapes (oneDNN caches its kernels per shape).
Randomness (init, batch order) comes from ``seed`` only, through forked RNG state, so the caller's torch
random state is untouched and a result is reproducible on the same machine.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from harness.errors import GroundTruthError
from harness.gt.recipe import Recipe

if TYPE_CHECKING:
    from harness.spaces.base import SearchSpace

#: Name of this training path as recorded in GT files (one model at a time, the space's own standalone net).
PATH_NAME = "sequential-v1"


@dataclass(frozen=True)
class GTData:
    """The tensors a GT run needs, plus the benchmark's space as its registry name and geometry.

    Why name and geometry rather than the space object: GT workers are spawned processes that unpickle this, and a
    space defined by a plugin file is only importable there through the registry (which reads
    ``$NAS_HARNESS_PLUGINS``), so :attr:`space` rebuilds it with :func:`harness.spaces.get_space`.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    space_name: str
    space_kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def space(self) -> SearchSpace:
        from harness.spaces.registry import get_space

        return get_space(self.space_name, **dict(self.space_kwargs))


def _optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    """The recipe's optimizer, in its multi-tensor (``foreach``) form.

    Why foreach: on a CPU the ``_foreach_*`` ops loop over the tensors with the same elementwise kernels as the
    single-tensor form, so every update is bit for bit the same (``tests/test_gt_train.py`` checks it), but the
    Python overhead of ~90 small parameter tensors per step goes: about 6 % of a GT run.
    """
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": recipe.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov,
                               foreach=True)
    return torch.optim.AdamW(groups, lr=recipe.lr, foreach=True)


def _scheduler(opt: torch.optim.Optimizer, recipe: Recipe, total_steps: int) -> torch.optim.lr_scheduler.LRScheduler:
    if recipe.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=recipe.lr, total_steps=total_steps, pct_start=recipe.warmup_fraction
        )
    return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps)


@torch.inference_mode()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> float:
    """Top-1 accuracy in eval mode (BN running statistics)."""
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], batch_size):
        correct += int((model(x[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum())
    return correct / int(x.shape[0])


def training_plan(recipe: Recipe, data: GTData) -> tuple[torch.Tensor, torch.Tensor, int, int, int, int]:
    """The training samples and step counts a recipe implies: ``(x, y, n, batch_size, steps_per_epoch, total_steps)``.

    One definition for every training path (sequential and stacked), so both train on the same samples for the
    same number of steps.
    """
    x, y = data.x_train, data.y_train
    if recipe.train_samples is not None:
        x, y = x[: recipe.train_samples], y[: recipe.train_samples]
    n = int(x.shape[0])
    bs = min(recipe.batch_size, n)
    steps_per_epoch = n // bs
    total_steps = recipe.epochs * steps_per_epoch
    if recipe.schedule == "onecycle" and recipe.warmup_fraction * total_steps < 2:
        raise GroundTruthError(f"recipe has {total_steps} steps; the one-cycle warm-up needs warmup_fraction × steps ≥ 2")
    return x, y, n, bs, steps_per_epoch, total_steps


def train_one(arch: str, seed: int, recipe: Recipe, data: GTData,
              on_step: Callable[[int, float], None] | None = None) -> float:
    """Train ``arch`` with ``recipe`` and ``seed``; return its accuracy on ``data.x_test``.

    ``on_step(step, loss)`` sees every training loss (tests compare trajectories across training paths).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = data.space.new_standalone(arch)
        x, y, n, bs, steps_per_epoch, total_steps = training_plan(recipe, data)
        opt = _optimizer(model, recipe)
        sched = _scheduler(opt, recipe, total_steps)
        ema = _Ema(model, recipe.ema_decay) if recipe.ema_decay is not None else None
        gen = torch.Generator().manual_seed(seed)
        model.train()
        step = 0
        for _ in range(recipe.epochs):
            perm = torch.randperm(n, generator=gen)
            for s in range(steps_per_epoch):
                idx = perm[s * bs : (s + 1) * bs]
                loss = F.cross_entropy(model(x[idx]), y[idx], label_smoothing=recipe.label_smoothing)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                if ema is not None:
                    ema.update(model)
                if on_step is not None:
                    on_step(step, float(loss.detach()))
                step += 1
        final = ema.model if ema is not None else model
        return accuracy(final, data.x_test, data.y_test, recipe.eval_batch_size)


class _Ema:
    """EMA of parameters and floating BN buffers (as timm's ModelEmaV2); ``num_batches_tracked`` is copied."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        import copy

        self.decay = decay
        self.model = copy.deepcopy(model)
        self._src = [t for t in model.state_dict().values() if t.is_floating_point()]
        self._dst = [t for t in self.model.state_dict().values() if t.is_floating_point()]

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        torch._foreach_lerp_(self._dst, self._src, 1.0 - self.decay)
