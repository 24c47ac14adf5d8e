"""Tables the pages show, as pandas frames built from run records. No Streamlit here: easy to test.

Why references live in the leaderboard frame itself: the #params baseline and the GT noise ceiling are the two
numbers every row should be read against, so they sit in the same columns, marked "reference" in ``type``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from harness.metrics import LEADERBOARD_COLUMNS, METRICS, neutral_of, rank_key, split_half_of
from harness.store import RunRecord
from harness.store.records import is_stale
from harness.store.result_store import best_run_per_submission

DEFAULT_METRICS = LEADERBOARD_COLUMNS  # the one list, declared with the metrics
PER_SUBMISSION = ("best", "latest", "all")
NOISE_CEILING = "GT noise ceiling"
PARAMS_BASELINE = "#params baseline"


def label(metric: str) -> str:
    spec = METRICS.get(metric)
    return spec.label if spec else metric


def sortable_metrics() -> list[str]:
    """Metrics with a better direction (the diagnostic ones cannot rank a leaderboard)."""
    return [m for m, spec in METRICS.items() if spec.higher_is_better is not None]


def ci_column(metric: str) -> str:
    """Name of the column holding a metric's compact 95 % interval."""
    return f"{label(metric)} CI"


def direction(metric: str) -> str:
    """Which way is better: "higher", "lower", or "near N" for the diagnostic metrics."""
    spec = METRICS.get(metric)
    if spec is None:
        return "—"
    if spec.higher_is_better is None:
        if spec.neutral_per_gt:
            return "near the size-blind reference"
        return f"near {spec.neutral:g}" if spec.neutral is not None else "—"
    return "higher" if spec.higher_is_better else "lower"


def digits(metric: str) -> int:
    spec = METRICS.get(metric)
    return 2 if spec is not None and spec.unit == "pp" else 3


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def ci_text(entry: Any, metric: str) -> str:
    """Compact 95 % interval, e.g. ``[0.512, 0.577]``; empty when no bootstrap was run."""
    if not isinstance(entry, dict):
        return ""
    lo, hi = _num(entry.get("ci_low")), _num(entry.get("ci_high"))
    if lo is None or hi is None:
        return ""
    d = digits(metric)
    return f"[{lo:.{d}f}, {hi:.{d}f}]"


def choose_runs(runs: Sequence[RunRecord], *, split: str, sort_metric: str, per_submission: str) -> list[RunRecord]:
    """Completed runs ranked by ``sort_metric`` on ``split``, tie-breaks, then the earlier run.

    ``per_submission``: "best" (each submission's best run on the public dev split, see
    :func:`harness.store.result_store.best_run_per_submission`), "latest" (its most recent run) or "all".
    """
    if per_submission not in PER_SUBMISSION:
        raise ValueError(f"per_submission must be one of {PER_SUBMISSION}")
    ok = [r for r in runs if r.status == "ok"]
    if per_submission == "latest":
        latest: dict[str, RunRecord] = {}
        for r in sorted(ok, key=lambda r: (r.created_ns, r.run_id)):
            latest[r.submission] = r
        ok = list(latest.values())
    if per_submission == "best":  # chosen on the public split whatever split is shown: no selection on hidden GT
        ok = best_run_per_submission(ok, sort_metric)
    return sorted(ok, key=lambda r: (rank_key(r.report(split), sort_metric), r.created_ns, r.run_id))


def by_version(runs: Sequence[RunRecord], current: int | None = None) -> list[tuple[int, list[RunRecord]]]:
    """Runs split by benchmark version, one leaderboard each: ``current`` first, then the others newest first.

    Why: a new version of a benchmark measures something else; its runs are never ranked with another version's.
    """
    versions: dict[int, list[RunRecord]] = {}
    for r in runs:
        versions.setdefault(r.bench_version, []).append(r)
    order = sorted(versions, key=lambda v: (v != current, -v))
    return [(v, versions[v]) for v in order]


def _reference_report(ranked: Sequence[RunRecord], split: str, current_gt_hash: str | None) -> dict[str, Any]:
    for r in ranked:  # references must describe the current GT; fall back to the top run's
        if not is_stale(r.gt_hash, current_gt_hash):
            return r.report(split)
    return ranked[0].report(split) if ranked else {}


def leaderboard_frame(
    runs: Sequence[RunRecord],
    *,
    split: str,
    sort_metric: str,
    metrics: Sequence[str] = DEFAULT_METRICS,
    per_submission: str = "best",
    current_gt_hash: str | None = None,
    current_version: int | None = None,
    proxy_rows: Sequence[dict[str, Any]] = (),
) -> pd.DataFrame:
    """The leaderboard of one benchmark version: reference rows first, then ranked runs; one value and one CI
    column per metric, and the version in a ``version`` column.

    ``proxy_rows``: the benchmark's cached zero-cost proxy baselines (:func:`harness.proxies.baselines.reference_rows`),
    shown as reference rows after the #params baseline.

    ``runs`` must all be of one benchmark version (:func:`by_version` splits them): two versions are never ranked
    in one table (ValueError). ``current_version``: the benchmark's version now; runs of another version are
    not flagged stale (their GT is their version's), they are labelled "older version" instead.
    """
    versions = {r.bench_version for r in runs}
    if len(versions) > 1:
        raise ValueError(f"runs of benchmark versions {sorted(versions)} in one leaderboard; split them with by_version")
    ranked = choose_runs(runs, split=split, sort_metric=sort_metric, per_submission=per_submission)
    if current_version is not None and versions and versions != {current_version}:
        current_gt_hash = None  # an older version's GT is not the current one: nothing here is "stale"
    rows: list[dict[str, Any]] = []
    ref = _reference_report(ranked, split, current_gt_hash)
    if ref:
        ceiling = split_half_of(ref)
        base = ref.get("baseline") or {}
        row: dict[str, Any] = {"rank": None, "submission": NOISE_CEILING, "type": "reference", "kind": "GT vs GT"}
        for m in metrics:
            row[label(m)] = _num(ceiling.get(m))
            row[ci_column(m)] = ""
        rows.append(row)
        row = {"rank": None, "submission": PARAMS_BASELINE, "type": "reference", "kind": "#params"}
        for m in metrics:
            entry = base.get(m)
            row[label(m)] = _num(entry.get("value") if isinstance(entry, dict) else entry)
            row[ci_column(m)] = ci_text(entry, m)
        rows.append(row)
    for proxy in proxy_rows:  # the benchmark's cached zero-cost proxy baselines (harness.proxies.baselines)
        row = {"rank": None, "submission": f"{proxy['title']} (zero-cost proxy)", "type": "reference", "kind": "proxy"}
        for m in metrics:
            row[label(m)] = _num(proxy["metrics"].get(m))
            row[ci_column(m)] = ""
        rows.append(row)
    for i, r in enumerate(ranked, 1):
        flags = []
        if r.is_baseline:
            flags.append("baseline")
        if is_stale(r.gt_hash, current_gt_hash):
            flags.append("stale GT: rescore")
        if current_version is not None and r.bench_version != current_version:
            flags.append(f"older version ({r.version_label}; now v{current_version})")
        if r.is_single_trainer_run:
            flags.append("single run: no seed variance")
        elif r.group_id is not None:
            flags.append(f"run of group {r.group_id}")
        if r.gt_only:
            flags.append("GT archs only")
        report_metrics = r.report(split).get("metrics") or {}
        row = {"rank": i, "submission": r.submission, "type": "baseline" if r.is_baseline else "submission", "kind": r.kind,
               "version": r.version_label}
        for m in metrics:
            row[label(m)] = r.metric(m, split)
            row[ci_column(m)] = ci_text(report_metrics.get(m), m)
        row.update({"flags": ", ".join(flags), "GT archs": r.report(split).get("n"), "run": r.run_id, "created": r.created})
        rows.append(row)
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["rank"] = frame["rank"].astype("Int64")
        if "GT archs" in frame:
            frame["GT archs"] = frame["GT archs"].astype("Int64")
    return frame


def group_frame(groups: Sequence[dict[str, Any]], metric: str) -> pd.DataFrame:
    """Seed groups ranked by their mean ``metric``: runs, mean, CI over seeds and archs, run-level SD, seeds.

    ``groups``: :meth:`harness.verdicts.GroupSummary.to_dict` rows (all on one split and metric).
    """
    spec = METRICS.get(metric)
    lower = spec is not None and spec.higher_is_better is False
    ordered = sorted(groups, key=lambda g: (_num(g.get("mean")) is None, (1 if lower else -1) * (_num(g.get("mean")) or 0.0), g.get("id", "")))
    d = digits(metric)
    rows = []
    for i, g in enumerate(ordered, 1):
        iv = g.get("interval") or {}
        lo, hi = _num(iv.get("ci_low")), _num(iv.get("ci_high"))
        rows.append({
            "rank": i, "submission": g.get("submission", ""), "runs": len(g.get("runs") or []),
            label(metric): _num(g.get("mean")),
            "95% CI (seeds + archs)": "" if lo is None or hi is None else f"[{lo:.{d}f}, {hi:.{d}f}]",
            "tied with leader": _tied_text(g),
            "run SD": _num(g.get("sd")),
            "seeds": ", ".join(str(s) for s in g.get("seeds") or []),
            "flags": "GT archs only" if any(g.get("gt_only") or []) else "",
            "group": g.get("id", ""),
        })
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["rank"] = frame["rank"].astype("Int64")
    return frame


def _tied_text(g: dict[str, Any]) -> str:
    """A group's family-wise verdict against the best group (Holm over all pairs of the table)."""
    tied = g.get("tied_with_leader")
    if tied is None:
        return ""
    p = _num(g.get("p_vs_leader_holm"))
    return "yes" if tied else ("no" if p is None else f"no (Holm p {p:.3f})")


def metrics_frame(run: RunRecord, split: str, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One run's metrics on ``split``: value, 95 % CI, #params baseline and noise ceiling side by side."""
    rep = run.report(split)
    values = rep.get("metrics") or {}
    base = rep.get("baseline") or {}
    ceiling = split_half_of(rep)
    names = [m for m in (metrics or METRICS) if m in values]
    rows = []
    for m in names:
        b = base.get(m)
        rows.append({
            "metric": label(m),
            "value": run.metric(m, split),
            "95% CI": ci_text(values.get(m), m),
            "#params baseline": _num(b.get("value") if isinstance(b, dict) else b),
            "noise ceiling": _num(ceiling.get(m)),  # the split-half agreement; None where not applicable
            "neutral": neutral_of(rep, m),
            "better": direction(m),
            "about": METRICS[m].description if m in METRICS else "",
        })
    return pd.DataFrame(rows)


def history_frame(runs: Sequence[RunRecord], split: str, primary: str | None, statuses: dict[str, str]) -> pd.DataFrame:
    """A submission's runs, newest first: status, error, primary metric, timings."""
    rows = []
    for r in sorted(runs, key=lambda r: (r.created_ns, r.run_id), reverse=True):
        rows.append({
            "run": r.run_id,
            "created": r.created,
            "status": statuses.get(r.run_id, r.status),
            (label(primary) if primary else "primary"): r.metric(primary, split) if primary else None,
            "total time (s)": _num(r.timings.get("total_s")),
            "error": r.error or "",
            "benchmark version": r.version_label,
            "harness": r.harness_version,
        })
    return pd.DataFrame(rows)


def timings_frame(run: RunRecord) -> pd.DataFrame:
    return pd.DataFrame([{"stage": k.removesuffix("_s"), "seconds": _num(v)} for k, v in run.timings.items()])


def to_csv(frame: pd.DataFrame) -> bytes:
    """CSV bytes for a download, every text cell guarded against spreadsheet formulas (``=cmd|...``)."""
    from harness.submission.text import csv_cell

    guarded = frame.copy()
    for col in guarded.columns:
        if pd.api.types.is_object_dtype(guarded[col]) or pd.api.types.is_string_dtype(guarded[col]):
            guarded[col] = guarded[col].map(csv_cell)
    guarded.columns = [csv_cell(str(c)) for c in guarded.columns]
    return guarded.to_csv(index=False).encode()
