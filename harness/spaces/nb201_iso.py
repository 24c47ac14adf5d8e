"""Isomorphism classes of NAS-Bench-201 cells: which of the 15,625 archs compute the same function.

Why: many cells differ only in ways the network cannot see — an edge whose source node receives nothing
(every path into it is ``none``), a node whose result never reaches the output, two parallel paths written in
another order, or a ``skip_connect`` that only renames a sum. Such cells are one network: their GT accuracies
differ only by training noise. Left as separate archs they leak between the dev and test splits (4,750 of the
7,812 test archs had an isomorph in dev) and the arch bootstrap counts them as independent evidence. The
15,625 cells form 4,930 classes (below).

Canonical form (computed here, from the cell graph; the benchmark CSV's ``UniqueString`` column is only a
cross-check in the tests): each node's value is a *multiset of terms*, summed. The input node is the term
``0``; over an edge ``j → i`` with op ``o``, node j's value enters node i as

* ``none``: nothing (zeros);
* ``skip_connect``: node j's terms themselves (identity: a sum of sums is one flat sum);
* any other op: the single term ``(T)@o`` where T is node j's terms joined in sorted order (the op sees the
  whole sum: ReLU-conv-BN and pooling of a sum are not sums of ops);

and an op applied to a node with no terms gives nothing (zeros: the convention of NAS-Bench-201 and aw_nas; strictly,
a ReLU-conv-BN of zeros outputs BN's learned shift β, a per-channel constant, which this ignores). The output
node's terms, sorted and joined by ``+``, are the canonical string; a cell whose output has no term is the class
``"zero"``. Sorting the terms removes the order of parallel paths; keeping a multiset (``a+a`` ≠ ``a``) keeps
two independently weighted paths apart from one.

Count: 4,930 classes. The CSV's ``UniqueString`` has 6,466 distinct values, and every one of them lies inside
one class here (the tests check it): its strings keep zero terms (``#``) and do not sort the output's parallel
terms, so cells that compute the same sum in another order (NAS-Bench-201's own example cell and its three
reorderings) get different strings there. Splitting by the finer strings would still leak those isomorphs.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from harness.spaces.nb201_cell import EDGES, NUM_NODES, Ops, all_archs, ops_of

ZERO = "zero"


def canonical_form(arch: str | Sequence[str]) -> str:
    """The canonical string of a cell (module docstring): equal strings ⇔ the same isomorphism class."""
    ops: Ops = ops_of(arch)
    terms: list[list[str]] = [["0"]] + [[] for _ in range(NUM_NODES - 1)]
    for node in range(1, NUM_NODES):
        for (target, source), op in zip(EDGES, ops):
            if target != node or op == "none" or not terms[source]:
                continue  # a none edge, or an op on a node that receives nothing: zeros
            if op == "skip_connect":
                terms[node].extend(terms[source])
            else:
                terms[node].append(f"({'+'.join(sorted(terms[source]))})@{op}")
    out = terms[NUM_NODES - 1]
    return "+".join(sorted(out)) if out else ZERO


@lru_cache(maxsize=1)
def _class_table() -> tuple[np.ndarray, tuple[str, ...]]:
    forms = [canonical_form(a) for a in all_archs()]
    names = tuple(sorted(set(forms)))
    number = {f: i for i, f in enumerate(names)}
    return np.array([number[f] for f in forms], dtype=np.int64), names


def isomorphism_classes(archs: Sequence[str] | None = None) -> np.ndarray:
    """Class id (0 .. 4,929, in sorted order of the canonical strings) of each arch; all 15,625 in NAS-Bench-201's
    index order when ``archs`` is None. Archs of one class share an id."""
    table, names = _class_table()
    if archs is None:
        return table.copy()
    number = {f: i for i, f in enumerate(names)}
    return np.array([number[canonical_form(a)] for a in archs], dtype=np.int64)


def num_classes() -> int:
    """Number of isomorphism classes of the whole space (4,930)."""
    return len(_class_table()[1])
