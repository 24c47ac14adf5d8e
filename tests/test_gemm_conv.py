"""The walk's convolutions as matrix products (harness/evaluation/gemm_conv.py) against torch's convolution.

Why exhaustive over the awkward cases: the kernel-3 product path shifts rows across sample boundaries and
recomputes each sample's edge positions, so a wrong edge would corrupt exactly one position per sample — lengths
1 and 2, odd lengths, stride 2 and a bias (the folded BN shift of the evaluation samples) are where that shows.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from harness.evaluation.gemm_conv import conv_rows, taps_of


def _reference(a: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, stride: int) -> torch.Tensor:
    """torch's conv1d on (S, P, c) channels-last data, back to (S, P', m)."""
    k = weight.shape[2]
    return F.conv1d(a.permute(0, 2, 1), weight, bias, stride, k // 2).permute(0, 2, 1)


@pytest.mark.parametrize("length", [1, 2, 3, 10, 11, 40])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("kernel", [1, 3])
@pytest.mark.parametrize("with_bias", [False, True])
def test_1d_products_equal_the_convolution(length: int, stride: int, kernel: int, with_bias: bool) -> None:
    g = torch.Generator().manual_seed(length * 31 + stride * 7 + kernel)
    S, c, m = 5, 6, 7
    a = torch.randn(S, length, c, generator=g, dtype=torch.float64)
    weight = torch.randn(m, c, kernel, generator=g, dtype=torch.float64)
    bias = torch.randn(m, generator=g, dtype=torch.float64) if with_bias else None
    got, out = conv_rows(a.contiguous(), (1, length), taps_of(weight), bias, stride)
    want = _reference(a, weight, bias, stride)
    assert out == (1, want.shape[1])
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_1d_product_matches_in_float32_to_rounding() -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(256, 20, 32, generator=g)
    weight = torch.randn(48, 32, 3, generator=g)
    got, _ = conv_rows(a, (1, 20), taps_of(weight), None, 1)
    torch.testing.assert_close(got, _reference(a, weight, None, 1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("stride", [1, 2])
def test_2d_pointwise_product_equals_the_convolution(stride: int) -> None:
    g = torch.Generator().manual_seed(stride)
    S, h, w, c, m = 3, 5, 6, 4, 9
    a = torch.randn(S, h * w, c, generator=g, dtype=torch.float64)
    weight = torch.randn(m, c, 1, 1, generator=g, dtype=torch.float64)
    got, out = conv_rows(a, (h, w), taps_of(weight), None, stride)
    want4 = F.conv2d(a.view(S, h, w, c).permute(0, 3, 1, 2), weight, None, stride)
    assert out == (want4.shape[2], want4.shape[3])
    torch.testing.assert_close(got, want4.permute(0, 2, 3, 1).reshape(S, -1, m), rtol=1e-12, atol=1e-12)


def test_a_2d_kernel_is_not_taps() -> None:
    a = torch.zeros(1, 9, 2)
    with pytest.raises(ValueError, match="2-D kernel"):
        conv_rows(a, (3, 3), taps_of(torch.zeros(4, 2, 3, 3)), None, 1)
