"""Channels-last rows ops of the 1-D supernet (reference_nets/rows.py) compute torch's conv1d / batch_norm."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness.spaces.resnet20_width import ResNet20WidthSpace
from reference_nets.resnet20_width import SlicedBatchNorm, WidthSuperNet
from reference_nets.rows import batch_norm_rows, conv_rows, to_rows


@pytest.mark.parametrize("length", [1, 2, 3, 10, 11, 40])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("kernel", [1, 3])
def test_conv_rows_equals_conv1d_on_sliced_weights(length: int, stride: int, kernel: int) -> None:
    gen = torch.Generator().manual_seed(length * 10 + stride + kernel)
    weight = torch.randn(24, 16, kernel, generator=gen, dtype=torch.float64, requires_grad=True)
    x = torch.randn(5, 12, length, generator=gen, dtype=torch.float64, requires_grad=True)
    want = F.conv1d(x, weight[:20, :12], None, stride, kernel // 2)
    got = conv_rows(to_rows(x), weight, 20, stride)
    assert got.shape == (5, want.shape[2], 20)
    torch.testing.assert_close(got.transpose(1, 2), want, rtol=1e-12, atol=1e-12)
    g = torch.randn(want.shape, generator=gen, dtype=torch.float64)
    gx_want, gw_want = torch.autograd.grad(want, (x, weight), g)
    gx_got, gw_got = torch.autograd.grad(got, (x, weight), g.transpose(1, 2))
    torch.testing.assert_close(gx_got, gx_want, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gw_got, gw_want, rtol=1e-12, atol=1e-12)


def test_conv_rows_refuses_other_kernels() -> None:
    with pytest.raises(ValueError, match="kernels 1 and 3"):
        conv_rows(torch.zeros(1, 4, 2), torch.zeros(2, 2, 5), 2, 1)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_rows_equals_batch_norm_values_gradients_and_running_stats(training: bool) -> None:
    gen = torch.Generator().manual_seed(int(training))
    x = (torch.randn(6, 7, 9, generator=gen, dtype=torch.float64) * 3 + 2).requires_grad_()
    weight = (torch.rand(7, generator=gen, dtype=torch.float64) + 0.5).requires_grad_()
    bias = torch.randn(7, generator=gen, dtype=torch.float64).requires_grad_()
    rm, rv = torch.randn(7, dtype=torch.float64, generator=gen), torch.rand(7, dtype=torch.float64, generator=gen) + 1
    rm_rows, rv_rows = rm.clone(), rv.clone()
    want = F.batch_norm(x, rm, rv, weight, bias, training, 0.3, 1e-5)
    got = batch_norm_rows(to_rows(x), rm_rows, rv_rows, weight, bias, training, 0.3, 1e-5)
    torch.testing.assert_close(got.transpose(1, 2), want, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(rm_rows, rm, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(rv_rows, rv, rtol=1e-12, atol=1e-12)
    g = torch.randn(want.shape, generator=gen, dtype=torch.float64)
    for a, b in zip(torch.autograd.grad(got, (x, weight, bias), g.transpose(1, 2)),
                    torch.autograd.grad(want, (x, weight, bias), g), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_batch_norm_rows_passes_gradcheck() -> None:
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(4, 5, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    weight = torch.rand(3, generator=gen, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(3, generator=gen, dtype=torch.float64, requires_grad=True)

    def fn(x, weight, bias):
        return batch_norm_rows(x, torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64), weight,
                               bias, True, 0.1, 1e-5)

    assert torch.autograd.gradcheck(fn, (x, weight, bias))


def test_sliced_batchnorm_rows_cumulative_average_matches_the_native_layer() -> None:
    """Precise BN (momentum None) through forward_rows leaves the same running statistics as forward."""
    gen = torch.Generator().manual_seed(0)
    native, rows = SlicedBatchNorm(16, momentum=None), SlicedBatchNorm(16, momentum=None)
    batches = [torch.randn(8, 10, 12, generator=gen) * (i + 1) + i for i in range(4)]
    with torch.no_grad():
        for b in batches:
            native(b)
            rows.forward_rows(to_rows(b))
    torch.testing.assert_close(rows.running_mean, native.running_mean, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(rows.running_var, native.running_var, rtol=1e-5, atol=1e-5)
    assert int(rows.num_batches_tracked) == 4


def test_the_1d_net_trains_on_rows_and_evaluates_natively(monkeypatch: pytest.MonkeyPatch) -> None:
    net = WidthSuperNet(dims=1, in_channels=1, num_classes=10)
    used: list[str] = []
    monkeypatch.setattr(net, "_forward_rows", lambda x, w: used.append("rows"))
    monkeypatch.setattr(net, "_forward_native", lambda x, w: used.append("native"))
    arch = _archs(1)[0]
    net.train()
    net(torch.zeros(2, 1, 40), arch)
    net.eval()
    net(torch.zeros(2, 1, 40), arch)
    assert used == ["rows", "native"]


def _archs(n: int) -> list[str]:
    space = ResNet20WidthSpace(dims=1, in_channels=1, num_classes=10, input_size=40)
    return space.sample(np.random.default_rng(11), n)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_rows_forward_is_the_native_forward_in_float64(mode: str) -> None:
    torch.manual_seed(0)
    net = WidthSuperNet(dims=1, in_channels=1, num_classes=10).double()
    getattr(net, mode)()
    other = copy.deepcopy(net)
    x = torch.randn(16, 1, 40, dtype=torch.float64)
    y = torch.arange(16) % 10
    for arch in _archs(4):
        widths = tuple(int(w) for w in arch.split("-"))
        F.cross_entropy(net._forward_rows(x, widths), y).backward()
        F.cross_entropy(other._forward_native(x, widths), y).backward()
    for (name, a), b in zip(net.named_parameters(), other.parameters(), strict=True):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-9, atol=1e-12, msg=name)
    for a, b in zip(net.buffers(), other.buffers(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_rows_forward_gradients_in_float32_stay_at_rounding_level() -> None:
    """The reason for the hand-written BN: fp32 gradients of every parameter within 1e-4 (relative) of float64."""
    torch.manual_seed(1)
    base = WidthSuperNet(dims=1, in_channels=1, num_classes=10)
    x = torch.randn(128, 1, 40).abs()  # non-negative inputs, like MNIST-1D after its offset
    y = torch.arange(128) % 10
    for arch in _archs(3):
        exact, fast = copy.deepcopy(base).double(), copy.deepcopy(base)
        F.cross_entropy(exact(x.double(), arch), y).backward()
        F.cross_entropy(fast(x, arch), y).backward()
        for (name, p64), p32 in zip(exact.named_parameters(), fast.parameters(), strict=True):
            if p64.grad is None or float(p64.grad.norm()) == 0:
                continue
            err = float((p32.grad.double() - p64.grad).norm() / p64.grad.norm())
            assert err < 1e-4, (arch, name, err)
