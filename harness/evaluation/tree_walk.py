"""The fast evaluator's depth-first strategy: walk the prefix tree of a chunk one node at a time, all samples at once.

Why a walk and not the grouped plan of :mod:`harness.evaluation.prefix_tree`: below the first stage almost every
node of a random arch set has one child, so the grouped plan's "many nodes per conv call" degenerates into one
node per call anyway, while its level tensors (nodes x samples x positions x channels, hundreds of MB) stream
through DRAM and every conv input is first gathered out of them (a quarter of its time, measured). Walking the
tree depth-first keeps only the activations of the current root-to-leaf path alive (a few MB for the default
benchmark: they stay in cache), stores every node densely at exactly the width its children read, so a conv
reads its input in place (no gather, no channel slice except below a node with children of several widths),
and shares every prefix of the chunk, not only those of one stage.

What it computes is the protocol's function, as in :mod:`harness.evaluation.fast`: for a node, a conv at the
widest child's width (the first ``c`` channels are the same for every child), then BN with the statistics of
the calibration batches (train-mode batch statistics on the calibration samples, their precise-BN average on
the evaluation samples), ReLU, residual add. Only float rounding differs from the reference loop.

The convolutions of 1x1 and 1-D kernels run as BLAS products over the node's rows
(:mod:`harness.evaluation.gemm_conv`), 2-D kernels as oneDNN convolutions.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from harness.evaluation.gemm_conv import conv_rows
from harness.evaluation.prefix_tree import USED_POSITIONS
from harness.spaces.resnet20_width_layers import NUM_BLOCKS, PROJECTION_BLOCKS, block_stride

Stats = dict[tuple, tuple[torch.Tensor, torch.Tensor]]
Pair = tuple[torch.Tensor | None, torch.Tensor | None]  # (calibration part, evaluation part) of an activation


def _runs(col: np.ndarray, lo: int) -> Iterator[tuple[int, int, int]]:
    """Runs of equal values of a sorted column: (start, stop, value), offsets from ``lo``."""
    cut = np.flatnonzero(col[1:] != col[:-1]) + 1
    starts = np.r_[0, cut]
    stops = np.r_[cut, len(col)]
    for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
        yield lo + a, lo + b, int(col[a])


def _first(t: Pair, c: int) -> Pair:
    """The first ``c`` channels of a dense (S, P, m) activation (both parts), dense (a copy only when ``c < m``)."""
    return tuple(None if p is None else p if p.shape[2] == c else p[:, :, :c].contiguous() for p in t)  # type: ignore[return-value]


def _add_relu(y: Pair, short: Pair, c: int) -> Pair:
    """``relu(y[..., :c] + short[..., :c])`` per part, dense."""
    return tuple(None if p is None else torch.add(p[:, :, :c], q[:, :, :c]).relu_() for p, q in zip(y, short, strict=True))  # type: ignore[return-value]


class TreeWalk:
    """One pass of the walk: ``calib`` (the calibration samples, batches of ``calib_bs``) and/or ``evals`` (evaluation
    samples), each (S, P, in_channels) channels-last. With calibration samples the BN statistics of every node are
    computed and kept in ``stats``; without (a later evaluation block), they are read from it. ``y`` are the labels
    of the evaluation samples. ``logits``, when given, receives the (E, classes) logits of every leaf by row
    (diagnostics: the margins of samples on which two paths disagree).

    Why the two parts are separate tensors: on the evaluation samples BN is a fixed per-channel affine map, so it
    is folded into the convolution (weights scaled, shift as the conv bias): one kernel instead of a conv and two
    passes over its output. The calibration samples need their batch statistics first, so they cannot be folded.
    """

    def __init__(self, ww, calib: torch.Tensor | None, evals: torch.Tensor | None, spatial: tuple[int, int],  # noqa: ANN001 - WidthWeights (import cycle)
                 n_calib_batches: int, calib_bs: int, y: torch.Tensor | None, stats: Stats,
                 logits: dict[int, torch.Tensor] | None = None) -> None:
        self.ww, self.x, self.y, self.stats, self.logits = ww, (calib, evals), y, stats, logits
        self.spatial = spatial
        self.nb, self.bs = n_calib_batches, calib_bs

    # -------------------------------------------------------------------------------- layers
    def _as_taps(self, kernel: int) -> bool:
        """Whether a layer runs as matrix products (:mod:`harness.evaluation.gemm_conv`): 1x1 kernels and 1-D ones."""
        return kernel == 1 or self.ww.dims == 1

    def _conv(self, a: torch.Tensor, spatial: tuple[int, int], weight: torch.Tensor, bias: torch.Tensor | None,
              kernel: int, stride: int) -> tuple[torch.Tensor, tuple[int, int]]:
        if self._as_taps(kernel):
            return conv_rows(a, spatial, weight, bias, stride)
        h, w = spatial  # a 2-D kernel: oneDNN's convolution on the channels-last view
        S, _, c = a.shape
        y4 = F.conv2d(a.view(S, h, w, c).permute(0, 3, 1, 2), weight, bias, stride, kernel // 2)
        out = (y4.shape[2], y4.shape[3])
        return y4.permute(0, 2, 3, 1).contiguous().view(S, out[0] * out[1], weight.shape[0]), out  # no copy: NHWC kept

    def _layer(self, a: Pair, spatial: tuple[int, int], name: str, bn: str, m: int, kernel: int, stride: int,
               key: tuple, relu: bool) -> tuple[Pair, tuple[int, int]]:
        """conv (first ``m`` output channels) + BN as the protocol's precise-BN recalibration does it (+ ReLU)."""
        ac, ae = a
        c = (ac if ac is not None else ae).shape[2]
        taps = self._as_taps(kernel)
        weight = self.ww.taps(name, m, c) if taps else self.ww.conv(name, m, c)
        gamma, beta = self.ww.bn(bn, m)
        eps = self.ww.eps
        yc = ye = None
        out = spatial
        if ac is not None:
            yc, out = self._conv(ac, spatial, weight, None, kernel, stride)
            count = self.bs * yc.shape[1]
            y3 = yc.view(self.nb, count, m)
            yf = y3 if y3.dtype == torch.float32 else y3.float()
            mean = yf.sum(dim=1, keepdim=True).div_(count)  # (nb, 1, m): train-mode batch statistics
            var = (yf - mean).square_().sum(dim=1, keepdim=True).div_(count)  # biased, two-pass
            scale = torch.rsqrt(var + eps).mul_(gamma)
            shift = torch.addcmul(beta, mean, scale, value=-1.0)
            torch.addcmul(shift.to(y3.dtype), y3, scale.to(y3.dtype), out=y3)
            run_var = var.mean(dim=0).mul_(count / (count - 1)).flatten()  # average of the unbiased variances
            scale_e = torch.rsqrt(run_var.add_(eps)).mul_(gamma)
            self.stats[key] = (scale_e, torch.addcmul(beta, mean.mean(dim=0).flatten(), scale_e, value=-1.0))
            if relu:
                yc.relu_()
        if ae is not None:
            scale_e, shift_e = self.stats[key]
            if taps:
                folded = weight * scale_e.to(weight.dtype).view(1, m, 1)
            else:
                folded = (weight * scale_e.to(weight.dtype).view(m, 1, 1, 1)).contiguous(memory_format=torch.channels_last)
            ye, out = self._conv(ae, spatial, folded, shift_e.to(weight.dtype), kernel, stride)
            if relu:
                ye.relu_()
        return (yc, ye), out

    # -------------------------------------------------------------------------------- the walk
    def run(self, widths: np.ndarray) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Walk the sorted, distinct ``widths`` (n, >=19); with labels, (correct counts, all-logits-finite flags)
        per row of ``widths``."""
        n = widths.shape[0]
        self.w = np.ascontiguousarray(widths[:, :USED_POSITIONS])
        self.correct = torch.zeros(n, dtype=torch.long)
        self.finite = torch.ones(n, dtype=torch.bool)
        stem_m = int(self.w[:, 0].max())
        t, spatial = self._layer(self.x, self.spatial, "stem", "stem_bn", stem_m, 3, 1, ("stem",), relu=True)
        for lo, hi, c0 in _runs(self.w[:, 0], 0):
            self._block(0, _first(t, c0), spatial, lo, hi)
        if self.y is None:
            return None
        return self.correct, self.finite

    def _block(self, j: int, a: Pair, spatial: tuple[int, int], lo: int, hi: int) -> None:
        """Block ``j`` below the node ``a`` (a level-2j activation shared by rows ``lo:hi``), then everything below."""
        w = self.w[lo:hi]
        la, lb, lc = 2 * j, 2 * j + 1, 2 * j + 2
        wa = int(w[0, la])
        stride = block_stride(j)
        pre, node = f"blocks.{j}", (j, lo)  # a node is named by its level and its first row: unique in the chunk
        h, mid = self._layer(a, spatial, f"{pre}.conv1", f"{pre}.bn1", int(w[:, lb].max()), 3, stride, (*node, "bn1"), relu=True)
        proj = (w[:, lc] != wa) | (j in PROJECTION_BLOCKS)
        short: Pair | None = None
        if proj.any():
            short, _ = self._layer(a, spatial, f"{pre}.shortcut", f"{pre}.shortcut_bn", int(w[proj, lc].max()), 1, stride,
                                   (*node, "sbn"), relu=False)
        for blo, bhi, wb in _runs(w[:, lb], lo):
            y, _ = self._layer(_first(h, wb), mid, f"{pre}.conv2", f"{pre}.bn2", int(self.w[blo:bhi, lc].max()), 3, 1,
                               (j, blo, "bn2"), relu=False)
            for clo, chi, wc in _runs(self.w[blo:bhi, lc], blo):
                if wc != wa or j in PROJECTION_BLOCKS:
                    assert short is not None
                    out = _add_relu(y, short, wc)
                else:
                    out = _add_relu(y, a, wc)
                if j + 1 < NUM_BLOCKS:
                    self._block(j + 1, out, mid, clo, chi)
                else:
                    self._head(out[1], clo, chi)

    def _head(self, out: torch.Tensor | None, lo: int, hi: int) -> None:
        if self.y is None or out is None:
            return
        fc_w, fc_b = self.ww.fc()
        c = out.shape[2]
        logits = F.linear(out.float().mean(dim=1), fc_w[:, :c], fc_b)  # (E, classes)
        self.correct[lo:hi] = int((logits.argmax(dim=1) == self.y).sum())
        self.finite[lo:hi] = bool(torch.isfinite(logits).all())
        if self.logits is not None:
            self.logits[lo] = logits.cpu()
