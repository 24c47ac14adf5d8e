"""The NAS-Bench-201 cell space as a search-space object (Dong & Yang, ICLR 2020; = NATS-Bench "tss").

The cell rule (arch strings, NAS-Bench-201's index order, #params, FLOPs) is :mod:`harness.spaces.nb201_cell`,
re-exported here; this module is the space object, which also builds the space's networks
(:mod:`reference_nets.nb201`, imported lazily so that reading a space needs no torch). NB201 has no fast evaluator
and no few-shot splits: its supernets are evaluated by the plain reference loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.spaces.base import SearchSpace
from harness.spaces.nb201_cell import (  # noqa: F401 - the rule, re-exported for users of this module
    CONV_KERNEL,
    EDGES,
    EXAMPLE,
    INDEX_SHUFFLE_SEED,
    NUM_ARCHS,
    NUM_EDGES,
    NUM_NODES,
    NUM_STAGES,
    OPS,
    Ops,
    all_archs,
    arch_index,
    count_macs,
    count_params,
    format_ops,
    ops_of,
    parse_ops,
    stage_channels,
)
from harness.spaces.registry import register_space

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class NB201Space(SearchSpace):
    """The NAS-Bench-201 space for one geometry (classes, input size; C and N only differ from 16 and 5 in tests)."""

    num_classes: int = 10
    input_size: int = 32
    in_channels: int = 3
    channels: int = 16
    cells_per_stage: int = 5

    def __post_init__(self) -> None:
        if self.input_size < 4 or self.input_size % 4:
            # the reduction block adds a stride-2 conv to an avgpool2×2 shortcut: both halve only even sizes alike
            raise ValueError("nb201 input_size must be a positive multiple of 4")
        if min(self.num_classes, self.in_channels, self.channels, self.cells_per_stage) < 1:
            raise ValueError("nb201 num_classes, in_channels, channels and cells_per_stage must be positive")

    @property
    def name(self) -> str:  # type: ignore[override]
        return "nb201"

    @property
    def size(self) -> int:
        return NUM_ARCHS

    # --------------------------------------------------------------- strings
    def parse(self, arch: str) -> Ops:
        return parse_ops(arch)

    def format(self, arch: Any) -> str:
        return format_ops(ops_of(arch))

    def archs(self) -> list[str]:
        """All 15,625 archs in NAS-Bench-201's index order."""
        return list(all_archs())

    def index(self, arch: str) -> int:
        """NAS-Bench-201 index of ``arch``."""
        return arch_index(arch)

    def sample(self, rng: np.random.Generator, n: int) -> list[str]:
        table = rng.integers(0, len(OPS), size=(n, NUM_EDGES))
        return [format_ops([OPS[k] for k in row]) for row in table.tolist()]

    # ------------------------------------------------------------ complexity
    def _geometry(self) -> dict[str, int]:
        return {
            "in_channels": self.in_channels,
            "channels": self.channels,
            "cells_per_stage": self.cells_per_stage,
            "num_classes": self.num_classes,
        }

    def params(self, arch: str) -> int:
        return count_params(parse_ops(arch), **self._geometry())

    def flops(self, arch: str) -> int:
        return count_macs(parse_ops(arch), input_size=self.input_size, **self._geometry())

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "input_size": self.input_size, **self._geometry()}

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.in_channels, self.input_size, self.input_size)

    # -------------------------------------------------------------- networks
    def new_supernet(self) -> nn.Module:
        """A fresh reference weight-sharing supernet for this geometry (:class:`reference_nets.nb201.NB201SuperNet`)."""
        from reference_nets.nb201 import NB201SuperNet

        return NB201SuperNet.for_space(self)

    def new_standalone(self, arch: str) -> nn.Module:
        """The standalone network of ``arch`` (:class:`reference_nets.nb201.NB201Net`), freshly initialised."""
        from reference_nets.nb201 import NB201Net

        return NB201Net.for_space(arch, self)

    def standalone(self, arch: str) -> nn.Module:
        """Alias of :meth:`new_standalone` (the name this space used first)."""
        return self.new_standalone(arch)


register_space("nb201", NB201Space)
