"""The NAS-Bench-201 space (issue 7): strings, enumeration order, sampling, exact #params / FLOPs against the torch
modules, and the supernet against the standalone network."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from harness.errors import InvalidArchError
from harness.spaces import get_space
from harness.spaces.nb201 import NUM_ARCHS, OPS, NB201Space, all_archs, format_ops, parse_ops
from reference_nets.nb201 import NB201Net, NB201SuperNet

ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
#: NAS-Bench-201 indices pinned by AutoDL-Projects' generate_meta_info (exps/NAS-Bench-201/main.py)
KNOWN_INDICES = {
    0: "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    9: "|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
    123: "|avg_pool_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|",
}
GEOMETRIES = [(10, 32), (100, 32), (120, 16)]


@pytest.fixture(autouse=True)
def one_thread():
    """Small forward passes are fastest on one thread, and the test machine is shared (2 cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def mac_count(net: nn.Module, input_size: int, in_channels: int = 3) -> int:
    """Conv + linear multiply-accumulates of one forward pass, counted by hooks on the modules that ran."""
    total = 0

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
            total += output[0].numel() * k
        else:
            total += module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    net.eval()
    device = next(net.parameters()).device
    with torch.no_grad():
        net(torch.zeros(1, in_channels, input_size, input_size, device=device))
    for h in handles:
        h.remove()
    return total


def test_registered_and_described() -> None:
    space = get_space("nb201", num_classes=100)
    assert isinstance(space, NB201Space) and space.name == "nb201" and space.size == NUM_ARCHS == 15_625
    assert space.describe() == {
        "name": "nb201", "size": 15_625, "input_size": 32, "in_channels": 3, "channels": 16, "cells_per_stage": 5,
        "num_classes": 100,
    }
    with pytest.raises(ValueError):
        NB201Space(input_size=30)


def test_enumeration_is_complete_and_in_nb201_index_order() -> None:
    space = get_space("nb201")
    archs = space.archs()
    assert len(archs) == 15_625 and len(set(archs)) == 15_625
    for i, arch in KNOWN_INDICES.items():
        assert archs[i] == arch and space.index(arch) == i
    assert all(space.canonical(a) == a for a in archs[:500])
    assert archs is not space.archs() and archs == list(all_archs())  # a fresh list: callers may mutate theirs


def test_string_round_trip() -> None:
    space = get_space("nb201")
    for arch in space.archs()[::97]:
        ops = space.parse(arch)
        assert len(ops) == 6 and set(ops) <= set(OPS)
        assert space.format(ops) == arch
        assert space.format([OPS.index(o) for o in ops]) == arch  # op indices are accepted too
    assert space.canonical("  " + ALL_CONV3 + "\n") == ALL_CONV3
    assert format_ops(parse_ops(ALL_NONE)) == ALL_NONE


@pytest.mark.parametrize(
    ("arch", "words"),
    [
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|", "node groups"),
        ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv'"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "must read node 0"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 needs 2"),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|none2|", "op~source"),
        ("none~0+|none~0|none~1|+|none~0|none~1|none~2|", "a bar around each edge"),
        ("", "node groups"),
        ("16-4-12-16", "node groups"),
    ],
)
def test_invalid_strings_say_what_is_wrong(arch: str, words: str) -> None:
    with pytest.raises(InvalidArchError, match=words) as info:
        get_space("nb201").canonical(arch)
    assert "\n" not in str(info.value)


def test_invalid_objects() -> None:
    space = get_space("nb201")
    with pytest.raises(InvalidArchError):
        space.format(["none"] * 5)
    with pytest.raises(InvalidArchError):
        space.format([0, 1, 2, 3, 4, 5])
    with pytest.raises(InvalidArchError):
        space.canonical(123)  # type: ignore[arg-type]
    with pytest.raises(InvalidArchError):
        space.canonical(["none"] * 6)  # type: ignore[arg-type]


def test_sampling_is_seeded_and_uniform() -> None:
    space = get_space("nb201")
    a = space.sample(np.random.default_rng(3), 2000)
    assert a == space.sample(np.random.default_rng(3), 2000)
    assert all(space.canonical(x) == x for x in a[:50])
    counts = np.zeros((6, 5))
    for arch in a:
        for e, op in enumerate(space.parse(arch)):
            counts[e, OPS.index(op)] += 1
    assert np.all(np.abs(counts / 2000 - 0.2) < 0.04)
    unique = space.sample_unique(np.random.default_rng(1), 300)
    assert len(set(unique)) == 300


def test_published_extremes() -> None:
    """NAS-Bench-201's CIFAR-10 networks span 0.073 to 1.532 M parameters (paper, Fig./Tab. of the space)."""
    space = get_space("nb201", num_classes=10)
    params = space.params_many(space.archs())
    assert params.min() == space.params(ALL_NONE) == 73_306
    assert params.max() == space.params(ALL_CONV3) == 1_531_546
    assert space.flops(ALL_CONV3) == 220_119_680  # NAS-Bench-201 reports 220.11 M for this one


@pytest.mark.parametrize(("num_classes", "input_size"), GEOMETRIES)
def test_params_and_flops_match_the_module(num_classes: int, input_size: int) -> None:
    space = get_space("nb201", num_classes=num_classes, input_size=input_size)
    archs = [ALL_NONE, ALL_CONV3, *space.sample_unique(np.random.default_rng(num_classes), 40)]
    for arch in archs:
        net = NB201Net(arch, num_classes)
        assert sum(p.numel() for p in net.parameters()) == space.params(arch), arch
        assert mac_count(net, input_size) == space.flops(arch), arch


def test_counts_follow_a_non_standard_geometry() -> None:
    space = NB201Space(num_classes=7, input_size=8, in_channels=1, channels=4, cells_per_stage=2)
    for arch in space.sample(np.random.default_rng(0), 20):
        net = NB201Net(arch, 7, in_channels=1, channels=4, cells_per_stage=2)  # a real forward pass on CPU
        assert sum(p.numel() for p in net.parameters()) == space.params(arch)
        assert mac_count(net, 8, in_channels=1) == space.flops(arch)


def test_standalone_net_is_the_benchmark_network() -> None:
    net = NB201Net(KNOWN_INDICES[0], 10)
    assert len(net.cells) == 17 and [type(c).__name__ for c in net.cells].count("ResNetBasicblock") == 2
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(type(m) is nn.BatchNorm2d and m.affine and m.track_running_stats for m in bns)
    pools = [m for m in net.modules() if isinstance(m, nn.AvgPool2d) and m.kernel_size == 3]
    assert pools and all(not p.count_include_pad for p in pools)
    keys = set(net.state_dict())
    assert {"stem.0.weight", "cells.0.layers.1.op.1.weight", "cells.5.conv_a.op.1.weight", "cells.5.downsample.1.weight",
            "lastact.0.weight", "classifier.weight"} <= keys  # AutoDL-Projects' names
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def _randomise_bn(net: nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def test_supernet_matches_standalone_subnets() -> None:
    torch.manual_seed(0)
    space = NB201Space(num_classes=10, channels=8, cells_per_stage=2)
    supernet = NB201SuperNet.for_space(space)
    assert all(type(m) is nn.BatchNorm2d for m in supernet.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))
    _randomise_bn(supernet, 1)
    x = torch.randn(6, 3, 32, 32)
    archs = [ALL_NONE, ALL_CONV3, *space.sample(np.random.default_rng(5), 8)]
    for arch in archs:
        sub = supernet.subnet(arch)
        assert sum(p.numel() for p in sub.parameters()) == supernet.subnet_params(arch) == space.params(arch)
        supernet.eval(), sub.eval()
        with torch.no_grad():
            torch.testing.assert_close(supernet(x, arch), sub(x), rtol=0, atol=1e-6)
        supernet.train(), sub.train()  # batch statistics: the same too
        with torch.no_grad():
            torch.testing.assert_close(supernet(x, arch), sub(x), rtol=0, atol=1e-6)


def test_supernet_shares_weights_per_cell_edge_op() -> None:
    supernet = NB201SuperNet(num_classes=10, channels=4, cells_per_stage=1)
    convs = [k for k in supernet.state_dict() if k.endswith("op.1.weight") and ".edges." in k]
    assert len(convs) == 3 * 6 * 2  # 3 cells × 6 edges × {conv1x1, conv3x3}
    a = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|"
    b = "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|none~1|nor_conv_3x3~2|"
    sa, sb = supernet.subnet(a).state_dict(), supernet.subnet(b).state_dict()
    assert torch.equal(sa["cells.0.layers.0.op.1.weight"], sb["cells.0.layers.0.op.1.weight"])  # shared edge op


def test_space_builds_its_networks() -> None:
    space = NB201Space(num_classes=100, channels=4, cells_per_stage=1)
    assert isinstance(space.new_supernet(), NB201SuperNet) and space.new_supernet().num_classes == 100
    net = space.standalone(ALL_CONV3)
    assert sum(p.numel() for p in net.parameters()) == space.params(ALL_CONV3)
