"""The CVPR 2021 Lightweight NAS Challenge track-1 space: ResNet20 with searchable channel widths.

The layer rule (arch strings, widths, #params, FLOPs) is :mod:`harness.spaces.resnet20_width_layers`, re-exported
here; this module is the space object, which also builds the space's networks (:mod:`reference_nets.resnet20_width`,
imported lazily so that reading a space needs no torch) and names its fast evaluator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.spaces.base import SearchSpace
from harness.spaces.registry import register_space
from harness.spaces.resnet20_width_layers import (  # noqa: F401 - the rule, re-exported for users of this module
    CHOICES,
    MAX_WIDTHS,
    NUM_BLOCKS,
    NUM_POSITIONS,
    PROJECTION_BLOCKS,
    STRIDE2_BLOCKS,
    _flops,
    _params,
    _parse,
    _validate,
    block_stride,
    block_widths,
    has_projection,
    parse_widths,
)

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class ResNet20WidthSpace(SearchSpace):
    """The width space for a given input geometry.

    ``dims`` is 1 (sequences of ``input_size`` steps) or 2 (``input_size`` × ``input_size`` images);
    ``in_channels`` and ``num_classes`` fix the stem and classifier sizes, so #params and FLOPs are exact.
    """

    dims: int = 2
    in_channels: int = 3
    num_classes: int = 100
    input_size: int = 32

    def __post_init__(self) -> None:
        if self.dims not in (1, 2):
            raise ValueError("dims must be 1 or 2")

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"resnet20-width-{self.dims}d"

    @property
    def kernel_area(self) -> int:
        """Weights per (in, out) channel pair of a 3-wide conv: 3 in 1-D, 9 in 2-D."""
        return 3**self.dims

    @property
    def size(self) -> int:
        return int(np.prod([len(c) for c in CHOICES], dtype=object))

    # ----------------------------------------------------------------- strings
    def parse(self, arch: str) -> tuple[int, ...]:
        return _parse(arch)

    def format(self, arch: Any) -> str:
        widths = tuple(int(w) for w in arch)
        _validate(widths, str(arch))
        return "-".join(str(w) for w in widths)

    def sample(self, rng: np.random.Generator, n: int) -> list[str]:
        cols = [rng.choice(np.asarray(c), size=n) for c in CHOICES]
        table = np.stack(cols, axis=1)
        return ["-".join(map(str, row)) for row in table.tolist()]

    # -------------------------------------------------------------- complexity
    def params(self, arch: str) -> int:
        return _params(_parse(arch), self.dims, self.in_channels, self.num_classes)

    def flops(self, arch: str) -> int:
        return _flops(_parse(arch), self.dims, self.in_channels, self.num_classes, self.input_size)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "size": self.size,
            "dims": self.dims,
            "in_channels": self.in_channels,
            "num_classes": self.num_classes,
            "input_size": self.input_size,
        }

    # ---------------------------------------------------------------- geometry
    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.in_channels, *([self.input_size] * self.dims))

    # ---------------------------------------------------------------- networks
    def new_supernet(self) -> nn.Module:
        """A fresh :class:`reference_nets.resnet20_width.WidthSuperNet` (max-width weights, first-k slicing)."""
        from reference_nets.resnet20_width import WidthSuperNet

        return WidthSuperNet(dims=self.dims, in_channels=self.in_channels, num_classes=self.num_classes)

    def new_standalone(self, arch: str) -> nn.Module:
        """A fresh :class:`reference_nets.resnet20_width.StandaloneNet` of ``arch``."""
        from reference_nets.resnet20_width import StandaloneNet

        return StandaloneNet(arch, dims=self.dims, in_channels=self.in_channels, num_classes=self.num_classes)

    # ------------------------------------------------------------ capabilities
    def extreme_archs(self) -> list[str]:
        """The smallest and the largest arch (every position at its least / most channels)."""
        return ["-".join(str(min(c)) for c in CHOICES), "-".join(str(max(c)) for c in CHOICES)]

    def few_shot_choices(self) -> tuple[tuple[int, ...], ...]:
        return CHOICES

    def fast_evaluator(self) -> Any:
        """The prefix-tree evaluator of :mod:`harness.evaluation.fast` for this geometry."""
        from harness.evaluation.width_fast import WidthFastEvaluator

        return WidthFastEvaluator(dims=self.dims)

    @property
    def stacked_gt(self) -> bool:  # type: ignore[override]
        """The stacked GT path implements the 1-D nets (grouped 1×k convolutions)."""
        return self.dims == 1


register_space("resnet20-width-1d", lambda **kw: ResNet20WidthSpace(dims=1, **kw))
register_space("resnet20-width-2d", lambda **kw: ResNet20WidthSpace(dims=2, **kw))
