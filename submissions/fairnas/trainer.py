"""FairNAS: strict-fairness sampling (Chu, Zhang and Xu, "FairNAS: Rethinking Evaluation Fairness of Weight
Sharing Neural Architecture Search", ICCV 2021).

Original rule: with m choices per layer, each step samples m paths so that every choice of every layer appears
exactly once, trains all m on the same batch, accumulates their gradients and updates once. Here positions have
4, 8 or 16 width choices, so m = 16 (the largest count) and a position with k choices uses each choice exactly
16 / k times per step: every step is still exactly fair within each position. Gradients are averaged over the m
paths so the step size matches a single-path update. Exactly ``ctx.budget.epochs`` passes over the data.

Each step costs m = 16 forward/backward passes, so the batch is 256 (half the steps of the other trainers, LR
scaled linearly): on CPU a pass of this small network is dominated by fixed per-layer overhead, and this keeps the
default budget within a few minutes on one core.
"""

import math

import torch
import torch.nn.functional as F

from harness.spaces.resnet20_width import CHOICES

BATCH_SIZE = 256
LR = 0.2
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
M = max(len(c) for c in CHOICES)  # paths per step: 16


def fair_archs(rng):
    """M archs in which each position uses each of its k choices exactly M / k times (independent shuffles)."""
    columns = []
    for choices in CHOICES:
        repeats = M // len(choices)
        column = [w for w in choices for _ in range(repeats)]
        columns.append(rng.permutation(column))
    return ["-".join(str(int(col[i])) for col in columns) for i in range(M)]


def cosine_lr(step, total):
    return 0.5 * LR * (1 + math.cos(math.pi * step / total))


def train(ctx):
    assert all(M % len(c) == 0 for c in CHOICES), "choice counts must divide the number of paths"
    net = ctx.new_supernet()
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, nesterov=True, weight_decay=WEIGHT_DECAY)
    epochs = ctx.budget.epochs
    total = epochs * ctx.steps_per_epoch(BATCH_SIZE)
    step = 0
    for epoch in range(epochs):
        for x, y in ctx.batches(BATCH_SIZE):
            if ctx.time_left() < 0:
                return net
            for group in opt.param_groups:
                group["lr"] = cosine_lr(step, total)
            opt.zero_grad(set_to_none=True)
            total_loss = 0.0
            for arch in fair_archs(ctx.rng):
                loss = F.cross_entropy(net(x, arch), y) / M
                loss.backward()  # gradients of the M paths accumulate
                total_loss += loss.item()
            opt.step()
            step += 1
            ctx.progress(step / total, f"epoch {epoch + 1}/{epochs} loss {total_loss:.3f}")
    return net
