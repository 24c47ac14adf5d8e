"""The space object answers everything space-specific: networks, extreme archs, few-shot choices, fast evaluator,
stacked GT; unsupported capabilities have their documented answer; reading a space needs no torch."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pytest

from harness.errors import SubmissionError, UnsupportedError
from harness.spaces import SearchSpace, get_space

SPACES = [
    ("resnet20-width-1d", {"in_channels": 1, "num_classes": 10, "input_size": 40}),
    ("resnet20-width-2d", {"in_channels": 3, "num_classes": 100, "input_size": 32}),
    ("nb201", {"num_classes": 10, "input_size": 16, "channels": 4, "cells_per_stage": 1}),
]


@pytest.mark.parametrize(("name", "geometry"), SPACES)
def test_the_networks_of_a_space_have_the_parameters_it_counts(name: str, geometry: dict) -> None:
    import torch

    space = get_space(name, **geometry)
    archs = [*space.extreme_archs(), *space.sample(np.random.default_rng(0), 2)]
    supernet = space.new_supernet()
    x = torch.zeros(2, *space.input_shape)
    for arch in archs:
        net = space.new_standalone(arch)
        assert sum(p.numel() for p in net.parameters()) == space.params(arch)
        assert net.eval()(x).shape == (2, space.num_classes) == supernet.eval()(x, arch).shape


def test_capabilities_say_what_each_space_supports() -> None:
    w1, w2, nb = (get_space(n, **g) for n, g in SPACES)
    assert w1.stacked_gt and not w2.stacked_gt and not nb.stacked_gt
    assert w1.few_shot_choices() is not None and nb.few_shot_choices() is None
    assert w1.fast_evaluator() is not None and nb.fast_evaluator() is None
    small, large = w1.extreme_archs()
    assert w1.params(small) == min(w1.params_many(w1.sample(np.random.default_rng(1), 200) + [small]))
    assert w1.params(large) > w1.params(small) and nb.extreme_archs() == []


@dataclass(frozen=True)
class _Bare(SearchSpace):
    """A space with strings and counts only (enough to score predictions)."""

    num_classes: int = 2
    in_channels: int = 1

    @property
    def name(self) -> str:  # type: ignore[override]
        return "bare"

    @property
    def size(self) -> int:
        return 2

    def parse(self, arch: str) -> str:
        return arch

    def format(self, arch: object) -> str:
        return str(arch)

    def sample(self, rng: np.random.Generator, n: int) -> list[str]:
        return [str(int(i)) for i in rng.integers(0, 2, n)]

    def params(self, arch: str) -> int:
        return 1

    def flops(self, arch: str) -> int:
        return 1


def test_unsupported_capabilities_have_their_documented_answer() -> None:
    from harness.submission.reference import new_few_shot_supernet, new_reference_supernet

    bare = _Bare()
    for call in (bare.new_supernet, lambda: bare.new_standalone("0"), lambda: bare.input_shape):
        with pytest.raises(UnsupportedError, match="bare"):
            call()
    assert bare.extreme_archs() == [] and bare.few_shot_choices() is None and bare.fast_evaluator() is None
    with pytest.raises(SubmissionError, match="no reference supernet"):
        new_reference_supernet(bare)
    with pytest.raises(SubmissionError, match="few-shot supernets .* not supported for the space 'nb201'"):
        new_few_shot_supernet(get_space("nb201"), (0,))


def test_reading_a_space_imports_no_torch() -> None:
    code = (
        "import json, sys\n"
        "from harness.spaces import get_space, space_names\n"
        "nb = get_space('nb201', num_classes=10)\n"
        "w = get_space('resnet20-width-1d', in_channels=1, num_classes=10, input_size=40)\n"
        "n = nb.params(nb.archs()[0]) + w.params(w.extreme_archs()[1]) + w.flops(w.canonical('4-' * 19 + '4'))\n"
        "print(json.dumps({'names': space_names(), 'torch': 'torch' in sys.modules, 'n': n}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert {"nb201", "resnet20-width-1d", "resnet20-width-2d"} <= set(out["names"]) and out["n"] > 0
    assert out["torch"] is False
