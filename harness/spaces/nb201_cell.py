"""The NAS-Bench-201 cell (Dong & Yang, ICLR 2020; = the NATS-Bench topology space "tss"): strings, index order, counts.

Why a module of its own: the networks (:mod:`reference_nets.nb201`) read the cell rule from here and the space object
(:mod:`harness.spaces.nb201`) builds those networks, so the rule is a leaf that imports neither (no cycle, no torch).


A cell is a DAG of 4 nodes; node 0 is the cell input, node 3 its output, and each of the 6 edges ``j → i``
(``j < i``) carries one op of :data:`OPS`. An arch is written in the benchmark's standard string form, edges
grouped by target node, each ``op~source``::

    |op(1<-0)~0|+|op(2<-0)~0|op(2<-1)~1|+|op(3<-0)~0|op(3<-1)~1|op(3<-2)~2|

Node ``i`` is the sum of its incoming edges; a ``none`` edge contributes zeros. The same cell is used in all 15
cells of the macro network (AutoDL-Projects ``TinyNetwork``, the network NAS-Bench-201 trained):

* stem: conv3×3(in → C) + BN
* stage s = 0, 1, 2 with ``C_s = C·2^s`` channels: ``N`` cells; between stages a residual reduction block
  (``ResNetBasicblock``): ReLU-conv3×3(stride 2)-BN, ReLU-conv3×3-BN, shortcut avgpool2×2 + conv1×1 (no BN)
* lastact BN + ReLU, global average pool, linear classifier (with bias)

Ops (all stride 1, C → C inside a cell): ``none`` (zeros), ``skip_connect`` (identity), ``nor_conv_1x1`` and
``nor_conv_3x3`` (ReLU-conv-BN, conv without bias), ``avg_pool_3x3`` (stride 1, padding 1,
``count_include_pad=False``). Every BN is affine with running statistics (``track_running_stats=True``), as in the
benchmark's standalone training. Standard geometry: C = 16, N = 5; classes 10 / 100 / 120 for CIFAR-10 /
CIFAR-100 / ImageNet16-120; inputs 32×32 (CIFAR) or 16×16 (ImageNet16-120).

#params counts every parameter of that network (BN weight and bias included, dead edges included: the benchmark
builds them); FLOPs are multiply-accumulates of the conv and linear layers for one input (BN, pooling, ReLU and
additions are not counted, the same rule as the ResNet20 width space). Note NAS-Bench-201's own "FLOPs" column
counts differently; rankings by either are what matter here.

Why the index order is reproduced here rather than stored: NAS-Bench-201 numbers its 15,625 archs by enumerating
the product of edge choices (first edge slowest, ops in :data:`OPS` order) and shuffling that list with
``random.seed(88); random.shuffle(...)`` (AutoDL-Projects ``generate_meta_info``). CPython's ``random`` is stable
across versions, so the order is a pure function; the tests pin it against the benchmark's published indices.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from harness.errors import InvalidArchError

#: the op names, in NAS-Bench-201's order (this order defines the enumeration and the index order)
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: the 6 edges as (target node, source node), in the order they appear in an arch string
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
NUM_NODES = 4
NUM_EDGES = len(EDGES)
NUM_ARCHS = len(OPS) ** NUM_EDGES
#: seed of NAS-Bench-201's shuffle of the enumerated archs (AutoDL-Projects, exps/NAS-Bench-201/main.py)
INDEX_SHUFFLE_SEED = 88
#: kernel size of the ops that hold a ReLU-conv-BN
CONV_KERNEL: dict[str, int] = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}
NUM_STAGES = 3

EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"

Ops = tuple[str, ...]


# --------------------------------------------------------------------------------------------- strings
def format_ops(ops: Sequence[str]) -> str:
    """The standard string of 6 edge ops given in :data:`EDGES` order (not validated)."""
    groups, k = [], 0
    for node in range(1, NUM_NODES):
        groups.append("|" + "|".join(f"{ops[k + j]}~{j}" for j in range(node)) + "|")
        k += node
    return "+".join(groups)


def parse_ops(arch: str) -> Ops:
    """The 6 edge ops of a standard arch string, validated; raises InvalidArchError with the first problem."""
    if not isinstance(arch, str):
        raise InvalidArchError(f"a NAS-Bench-201 arch is a string like {EXAMPLE!r}, got {type(arch).__name__}")
    return _parse_str(arch)


@lru_cache(maxsize=32_768)
def _parse_str(arch: str) -> Ops:
    text = arch.strip()
    groups = text.split("+")
    if len(groups) != NUM_NODES - 1:
        raise InvalidArchError(
            f"arch {arch!r} has {len(groups)} node groups; a NAS-Bench-201 cell has {NUM_NODES - 1} "
            f"joined by '+', like {EXAMPLE!r}"
        )
    ops: list[str] = []
    for node, group in enumerate(groups, start=1):
        if len(group) < 2 or not (group.startswith("|") and group.endswith("|")):
            raise InvalidArchError(f"arch {arch!r}: node group {node} must look like '|op~0|...|' (a bar around each edge)")
        tokens = group[1:-1].split("|")
        if len(tokens) != node:
            raise InvalidArchError(f"arch {arch!r}: node {node} needs {node} incoming edges, got {len(tokens)}")
        for source, token in enumerate(tokens):
            op, sep, src = token.partition("~")
            if not sep:
                raise InvalidArchError(f"arch {arch!r}: edge {token!r} of node {node} is not of the form op~source")
            if op not in OPS:
                raise InvalidArchError(f"arch {arch!r}: unknown op {op!r}; allowed: {', '.join(OPS)}")
            if src != str(source):
                raise InvalidArchError(
                    f"arch {arch!r}: edge {source + 1} of node {node} must read node {source} (~{source}), not ~{src}"
                )
            ops.append(op)
    return tuple(ops)


def ops_of(arch: str | Sequence[str] | Sequence[int]) -> Ops:
    """Edge ops of an arch given as a string, a sequence of 6 op names, or 6 op indices into :data:`OPS`."""
    if isinstance(arch, str):
        return parse_ops(arch)
    items = list(arch)
    if len(items) != NUM_EDGES:
        raise InvalidArchError(f"a NAS-Bench-201 arch has {NUM_EDGES} edge ops, got {len(items)}")
    ops: list[str] = []
    for item in items:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if not 0 <= int(item) < len(OPS):
                raise InvalidArchError(f"op index {int(item)} is out of range 0..{len(OPS) - 1}")
            ops.append(OPS[int(item)])
        elif isinstance(item, str) and item in OPS:
            ops.append(item)
        else:
            raise InvalidArchError(f"unknown op {item!r}; allowed: {', '.join(OPS)}")
    return tuple(ops)


# ----------------------------------------------------------------------------------------- enumeration
@lru_cache(maxsize=1)
def all_archs() -> tuple[str, ...]:
    """All 15,625 archs in NAS-Bench-201's index order (index i = the benchmark's arch index i)."""
    archs = [format_ops(ops) for ops in itertools.product(OPS, repeat=NUM_EDGES)]
    random.Random(INDEX_SHUFFLE_SEED).shuffle(archs)
    return tuple(archs)


@lru_cache(maxsize=1)
def _index_of() -> dict[str, int]:
    return {a: i for i, a in enumerate(all_archs())}


def arch_index(arch: str) -> int:
    """NAS-Bench-201 index of an arch (validated)."""
    return _index_of()[format_ops(parse_ops(arch))]


# ------------------------------------------------------------------------------------------ complexity
def stage_channels(channels: int) -> tuple[int, ...]:
    return tuple(channels * 2**s for s in range(NUM_STAGES))


def _op_counts(ops: Ops) -> tuple[int, int]:
    """(number of conv1×1 edges, number of conv3×3 edges) of a cell."""
    return ops.count("nor_conv_1x1"), ops.count("nor_conv_3x3")


def count_params(ops: Ops, *, in_channels: int, channels: int, cells_per_stage: int, num_classes: int) -> int:
    """#params of the macro network for a cell (see the module docstring for the layer rule)."""
    n1, n3 = _op_counts(ops)
    cs = stage_channels(channels)
    total = in_channels * cs[0] * 9 + 2 * cs[0]  # stem conv + BN
    for s, c in enumerate(cs):
        total += cells_per_stage * (n1 * (c * c + 2 * c) + n3 * (9 * c * c + 2 * c))
        if s > 0:  # residual reduction block c_in -> c
            c_in = cs[s - 1]
            total += 9 * c_in * c + 2 * c + 9 * c * c + 2 * c + c_in * c
    return total + 2 * cs[-1] + cs[-1] * num_classes + num_classes  # lastact BN + classifier


def count_macs(
    ops: Ops, *, in_channels: int, channels: int, cells_per_stage: int, num_classes: int, input_size: int
) -> int:
    """Conv + linear multiply-accumulates of the macro network for one ``input_size``² input."""
    n1, n3 = _op_counts(ops)
    cs = stage_channels(channels)
    total = 0
    for s, c in enumerate(cs):
        area = (input_size >> s) ** 2
        if s == 0:
            total += in_channels * c * 9 * area
        else:
            c_in = cs[s - 1]
            total += (9 * c_in * c + 9 * c * c + c_in * c) * area
        total += cells_per_stage * (n1 + 9 * n3) * c * c * area
    return total + cs[-1] * num_classes
