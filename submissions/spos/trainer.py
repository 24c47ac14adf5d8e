"""SPOS: uniform single-path sampling (Guo et al., "Single Path One-Shot NAS with Uniform Sampling", ECCV 2020).

Each step draws one subnet uniformly at random (each position's width independently uniform over its choices),
runs one mini-batch through it and updates the shared weights it used. Nothing else: the baseline every other
reference trainer is compared with, under the same budget (exactly ``ctx.budget.epochs`` passes over the data).
"""

import math

import torch
import torch.nn.functional as F

from harness.spaces.resnet20_width import CHOICES

BATCH_SIZE = 128
LR = 0.2  # v2 (30 epochs): measured steadier and at least as good as 0.1, docs/default_benchmark.md
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4


def sample_arch(rng):
    """One arch, every position's width uniform over its choices."""
    return "-".join(str(int(rng.choice(c))) for c in CHOICES)


def cosine_lr(step, total):
    return 0.5 * LR * (1 + math.cos(math.pi * step / total))


def train(ctx):
    net = ctx.new_supernet()
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, nesterov=True, weight_decay=WEIGHT_DECAY)
    epochs = ctx.budget.epochs
    total = epochs * ctx.steps_per_epoch(BATCH_SIZE)
    step = 0
    for epoch in range(epochs):
        for x, y in ctx.batches(BATCH_SIZE):
            if ctx.time_left() < 0:  # out of wall-clock budget: return what we have rather than be killed
                return net
            for group in opt.param_groups:
                group["lr"] = cosine_lr(step, total)
            loss = F.cross_entropy(net(x, sample_arch(ctx.rng)), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            ctx.progress(step / total, f"epoch {epoch + 1}/{epochs} loss {loss.item():.3f}")
    return net
