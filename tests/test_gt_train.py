"""The GT trainer's optimizer: the multi-tensor form must update the weights bit for bit like the single-tensor one.

Why it matters: the shipped GT was partly trained before the optimizer switched to ``foreach``; a resumed or
extended build must produce exactly what the old code would have, or one file mixes two numerical recipes.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from harness.gt.recipe import DEFAULT_RECIPE, Recipe
from harness.gt.train import _optimizer, _scheduler
from reference_nets.resnet20_width import StandaloneNet

ARCH = "16-4-12-16-8-16-16-24-12-8-16-4-32-52-52-52-20-40-8-44"
SGD = Recipe(optimizer="sgd", lr=0.1, schedule="cosine", epochs=1)


@pytest.mark.parametrize("recipe", [DEFAULT_RECIPE, SGD], ids=["adamw", "sgd"])
def test_foreach_optimizer_matches_the_single_tensor_form_bit_for_bit(recipe: Recipe) -> None:
    torch.manual_seed(0)
    fast = StandaloneNet(ARCH, dims=1, in_channels=1, num_classes=10)
    loop = copy.deepcopy(fast)
    initial = copy.deepcopy(fast.state_dict())
    opt_fast, opt_loop = _optimizer(fast, recipe), _optimizer(loop, recipe)
    assert all(group["foreach"] for group in opt_fast.param_groups)
    for group in opt_loop.param_groups:
        group["foreach"] = False  # the single-tensor form the shipped GT was started with
    sched_fast, sched_loop = _scheduler(opt_fast, recipe, 40), _scheduler(opt_loop, recipe, 40)
    gen = torch.Generator().manual_seed(1)
    for _ in range(12):
        x = torch.randn(32, 1, 40, generator=gen)
        y = torch.randint(0, 10, (32,), generator=gen)
        for model, opt, sched in ((fast, opt_fast, sched_fast), (loop, opt_loop, sched_loop)):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y, label_smoothing=recipe.label_smoothing).backward()
            opt.step()
            sched.step()
    after_fast, after_loop = fast.state_dict(), loop.state_dict()
    for name, tensor in after_fast.items():
        assert torch.equal(tensor, after_loop[name]), name
    assert not torch.equal(after_fast["fc.weight"], initial["fc.weight"])  # the steps did move the weights
