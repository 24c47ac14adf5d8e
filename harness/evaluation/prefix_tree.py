"""The prefix-tree execution plan of the fast width-space evaluator (pure numpy, no torch).

Why a prefix tree: with first-k slicing and per-subnet BN recalibration, every activation of a width-space subnet
after the layer at position ``k`` (and the BN statistics of that layer) depends only on the widths ``c0..ck``.
And since BN is per channel, the first ``c`` output channels of a layer are the same whatever width ``c`` the
subnet picks, so one conv at the *largest* child width serves all children of a node. So over a set of archs
sorted lexicographically, each distinct prefix is computed once, at its widest child. Subnets that share their
first 19 widths are the same network (position 19 is carried in the string but unused) and are computed once.

Why groups: the weights of a layer are the same slice ``W[:m, :c_in]`` for every node with the same
``(c_in, m)``, so all such nodes are stacked into one convolution call over ``nodes x samples``. This module only
decides *which rows go where*; :mod:`harness.evaluation.fast` runs it.

Row layout: every activation set is a tensor whose rows are nodes (or parents of nodes). A node refers to a row
and takes the first ``width`` channels of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.spaces.resnet20_width_layers import NUM_BLOCKS, PROJECTION_BLOCKS

USED_POSITIONS = 19  # c0..c18; c19 is in the string but the classifier reads c18


@dataclass(frozen=True)
class ConvGroup:
    """One conv call: rows ``src_rows`` of the source tensor, first ``c_in`` channels, to ``m`` output channels,
    written to rows ``dst_start : dst_start + len(src_rows)`` of the destination tensor."""

    c_in: int
    m: int
    src_rows: np.ndarray
    dst_start: int

    @property
    def n(self) -> int:
        return len(self.src_rows)


@dataclass(frozen=True)
class AddGroup:
    """Block outputs ``relu(Y[y_rows, :c] + short[s_rows, :c])``; ``proj`` says whether ``short`` is the
    projection tensor or the identity (the block input), written to rows ``dst_start : dst_start + n``."""

    c: int
    proj: bool
    y_rows: np.ndarray
    s_rows: np.ndarray
    dst_start: int

    @property
    def n(self) -> int:
        return len(self.y_rows)


@dataclass(frozen=True)
class HeadGroup:
    """Leaves of width ``c`` (= c18) at rows ``rows`` of the last block output."""

    c: int
    rows: np.ndarray


@dataclass(frozen=True)
class BlockPlan:
    conv1: list[ConvGroup]
    conv2: list[ConvGroup]
    short: list[ConvGroup]
    add: list[AddGroup]
    n_h: int
    n_y: int
    n_s: int
    n_out: int
    h_width: int
    y_width: int
    s_width: int
    out_width: int


@dataclass(frozen=True)
class ChunkPlan:
    """Everything needed to evaluate one chunk of distinct subnets (rows of ``widths``)."""

    widths: np.ndarray  # (n, 19) int, sorted lexicographically, distinct
    stem_width: int
    blocks: list[BlockPlan]
    head: list[HeadGroup]
    leaf_row: np.ndarray  # (n,) row of each subnet in the last block output

    def conv_calls(self) -> int:
        return sum(len(b.conv1) + len(b.conv2) + len(b.short) for b in self.blocks) + 1

    def conv_rows(self) -> int:
        """Node-convolutions executed (a measure of the work left after prefix sharing)."""
        return sum(g.n for b in self.blocks for g in (*b.conv1, *b.conv2, *b.short)) + 1


def _levels(widths: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """For each position ``l``: node id of every row, first row of every node, node widths."""
    n = widths.shape[0]
    node_of, first, width = [], [], []
    differs = np.zeros(n, dtype=bool)
    differs[0] = True
    for level in range(widths.shape[1]):
        col = widths[:, level]
        differs[1:] |= col[1:] != col[:-1]
        ids = np.cumsum(differs) - 1
        starts = np.flatnonzero(differs)
        node_of.append(ids)
        first.append(starts)
        width.append(col[starts])
    return node_of, first, width


def _group_order(*keys: np.ndarray) -> tuple[np.ndarray, list[tuple[tuple[int, ...], np.ndarray]]]:
    """Stable order of items by ``keys`` and the runs of equal keys: (order, [(key, item indices)])."""
    order = np.lexsort(tuple(reversed(keys)))
    stacked = np.stack([k[order] for k in keys], axis=1)
    if len(order) == 0:
        return order, []
    cut = np.flatnonzero(np.any(stacked[1:] != stacked[:-1], axis=1)) + 1
    runs = []
    for a, b in zip(np.r_[0, cut], np.r_[cut, len(order)], strict=True):
        runs.append((tuple(int(v) for v in stacked[a]), order[a:b]))
    return order, runs


def _max_child(parent_of_child: np.ndarray, child_width: np.ndarray, n_parents: int, mask: np.ndarray | None = None) -> np.ndarray:
    out = np.zeros(n_parents, dtype=np.int64)
    if mask is None:
        np.maximum.at(out, parent_of_child, child_width)
    else:
        np.maximum.at(out, parent_of_child[mask], child_width[mask])
    return out


def build_plan(widths: np.ndarray) -> ChunkPlan:
    """Plan for ``widths`` (n, >=19), which must be sorted lexicographically on the first 19 columns and distinct."""
    w = np.ascontiguousarray(widths[:, :USED_POSITIONS], dtype=np.int64)
    node_of, first, width = _levels(w)
    parent = [np.zeros(len(first[0]), dtype=np.int64)] + [node_of[lv - 1][first[lv]] for lv in range(1, USED_POSITIONS)]

    stem_width = int(width[0].max())
    in_rows = np.zeros(len(first[0]), dtype=np.int64)  # every level-0 node reads row 0 of the stem output
    blocks: list[BlockPlan] = []
    for j in range(NUM_BLOCKS):
        la, lb, lc = 2 * j, 2 * j + 1, 2 * j + 2
        na, nb, nc = len(first[la]), len(first[lb]), len(first[lc])
        wa, wb, wc = width[la], width[lb], width[lc]
        # conv1: one row per level-a node, at its widest child
        m1 = _max_child(parent[lb], wb, na)
        order, runs = _group_order(wa, m1)
        h_row = np.empty(na, dtype=np.int64)
        h_row[order] = np.arange(na)
        conv1 = [ConvGroup(k[0], k[1], in_rows[idx], int(h_row[idx[0]])) for k, idx in runs]
        # conv2: one row per level-b node, reading its parent's conv1 row
        m2 = _max_child(parent[lc], wc, nb)
        order, runs = _group_order(wb, m2)
        y_row = np.empty(nb, dtype=np.int64)
        y_row[order] = np.arange(nb)
        conv2 = [ConvGroup(k[0], k[1], h_row[parent[lb][idx]], int(y_row[idx[0]])) for k, idx in runs]
        # shortcut: one row per level-a node that has a projection grandchild
        grand = parent[lb][parent[lc]]
        proj = (wc != wa[grand]) | (j in PROJECTION_BLOCKS)
        ms = _max_child(grand, wc, na, proj)
        has = np.flatnonzero(ms > 0)
        s_row = np.full(na, -1, dtype=np.int64)
        short: list[ConvGroup] = []
        if len(has):
            order, runs = _group_order(wa[has], ms[has])
            s_row[has[order]] = np.arange(len(has))
            short = [ConvGroup(k[0], k[1], in_rows[has[idx]], int(s_row[has[idx[0]]])) for k, idx in runs]
        # add: one row per level-c node
        order, runs = _group_order(wc, proj.astype(np.int64))
        out_row = np.empty(nc, dtype=np.int64)
        out_row[order] = np.arange(nc)
        add = []
        for (c, p), idx in runs:
            src = s_row[grand[idx]] if p else in_rows[grand[idx]]
            add.append(AddGroup(c, bool(p), y_row[parent[lc][idx]], src, int(out_row[idx[0]])))
        blocks.append(
            BlockPlan(conv1, conv2, short, add, na, nb, len(has), nc,
                      int(m1.max()), int(m2.max()), int(ms.max()) if len(has) else 0, int(wc.max()))
        )
        in_rows = out_row
    last = USED_POSITIONS - 1
    _, runs = _group_order(width[last])
    head = [HeadGroup(k[0], in_rows[idx]) for k, idx in runs]
    leaf_row = in_rows[node_of[last]]
    return ChunkPlan(w, stem_width, blocks, head, leaf_row)
