"""Sandwich rule + in-place knowledge distillation (Yu and Huang, "Universally Slimmable Networks and Improved
Training Techniques", ICCV 2019; Yu et al., "BigNAS", ECCV 2020).

Each step, on one mini-batch: the largest subnet learns from the labels; the smallest subnet and two random
subnets learn from the largest subnet's (detached) soft predictions. The four gradients accumulate before one
update. Training the two ends of the width range every step is what "sandwich" refers to: every subnet lies
between them. Exactly ``ctx.budget.epochs`` passes over the data.
"""

import math

import torch
import torch.nn.functional as F

from harness.spaces.resnet20_width import CHOICES

BATCH_SIZE = 128
LR = 0.1
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
N_RANDOM = 2
LARGEST = "-".join(str(max(c)) for c in CHOICES)
SMALLEST = "-".join(str(min(c)) for c in CHOICES)


def sample_arch(rng):
    return "-".join(str(int(rng.choice(c))) for c in CHOICES)


def cosine_lr(step, total):
    return 0.5 * LR * (1 + math.cos(math.pi * step / total))


def distill_loss(student_logits, teacher_probs):
    """Cross-entropy against the teacher's soft labels (KL divergence up to a constant)."""
    return -(teacher_probs * F.log_softmax(student_logits, dim=1)).sum(dim=1).mean()


def train(ctx):
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
            logits = net(x, LARGEST)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            teacher = F.softmax(logits.detach(), dim=1)
            for arch in [SMALLEST] + [sample_arch(ctx.rng) for _ in range(N_RANDOM)]:
                distill_loss(net(x, arch), teacher).backward()
            opt.step()
            step += 1
            ctx.progress(step / total, f"epoch {epoch + 1}/{epochs} loss {loss.item():.3f}")
    return net
