"""The rows of ``nas-harness leaderboard``: a row per seed group and per single run, ranked by the primary metric.

Why here: a leaderboard row is a verdict (a group's interval carries seed and arch noise, a single trainer run is
marked as lacking seed variance), so it is computed next to :func:`summarize`; the CLI only renders the rows, and
``--json`` prints them as they are.

Why one board per benchmark *version*: a new version (another arch set, GT, data or protocol) measures something
else, so its runs are never ranked with an older version's. Each row carries its ``version``; the rows of an
older version are built from the values stored with their runs (:func:`~harness.verdicts.groups.stored_summary`),
since the current GT is not theirs.

Why every row carries ``tied_with_leader``: a board invites pairwise reading, and uncorrected pairwise verdicts
across its rows call identical trainers different in a third of boards. The rows of one table are compared
together by :func:`harness.verdicts.family.family_verdicts` (Holm over all pairs, on arch resamples shared by
every row); ``tied_with_leader`` is True when a row is not shown different from the best row after that
correction, ``p_vs_leader_holm`` its adjusted p-value, None where the row has no noise estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.errors import HarnessError
from harness.verdicts.family import Evidence, family_verdicts
from harness.verdicts.groups import resolve, side_replicates, stored_summary, summary_of

#: metrics averaged into each row besides the primary one (the keys of a row's ``metrics``; ``--json`` shows them)
ROW_METRICS: tuple[str, ...] = ("kendall_tau", "spearman", "pearson", "p_at_top_5", "p_at_top_10", "top1_regret")
#: bootstrap resamples of a group row's interval (a ranking, not a verdict: fewer than ``compare``)
ROW_BOOT = 400


def _finite(value: Any) -> float | None:
    return None if value is None or value != value else float(value)  # NaN -> None (a row without a value)


def _mean_metric(runs: Sequence[Any], name: str, split: str) -> float | None:
    vals = [v for v in (r.metric(name, split) for r in runs) if v is not None]
    return float(sum(vals) / len(vals)) if vals else None


def board_versions(store: Any, bench: Any) -> list[int]:
    """The versions a board of ``bench`` shows, one table each: the current one first (even with no run yet),
    then every older (or other) version with completed runs, newest first."""
    current = int(getattr(bench, "version", 1))
    return [current, *(v for v in store.versions(bench.name) if v != current)]


def leaderboard_rows(store: Any, bench: Any, split: str, all_runs: bool = False,
                     version: int | None = None) -> list[dict[str, Any]]:
    """Rows of one benchmark version: a row per seed group (mean, interval over seeds and archs) and per single run.

    ``version``: the benchmark version to rank (default ``bench.version``); only its runs enter, so two versions
    are never ranked in one table. Groups of the current version are summarised against the current GT; groups of
    another version from their stored values (seed interval only). Single runs are those outside any group (best
    per submission unless ``all_runs``); a trainer's single run is marked as such, since its interval lacks
    training-seed variance. Rows are ranked (``rank`` from 1) by the primary metric in its direction, missing
    values last, ties by id.
    """
    from harness.metrics import METRICS

    primary = bench.primary_metric
    current = int(getattr(bench, "version", 1))
    version = current if version is None else int(version)
    rows: list[dict[str, Any]] = []
    evidence: list[Evidence] = []
    n_archs: int | None = None
    for gid in sorted(store.groups(bench.name, version=version)):
        side = resolve(store, gid)
        if version == current:
            points, reps, n_archs = side_replicates(store, side, bench, split, primary, n_boot=ROW_BOOT)
            g = summary_of(side, split, primary, points, reps, n_archs)
            evidence.append(Evidence(gid, points, reps, tuple(side.seeds)))
        else:
            g = stored_summary(side, split, primary)
            evidence.append(Evidence(gid, np.asarray(g.values, dtype=np.float64), None, tuple(side.seeds)))
        last = side.runs[-1]
        rows.append({"type": "group", "id": gid, "submission": side.submission, "kind": side.kind,
                     "n_runs": len(side.runs), "seeds": side.seeds, "gt_only": any(r.gt_only for r in side.runs),
                     "value": _finite(g.interval.value), "ci_low": _finite(g.interval.ci_low),
                     "ci_high": _finite(g.interval.ci_high), "sd": g.sd,
                     "values": list(g.values), "metrics": {k: _mean_metric(side.runs, k, split) for k in ROW_METRICS},
                     "is_baseline": last.is_baseline, "gt_hash": last.gt_hash, "single_trainer_run": False,
                     "version": version, "recomputed": version == current})
    singles = [r for r in store.leaderboard(bench.name, split=split, primary=primary, best_per_submission=False,
                                            version=version)
               if r.group_id is None]
    seen: set[str] = set()
    for r in singles:
        if not all_runs and r.submission in seen:
            continue
        seen.add(r.submission)
        evidence.append(_run_evidence(store, r, bench, split, primary, version == current))
        est = (r.report(split).get("metrics") or {}).get(primary) or {}
        rows.append({"type": "run", "id": r.run_id, "submission": r.submission, "kind": r.kind, "n_runs": 1,
                     "seeds": [r.seed], "gt_only": r.gt_only, "value": r.metric(primary, split),
                     "ci_low": est.get("ci_low"), "ci_high": est.get("ci_high"), "sd": None, "values": [r.metric(primary, split)],
                     "metrics": {k: r.metric(k, split) for k in ROW_METRICS}, "is_baseline": r.is_baseline,
                     "gt_hash": r.gt_hash, "single_trainer_run": r.is_single_trainer_run,
                     "version": version, "recomputed": False})
    hib = METRICS[primary].higher_is_better if primary in METRICS else True
    rows.sort(key=lambda e: (e["value"] is None, -(e["value"] or 0.0) if hib is not False else (e["value"] or 0.0), e["id"]))
    for i, e in enumerate(rows, 1):
        e["rank"] = i
    leader = rows[0]["id"] if rows and rows[0]["value"] is not None else None
    fam = family_verdicts(evidence, primary, hib is not False, n_archs=n_archs, leader=leader)
    for e in rows:
        e.update(fam.rows[e["id"]].to_dict())
    return rows


def _run_evidence(store: Any, run: Any, bench: Any, split: str, metric: str, current: bool) -> Evidence:
    """A single run's evidence for the family correction: its arch replicates on the board's resamples (current
    version), else nothing (one stored value carries no noise estimate, the row stays out of the family)."""
    if current:
        try:
            points, reps, _ = side_replicates(store, resolve(store, run.run_id), bench, split, metric, n_boot=ROW_BOOT)
            return Evidence(run.run_id, points, reps, (run.seed,))
        except HarnessError:  # predictions no longer readable: the row is shown, without a verdict
            pass
    value = run.metric(metric, split)
    return Evidence(run.run_id, np.array([np.nan if value is None else float(value)]), None, (run.seed,))


def group_board(store: Any, bench: Any, split: str, metric: str, sides: Sequence[Any], *,
                n_boot: int = ROW_BOOT) -> list[dict[str, Any]]:
    """Seed groups of the current version summarised on one metric, each with its family-wise verdict against
    the best group (the app's group table): :meth:`GroupSummary.to_dict` plus ``version``,
    ``tied_with_leader``, ``p_vs_leader`` and ``p_vs_leader_holm``."""
    from harness.verdicts.groups import check_metric

    out, evidence, n_archs = [], [], None
    for side in sides:
        points, reps, n_archs = side_replicates(store, side, bench, split, metric, n_boot=n_boot)
        out.append({**summary_of(side, split, metric, points, reps, n_archs).to_dict(), "version": side.version})
        evidence.append(Evidence(side.label, points, reps, tuple(side.seeds)))
    fam = family_verdicts(evidence, metric, check_metric(metric), n_archs=n_archs)
    for row in out:
        row.update(fam.rows[row["id"]].to_dict())
    return out
