"""Convolutions of dense channels-last activations as matrix products (the walk strategy's kernels).

Why matrix products and not ``conv2d``: the walk convolves one node at a time, a few hundred samples of short
sequences with 4-64 channels. At these shapes oneDNN's convolution spends much of its time outside the
arithmetic (measured on the 2-core AMD EPYC box, 1 thread, in the walk: the 1x1 shortcut convolutions at
3-6 GMAC/s, the kernel-3 ones at 8-13), while one BLAS product over all ``S*P`` rows runs near its peak. A 1x1
convolution of (S, P, c) channels-last data *is* the (S*P, c) x (c, m) product; a 1-D kernel-3 convolution is
three of them over row-shifted slices of the same rows (below). Together: the walk 1.36x faster on one chunk of
the default benchmark (old and new walk alternating in one process), and 1.34x the grouped path over a whole run
(``benchmarks/eval_throughput.py``). Only float rounding differs from the convolution: the sums are the
same, taken in another order.

Weights come as *taps*: a (k, m, c) tensor whose ``[t]`` is the (m, c) matrix of kernel position ``t`` (contiguous,
so its transpose is a BLAS operand without a copy).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def taps_of(weight: torch.Tensor) -> torch.Tensor:
    """(m, c, k) or (m, c, 1, k) convolution weights as contiguous (k, m, c) taps."""
    w3 = weight.reshape(weight.shape[0], weight.shape[1], -1)
    return w3.permute(2, 0, 1).contiguous()


def _product(rows: torch.Tensor, tap: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``rows @ tap.T (+ bias)`` as a fresh (n, m) tensor."""
    return torch.mm(rows, tap.t()) if bias is None else torch.addmm(bias, rows, tap.t())


def pointwise(a: torch.Tensor, spatial: tuple[int, int], taps: torch.Tensor, bias: torch.Tensor | None,
              stride: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """A 1x1 convolution (the projection shortcut) of a dense (S, P, c) activation: one product.

    Stride ``s`` keeps every ``s``-th position along each axis; in 1-D with an even length and stride 2 those are
    the first halves of the rows of a (S*P/2, 2c) view, read in place.
    """
    h, w = spatial
    S, P, c = a.shape
    if stride == 1:
        rows, out = a.reshape(S * P, c), spatial
    elif h == 1 and P % 2 == 0 and stride == 2:
        rows, out = a.view(S * P // 2, 2 * c)[:, :c], (1, P // 2)
    else:
        sub = a.view(S, h, w, c)[:, :: (stride if h > 1 else 1), ::stride]
        rows, out = sub.reshape(-1, c), (int(sub.shape[1]), int(sub.shape[2]))
    y = _product(rows, taps[0], bias)
    return y.view(S, out[0] * out[1], taps.shape[1]), out


def conv3_1d(a: torch.Tensor, taps: torch.Tensor, bias: torch.Tensor | None, stride: int) -> torch.Tensor:
    """A 1-D kernel-3, padding-1 convolution of a dense (S, P, c) activation, stride 1 or 2 (P even): (S, P/s, m).

    Output position ``p`` is ``x[p-1] W0 + x[p] W1 + x[p+1] W2``. Over the flattened (S*P, c) rows each term is a
    product of a row-shifted *contiguous* slice, accumulated in place (``addmm_``): three large products, nothing
    copied. The shift wrongly reaches into the neighbouring sample at each sample's first and last position; those
    2S rows are recomputed from their two valid taps. Stride 2 reads even and odd positions as the two halves of a
    (S*P/2, 2c) view: ``y[q] = odd[q-1] W0 + even[q] W1 + odd[q] W2``, only each sample's first output to redo.
    """
    S, P, c = a.shape
    w0, w1, w2 = taps[0], taps[1], taps[2]
    m = w1.shape[0]
    if stride == 1:
        x = a.reshape(S * P, c)
        y = _product(x, w1, bias)
        if P == 1:
            return y.view(S, 1, m)
        y[1:].addmm_(x[:-1], w0.t())
        y[:-1].addmm_(x[1:], w2.t())
        y3 = y.view(S, P, m)
        y3[:, 0] = _product(a[:, 1], w2, bias).addmm_(a[:, 0], w1.t())
        y3[:, P - 1] = _product(a[:, P - 1], w1, bias).addmm_(a[:, P - 2], w0.t())
        return y3
    if stride != 2 or P % 2:
        raise ValueError(f"conv3_1d takes stride 1, or stride 2 on an even length (got stride {stride}, length {P})")
    Q = P // 2
    pairs = a.view(S * Q, 2 * c)
    even, odd = pairs[:, :c], pairs[:, c:]
    y = _product(even, w1, bias).addmm_(odd, w2.t())
    y3 = y.view(S, Q, m)
    first = y3[:, 0].clone()
    y[1:].addmm_(odd[:-1], w0.t())
    y3[:, 0] = first
    return y3


def conv_rows(a: torch.Tensor, spatial: tuple[int, int], taps: torch.Tensor, bias: torch.Tensor | None,
              stride: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Convolution (padding k//2) of a dense (S, P, c) channels-last activation by (k, m, c) taps: (S, P', m).

    1x1 kernels (any number of spatial axes) and 1-D kernel-3 ones run as products; a 1-D kernel at stride 2 on an
    odd length, or another kernel size, as ``conv2d``. 2-D kernels larger than 1x1 are not taps (the caller keeps
    ``conv2d`` for them).
    """
    k, m, c = taps.shape
    if k == 1:
        return pointwise(a, spatial, taps, bias, stride)
    if spatial[0] != 1:
        raise ValueError("conv_rows takes 1x1 kernels or 1-D ones; a 2-D kernel stays a conv2d weight")
    S, P, _ = a.shape
    if k == 3 and (stride == 1 or (stride == 2 and P % 2 == 0)):
        y = conv3_1d(a, taps, bias, stride)
        return y, (1, int(y.shape[1]))
    weight = taps.permute(1, 2, 0).unsqueeze(2)  # (m, c, 1, k)
    y4 = F.conv2d(a.view(S, 1, P, c).permute(0, 3, 1, 2), weight, bias, (1, stride), (0, k // 2))
    return y4.permute(0, 2, 3, 1).reshape(S, -1, m), (1, int(y4.shape[3]))
