"""SPOS on NAS-Bench-201: single-path one-shot training with uniform sampling (Guo et al., ECCV 2020).

Every step trains one arch drawn uniformly from the 15,625 (each edge's op independently uniform over the 5 ops,
``none`` included) on one mini-batch, with the harness's reference supernet (one weight set per cell, edge and op).
SGD with Nesterov momentum, cosine learning-rate decay over the budget (epochs or wall clock, whichever binds), random-crop + flip augmentation.
Training stops early, with the weights kept, at the harness's deadline (``ctx.time_left()``).

Context used (``train(ctx) -> nn.Module``): ``space``, ``train_x``, ``train_y``, ``new_supernet()``,
``budget.epochs`` / ``budget.seconds``, ``device``, ``seed``, ``progress(fraction, message)``.
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import nn

BATCH_SIZE = 128
LR = 0.05
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
GRAD_CLIP = 5.0
TIME_FRACTION = 0.9  # of budget.seconds when the context gives no deadline
NUM_OPS, NUM_EDGES = 5, 6


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random crop (zero padding size/8) and horizontal flip per image, as NAS-Bench-201 trained; one gather."""
    n, c, h, w = x.shape
    pad = max(1, h // 8)
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n, 1), generator=gen).to(x.device)
    dx = torch.randint(0, 2 * pad + 1, (n, 1), generator=gen).to(x.device)
    flip = (torch.rand(n, 1, generator=gen) < 0.5).to(x.device)
    cols = torch.arange(w, device=x.device).expand(n, w)
    cols = torch.where(flip, w - 1 - cols, cols) + dx
    rows = torch.arange(h, device=x.device).expand(n, h) + dy
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    chan = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, chan, rows[:, None, :, None], cols[:, None, None, :]]


def sample_arch(space, gen: torch.Generator) -> str:  # noqa: ANN001 - the harness's SearchSpace
    return space.format(torch.randint(0, NUM_OPS, (NUM_EDGES,), generator=gen).tolist())


def stop_time(ctx) -> float:  # noqa: ANN001 - the harness's trainer context
    """``time.monotonic()`` at which to stop: the harness's deadline (it keeps time to save) or 90 % of the budget."""
    if hasattr(ctx, "time_left"):
        return time.monotonic() + float(ctx.time_left())
    seconds = getattr(ctx.budget, "seconds", None)
    return time.monotonic() + TIME_FRACTION * float(seconds) if seconds else math.inf


def budget_fraction(step: int, total: int, started: float, deadline: float) -> float:
    """How much of the budget is spent: steps or wall clock, whichever binds (so the cosine decay reaches zero
    at the deadline too, when the clock stops training before the epochs are done)."""
    clock = (time.monotonic() - started) / (deadline - started) if math.isfinite(deadline) else 0.0
    return min(1.0, max(step / total, clock))


def set_lr(opt: torch.optim.Optimizer, fraction: float) -> None:
    """Cosine decay from LR to 0 over the budget fraction."""
    for group in opt.param_groups:
        group["lr"] = 0.5 * LR * (1.0 + math.cos(math.pi * fraction))


def train(ctx) -> nn.Module:  # noqa: ANN001 - the harness's trainer context
    torch.manual_seed(ctx.seed)
    gen = torch.Generator().manual_seed(ctx.seed)
    device = torch.device(ctx.device)
    net = ctx.new_supernet().to(device)
    x_all, y_all = ctx.train_x, ctx.train_y
    n = int(x_all.shape[0])
    steps_per_epoch = max(1, math.ceil(n / BATCH_SIZE))
    total = max(1, int(ctx.budget.epochs)) * steps_per_epoch
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY, nesterov=True)
    started, deadline = time.monotonic(), stop_time(ctx)
    report_every = max(1, total // 100)
    net.train()
    step = 0
    while step < total and time.monotonic() < deadline:
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, BATCH_SIZE):
            idx = order[start : start + BATCH_SIZE].to(x_all.device)
            xb = augment(x_all[idx], gen).to(device)
            yb = y_all[idx].to(device)
            loss = F.cross_entropy(net(xb, sample_arch(ctx.space, gen)), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), GRAD_CLIP)
            opt.step()
            step += 1
            set_lr(opt, budget_fraction(step, total, started, deadline))
            if step % report_every == 0 or step == total:
                ctx.progress(step / total, f"step {step}/{total} loss {loss.item():.3f}")
            if step >= total or time.monotonic() >= deadline:
                break
    return net.cpu()
