"""Check that a submission's own module realises, for an arch, a subnet with exactly the #params the space says.

Why: a module that keeps ``forward(x, arch)`` could quietly use wider layers than asked (more capacity, better
scores) or ignore the arch altogether. The parameter entries a subnet *uses* are exactly those that receive a
gradient from its output, so one forward/backward on random input counts them (BN running statistics are buffers
and never count). To rule out an entry whose gradient is zero by accident (a dead ReLU in trained weights), the
count is the union over two trials: the submitted weights, and a randomly re-drawn copy of them.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from harness.errors import SubmissionError
from harness.spaces import SearchSpace


def pick_archs(space: SearchSpace, archs: Sequence[str], n_check: int, seed: int = 0) -> list[str]:
    """The smallest and the largest arch of the set (by #params) and random others, deterministically."""
    archs = list(archs)
    if len(archs) <= n_check:
        return archs
    params = space.params_many(archs)
    chosen = [int(np.argmin(params)), int(np.argmax(params))]
    rng = np.random.default_rng(seed)
    for i in rng.permutation(len(archs)):
        if len(chosen) >= n_check:
            break
        if int(i) not in chosen:
            chosen.append(int(i))
    return [archs[i] for i in chosen[:n_check]]


def _used_entries(module: nn.Module, arch: str, x: torch.Tensor, gen: torch.Generator) -> dict[str, torch.Tensor]:
    module.zero_grad(set_to_none=True)
    try:
        out = module(x, arch)
    except Exception as exc:  # noqa: BLE001 - a submission's module may fail in any way
        raise SubmissionError(f"model forward failed for arch {arch}: {type(exc).__name__}: {exc}") from None
    if not torch.is_tensor(out) or not out.is_floating_point():
        raise SubmissionError(f"model output for arch {arch} is not a floating tensor")
    weights = torch.randn(out.shape, generator=gen).to(out.device)
    (out * weights).sum().backward()
    return {n: (p.grad != 0) for n, p in module.named_parameters() if p.grad is not None}


def realised_params(model: nn.Module, arch: str, input_shape: Sequence[int], *, batch: int = 4, seed: int = 0) -> int:
    """Parameter entries that the subnet ``arch`` of ``model`` uses (union over the two trials)."""
    work = copy.deepcopy(model)
    work.train()
    device = next((p.device for p in work.parameters()), torch.device("cpu"))
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((batch, *input_shape), generator=gen).to(device)
    used: dict[str, torch.Tensor] = {}
    with torch.enable_grad():
        for trial in range(2):
            if trial == 1:
                with torch.no_grad():
                    for p in work.parameters():
                        if p.is_floating_point():
                            p.copy_(torch.randn(p.shape, generator=gen).to(p.device, p.dtype))
            for name, mask in _used_entries(work, arch, x, gen).items():
                used[name] = mask if name not in used else used[name] | mask
    return int(sum(int(m.sum()) for m in used.values()))


def check_realised_params(model: nn.Module, space: SearchSpace, archs: Sequence[str], input_shape: Sequence[int], n_check: int = 8) -> None:
    """Raise :class:`SubmissionError` (one line) if, for any of ``n_check`` archs, ``model`` uses another number of
    parameters than ``space.params(arch)``. ``input_shape`` is the shape of one sample, e.g. ``(1, 40)``."""
    for arch in pick_archs(space, archs, n_check):
        expected = space.params(arch)
        got = realised_params(model, arch, input_shape)
        if got != expected:
            more = "more" if got > expected else "fewer"
            raise SubmissionError(
                f"params check failed for arch {arch}: the module uses {got:,} parameters, the space counts {expected:,} "
                f"({more} than the subnet should have)"
            )
