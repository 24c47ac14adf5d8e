"""The fast evaluator of the ResNet20 width space: prefix-tree sharing + many subnets per convolution call.

Why it gives the reference loop's predictions: it computes the same function. For a subnet, BN of a layer in
train mode over calibration batch ``b`` normalises with that batch's (biased) statistics; after the calibration
batches the running statistics are the plain average of the batch means and unbiased variances (precise BN);
the eval split is normalised with those. Here the same statistics are computed per (node, channel) with
``var_mean`` instead of BatchNorm modules, and everything else (first-k slicing, projection/identity shortcuts,
ReLU, average pooling, FC) is the reference supernet's forward, so the only differences are float rounding.

Why it is fast (see :mod:`harness.evaluation.prefix_tree` for the plan):

* each distinct width prefix is computed once (at its widest child), and duplicates of c0..c18 once;
* nodes with the same ``(c_in, c_out)`` at a layer share one weight slice, so they go through one conv call with
  ``nodes x samples`` rows instead of one small call per subnet (the plain loop's cost is mostly call overhead);
* activations are kept channels-last (NHWC, 1-D as H = 1), the layout oneDNN and cuDNN run fastest, and calibration
  and evaluation samples go through the tree in the same pass when they fit in memory.

On CUDA the same code runs with the data resident on the device; ``dtype="bf16"`` computes convolutions in
bfloat16 (statistics and the classifier in fp32) and is an option, not the default.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from harness.evaluation.gemm_conv import taps_of
from harness.evaluation.prefix_tree import USED_POSITIONS, BlockPlan, ChunkPlan, ConvGroup, build_plan
from harness.evaluation.protocol import EvalData
from harness.evaluation.tree_walk import TreeWalk
from harness.spaces.resnet20_width_layers import MAX_WIDTHS, block_stride

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
# How a chunk of distinct subnets is computed. Both give the reference loop's predictions up to float rounding.
#   walk:    depth-first over the prefix tree, one node at a time, dense per-node activations that stay in cache,
#            1x1 and 1-D convolutions as BLAS products (:mod:`harness.evaluation.tree_walk`, :mod:`.gemm_conv`); the
#            CPU default (1.34x the grouped path on the default benchmark, benchmarks/eval_throughput.py).
#   grouped: breadth-first, nodes with the same weight slice stacked into one conv call (this module and
#            :mod:`harness.evaluation.prefix_tree`); big kernels, the default elsewhere (GPU: not yet measured).
STRATEGIES = ("walk", "grouped")
WALK_CHUNK = 256  # distinct subnets per walk: bounds the top-of-tree work repeated per chunk and the work unit


@dataclass(frozen=True)
class FastOptions:
    """Knobs of the fast evaluator. Defaults are fixed per device so that two runs chunk the same way (and so
    give the same bits); none of them changes the result beyond float rounding.

    ``chunk_size``: distinct subnets per prefix tree (None: from ``mem_budget_gb``, the activation memory of one
    process). ``eval_block``: eval samples per pass (None: all of them, in the same pass as the calibration
    samples, when that fits the budget).
    """

    chunk_size: int | None = None
    eval_block: int | None = None
    dtype: str = "fp32"
    mem_budget_gb: float | None = None
    workers: int | None = None  # CPU worker processes (None: one per core); never changes the result
    strategy: str | None = None  # "walk" or "grouped" (None: the device's default, see STRATEGIES)

    def strategy_for(self, device: torch.device) -> str:
        """The strategy that runs: the one asked, else walk on CPU and grouped elsewhere."""
        if self.strategy is not None:
            if self.strategy not in STRATEGIES:
                raise ValueError(f"unknown strategy {self.strategy!r}; use one of {sorted(STRATEGIES)}")
            return self.strategy
        return "walk" if device.type == "cpu" else "grouped"

    def budget_bytes(self, device: torch.device) -> float:
        if self.mem_budget_gb is not None:
            return self.mem_budget_gb * 2**30
        if device.type == "cuda":  # total (not free) memory: the same on every run of this device
            return 0.4 * torch.cuda.get_device_properties(device).total_memory
        return 1.5 * 2**30


# ------------------------------------------------------------------------------------------------ weights
class WidthWeights:
    """The supernet's tensors on the compute device, with the weight slices each conv group needs (cached)."""

    def __init__(self, state: dict[str, torch.Tensor], dims: int, device: torch.device, dtype: torch.dtype, eps: float = 1e-5) -> None:
        self.dims, self.device, self.dtype, self.eps = dims, device, dtype, eps
        self._raw = {k: v.detach().to(device=device, dtype=torch.float32) for k, v in state.items() if v.is_floating_point()}
        self._cache: dict[tuple[str, int, int], Any] = {}

    def conv(self, name: str, m: int, c: int) -> torch.Tensor:
        """``W[:m, :c]`` as a 4-D channels-last tensor (1-D kernels as 1 x k)."""
        key = (name, m, c)
        w = self._cache.get(key)
        if w is None:
            w = self._raw[f"{name}.weight"][:m, :c]
            if self.dims == 1:
                w = w.unsqueeze(2)
            w = w.to(self.dtype).contiguous(memory_format=torch.channels_last)
            self._cache[key] = w
        return w

    def taps(self, name: str, m: int, c: int) -> torch.Tensor:
        """``W[:m, :c]`` as contiguous (k, m, c) taps, the weights of :mod:`harness.evaluation.gemm_conv`."""
        key = (f"{name}#taps", m, c)  # its own key space: conv() caches the 4-D slice of the same (name, m, c)
        t = self._cache.get(key)
        if t is None:
            t = taps_of(self._raw[f"{name}.weight"][:m, :c]).to(self.dtype)
            self._cache[key] = t
        return t

    def bn(self, name: str, m: int) -> tuple[torch.Tensor, torch.Tensor]:
        """BN affine weight and bias of the first ``m`` channels, shaped to broadcast over (n, b, P, m)."""
        key = (name, m, -1)
        pair = self._cache.get(key)
        if pair is None:
            pair = (self._raw[f"{name}.weight"][:m].contiguous(), self._raw[f"{name}.bias"][:m].contiguous())
            self._cache[key] = pair  # type: ignore[assignment]
        return pair  # type: ignore[return-value]

    def fc(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self._raw["fc.weight"], self._raw["fc.bias"]


# ------------------------------------------------------------------------------------------------ one pass
@dataclass(frozen=True)
class _Stage:
    spatial: tuple[int, int]  # (H, W) of the activations; 1-D is (1, L)

    @property
    def positions(self) -> int:
        return self.spatial[0] * self.spatial[1]


def _after(stage: _Stage, stride: int) -> _Stage:
    h, w = stage.spatial
    return _Stage((h if h == 1 else (h - 1) // stride + 1, (w - 1) // stride + 1))


class Workspace:
    """Reusable flat buffers for the activation tensors of a pass (grown, never shrunk).

    Why: a level tensor is hundreds of MB; allocating it fresh for every block of every chunk costs a page fault
    per 4 KiB on first touch (measured: 25x slower writes than into reused memory on the 2-core CPU box).
    """

    def __init__(self, device: torch.device, dtype: torch.dtype) -> None:
        self.device, self.dtype = device, dtype
        self._buf: dict[str, torch.Tensor] = {}

    def get(self, role: str, shape: tuple[int, ...]) -> torch.Tensor:
        n = math.prod(shape)
        buf = self._buf.get(role)
        if buf is None or buf.numel() < n:
            self._buf.pop(role, None)
            buf = torch.zeros(int(n * 1.25) + 1, device=self.device, dtype=self.dtype)  # zeros: no garbage, ever
            self._buf[role] = buf
        return buf[:n].view(shape)


class _Pass:
    """One pass of a chunk's plan over ``x``: ``n_calib`` calibration samples (batches of ``calib_bs``) first,
    then evaluation samples. With calibration samples the BN statistics are computed (and kept in ``stats``);
    without, they are read from ``stats`` (an earlier calibration pass of the same plan)."""

    def __init__(self, ww: WidthWeights, ws: Workspace, n_samples: int, n_calib_batches: int, calib_bs: int, stats: dict) -> None:
        self.ww = ww
        self.ws = ws
        self.S = n_samples
        self.nb = n_calib_batches
        self.bs = calib_bs
        self.nc = n_calib_batches * calib_bs
        self.stats = stats

    def level(self, role: str, rows: int, stage: _Stage, width: int) -> torch.Tensor:
        return self.ws.get(role, (rows, self.S, stage.positions, width))

    def conv(self, src: torch.Tensor, stage: _Stage, g: ConvGroup, rows: torch.Tensor, name: str, kernel: int, stride: int) -> torch.Tensor:
        """Conv of rows ``rows`` of ``src`` (first ``g.c_in`` channels) to ``g.m`` channels: (n, S, P_out, m)."""
        n = g.n
        if n == src.shape[0] and g.c_in == src.shape[3] and _is_range(g.src_rows) and int(g.src_rows[0]) == 0:
            x = src  # the whole source tensor *in order* (the stem; a group spanning all rows permuted must gather)
        else:
            # into a reused buffer: 2x faster than a fresh tensor per call (measured, 2-core box)
            x = torch.index_select(src.narrow(3, 0, g.c_in), 0, rows, out=self.ws.get("gather", (n, self.S, src.shape[2], g.c_in)))
        h, w = stage.spatial
        x4 = x.view(n * self.S, h, w, g.c_in).permute(0, 3, 1, 2)
        pad = kernel // 2
        if self.ww.dims == 1:
            y4 = F.conv2d(x4, self.ww.conv(name, g.m, g.c_in), None, (1, stride), (0, pad))
        else:
            y4 = F.conv2d(x4, self.ww.conv(name, g.m, g.c_in), None, stride, pad)
        return y4.permute(0, 2, 3, 1).contiguous().view(n, self.S, -1, g.m)  # a no-op when cuDNN/oneDNN kept NHWC

    def bn(self, y: torch.Tensor, dst: torch.Tensor, name: str, key: tuple, relu: bool) -> None:
        """Normalise conv output ``y`` (n, S, P, m) into ``dst`` (same shape, a view) as BN would in the protocol."""
        n, S, P, m = y.shape
        gamma, beta = self.ww.bn(name, m)
        eps = self.ww.eps
        nc = self.nc
        if nc:
            count = self.bs * P
            yc = y[:, :nc].view(n, self.nb, count, m)
            yf = yc if yc.dtype == torch.float32 else yc.float()
            mean = yf.sum(dim=2, keepdim=True).div_(count)  # (n, nb, 1, m): train-mode batch statistics
            var = (yf - mean).square_().sum(dim=2, keepdim=True).div_(count)  # biased, two-pass
            scale = torch.rsqrt(var + eps).mul_(gamma)
            shift = torch.addcmul(beta, mean, scale, value=-1.0)
            torch.addcmul(shift.to(y.dtype), yc, scale.to(y.dtype), out=dst[:, :nc].view(n, self.nb, count, m))
            run_var = var.mean(dim=1, keepdim=True).mul_(count / (count - 1))  # average of the unbiased variances
            scale_e = torch.rsqrt(run_var.add_(eps)).mul_(gamma)
            self.stats[key] = (scale_e, torch.addcmul(beta, mean.mean(dim=1, keepdim=True), scale_e, value=-1.0))
        if S > nc:
            scale_e, shift_e = self.stats[key]
            torch.addcmul(shift_e.to(y.dtype), y[:, nc:], scale_e.to(y.dtype), out=dst[:, nc:])
        if relu:
            dst.relu_()

    def block(self, j: int, bp: BlockPlan, a_in: torch.Tensor, stage: _Stage, idx: "_Index", out_role: str) -> tuple[torch.Tensor, _Stage]:
        stride = block_stride(j)
        mid = _after(stage, stride)
        pre = f"blocks.{j}"
        h = self.level("h", bp.n_h, mid, bp.h_width)
        for gi, g in enumerate(bp.conv1):
            y = self.conv(a_in, stage, g, idx.rows(j, "conv1", gi), f"{pre}.conv1", 3, stride)
            self.bn(y, h[g.dst_start : g.dst_start + g.n, :, :, : g.m], f"{pre}.bn1", (j, "bn1", gi), relu=True)
        yt = self.level("y", bp.n_y, mid, bp.y_width)
        for gi, g in enumerate(bp.conv2):
            y = self.conv(h, mid, g, idx.rows(j, "conv2", gi), f"{pre}.conv2", 3, 1)
            self.bn(y, yt[g.dst_start : g.dst_start + g.n, :, :, : g.m], f"{pre}.bn2", (j, "bn2", gi), relu=False)
        st = self.level("s", bp.n_s, mid, bp.s_width) if bp.n_s else None
        for gi, g in enumerate(bp.short):
            y = self.conv(a_in, stage, g, idx.rows(j, "short", gi), f"{pre}.shortcut", 1, stride)
            self.bn(y, st[g.dst_start : g.dst_start + g.n, :, :, : g.m], f"{pre}.shortcut_bn", (j, "sbn", gi), relu=False)
        out = self.level(out_role, bp.n_out, mid, bp.out_width)
        for gi, g in enumerate(bp.add):
            yr, sr = idx.add_rows(j, gi)
            dst = out[g.dst_start : g.dst_start + g.n, :, :, : g.c]
            torch.index_select(yt.narrow(3, 0, g.c), 0, yr, out=dst)
            dst.add_((st if g.proj else a_in).narrow(3, 0, g.c).index_select(0, sr)).relu_()
        return out, mid

    def run(self, plan: ChunkPlan, x: torch.Tensor, idx: "_Index", y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Run the plan on ``x`` (S, P, in_channels) channels-last; with ``y`` (labels of the eval samples) return
        (correct counts, all-logits-finite flags), one per row of the last block output."""
        stage = _Stage(idx.spatial)
        stem = ConvGroup(x.shape[-1], plan.stem_width, np.zeros(1, dtype=np.int64), 0)
        a = self.level("a1", 1, stage, plan.stem_width)
        self.bn(self.conv(x.unsqueeze(0), stage, stem, idx.zero, "stem", 3, 1), a, "stem_bn", ("stem",), relu=True)
        for j, bp in enumerate(plan.blocks):
            a, stage = self.block(j, bp, a, stage, idx, "a0" if j % 2 == 0 else "a1")
        if y is None:
            return None
        fc_w, fc_b = self.ww.fc()
        correct = torch.zeros(a.shape[0], dtype=torch.long, device=self.ww.device)
        finite = torch.ones(a.shape[0], dtype=torch.bool, device=self.ww.device)
        for gi, g in enumerate(plan.head):
            rows = idx.head_rows(gi)
            pooled = a.narrow(3, 0, g.c).index_select(0, rows)[:, self.nc :].float().mean(dim=2)  # (n, E, c)
            logits = F.linear(pooled, fc_w[:, : g.c], fc_b)
            correct[rows] = (logits.argmax(dim=2) == y).sum(dim=1)
            finite[rows] = torch.isfinite(logits).all(dim=2).all(dim=1)
        return correct, finite


def _is_range(rows: np.ndarray) -> bool:
    return bool(np.all(np.diff(rows) == 1))


class _Index:
    """The plan's row indices as device tensors, made once per chunk and reused by every pass."""

    def __init__(self, plan: ChunkPlan, device: torch.device, spatial: tuple[int, int]) -> None:
        self.spatial = spatial
        t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.int64), device=device)  # noqa: E731
        self.zero = t([0])
        self._conv = {
            (j, op, gi): t(g.src_rows)
            for j, bp in enumerate(plan.blocks)
            for op, groups in (("conv1", bp.conv1), ("conv2", bp.conv2), ("short", bp.short))
            for gi, g in enumerate(groups)
        }
        self._add = {(j, gi): (t(g.y_rows), t(g.s_rows)) for j, bp in enumerate(plan.blocks) for gi, g in enumerate(bp.add)}
        self._head = [t(g.rows) for g in plan.head]

    def rows(self, j: int, op: str, gi: int) -> torch.Tensor:
        return self._conv[(j, op, gi)]

    def add_rows(self, j: int, gi: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self._add[(j, gi)]

    def head_rows(self, gi: int) -> torch.Tensor:
        return self._head[gi]


# ------------------------------------------------------------------------------------------------ driver
def unique_widths(archs: Sequence[str], parse: Callable[[str], tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct first-19 widths, sorted lexicographically, and for each arch the index of its row."""
    table = np.asarray([parse(a)[:USED_POSITIONS] for a in archs], dtype=np.int64).reshape(len(archs), USED_POSITIONS)
    uniq, inverse = np.unique(table, axis=0, return_inverse=True)
    return uniq, inverse.reshape(-1)


def _to_channels_last(x: torch.Tensor, dims: int) -> torch.Tensor:
    """(N, C, L) or (N, C, H, W) -> (N, P, C)."""
    if dims == 1:
        return x.permute(0, 2, 1).contiguous()
    return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1, x.shape[1]).contiguous()


def _row_bytes(dims: int, sample_shape: tuple[int, ...], n_samples: int, itemsize: int) -> float:
    """Bytes of one row (one node) of the widest activation tensor for ``n_samples`` samples."""
    spatial = sample_shape[1:]
    positions = math.prod(spatial)
    widest = 0
    for stage, width in enumerate((MAX_WIDTHS[0], MAX_WIDTHS[7], MAX_WIDTHS[13])):
        widest = max(widest, positions // (4**stage if dims == 2 else 2**stage) * width)
    return float(widest * n_samples * itemsize)


@dataclass(frozen=True)
class FastSchedule:
    chunk_size: int
    eval_block: int
    single_pass: bool  # calibration and all eval samples in one pass
    strategy: str = "grouped"


# activation tensors of a walk alive at once, in units of the widest one: 3 per block on the root-to-leaf path
# (block input, conv1 output, conv2 output) and a shortcut, most far narrower than the widest (an upper bound)
WALK_ROWS = 24


def _walk_schedule(data: EvalData, dims: int, opts: FastOptions, budget: float, itemsize: int) -> FastSchedule:
    n_calib = data.n_calib_batches * data.calib_batch_size
    chunk = opts.chunk_size or WALK_CHUNK
    per_sample = WALK_ROWS * _row_bytes(dims, data.sample_shape, 1, itemsize)
    if opts.eval_block is None and per_sample * (n_calib + data.n_eval) <= budget:
        return FastSchedule(chunk, data.n_eval, True, "walk")
    eval_block = opts.eval_block or max(1, min(data.n_eval, int(budget / per_sample)))
    return FastSchedule(chunk, eval_block, False, "walk")


def schedule(data: EvalData, dims: int, opts: FastOptions, device: torch.device) -> FastSchedule:
    """Chunk size and eval block from the memory budget (grouped: 5 row tensors alive at the peak of a block)."""
    itemsize = torch.tensor([], dtype=DTYPES[opts.dtype]).element_size()
    budget = opts.budget_bytes(device)
    if opts.strategy_for(device) == "walk":
        return _walk_schedule(data, dims, opts, budget, itemsize)
    n_calib = data.n_calib_batches * data.calib_batch_size
    eval_block = opts.eval_block or data.n_eval
    single = opts.eval_block is None
    per_row = 5 * _row_bytes(dims, data.sample_shape, n_calib + eval_block, itemsize)
    if single and opts.chunk_size is None and budget / per_row < 64:
        # all samples at once leave too few rows per tree: calibrate first, then evaluate in blocks
        single = False
        eval_block = max(1, min(data.n_eval, int(budget / (5 * _row_bytes(dims, data.sample_shape, 1, itemsize) * 64)) - n_calib))
        per_row = 5 * _row_bytes(dims, data.sample_shape, max(n_calib, eval_block), itemsize)
    chunk = opts.chunk_size or max(1, min(4096, int(budget / per_row)))
    return FastSchedule(chunk, eval_block, single)


class ChunkEvaluator:
    """The fast evaluator of one supernet over the distinct subnets ``widths``, one chunk at a time.

    Why an object: the weight slices and the activation buffers are made once and reused by every chunk a process
    runs (a worker pulls many chunks from a queue). Made afresh per chunk, the zero-filled buffers alone cost a
    quarter of the run (measured with the torch profiler on the 2-core box).
    """

    def __init__(
        self,
        state: dict[str, torch.Tensor],
        dims: int,
        widths: np.ndarray,
        data: EvalData,
        *,
        device: torch.device | str = "cpu",
        opts: FastOptions = FastOptions(),
        sched: FastSchedule | None = None,
        eps: float = 1e-5,
    ) -> None:
        self.device = torch.device(device)
        if opts.dtype not in DTYPES:
            raise ValueError(f"unknown dtype {opts.dtype!r}; use one of {sorted(DTYPES)}")
        self.sched = sched or schedule(data, dims, opts, self.device)
        self.widths, self.data = widths, data
        self.ww = WidthWeights(state, dims, self.device, DTYPES[opts.dtype], eps)
        self.calib = _to_channels_last(data.calib_x.to(self.device), dims).to(self.ww.dtype)
        self.evx = _to_channels_last(data.eval_x.to(self.device), dims).to(self.ww.dtype)
        self.evy = data.eval_y.to(self.device)
        self.calib_and_eval = torch.cat([self.calib, self.evx]) if self.sched.single_pass and self.sched.strategy == "grouped" else None
        self.spatial = (1, data.sample_shape[1]) if dims == 1 else tuple(data.sample_shape[1:3])
        self.ws = Workspace(self.device, self.ww.dtype)

    @property
    def n_chunks(self) -> int:
        return math.ceil(len(self.widths) / self.sched.chunk_size)

    def run(self, ci: int) -> tuple[int, np.ndarray, np.ndarray]:
        """(start row, correct counts, all-logits-finite flags) of chunk ``ci``."""
        sched, data, ww, ws = self.sched, self.data, self.ww, self.ws
        start = ci * sched.chunk_size
        if sched.strategy == "walk":
            return self._walk(start, None)
        plan = build_plan(self.widths[start : start + sched.chunk_size])
        idx = _Index(plan, self.device, self.spatial)
        stats: dict = {}
        with torch.no_grad():
            if self.calib_and_eval is not None:
                x = self.calib_and_eval
                correct, finite = _Pass(ww, ws, x.shape[0], data.n_calib_batches, data.calib_batch_size, stats).run(plan, x, idx, self.evy)
            else:
                _Pass(ww, ws, self.calib.shape[0], data.n_calib_batches, data.calib_batch_size, stats).run(plan, self.calib, idx, None)
                correct = finite = None
                for e0 in range(0, self.evx.shape[0], sched.eval_block):
                    xe = self.evx[e0 : e0 + sched.eval_block]
                    c, f = _Pass(ww, ws, xe.shape[0], 0, data.calib_batch_size, stats).run(plan, xe, idx, self.evy[e0 : e0 + sched.eval_block])
                    correct = c if correct is None else correct + c
                    finite = f if finite is None else finite & f
        leaf = torch.as_tensor(plan.leaf_row, device=self.device)
        return start, correct[leaf].cpu().numpy(), finite[leaf].cpu().numpy()

    def logits(self, ci: int) -> tuple[int, torch.Tensor, dict]:
        """(start row, logits (n, E, classes) of every subnet of chunk ``ci``, BN statistics by node) as the walk
        computes them in a run (single pass only): what a disagreement with the reference loop is measured on."""
        if self.sched.strategy != "walk" or not self.sched.single_pass:
            raise ValueError("logits are kept by the single-pass walk strategy only")
        start = ci * self.sched.chunk_size
        keep: dict[int, torch.Tensor] = {}
        stats: dict = {}
        self._walk(start, keep, stats)
        return start, torch.stack([keep[r] for r in sorted(keep)]), stats

    def _walk(self, start: int, keep: dict | None, stats: dict | None = None) -> tuple[int, np.ndarray, np.ndarray]:
        sched, data, ww = self.sched, self.data, self.ww
        widths = self.widths[start : start + sched.chunk_size]
        stats = {} if stats is None else stats
        nb, bs = data.n_calib_batches, data.calib_batch_size
        with torch.no_grad():
            if sched.single_pass:
                correct, finite = TreeWalk(ww, self.calib, self.evx, self.spatial, nb, bs, self.evy, stats, keep).run(widths)
            else:
                TreeWalk(ww, self.calib, None, self.spatial, nb, bs, None, stats).run(widths)
                correct = finite = None
                for e0 in range(0, self.evx.shape[0], sched.eval_block):
                    xe, ye = self.evx[e0 : e0 + sched.eval_block], self.evy[e0 : e0 + sched.eval_block]
                    c, f = TreeWalk(ww, None, xe, self.spatial, nb, bs, ye, stats).run(widths)
                    correct = c if correct is None else correct + c
                    finite = f if finite is None else finite & f
        return start, correct.cpu().numpy(), finite.cpu().numpy()
