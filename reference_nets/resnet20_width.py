"""ResNet20 width-space networks (CVPR 2021 track 1), in 1-D and 2-D.

* :class:`WidthSuperNet` holds one weight tensor per layer at the maximum width of the space; a subnet takes
  the first ``k`` channels of every weight and BN tensor ("first-k slicing"), which is the protocol of the
  challenge. ``forward(x, arch)`` runs the subnet ``arch``.
* :class:`StandaloneNet` is the ordinary network of one arch, with exactly the parameters the space counts;
  :meth:`StandaloneNet.load_from_supernet` copies the sliced weights, so the two can be checked against each other.

The layer rule lives in :mod:`harness.spaces.resnet20_width_layers`; both networks read it from there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from harness.spaces.resnet20_width_layers import (
    MAX_WIDTHS,
    NUM_BLOCKS,
    block_stride,
    block_widths,
    has_projection,
    parse_widths,
)
from reference_nets.rows import batch_norm_rows, conv_rows, to_rows

Arch = str | Sequence[int]


def as_widths(arch: Arch) -> tuple[int, ...]:
    """Widths of an arch given as a string or a sequence of ints (validated either way)."""
    if isinstance(arch, str):
        return parse_widths(arch)
    return parse_widths("-".join(str(int(w)) for w in arch))


def _conv(dims: int, c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Module:
    cls = nn.Conv1d if dims == 1 else nn.Conv2d
    return cls(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False)


def _bn(dims: int, channels: int) -> nn.Module:
    return nn.BatchNorm1d(channels) if dims == 1 else nn.BatchNorm2d(channels)


# --------------------------------------------------------------------------------------------- supernet
class SlicedBatchNorm(nn.Module):
    """BatchNorm over the first ``k`` channels of max-width statistics and affine parameters.

    Kept as a plain module with the same parameter/buffer names as ``nn.BatchNorm*d`` so that state dicts of
    the supernet read like an ordinary network's. Slicing the first ``k`` entries of a 1-D buffer is a
    contiguous view, so running statistics are updated in place for exactly the channels used.
    """

    def __init__(self, channels: int, eps: float = 1e-5, momentum: float | None = 0.1) -> None:
        super().__init__()
        self.eps = eps
        self.momentum = momentum
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def _momentum(self) -> float:
        """This call's running-stat momentum; counts the batch in training."""
        momentum = self.momentum
        if self.training:
            self.num_batches_tracked.add_(1)
            if momentum is None:  # cumulative average: the exact mean over all batches seen since reset
                momentum = 1.0 / float(self.num_batches_tracked)
        return momentum if momentum is not None else 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = x.shape[1]
        momentum = self._momentum()
        return F.batch_norm(x, self.running_mean[:k], self.running_var[:k], self.weight[:k], self.bias[:k],
                            self.training, momentum, self.eps)

    def forward_rows(self, h: torch.Tensor) -> torch.Tensor:
        """The same layer on channels-last rows (N, L, k) (see :mod:`reference_nets.rows`)."""
        k = h.shape[-1]
        momentum = self._momentum()
        return batch_norm_rows(h, self.running_mean[:k], self.running_var[:k], self.weight[:k], self.bias[:k],
                               self.training, momentum, self.eps)

    def reset_running_stats(self) -> None:
        self.running_mean.zero_()
        self.running_var.fill_(1.0)
        self.num_batches_tracked.zero_()


class WidthSuperNet(nn.Module):
    """The weight-sharing supernet of the width space: max-width weights, first-k slicing."""

    def __init__(self, dims: int = 2, in_channels: int = 3, num_classes: int = 100) -> None:
        super().__init__()
        if dims not in (1, 2):
            raise ValueError("dims must be 1 or 2")
        self.dims = dims
        self.in_channels = in_channels
        self.num_classes = num_classes
        w = MAX_WIDTHS
        self.stem = _conv(dims, in_channels, w[0], 3)
        self.stem_bn = SlicedBatchNorm(w[0])
        self.blocks = nn.ModuleList()
        for j in range(NUM_BLOCKS):
            c_in, mid, c_out = block_widths(w, j)
            block = nn.Module()
            block.conv1 = _conv(dims, c_in, mid, 3, block_stride(j))
            block.bn1 = SlicedBatchNorm(mid)
            block.conv2 = _conv(dims, mid, c_out, 3)
            block.bn2 = SlicedBatchNorm(c_out)
            block.shortcut = _conv(dims, c_in, c_out, 1, block_stride(j))
            block.shortcut_bn = SlicedBatchNorm(c_out)
            self.blocks.append(block)
        self.fc = nn.Linear(w[18], num_classes)

    def _conv_sliced(self, conv: nn.Module, x: torch.Tensor, c_out: int) -> torch.Tensor:
        weight = conv.weight[:c_out, : x.shape[1]]
        fn = F.conv1d if self.dims == 1 else F.conv2d
        return fn(x, weight, None, conv.stride, conv.padding)

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        w = as_widths(arch)
        if self.dims == 1 and self.training:
            # Training runs on channels-last rows (reference_nets/rows.py: ~1.5x per SPOS step on CPU). Evaluation
            # (the reference loop, precise-BN calibration: the net in eval mode) keeps torch's layouts, the path the
            # fast evaluator's agreement is measured against.
            return self._forward_rows(x, w)
        return self._forward_native(x, w)

    def _forward_native(self, x: torch.Tensor, w: tuple[int, ...]) -> torch.Tensor:
        """torch's own convolution and BN layouts: every 2-D net, and the 1-D net outside training."""
        return self._wire(x, w, self._conv_sliced, lambda bn, h: bn(h), tuple(range(2, 2 + self.dims)))

    def _forward_rows(self, x: torch.Tensor, w: tuple[int, ...]) -> torch.Tensor:
        """The 1-D forward on channels-last rows: the same function, faster to train on CPU."""
        return self._wire(to_rows(x), w, lambda conv, h, c_out: conv_rows(h, conv.weight, c_out, conv.stride[0]),
                          lambda bn, h: bn.forward_rows(h), (1,))

    def _wire(self, x: torch.Tensor, w: tuple[int, ...], conv: Callable, bn: Callable,
              pool_dims: tuple[int, ...]) -> torch.Tensor:
        """The ResNet20 wiring of subnet ``w``, whatever the layout: ``conv(module, x, c_out)`` and ``bn(module, x)``
        apply one sliced layer, ``pool_dims`` are the positional axes the head averages over."""
        out = F.relu(bn(self.stem_bn, conv(self.stem, x, w[0])))
        for j, block in enumerate(self.blocks):
            c_in, mid, c_out = block_widths(w, j)
            h = F.relu(bn(block.bn1, conv(block.conv1, out, mid)))
            h = bn(block.bn2, conv(block.conv2, h, c_out))
            if has_projection(j, c_in, c_out):
                short = bn(block.shortcut_bn, conv(block.shortcut, out, c_out))
            else:
                short = out
            out = F.relu(h + short)
        return F.linear(out.mean(dim=pool_dims), self.fc.weight[:, : w[18]], self.fc.bias)


# ------------------------------------------------------------------------------------------ standalone
class _Block(nn.Module):
    def __init__(self, dims: int, j: int, c_in: int, mid: int, c_out: int) -> None:
        super().__init__()
        stride = block_stride(j)
        self.conv1 = _conv(dims, c_in, mid, 3, stride)
        self.bn1 = _bn(dims, mid)
        self.conv2 = _conv(dims, mid, c_out, 3)
        self.bn2 = _bn(dims, c_out)
        self.shortcut: nn.Module | None = None
        self.shortcut_bn: nn.Module | None = None
        if has_projection(j, c_in, c_out):
            self.shortcut = _conv(dims, c_in, c_out, 1, stride)
            self.shortcut_bn = _bn(dims, c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        short = x if self.shortcut is None else self.shortcut_bn(self.shortcut(x))
        return F.relu(h + short)


class StandaloneNet(nn.Module):
    """The ordinary ResNet20 of one arch of the width space (what the ground truth trains from scratch)."""

    def __init__(self, arch: Arch, dims: int = 2, in_channels: int = 3, num_classes: int = 100) -> None:
        super().__init__()
        self.widths = as_widths(arch)
        self.dims = dims
        w = self.widths
        self.stem = _conv(dims, in_channels, w[0], 3)
        self.stem_bn = _bn(dims, w[0])
        self.blocks = nn.ModuleList(_Block(dims, j, *block_widths(w, j)) for j in range(NUM_BLOCKS))
        self.fc = nn.Linear(w[18], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.stem_bn(self.stem(x)))
        for block in self.blocks:
            out = block(out)
        return self.fc(out.mean(dim=tuple(range(2, out.dim()))))

    @torch.no_grad()
    def load_from_supernet(self, supernet: WidthSuperNet) -> StandaloneNet:
        """Copy the first-k slices of the supernet's weights and BN state into this network."""
        w = self.widths

        def copy_bn(dst: nn.Module, src: SlicedBatchNorm, k: int) -> None:
            dst.weight.copy_(src.weight[:k])
            dst.bias.copy_(src.bias[:k])
            dst.running_mean.copy_(src.running_mean[:k])
            dst.running_var.copy_(src.running_var[:k])

        in_ch = self.stem.weight.shape[1]
        self.stem.weight.copy_(supernet.stem.weight[: w[0], :in_ch])
        copy_bn(self.stem_bn, supernet.stem_bn, w[0])
        for j, (dst, src) in enumerate(zip(self.blocks, supernet.blocks, strict=True)):
            c_in, mid, c_out = block_widths(w, j)
            dst.conv1.weight.copy_(src.conv1.weight[:mid, :c_in])
            copy_bn(dst.bn1, src.bn1, mid)
            dst.conv2.weight.copy_(src.conv2.weight[:c_out, :mid])
            copy_bn(dst.bn2, src.bn2, c_out)
            if dst.shortcut is not None:
                dst.shortcut.weight.copy_(src.shortcut.weight[:c_out, :c_in])
                copy_bn(dst.shortcut_bn, src.shortcut_bn, c_out)
        self.fc.weight.copy_(supernet.fc.weight[:, : w[18]])
        self.fc.bias.copy_(supernet.fc.bias)
        return self
