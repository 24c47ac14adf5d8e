"""NAS-Bench-201 networks: the standalone net of one arch and the weight-sharing supernet.

* :class:`NB201Net` is the network NAS-Bench-201 trains for one cell (AutoDL-Projects ``TinyNetwork`` with
  ``InferCell``s). Module names follow AutoDL's (``stem``, ``cells.i.layers.e``, ``cells.i.conv_a``, ``lastact``,
  ``classifier``), so its state dict reads like the benchmark's own checkpoints. ``forward`` returns the logits.
* :class:`NB201SuperNet` holds one op module per (cell, edge, op) for all 15 cells — the standard one-shot NB201
  supernet of SPOS / FairNAS-style methods — plus the shared stem, reduction blocks and classifier.
  ``forward(x, arch)`` runs the cell ``arch`` in every cell. :meth:`NB201SuperNet.subnet` copies the weights of one
  arch into an :class:`NB201Net`; both give the same outputs.

Every BN is a plain ``nn.BatchNorm2d`` (affine, running statistics), so a generic evaluator can reset and
recalibrate them per arch. The layer rule (and #params / FLOPs) lives in :mod:`harness.spaces.nb201_cell`.

Why the supernet runs every non-``none`` edge, even one whose node never reaches the output: that is what the
standalone network does, so the modules a subnet calls are exactly the parameters the space counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from harness.spaces.nb201_cell import CONV_KERNEL, EDGES, NUM_NODES, OPS, ops_of, stage_channels

Arch = str | Sequence[str] | Sequence[int]


# ------------------------------------------------------------------------------------------------ ops
class ReLUConvBN(nn.Module):
    """ReLU → conv (no bias) → BN, as NAS-Bench-201's ``ReLUConvBN`` (same parameter names: ``op.1``, ``op.2``)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, affine=True, track_running_stats=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Zero(nn.Module):
    """The ``none`` op: zeros of the input's shape (stride 1, C → C inside a cell)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def make_op(name: str, channels: int) -> nn.Module:
    """The module of a cell op (C → C, stride 1)."""
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    if name in CONV_KERNEL:
        return ReLUConvBN(channels, channels, CONV_KERNEL[name])
    raise ValueError(f"unknown op {name!r}")


class ResNetBasicblock(nn.Module):
    """The residual reduction block between stages (stride 2, c_in → c_out), as NAS-Bench-201's."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


def _sum_nodes(x: torch.Tensor, edge_fn) -> torch.Tensor:  # noqa: ANN001 - (edge index, input) -> tensor | None
    """Node values of one cell; ``edge_fn`` returns an edge's output, or None for a ``none`` edge (zeros)."""
    nodes = [x]
    e = 0
    for target in range(1, NUM_NODES):
        terms = []
        for source in range(target):
            out = edge_fn(e, nodes[source])
            if out is not None:
                terms.append(out)
            e += 1
        nodes.append(sum(terms[1:], terms[0]) if terms else torch.zeros_like(x))
    return nodes[-1]


# --------------------------------------------------------------------------------------------- macro
class _Macro(nn.Module):
    """Stem, stage layout, reduction blocks, lastact and classifier shared by both networks."""

    def __init__(self, num_classes: int, in_channels: int, channels: int, cells_per_stage: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.channels = channels
        self.cells_per_stage = cells_per_stage
        cs = stage_channels(channels)
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, cs[0], kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(cs[0], affine=True, track_running_stats=True),
        )
        #: per position in ``cells``: the stage's channel count, or None for a reduction block
        self.layout: list[int | None] = []
        for s, c in enumerate(cs):
            if s > 0:
                self.layout.append(None)
            self.layout.extend([c] * cells_per_stage)
        last_bn = nn.BatchNorm2d(cs[-1], affine=True, track_running_stats=True)
        self.lastact = nn.Sequential(last_bn, nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(cs[-1], num_classes)

    def _reduction(self, position: int) -> ResNetBasicblock:
        c_out = self.layout[position + 1]
        assert c_out is not None
        return ResNetBasicblock(c_out // 2, c_out)

    def _head(self, feature: torch.Tensor) -> torch.Tensor:
        out = self.global_pooling(self.lastact(feature))
        return self.classifier(out.flatten(1))


class InferCell(nn.Module):
    """One cell of a fixed arch: ``layers[e]`` is the op module of edge ``e`` (in :data:`EDGES` order)."""

    def __init__(self, ops: Sequence[str], channels: int) -> None:
        super().__init__()
        self.ops = tuple(ops)
        self.layers = nn.ModuleList(make_op(op, channels) for op in self.ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        e = 0
        for target in range(1, NUM_NODES):
            # the benchmark's sum, ``none`` edges included as zeros
            nodes.append(sum(self.layers[e + s](nodes[s]) for s in range(target)))
            e += target
        return nodes[-1]


class NB201Net(_Macro):
    """The standalone NAS-Bench-201 network of one arch (what the benchmark trained for 200 epochs)."""

    def __init__(
        self, arch: Arch, num_classes: int = 10, in_channels: int = 3, channels: int = 16, cells_per_stage: int = 5
    ) -> None:
        super().__init__(num_classes, in_channels, channels, cells_per_stage)
        self.arch_ops = ops_of(arch)
        self.cells = nn.ModuleList(
            self._reduction(i) if c is None else InferCell(self.arch_ops, c) for i, c in enumerate(self.layout)
        )

    @classmethod
    def for_space(cls, arch: Arch, space: Any) -> NB201Net:
        """The net for an :class:`harness.spaces.nb201.NB201Space` (not imported: the space imports this module)."""
        return cls(arch, space.num_classes, space.in_channels, space.channels, space.cells_per_stage)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feature = self.stem(x)
        for cell in self.cells:
            feature = cell(feature)
        return self._head(feature)

    @torch.no_grad()
    def load_from_supernet(self, supernet: NB201SuperNet) -> NB201Net:
        """Copy the supernet's weights and BN state for this arch (shared parts and each edge's chosen op)."""
        if supernet.layout != self.layout or supernet.num_classes != self.num_classes:
            raise ValueError("the supernet has another geometry than this network")
        self.stem.load_state_dict(supernet.stem.state_dict())
        self.lastact.load_state_dict(supernet.lastact.state_dict())
        self.classifier.load_state_dict(supernet.classifier.state_dict())
        for dst, src, c in zip(self.cells, supernet.cells, self.layout, strict=True):
            if c is None:
                dst.load_state_dict(src.state_dict())
                continue
            for e, op in enumerate(self.arch_ops):
                dst.layers[e].load_state_dict(src.edges[e][op].state_dict())
        return self


# ------------------------------------------------------------------------------------------ supernet
class SearchCell(nn.Module):
    """A supernet cell: ``edges[e][op]`` is the module of op ``op`` on edge ``e`` (its own weights)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(nn.ModuleDict({op: make_op(op, channels) for op in OPS}) for _ in EDGES)

    def forward(self, x: torch.Tensor, ops: Sequence[str]) -> torch.Tensor:
        return _sum_nodes(x, lambda e, h: None if ops[e] == "none" else self.edges[e][ops[e]](h))


class NB201SuperNet(_Macro):
    """The weight-sharing NAS-Bench-201 supernet: one weight set per (cell, edge, op), shared by all archs."""

    def __init__(
        self, num_classes: int = 10, in_channels: int = 3, channels: int = 16, cells_per_stage: int = 5
    ) -> None:
        super().__init__(num_classes, in_channels, channels, cells_per_stage)
        self.cells = nn.ModuleList(
            self._reduction(i) if c is None else SearchCell(c) for i, c in enumerate(self.layout)
        )

    @classmethod
    def for_space(cls, space: Any) -> NB201SuperNet:
        return cls(space.num_classes, space.in_channels, space.channels, space.cells_per_stage)

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        ops = ops_of(arch)
        feature = self.stem(x)
        for cell, c in zip(self.cells, self.layout, strict=True):
            feature = cell(feature) if c is None else cell(feature, ops)
        return self._head(feature)

    def subnet(self, arch: Arch) -> NB201Net:
        """The standalone network of ``arch`` holding a copy of this supernet's weights and BN state for it."""
        net = NB201Net(arch, self.num_classes, self.in_channels, self.channels, self.cells_per_stage)
        net.to(next(self.parameters()).device)
        return net.load_from_supernet(self)

    def subnet_params(self, arch: Arch) -> int:
        """#parameters ``forward(x, arch)`` uses (equals the space's #params for the same geometry)."""
        ops = ops_of(arch)
        shared = [self.stem, self.lastact, self.classifier]
        shared += [cell for cell, c in zip(self.cells, self.layout, strict=True) if c is None]
        total = sum(p.numel() for m in shared for p in m.parameters())
        for cell, c in zip(self.cells, self.layout, strict=True):
            if c is not None:
                total += sum(p.numel() for e, op in enumerate(ops) for p in cell.edges[e][op].parameters())
        return int(total)
