"""The in-memory form of one run row.

Why a plain dataclass with the JSON columns already decoded: the CLI, the scoring code and the Streamlit app
all read runs, and none of them should know the SQLite layout or parse JSON themselves.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Any

STATUSES = ("running", "ok", "failed")


DEFAULT_BENCH_VERSION = 1  # rows written before versions were recorded: every spec then was version 1


def version_label(version: int | None) -> str:
    """``v1``, ``v2``: how every listing shows a benchmark version (None, an old row, is v1)."""
    return f"v{DEFAULT_BENCH_VERSION if version is None else int(version)}"


def is_stale(gt_hash: str | None, current_gt_hash: str | None, version: int | None = None,
             current_version: int | None = None) -> bool:
    """Was a run (or a group's row) scored against another GT than the current one? Its metrics need a rescore.

    With no current GT (not available here) nothing is stale: there is nothing to rescore against. A run of
    another benchmark version (both versions given and different) is not stale either: it belongs to that
    version's leaderboard, and rescoring it against this version's GT would mix the two.
    """
    if version is not None and current_version is not None and int(version) != int(current_version):
        return False
    return current_gt_hash is not None and (gt_hash or "") != current_gt_hash


@dataclass(frozen=True)
class RunRecord:
    """One scoring run as the store holds it.

    ``metrics`` is what scoring stored: ``{"primary_metric": name, "splits": {"dev": REPORT, "test": REPORT}}``
    with REPORT = :meth:`harness.metrics.MetricReport.to_dict` (empty for runs that did not finish).
    ``created`` / ``finished`` are ISO-8601 UTC strings; ``created_ns`` orders runs exactly ("earlier run first").
    """

    run_id: str
    benchmark: str
    submission: str
    kind: str
    status: str
    created: str
    finished: str | None
    timings: dict[str, float]
    metrics: dict[str, Any]
    harness_version: str
    gt_hash: str
    submission_hash: str
    error: str | None
    manifest: dict[str, Any]
    description: str
    is_baseline: bool
    pid: int | None
    host: str = ""
    created_ns: int = 0
    predictions_hash: str | None = None
    rescored: str | None = None
    group_id: str | None = None  # shared by the runs of one `score --seeds` call
    seed: int | None = None  # the training seed (None: recorded before seeds were stored)
    gt_only: bool = False  # only the GT archs were evaluated: predictions hold those archs only
    bench_version: int = DEFAULT_BENCH_VERSION  # the benchmark spec's ``version`` the run was scored on

    @property
    def version_label(self) -> str:
        """``v1``, ``v2``…: the benchmark version as listings show it."""
        return version_label(self.bench_version)

    @property
    def bench_label(self) -> str:
        """``mnist1d-w20 v1``: the benchmark with its version."""
        return f"{self.benchmark} {self.version_label}"

    @property
    def is_single_trainer_run(self) -> bool:
        """A trainer run outside any seed group: its metrics carry no training-seed variance."""
        return self.kind == "trainer" and self.group_id is None

    # ------------------------------------------------------------------ metric access
    @property
    def primary_metric(self) -> str | None:
        """The metric the run's benchmark ranks by, as recorded when it was scored."""
        return self.metrics.get("primary_metric")

    def report(self, split: str = "dev") -> dict[str, Any]:
        """The stored metric report of one GT split (``{}`` when absent)."""
        splits = self.metrics.get("splits") or {}
        rep = splits.get(split) if isinstance(splits, dict) else None
        return rep if isinstance(rep, dict) else {}

    def metric(self, name: str, split: str = "dev") -> float | None:
        """A metric's point value on ``split``, or None when it was not computed (or is not finite)."""
        entry = (self.report(split).get("metrics") or {}).get(name)
        value = entry.get("value") if isinstance(entry, dict) else entry
        try:
            v = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        return v if math.isfinite(v) else None

    def without_splits(self, keep: tuple[str, ...]) -> RunRecord:
        """A copy whose metrics hold only the GT splits in ``keep`` (the public app drops the hidden one).

        Fail-closed: only ``primary_metric`` and the kept splits survive, so a key added to the metrics layout
        later cannot carry hidden-split numbers into the public view unnoticed.
        """
        splits = self.metrics.get("splits") or {}
        metrics: dict[str, Any] = {"splits": {k: v for k, v in splits.items() if k in keep}}
        if "primary_metric" in self.metrics:
            metrics["primary_metric"] = self.metrics["primary_metric"]
        return replace(self, metrics=metrics)


def _json(text: str | None, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return default


COLUMNS: tuple[str, ...] = (
    "run_id", "benchmark", "submission", "kind", "status", "created", "created_ns", "finished", "timings",
    "metrics", "harness_version", "gt_hash", "submission_hash", "error", "manifest", "description",
    "is_baseline", "pid", "host", "predictions_hash", "rescored",
)
GROUP_COLUMN_NAMES: tuple[str, ...] = ("group_id", "seed", "gt_only")
VERSION_COLUMN_NAMES: tuple[str, ...] = ("bench_version",)
SELECT_COLUMNS = ", ".join(COLUMNS)


def record_from_row(row: tuple[Any, ...], extra: tuple[str, ...] | None = None) -> RunRecord:
    """Build a RunRecord from a row selected with :data:`SELECT_COLUMNS` + the additive columns ``extra``
    (the names, in order; see :func:`harness.store.schema.optional_columns`). Without ``extra``: the group
    columns when the row is long enough for them (the layout before versions). A missing column reads as its
    default, a NULL ``bench_version`` as version 1."""
    if extra is None:
        extra = GROUP_COLUMN_NAMES if len(row) == len(COLUMNS) + len(GROUP_COLUMN_NAMES) else ()
    d = dict(zip(COLUMNS + tuple(extra), row, strict=True))
    return RunRecord(
        run_id=d["run_id"],
        benchmark=d["benchmark"],
        submission=d["submission"],
        kind=d["kind"],
        status=d["status"],
        created=d["created"],
        finished=d["finished"],
        timings=_json(d["timings"], {}),
        metrics=_json(d["metrics"], {}),
        harness_version=d["harness_version"] or "",
        gt_hash=d["gt_hash"] or "",
        submission_hash=d["submission_hash"] or "",
        error=d["error"],
        manifest=_json(d["manifest"], {}),
        description=d["description"] or "",
        is_baseline=bool(d["is_baseline"]),
        pid=d["pid"],
        host=d["host"] or "",
        created_ns=int(d["created_ns"] or 0),
        predictions_hash=d["predictions_hash"],
        rescored=d["rescored"],
        group_id=d.get("group_id"),
        seed=None if d.get("seed") is None else int(d["seed"]),
        gt_only=bool(d.get("gt_only") or 0),
        bench_version=DEFAULT_BENCH_VERSION if d.get("bench_version") is None else int(d["bench_version"]),
    )
