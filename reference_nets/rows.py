"""1-D convolutions and batch norm on channels-last rows, for training the width supernet fast on CPU.

Why this exists: the 1-D width supernet is tiny (4–64 channels, 40 positions), and at these shapes oneDNN's
``conv1d`` is slow on the project's 2-core CPUs (torch 2.13, AMD EPYC: a torch-profiler run of SPOS steps put ~2/3
of a step in convolution forward and backward, about 1 ms per forward call for a few MMAC), while the same
arithmetic as one BLAS product of an (N·L, k·c) window matrix with a (k·c, m) weight is cheaper; a whole SPOS step
is 1.47× faster (``benchmarks/supernet_train_speed.py``). So activations are kept as (N, L, C) tensors, a kernel-3
convolution is an im2col of three shifted views (one copy of the input, autograd-friendly) times the re-laid
weight, and a 1x1 convolution is a plain product.

Batch norm gets its own autograd function because the obvious ``F.batch_norm`` on an (N·L, C) view takes torch's
channels-last CPU kernel, whose backward is inaccurate in fp32 in this network: parameter gradients ~1 % off (up
to 6 %) of the float64 values upstream of the first stride-2 block, where the NCL kernel and this function are at
1e-6 (``tests/test_rows.py``). Forward: two-pass mean and biased variance; backward: the textbook
``(g − mean(g) − x̂·mean(g·x̂))·γ/σ``. Running statistics follow ``F.batch_norm`` exactly (momentum, unbiased
variance); ``momentum=None`` (the cumulative average of precise BN) is resolved by the caller.

The parameters keep the reference layout ((m, c, k) conv weights, 1-D BN vectors), so state dicts, the fast
evaluator and ``StandaloneNet.load_from_supernet`` are unchanged; only the order of float sums differs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def to_rows(x: torch.Tensor) -> torch.Tensor:
    """(N, C, L) → (N, L, C), contiguous."""
    return x.transpose(1, 2).contiguous()


def conv_rows(h: torch.Tensor, weight: torch.Tensor, c_out: int, stride: int) -> torch.Tensor:
    """First-k sliced 1-D convolution (padding k // 2, no bias) of channels-last rows.

    ``h`` is (N, L, c) with c ≤ the weight's input width; ``weight`` is the max-width (M, C, k) tensor with k 1 or 3.
    Returns (N, L_out, c_out), L_out = ceil(L / stride), exactly ``conv1d`` up to the order of float sums.
    """
    n, length, c = h.shape
    k = weight.shape[2]
    w = weight[:c_out, :c]
    if k == 1:
        src = h[:, ::stride] if stride > 1 else h
        return src @ w[:, :, 0].t()
    if k != 3:
        raise ValueError(f"conv_rows supports kernels 1 and 3, not {k}")
    padded = F.pad(h, (0, 0, 1, 1))
    windows = torch.cat([padded[:, t : t + length : stride] for t in range(3)], dim=2)  # (N, L_out, 3c)
    return windows @ w.permute(2, 1, 0).reshape(3 * c, c_out)


class _BatchNormRows(torch.autograd.Function):
    """Train-mode batch norm over the rows of an (R, c) tensor; returns (output, batch mean, biased variance)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float):  # type: ignore[override]
        mean = x.mean(0)
        centred = x - mean
        var = (centred * centred).mean(0)
        invstd = torch.rsqrt(var + eps)
        xhat = centred.mul_(invstd)
        ctx.save_for_backward(xhat, invstd, weight)
        return torch.addcmul(bias, xhat, weight), mean, var

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor, _grad_mean: torch.Tensor, _grad_var: torch.Tensor):  # type: ignore[override]
        xhat, invstd, weight = ctx.saved_tensors
        rows = grad_out.shape[0]
        grad_bias = grad_out.sum(0)
        grad_weight = (grad_out * xhat).sum(0)
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = (grad_out - grad_bias / rows).sub_(xhat * (grad_weight / rows)).mul_(invstd * weight)
        return grad_x, grad_weight, grad_bias, None


def batch_norm_rows(h: torch.Tensor, running_mean: torch.Tensor, running_var: torch.Tensor, weight: torch.Tensor,
                    bias: torch.Tensor, training: bool, momentum: float, eps: float) -> torch.Tensor:
    """``F.batch_norm`` semantics for channels-last rows (N, L, c): batch statistics and an in-place running-stat
    update in training, the running statistics otherwise. ``running_*``, ``weight`` and ``bias`` are (c,)."""
    shape = h.shape
    c = shape[-1]
    flat = h.reshape(-1, c)
    if not training:
        scale = torch.rsqrt(running_var + eps) * weight
        return torch.addcmul(bias - running_mean * scale, flat, scale).view(shape)
    out, mean, var = _BatchNormRows.apply(flat, weight, bias, eps)
    rows = flat.shape[0]
    with torch.no_grad():
        running_mean.mul_(1.0 - momentum).add_(mean, alpha=momentum)
        running_var.mul_(1.0 - momentum).add_(var, alpha=momentum * rows / max(rows - 1, 1))
    return out.view(shape)
