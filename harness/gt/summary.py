"""What ``nas-harness gt show`` reports about a GT file, computed here so the CLI only renders it.

Why its own module: the statistics (seed noise, split-half agreement, the expected τ of an oracle, the projected Kendall
ceiling, the detectable Δτ, the size-blind reference points) are facts about the GT, wanted by the CLI, by scripts
and by a future app page alike; each is computed by :mod:`harness.metrics`, this module only decides on which rows
(the archs complete for their seeds, and the rectangular block of rows trained for every seed column where seed
reliability is measured) and when a statistic is defined at all (three archs at least, two seeds at least).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.gt.gt_file import GroundTruth

#: repetitions of the power simulation behind ``detectable`` (``benchmarks/gt_power.py`` runs more)
POWER_REPS = 200
#: the Δτ whose power is reported next to the detectable one
POWER_AT = 0.03
#: the provenance attributes shown, in this order
PROVENANCE_KEYS = ("recipe", "seeds", "data_hash", "harness_version", "created", "build_seconds", "source")


@dataclass
class AccuracySpread:
    """Seed-mean accuracy over the complete archs."""

    min: float
    median: float
    max: float
    std: float


@dataclass
class GTSummary:
    """Everything ``gt show`` prints; a statistic that is undefined for this file is ``None``."""

    n_archs: int
    n_complete: int
    n_seeds: int
    ragged: bool
    #: (number of rows, their seed count), most seeds first (ragged files only)
    seed_counts: list[tuple[int, int]]
    split_sizes: dict[str, int]
    n_full: int  # rows trained for every seed column
    accuracy: AccuracySpread | None = None
    seed_noise: float | None = None  # mean over full rows of the seed SD
    split_half: dict[str, float | None] | None = None
    best_tau: dict[str, Any] | None = None
    #: ragged files only: the expected oracle τ against the truth scores are ranked on (each complete arch's mean
    #: over its own seeds), which is below ``best_tau`` (measured against the full rows' all-seed mean)
    best_tau_truth: dict[str, Any] | None = None
    cb_reference: float | None = None
    projection: dict[str, Any] | None = None
    #: ``projection["tau_by_seeds_per_half"]`` beyond the measured half sizes
    projected: dict[int, float] = field(default_factory=dict)
    power: Any = None  # harness.metrics.power result (detectable, seeds, rho, tau_a, power_at)
    power_at: float = POWER_AT
    n_dev: int = 0
    params_baseline: dict[str, float | None] | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    builds: list[dict[str, Any]] = field(default_factory=list)
    unrecorded_cells: int = 0  # cells trained before builds were recorded (environment unknown)
    content_hash: str = ""

    @property
    def half(self) -> int:
        """Seeds in the smaller half of a split-half comparison."""
        return self.n_seeds // 2


def summarize_gt(gt: GroundTruth, *, power_reps: int = POWER_REPS) -> GTSummary:
    """The statistics of ``gt`` on its finished archs (a build in progress can be summarized as it grows)."""
    from harness.metrics import (
        best_achievable_tau,
        complexity_bias_reference,
        params_baseline,
        projected_kendall_ceiling,
        split_half_agreement,
    )

    ok = gt.complete
    full = gt.full
    mean = gt.seed_mean[ok]
    n_full = int(full.sum())
    counts = gt.seed_counts if gt.ragged else []
    out = GTSummary(n_archs=len(gt.archs), n_complete=int(ok.sum()), n_seeds=gt.n_seeds, ragged=bool(gt.ragged),
                    seed_counts=counts, split_sizes={k: len(v) for k, v in gt.splits.items()}, n_full=n_full,
                    content_hash=gt.content_hash)
    if mean.size:
        out.accuracy = AccuracySpread(float(mean.min()), float(np.median(mean)), float(mean.max()), float(mean.std()))
        if gt.n_seeds > 1 and n_full >= 3:
            out.seed_noise = float(np.nanstd(gt.acc[full], axis=1, ddof=1).mean())
    if mean.size and n_full >= 3:
        out.split_half = split_half_agreement(gt.acc[full], gt.params[full], names=["kendall_tau", "spearman", "pearson"])
        out.best_tau = best_achievable_tau(gt.acc[full])
        if gt.ragged:
            out.best_tau_truth = best_achievable_tau(gt.acc[ok])
        out.cb_reference = float(complexity_bias_reference(mean, gt.params[ok]))
        proj = projected_kendall_ceiling(gt.acc[full], seeds_per_half=range(1, max(8, out.half + 4) + 1))
        if proj["single_seed_tau"] is not None:
            out.projection = proj
            out.projected = {k: v for k, v in proj["tau_by_seeds_per_half"].items() if k > out.half}
        dev = gt.split_indices("dev") if "dev" in gt.splits else np.flatnonzero(ok)
        out.n_dev = int(dev.size)
        if gt.n_seeds > 1 and dev.size >= 3:
            from harness.metrics.power import detectable_delta_tau

            out.power = detectable_delta_tau(gt.acc[full], int(dev.size), gt.target_seeds[dev], reps=power_reps,
                                             at=(POWER_AT,))
    if mean.size:
        out.params_baseline = params_baseline(gt.params[ok], mean, names=["kendall_tau", "spearman"])
    out.provenance = {k: gt.attrs[k] for k in PROVENANCE_KEYS if k in gt.attrs}
    builds = gt.attrs.get("builds", [])
    out.builds = list(builds) if isinstance(builds, list) else []
    unrecorded = int(np.isfinite(gt.acc).sum()) - sum(int(b.get("cells", 0)) for b in out.builds)
    if gt.attrs.get("recipe") is not None and unrecorded > 0:
        out.unrecorded_cells = unrecorded
    return out


def gt_of(bench: Any, file: Any = None) -> GroundTruth:
    """``bench``'s GT, or the GT file ``file`` after checking it belongs to ``bench`` (e.g. a build in progress)."""
    from harness.errors import GroundTruthError
    from harness.gt.gt_file import read_gt

    if file is None:
        return bench.ground_truth()
    gt = read_gt(file)
    if gt.attrs.get("benchmark") != bench.name:
        raise GroundTruthError(f"{file} holds the GT of benchmark {gt.attrs.get('benchmark')!r}, not {bench.name!r}")
    return gt


def split_half_tau(gt: GroundTruth) -> float | None:
    """Kendall τ between the two seed halves of the rows trained for every seed (None with one seed column)."""
    from harness.metrics import split_half_agreement

    return split_half_agreement(gt.acc[gt.full], gt.params[gt.full], names=["kendall_tau"]).get("kendall_tau")
