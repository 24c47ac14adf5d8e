"""The ResNet20 width space: canonical strings, validation messages, exact #params/FLOPs vs the torch modules."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from harness.errors import InvalidArchError
from harness.spaces import get_space
from harness.spaces.resnet20_width import CHOICES, MAX_WIDTHS, ResNet20WidthSpace
from reference_nets.resnet20_width import StandaloneNet

EXAMPLE = "16-4-12-16-8-16-16-24-12-8-16-4-32-52-52-52-20-40-8-44"

GEOMETRIES = [
    pytest.param(dict(dims=1, in_channels=1, num_classes=10, input_size=40), id="1d-mnist1d"),
    pytest.param(dict(dims=2, in_channels=3, num_classes=100, input_size=32), id="2d-cifar100"),
]


def _space(**geometry: int) -> ResNet20WidthSpace:
    return get_space(f"resnet20-width-{geometry['dims']}d", **{k: v for k, v in geometry.items() if k != "dims"})


def _random_archs(n: int, seed: int) -> list[str]:
    space = ResNet20WidthSpace()
    archs = space.sample(np.random.default_rng(seed), n)
    return archs + ["-".join(str(c[0]) for c in CHOICES), "-".join(map(str, MAX_WIDTHS))]  # smallest, largest


def test_get_space_builds_both_dims() -> None:
    assert _space(dims=1, in_channels=1, num_classes=10, input_size=40).name == "resnet20-width-1d"
    assert _space(dims=2, in_channels=3, num_classes=100, input_size=32).name == "resnet20-width-2d"


def test_string_round_trip() -> None:
    space = ResNet20WidthSpace()
    for arch in _random_archs(50, seed=0):
        widths = space.parse(arch)
        assert len(widths) == 20 and all(isinstance(w, int) for w in widths)
        assert space.format(widths) == arch
        assert space.canonical(arch) == arch
    assert space.canonical(f"  {EXAMPLE}\n") == EXAMPLE


@pytest.mark.parametrize(
    ("arch", "fragment"),
    [
        ("-".join(["16"] * 19), "has 19 channel counts"),
        ("-".join(["16"] * 21), "has 21 channel counts"),
        ("16-4-12-16-8-16-16-24-12-8-16-4-32-52-52-52-20-40-8-x", "not an integer"),
        ("16-4-12-16-8-16-16-24-12-8-16-4-32-52-52-52-20-40-8-4.5", "not an integer"),
        ("16-4-12-16-8-16-20-24-12-8-16-4-32-52-52-52-20-40-8-44", "position 6 is 20"),
        ("16-4-12-16-8-16-16-36-12-8-16-4-32-52-52-52-20-40-8-44", "position 7 is 36"),
        ("16-4-12-16-8-16-16-24-12-8-16-4-32-52-52-52-20-40-8-6", "position 19 is 6"),
        ("0-4-12-16-8-16-16-24-12-8-16-4-32-52-52-52-20-40-8-44", "position 0 is 0"),
    ],
)
def test_invalid_archs_name_the_problem(arch: str, fragment: str) -> None:
    with pytest.raises(InvalidArchError) as info:
        ResNet20WidthSpace().canonical(arch)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message  # one line for the CLI


def test_non_string_and_format_validation() -> None:
    space = ResNet20WidthSpace()
    with pytest.raises(InvalidArchError, match="must be a string"):
        space.parse(12)  # type: ignore[arg-type]
    with pytest.raises(InvalidArchError, match="position 13 is 68"):
        space.format([4] * 13 + [68] + [4] * 6)


def test_space_size() -> None:
    assert ResNet20WidthSpace().size == 4**7 * 8**6 * 16**7 == 2**60


def test_sample_is_seeded_and_unique() -> None:
    space = ResNet20WidthSpace()
    a = space.sample_unique(np.random.default_rng(5), 300)
    assert a == space.sample_unique(np.random.default_rng(5), 300)
    assert len(set(a)) == 300
    assert all(space.canonical(x) == x for x in a)


def test_example_params_match_the_rule_and_the_module() -> None:
    """The issue's check: 100 classes, 2-D, the example arch — counted by hand from the layer rule."""
    w = [int(c) for c in EXAMPLE.split("-")]
    by_rule = 3 * w[0] * 9 + 2 * w[0]  # stem conv + BN
    for j in range(9):
        c_in, mid, c_out = w[2 * j], w[2 * j + 1], w[2 * j + 2]
        by_rule += c_in * mid * 9 + 2 * mid + mid * c_out * 9 + 2 * c_out
        if j in (0, 3, 6) or c_in != c_out:
            by_rule += c_in * c_out + 2 * c_out
    by_rule += w[18] * 100 + 100
    net = StandaloneNet(EXAMPLE, dims=2, in_channels=3, num_classes=100)
    assert by_rule == 106900
    assert sum(p.numel() for p in net.parameters()) == 106900
    assert ResNet20WidthSpace(dims=2, in_channels=3, num_classes=100, input_size=32).params(EXAMPLE) == 106900


def _count_macs(net: nn.Module, x: torch.Tensor) -> int:
    """MACs of conv and linear layers, counted on the real forward pass with hooks."""
    total = 0

    def conv_hook(mod: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        per_out = mod.weight[0].numel()  # (in / groups) × kernel
        total += out[0].numel() * per_out  # one sample

    def linear_hook(mod: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        total += mod.weight.numel()

    for m in net.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            m.register_forward_hook(conv_hook)
        elif isinstance(m, nn.Linear):
            m.register_forward_hook(linear_hook)
    with torch.no_grad():
        net.eval()(x)
    return total


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_params_and_flops_match_the_torch_module(geometry: dict[str, int]) -> None:
    space = _space(**geometry)
    dims, size = geometry["dims"], geometry["input_size"]
    x = torch.zeros((1, geometry["in_channels"]) + (size,) * dims)
    archs = _random_archs(8 if dims == 2 else 15, seed=dims)
    for arch in archs:
        net = StandaloneNet(arch, dims=dims, in_channels=geometry["in_channels"], num_classes=geometry["num_classes"])
        assert space.params(arch) == sum(p.numel() for p in net.parameters()), arch
        assert space.flops(arch) == _count_macs(net, x), arch
    assert list(space.params_many(archs)) == [space.params(a) for a in archs]
    assert list(space.flops_many(archs)) == [space.flops(a) for a in archs]


def test_odd_input_size_flops() -> None:
    """Stride-2 layers on odd lengths round up (kernel 3 / pad 1 and kernel 1 / pad 0 agree)."""
    space = ResNet20WidthSpace(dims=1, in_channels=2, num_classes=7, input_size=37)
    x = torch.zeros(1, 2, 37)
    for arch in _random_archs(3, seed=9):
        assert space.flops(arch) == _count_macs(StandaloneNet(arch, dims=1, in_channels=2, num_classes=7), x)
