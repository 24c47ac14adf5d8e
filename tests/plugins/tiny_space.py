"""A tiny search space defined outside the package, loaded as a plugin (``$NAS_HARNESS_PLUGINS``).

It exists to prove that a new space needs no edit of ``harness/``: an MLP on flattened inputs with two hidden
layers whose widths are searched (``"w0-w1"``, each in :data:`CHOICES`), a first-k sliced supernet, and its
standalone net. ``tests/test_plugin_space.py`` builds a benchmark on it, builds its GT with the harness and scores
a trainer on it through the CLI and the sandbox.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from harness.errors import InvalidArchError
from harness.spaces import SearchSpace, register_space

NAME = "tiny-mlp"
CHOICES: tuple[tuple[int, ...], ...] = ((4, 8, 12), (4, 8, 12))


def parse_widths(arch: str) -> tuple[int, ...]:
    parts = arch.strip().split("-") if isinstance(arch, str) else []
    try:
        widths = tuple(int(p) for p in parts)
    except ValueError:
        raise InvalidArchError(f"arch {arch!r}: widths must be integers") from None
    if len(widths) != len(CHOICES) or any(w not in c for w, c in zip(widths, CHOICES, strict=True)):
        raise InvalidArchError(f"arch {arch!r} is not in the {NAME} space (two widths from {CHOICES[0]})")
    return widths


@dataclass(frozen=True)
class TinyMLPSpace(SearchSpace):
    in_channels: int = 1
    num_classes: int = 10
    input_size: int = 40

    @property
    def name(self) -> str:  # type: ignore[override]
        return NAME

    @property
    def size(self) -> int:
        return math.prod(len(c) for c in CHOICES)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.in_channels, self.input_size)

    def parse(self, arch: str) -> tuple[int, ...]:
        return parse_widths(arch)

    def format(self, arch: Any) -> str:
        return "-".join(str(int(w)) for w in parse_widths("-".join(str(int(w)) for w in arch)))

    def sample(self, rng: np.random.Generator, n: int) -> list[str]:
        return ["-".join(str(int(rng.choice(c))) for c in CHOICES) for _ in range(n)]

    def params(self, arch: str) -> int:
        w0, w1 = parse_widths(arch)
        d = self.in_channels * self.input_size
        return d * w0 + w0 + w0 * w1 + w1 + w1 * self.num_classes + self.num_classes

    def flops(self, arch: str) -> int:
        w0, w1 = parse_widths(arch)
        return self.in_channels * self.input_size * w0 + w0 * w1 + w1 * self.num_classes

    def new_supernet(self) -> Any:
        return _supernet_class()(self.in_channels * self.input_size, self.num_classes)

    def new_standalone(self, arch: str) -> Any:
        from torch import nn

        w0, w1 = parse_widths(arch)
        d = self.in_channels * self.input_size
        return nn.Sequential(nn.Flatten(), nn.Linear(d, w0), nn.ReLU(), nn.Linear(w0, w1), nn.ReLU(),
                             nn.Linear(w1, self.num_classes))

    def extreme_archs(self) -> list[str]:
        return ["-".join(str(min(c)) for c in CHOICES), "-".join(str(max(c)) for c in CHOICES)]


@lru_cache(maxsize=1)
def _supernet_class() -> type:
    """The supernet class, made on first use so that reading the space needs no torch; one class per process
    (the harness recognises the reference supernet by its class)."""
    import torch.nn.functional as F
    from torch import nn

    class TinySuperNet(nn.Module):
        """Max-width layers; a subnet uses the first w0 / w1 units (first-k slicing)."""

        def __init__(self, d: int, num_classes: int) -> None:
            super().__init__()
            self.fc0 = nn.Linear(d, max(CHOICES[0]))
            self.fc1 = nn.Linear(max(CHOICES[0]), max(CHOICES[1]))
            self.head = nn.Linear(max(CHOICES[1]), num_classes)

        def forward(self, x, arch):  # noqa: ANN001, ANN201
            w0, w1 = parse_widths(arch) if isinstance(arch, str) else tuple(int(w) for w in arch)
            h = F.relu(F.linear(x.flatten(1), self.fc0.weight[:w0], self.fc0.bias[:w0]))
            h = F.relu(F.linear(h, self.fc1.weight[:w1, :w0], self.fc1.bias[:w1]))
            return F.linear(h, self.head.weight[:, :w1], self.head.bias)

    return TinySuperNet


register_space(NAME, TinyMLPSpace)
