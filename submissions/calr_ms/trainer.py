"""Complexity-aware LR decay (CaLR) + momentum separation (MS), single-path sampling.

In the style of the CVPR-2021 track-1 2nd-place solution and of Jeon et al., "Subnet-Aware Dynamic Supernet
Training for Neural Architecture Search" (CVPR 2025), adapted to this width space:

* **Momentum separation**: subnets are grouped by the width of their first layer (4 groups); each group has its
  own SGD optimizer over the shared weights, i.e. its own momentum buffers, so momentum accumulated by wide
  subnets does not push narrow ones (and vice versa).
* **Complexity-aware LR decay**: supernet training favours small subnets (they share the weights every other
  subnet also trains). The LR of a step decays as ``cos_factor(t) ** (1 - ALPHA * c)`` where ``c`` in [0, 1] is
  the subnet's normalised log-#params: the smallest subnets follow the plain cosine, the largest decay more slowly
  and keep learning longer. (Our reading of "controls the decay ratio of LR adaptive to the complexity".)

Exactly ``ctx.budget.epochs`` passes over the data, one subnet per step, as in SPOS.
"""

import math

import torch
import torch.nn.functional as F

from harness.spaces.resnet20_width import CHOICES

BATCH_SIZE = 128
LR = 0.2  # v2 (30 epochs), docs/default_benchmark.md
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
ALPHA = 0.5


def sample_arch(rng):
    return "-".join(str(int(rng.choice(c))) for c in CHOICES)


def complexity(space, arch, log_min, log_max):
    """Normalised log-#params of ``arch``: 0 for the smallest subnet, 1 for the largest."""
    return (math.log(space.params(arch)) - log_min) / (log_max - log_min)


def calr(step, total, c):
    cos_factor = 0.5 * (1 + math.cos(math.pi * step / total))
    return LR * cos_factor ** (1 - ALPHA * c)


def train(ctx):
    net = ctx.new_supernet()
    net.train()
    first_choices = CHOICES[0]
    optimizers = {
        w: torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, nesterov=True, weight_decay=WEIGHT_DECAY)
        for w in first_choices
    }
    log_min = math.log(ctx.space.params("-".join(str(min(c)) for c in CHOICES)))
    log_max = math.log(ctx.space.params("-".join(str(max(c)) for c in CHOICES)))
    epochs = ctx.budget.epochs
    total = epochs * ctx.steps_per_epoch(BATCH_SIZE)
    step = 0
    for epoch in range(epochs):
        for x, y in ctx.batches(BATCH_SIZE):
            if ctx.time_left() < 0:
                return net
            arch = sample_arch(ctx.rng)
            opt = optimizers[int(arch.split("-")[0])]  # momentum buffers of this arch's first-layer group
            lr = calr(step, total, complexity(ctx.space, arch, log_min, log_max))
            for group in opt.param_groups:
                group["lr"] = lr
            loss = F.cross_entropy(net(x, arch), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            ctx.progress(step / total, f"epoch {epoch + 1}/{epochs} loss {loss.item():.3f} lr {lr:.4f}")
    return net
