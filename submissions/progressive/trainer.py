"""Progressive weight splitting (after Yang et al., "Improving Ranking Correlation of Supernet with Candidates
Enhancement and Progressive Training", 1st place of the CVPR-2021 Lightweight NAS Challenge, supernet track).

Weight sharing makes subnets interfere; splitting the supernet into copies that serve disjoint groups of subnets
reduces the sharing, but copies trained from scratch see too little data. So the split is progressive:

1. epochs [0, 40 %): one shared supernet, single-path uniform sampling (as SPOS);
2. epochs [40 %, 70 %): one copy per width of position 0 (4 copies, each starting from the shared weights);
   every step trains each copy on the same batch with one subnet routed to it;
3. epochs [70 %, 100 %): one copy per width pair of positions 0 and 1 (16 copies, each from its stage-2 parent).

The returned supernet is the harness's :class:`~reference_nets.few_shot.FewShotSupernet`: copies of the reference
supernet and a routing rule that is data (the split positions), so every subnet it realises is an ordinary first-k
slice of one copy, and the harness evaluates all 50,000 subnets with its fast evaluator, outside the sandbox.
The cosine LR runs over the whole schedule; each stage starts a fresh optimizer (momentum) for its copies.
Exactly ``ctx.budget.epochs`` passes over the data.
"""

import math

import torch
import torch.nn.functional as F
from reference_nets.few_shot import FewShotSupernet

from harness.spaces.resnet20_width import CHOICES

BATCH_SIZE = 128
LR = 0.1
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
STAGES = ((0.0, ()), (0.4, (0,)), (0.7, (0, 1)))  # (start as a fraction of the epochs, positions split on)


def sample_arch(rng, fixed=None):
    """A uniform arch; positions in ``fixed`` (position -> width) are set."""
    fixed = fixed or {}
    return "-".join(str(fixed.get(i, int(rng.choice(c)))) for i, c in enumerate(CHOICES))


def cosine_lr(step, total):
    return 0.5 * LR * (1 + math.cos(math.pi * step / total))


def make_optimizer(module):
    return torch.optim.SGD(module.parameters(), lr=LR, momentum=MOMENTUM, nesterov=True, weight_decay=WEIGHT_DECAY)


def train(ctx):
    epochs = ctx.budget.epochs
    steps = ctx.steps_per_epoch(BATCH_SIZE)
    total = epochs * steps
    starts = [round(frac * epochs) for frac, _ in STAGES]
    net = FewShotSupernet([ctx.new_supernet()], (), CHOICES)
    opt = make_optimizer(net)
    step = 0
    for epoch in range(epochs):
        for stage, (start, (_, positions)) in enumerate(zip(starts, STAGES)):
            if epoch == start and stage > 0 and positions != net.positions:
                net = net.split(positions)
                opt = make_optimizer(net)
        net.train()
        for x, y in ctx.batches(BATCH_SIZE):
            if ctx.time_left() < 0:
                return net
            for group in opt.param_groups:
                group["lr"] = cosine_lr(step, total)
            opt.zero_grad(set_to_none=True)
            loss_sum = 0.0
            for key in net.keys:  # every copy, one subnet routed to it, same batch
                arch = sample_arch(ctx.rng, dict(zip(net.positions, key)))
                loss = F.cross_entropy(net(x, arch), y)
                loss.backward()
                loss_sum += loss.item()
            opt.step()
            step += 1
            ctx.progress(step / total, f"epoch {epoch + 1}/{epochs}, {len(net.copies)} copies, loss {loss_sum / len(net.keys):.3f}")
    return net
