"""Verdicts across a whole board: which rows are statistically indistinguishable from the leader.

Why a family-wise correction: a board of k rows invites k(k − 1)/2 pairwise looks. Each ``compare`` holds its 5 %
error rate alone, but in boards of 6 *identical* trainers × 5 seeds at least one of the 15 pairs came out
"significant" in 35 % of simulated boards. A board therefore never prints an uncorrected pairwise verdict; it
prints, for every row, ``tied_with_leader``: not shown different from the best row after a correction that
keeps the chance of *any* false difference on the board at most 1 − level.

Why Holm over all pairs (and not only the leader's k − 1 pairs, a max-t simultaneous band or a rank confidence
set): the leader is chosen by the data, so "leader vs each other row" is not a family fixed in advance; all
k(k − 1)/2 pairs are, and the leader's pairs are among them, so Holm's step-down over all pairs controls the
family-wise error whichever row leads, with no assumption on how the comparisons depend on each other (they
share the arch resamples and, through the leader, a side). A max-t band would be sharper but needs the joint
law of t statistics with different degrees of freedom (seed groups of 3 and 10 runs, single runs with arch
noise only); Holm needs only the p-values ``compare`` already computes. The price is power: with 6 rows the
smallest p is held to 0.05/15. Measured: 6 identical trainers × 5 seeds mark some pair different in ≈ 2 % of
boards (``tests/test_family.py``; docs/metrics.md).

The function is pure (rows of point values and shared arch replicates in, flags out), so any board — the
leaderboard, a challenge's board — calls :func:`family_verdicts` with its own rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.verdicts.stats import LEVEL, compare_groups

METHOD = "Holm step-down over all pairs of rows"


@dataclass(frozen=True)
class Evidence:
    """One row of a board as the correction needs it.

    ``points``: the metric per run (S,). ``reps``: (B, S) values on arch resamples shared by *every* row of the
    board (the same n, resample count and seed), or None when the row carries no arch term (an older version's
    stored values: the seed spread only). ``seeds``: the runs' training seeds, to pair two groups that ran the
    same ones. A row with one value and no replicates has no noise estimate and stays out of the family.
    """

    id: str
    points: np.ndarray
    reps: np.ndarray | None = None
    seeds: tuple[Any, ...] = ()

    @property
    def usable(self) -> bool:
        pts = np.asarray(self.points, dtype=np.float64).ravel()
        return pts.size >= 1 and bool(np.isfinite(pts).all()) and (self.reps is not None or pts.size >= 2)


@dataclass(frozen=True)
class RowVerdict:
    id: str
    tied_with_leader: bool | None  # None: the row has no noise estimate (it is not in the family)
    p_vs_leader: float | None  # the pair's p-value before the correction (1.0 for the leader itself)
    p_vs_leader_holm: float | None  # Holm-adjusted

    def to_dict(self) -> dict[str, Any]:
        return {"tied_with_leader": self.tied_with_leader, "p_vs_leader": self.p_vs_leader,
                "p_vs_leader_holm": self.p_vs_leader_holm}


@dataclass(frozen=True)
class FamilyResult:
    leader: str | None
    level: float
    n_pairs: int
    rows: dict[str, RowVerdict] = field(default_factory=dict)
    #: Holm-adjusted p of every pair (id_a, id_b), a before b in the input order
    pairs: dict[tuple[str, str], float] = field(default_factory=dict)
    #: the same pairs' p-values before the correction
    raw_pairs: dict[tuple[str, str], float] = field(default_factory=dict)
    method: str = METHOD

    def any_different(self) -> bool:
        """True when some pair of rows is shown different after the correction."""
        return any(p <= 1.0 - self.level for p in self.pairs.values())


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979): max over j ≤ i of min(1, (m − j + 1)·p_(j)), input order."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def _reps_of(e: Evidence, b: int) -> np.ndarray:
    pts = np.asarray(e.points, dtype=np.float64).ravel()
    return np.zeros((b, pts.size)) if e.reps is None else np.asarray(e.reps, dtype=np.float64)


def family_verdicts(rows: Sequence[Evidence], metric: str, higher_is_better: bool, *, level: float = LEVEL,
                    n_archs: int | None = None, leader: str | None = None) -> FamilyResult:
    """Holm-corrected pairwise comparisons of a board's rows, and each row's ``tied_with_leader``.

    ``leader``: the id of the board's best row (default: the usable row with the best mean in the metric's
    direction). Rows that are not :attr:`Evidence.usable` get ``tied_with_leader`` None and enter no pair. The
    replicate matrices of all rows with replicates must have the same number of rows (shared resamples).
    """
    usable = [e for e in rows if e.usable]
    sign = 1.0 if higher_is_better else -1.0
    if leader is None and usable:
        leader = max(usable, key=lambda e: sign * float(np.mean(e.points))).id
    if leader not in {e.id for e in usable}:
        leader = None
    b = max([np.asarray(e.reps).shape[0] for e in usable if e.reps is not None] or [2])
    keys: list[tuple[str, str]] = []
    raw: list[float] = []
    for i, ea in enumerate(usable):
        for eb in usable[i + 1:]:
            ra, rb = _reps_of(ea, b), _reps_of(eb, b)
            paired = (len(ea.seeds) >= 2 and ea.seeds == eb.seeds and None not in ea.seeds)
            c = compare_groups(metric, higher_is_better, np.asarray(ea.points, dtype=np.float64), ra,
                               np.asarray(eb.points, dtype=np.float64), rb, paired_by_seed=paired, level=level,
                               n_archs=n_archs)
            keys.append((ea.id, eb.id))
            raw.append(c.p_value)
    adj = holm(raw)
    pairs = {k: float(p) for k, p in zip(keys, adj)}
    raw_of = dict(zip(keys, raw))
    out: dict[str, RowVerdict] = {}
    for e in rows:
        if not e.usable or leader is None:
            out[e.id] = RowVerdict(e.id, None, None, None)
        elif e.id == leader:
            out[e.id] = RowVerdict(e.id, True, 1.0, 1.0)
        else:
            key = (e.id, leader) if (e.id, leader) in pairs else (leader, e.id)
            p_adj = pairs[key]
            out[e.id] = RowVerdict(e.id, bool(p_adj > 1.0 - level), float(raw_of[key]), p_adj)
    return FamilyResult(leader, level, len(keys), out, pairs, {k: float(v) for k, v in raw_of.items()})
