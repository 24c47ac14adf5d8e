"""Reference nets: first-k slicing of the supernet equals the standalone net loaded with the sliced weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.spaces.resnet20_width import CHOICES, MAX_WIDTHS, ResNet20WidthSpace
from reference_nets.resnet20_width import SlicedBatchNorm, StandaloneNet, WidthSuperNet


def _randomise(supernet: WidthSuperNet, gen: torch.Generator) -> None:
    """Random affine BN parameters and running statistics, so slicing mistakes in BN cannot hide."""
    with torch.no_grad():
        for m in supernet.modules():
            if isinstance(m, SlicedBatchNorm):
                m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
        supernet.fc.bias.copy_(torch.randn(supernet.fc.bias.shape, generator=gen))


@pytest.mark.parametrize(("dims", "in_channels", "num_classes", "size"), [(1, 1, 10, 40), (2, 3, 100, 16)])
def test_sliced_supernet_equals_standalone(dims: int, in_channels: int, num_classes: int, size: int) -> None:
    gen = torch.Generator().manual_seed(dims)
    torch.manual_seed(dims)
    supernet = WidthSuperNet(dims=dims, in_channels=in_channels, num_classes=num_classes)
    _randomise(supernet, gen)
    supernet.eval()
    space = ResNet20WidthSpace(dims=dims, in_channels=in_channels, num_classes=num_classes, input_size=size)
    archs = space.sample(np.random.default_rng(dims), 6)
    archs += ["-".join(str(c[0]) for c in CHOICES), "-".join(map(str, MAX_WIDTHS))]
    x = torch.randn((4, in_channels) + (size,) * dims, generator=gen)
    for arch in archs:
        net = StandaloneNet(arch, dims=dims, in_channels=in_channels, num_classes=num_classes).load_from_supernet(supernet)
        net.eval()
        assert sum(p.numel() for p in net.parameters()) == space.params(arch)
        with torch.no_grad():
            expected = net(x)
            got = supernet(x, arch)
            got_from_widths = supernet(x, space.parse(arch))
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(got_from_widths, got, rtol=0, atol=0)


def test_sliced_batchnorm_cumulative_average_is_exact() -> None:
    """momentum=None: running stats become the plain average of the per-batch mean and unbiased variance."""
    gen = torch.Generator().manual_seed(0)
    bn = SlicedBatchNorm(16, momentum=None)
    bn.train()
    batches = [torch.randn(32, 10, 40, generator=gen) * (i + 1) + i for i in range(5)]
    with torch.no_grad():
        for b in batches:
            bn(b)
    means = torch.stack([b.mean(dim=(0, 2)) for b in batches]).mean(0)
    vars_ = torch.stack([b.var(dim=(0, 2), unbiased=True) for b in batches]).mean(0)
    torch.testing.assert_close(bn.running_mean[:10], means, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(bn.running_var[:10], vars_, rtol=1e-5, atol=1e-5)
    # channels beyond the slice are untouched
    assert torch.equal(bn.running_mean[10:], torch.zeros(6)) and torch.equal(bn.running_var[10:], torch.ones(6))
    assert int(bn.num_batches_tracked) == 5
    bn.reset_running_stats()
    assert int(bn.num_batches_tracked) == 0 and torch.equal(bn.running_var, torch.ones(16))


def test_sliced_batchnorm_in_eval_uses_running_stats() -> None:
    bn = SlicedBatchNorm(8)
    ref = torch.nn.BatchNorm1d(5)
    with torch.no_grad():
        bn.running_mean.copy_(torch.arange(8.0))
        bn.running_var.copy_(torch.arange(1.0, 9.0))
        ref.running_mean.copy_(bn.running_mean[:5])
        ref.running_var.copy_(bn.running_var[:5])
    bn.eval(), ref.eval()
    x = torch.randn(3, 5, 7)
    torch.testing.assert_close(bn(x), ref(x))
