"""Train several standalone nets of one arch together: the seeds of an arch stacked into one grouped network.

Why this path exists: a GT build trains thousands of tiny nets, and on a CPU each one pays per-operator overhead
(autograd, dispatch, ~90 optimizer tensors) and runs 1-D convolutions in the channels-first layout, whose oneDNN
kernels are slow for a few channels. Here the ``B`` models of one batch are laid side by side along the channel
axis: every convolution is one grouped ``conv2d`` (kernel 1×k), every BN one call over ``B·C``
channels, one optimizer steps all models' tensors. Each model is still exactly its own independent training:

* its initial weights are those :func:`harness.gt.train.train_one` draws (``StandaloneNet`` built under its seed),
  copied into its group; its batches come from its own ``torch.Generator`` seeded as there;
* groups never mix: a grouped convolution, per-channel BN statistics, a per-model classifier (einsum), and a loss
  that is the sum of the models' mean losses, whose gradient for each model is its own loss's gradient;
* AdamW / SGD, the schedule and weight decay act elementwise with one shared step count, so one optimizer over the
  stacked tensors is B independent optimizers.

Only the float summation order differs from the sequential path (other kernels), so results agree with it in
distribution, not bit for bit; ``tests/test_gt_stacked.py`` checks the per-step losses against the sequential
path and that a model's trajectory does not depend on which other seeds share its batch.

Why only seeds of one arch per batch: models of different archs would need zero-padding to common widths (more
arithmetic, and bits that depend on the companions); all seeds of one arch have the same shapes, so a batch is
exactly reproducible from its own list of seeds, which the GT file records per cell (``gt verify`` re-trains the
same batch).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from harness.errors import GroundTruthError
from harness.gt.recipe import Recipe
from harness.gt.train import GTData, _Ema, _scheduler, training_plan
from harness.spaces.resnet20_width_layers import NUM_BLOCKS, block_widths, has_projection
from reference_nets.resnet20_width import StandaloneNet, as_widths

#: Name of this training path as recorded in GT files (bump it when the numerics of the path change).
PATH_NAME = "stacked-v1"

StepHook = Callable[[int, torch.Tensor], None]
#: Layout of the grouped convolutions. Not channels-last: with torch 2.13 on CPU, channels-last 1×k grouped convs
#: in this net gave input gradients about 1 % off upstream of a stride-2 block (each op alone was exact), and the
#: per-step-gradient check of ``tests/test_gt_stacked.py`` caught it; the plain layout matches to ~1e-6.
MEMORY_FORMAT = torch.contiguous_format


class _StackedBN(nn.Module):
    """BN over the ``B·C`` channels of B models (per-channel statistics, so per model)."""

    def __init__(self, bns: Sequence[nn.Module]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.cat([b.weight.detach() for b in bns]).clone())
        self.bias = nn.Parameter(torch.cat([b.bias.detach() for b in bns]).clone())
        self.register_buffer("running_mean", torch.cat([b.running_mean for b in bns]).clone())
        self.register_buffer("running_var", torch.cat([b.running_var for b in bns]).clone())
        self.eps, self.momentum = float(bns[0].eps), float(bns[0].momentum)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, self.training,
                            self.momentum, self.eps)


class _StackedConv(nn.Module):
    """A grouped 1×k conv2d whose group m holds model m's 1-D kernel (O, I, k) as (O, I, 1, k)."""

    def __init__(self, convs: Sequence[nn.Conv1d]) -> None:
        super().__init__()
        w = torch.cat([c.weight.detach() for c in convs]).unsqueeze(2).clone()
        self.weight = nn.Parameter(w.contiguous(memory_format=MEMORY_FORMAT))
        self.groups = len(convs)
        self.stride = (1, int(convs[0].stride[0]))
        self.padding = (0, int(convs[0].padding[0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, None, self.stride, self.padding, 1, self.groups)


class StackedNet(nn.Module):
    """B standalone nets of one 1-D arch of the width space, as one grouped network.

    Input (N, B·C_in, 1, L): model m's batch in channels [m·C_in, (m+1)·C_in). Output (N, B, classes).
    """

    def __init__(self, nets: Sequence[StandaloneNet]) -> None:
        super().__init__()
        if not nets:
            raise GroundTruthError("a stacked batch needs at least one model")
        widths = nets[0].widths
        if any(n.widths != widths for n in nets) or any(n.dims != 1 for n in nets):
            raise GroundTruthError("a stacked batch holds 1-D nets of one arch only")
        self.n_models = len(nets)
        self.widths = widths
        self.stem = _StackedConv([n.stem for n in nets])
        self.stem_bn = _StackedBN([n.stem_bn for n in nets])
        self.blocks = nn.ModuleList()
        for j in range(NUM_BLOCKS):
            src = [n.blocks[j] for n in nets]
            block = nn.Module()
            block.conv1 = _StackedConv([b.conv1 for b in src])
            block.bn1 = _StackedBN([b.bn1 for b in src])
            block.conv2 = _StackedConv([b.conv2 for b in src])
            block.bn2 = _StackedBN([b.bn2 for b in src])
            if has_projection(j, *block_widths(widths, j)[::2]):
                block.shortcut = _StackedConv([b.shortcut for b in src])
                block.shortcut_bn = _StackedBN([b.shortcut_bn for b in src])
            self.blocks.append(block)
        self.fc_weight = nn.Parameter(torch.stack([n.fc.weight.detach() for n in nets]).clone())  # (B, K, C)
        self.fc_bias = nn.Parameter(torch.stack([n.fc.bias.detach() for n in nets]).clone())  # (B, K)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.stem_bn(self.stem(x)))
        for j, block in enumerate(self.blocks):
            h = F.relu(block.bn1(block.conv1(out)))
            h = block.bn2(block.conv2(h))
            short = block.shortcut_bn(block.shortcut(out)) if hasattr(block, "shortcut") else out
            out = F.relu(h + short)
        pooled = out.mean(dim=(2, 3)).view(out.shape[0], self.n_models, -1)  # (N, B, C)
        return torch.einsum("nbc,bkc->nbk", pooled, self.fc_weight) + self.fc_bias

    def param_groups(self, weight_decay: float) -> list[dict]:
        """Decay on conv and classifier weights, none on BN affine and classifier bias (as the sequential path)."""
        no_decay = {id(self.fc_bias)}
        for m in self.modules():
            if isinstance(m, _StackedBN):
                no_decay |= {id(m.weight), id(m.bias)}
        decay = [p for p in self.parameters() if id(p) not in no_decay]
        rest = [p for p in self.parameters() if id(p) in no_decay]
        return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def _stack_input(xs: Sequence[torch.Tensor]) -> torch.Tensor:
    """(N, C, L) per model -> (N, B·C, 1, L)."""
    x = torch.stack(list(xs), dim=1)  # (N, B, C, L)
    n, b, c, length = x.shape
    return x.reshape(n, b * c, 1, length).contiguous(memory_format=MEMORY_FORMAT)


def _optimizer(model: StackedNet, recipe: Recipe) -> torch.optim.Optimizer:
    groups = model.param_groups(recipe.weight_decay)
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov, foreach=True)
    return torch.optim.AdamW(groups, lr=recipe.lr, foreach=True)


@torch.inference_mode()
def _accuracies(model: StackedNet, data: GTData, batch_size: int) -> list[float]:
    model.eval()
    correct = torch.zeros(model.n_models, dtype=torch.long)
    for i in range(0, data.x_test.shape[0], batch_size):
        xb = data.x_test[i : i + batch_size]
        logits = model(_stack_input([xb] * model.n_models))
        correct += (logits.argmax(2) == data.y_test[i : i + batch_size, None]).sum(0)
    return [int(c) / int(data.x_test.shape[0]) for c in correct]


def train_stacked(arch: str, seeds: Sequence[int], recipe: Recipe, data: GTData,
                  on_step: StepHook | None = None) -> list[float]:
    """Train ``arch`` once per seed of ``seeds``, all together; return each model's test accuracy (seed order).

    ``on_step(step, losses)`` receives each model's training loss of every step (tests compare trajectories).
    """
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise GroundTruthError("a stacked batch needs distinct seeds")
    space = data.space
    if not space.stacked_gt:
        raise GroundTruthError(f"the stacked GT path does not train nets of the space {space.name} (1-D width spaces "
                               "only); use the sequential path")
    as_widths(arch)
    x, y, n, bs, steps_per_epoch, total_steps = training_plan(recipe, data)
    nets, gens = [], []
    with torch.random.fork_rng(devices=[]):
        for seed in seeds:  # exactly the initial weights train_one draws for this seed
            torch.manual_seed(seed)
            nets.append(space.new_standalone(arch))
            gens.append(torch.Generator().manual_seed(seed))
    model = StackedNet(nets)
    del nets
    opt = _optimizer(model, recipe)
    sched = _scheduler(opt, recipe, total_steps)
    ema = _Ema(model, recipe.ema_decay) if recipe.ema_decay is not None else None
    b = len(seeds)
    model.train()
    step = 0
    for _ in range(recipe.epochs):
        perms = [torch.randperm(n, generator=g) for g in gens]
        for s in range(steps_per_epoch):
            idx = [p[s * bs : (s + 1) * bs] for p in perms]
            logits = model(_stack_input([x[i] for i in idx]))  # (N, B, K)
            target = torch.stack([y[i] for i in idx], dim=1)  # (N, B)
            per = F.cross_entropy(logits.reshape(bs * b, -1), target.reshape(-1), reduction="none",
                                  label_smoothing=recipe.label_smoothing).view(bs, b).mean(0)
            loss = per.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if ema is not None:
                ema.update(model)
            if on_step is not None:
                on_step(step, per.detach())
            step += 1
    final = ema.model if ema is not None else model
    return _accuracies(final, data, recipe.eval_batch_size)  # type: ignore[arg-type]
