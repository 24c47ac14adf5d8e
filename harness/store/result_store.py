"""The results store: a SQLite index of runs (the leaderboard rows) plus one predictions HDF5 per run.

Why this split: the rows are small and queried constantly (leaderboards, the app, ``show``); the predictions
(50,000 scores per run) are large, written once and read only to rescore, compare or plot one run.

Invariants, kept under concurrent writers and SIGKILL at any instant:

* a run is ``running`` from :meth:`ResultStore.create_run` until it becomes ``ok`` or ``failed``;
* a run is ``ok`` only if its predictions file is complete: the file is renamed into place *before* the one
  transaction that sets status, metrics and timings, so readers never see an ``ok`` row without its file;
* a ``running`` row whose process died, and any predictions file without an ``ok`` (or live ``running``) row,
  are cleaned up by :meth:`ResultStore.reap`, which every CLI command that reads the store calls first.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import StoreError, UnknownRunError, one_line
from harness.store import liveness
from harness.store.connection import ThreadConnections, write_transaction
from harness.store import predictions as pred_files
from harness.store.records import DEFAULT_BENCH_VERSION, SELECT_COLUMNS, RunRecord, record_from_row
from harness.store.schema import (
    DB_NAME,
    check_version,
    ensure_schema,
    has_group_columns,
    has_output_tables,
    optional_columns,
)

GROUP_PREFIX = "g"  # group ids are "g" + the first run's id: never confused with a run id (those start with a digit)

INTERRUPTED = "interrupted: the scoring process died"
FOREIGN_HOST_LIMIT_S = 24 * 3600.0
MAX_ERROR_CHARS = 500
_SPLITS = ("dev", "test")


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_id(ns: int) -> str:
    """``YYMMDD-HHMMSS-xxxx`` (UTC, 4 random hex digits): short, readable, sorts by start second."""
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%y%m%d-%H%M%S-") + secrets.token_hex(2)


def _clean(value: Any) -> Any:
    """JSON-safe copy: numpy scalars/arrays to Python, NaN/inf to None (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _dumps(value: Any) -> str:
    return json.dumps(_clean(value), allow_nan=False, separators=(",", ":"))


def _primary_values(metrics: dict[str, Any]) -> tuple[str | None, float | None, float | None]:
    primary = metrics.get("primary_metric")
    out: list[float | None] = []
    for split in _SPLITS:
        entry = (((metrics.get("splits") or {}).get(split) or {}).get("metrics") or {}).get(primary or "")
        value = entry.get("value") if isinstance(entry, dict) else entry
        out.append(float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None)
    return primary, out[0], out[1]


class ResultStore:
    """Runs of one results folder: ``runs.sqlite`` (WAL) and ``predictions/<run_id>.h5``.

    ``read_only=True`` opens the database with a ``mode=ro`` URI and never creates anything: the Streamlit
    app uses it so that a bug there cannot damage results. A missing store then raises StoreError.
    """

    def __init__(self, root: str | os.PathLike[str], *, read_only: bool = False, foreign_host_limit_s: float = FOREIGN_HOST_LIMIT_S) -> None:
        self.root = Path(root)
        self.read_only = read_only
        self.foreign_host_limit_s = foreign_host_limit_s
        self.db_path = self.root / DB_NAME
        self.predictions_dir = self.root / "predictions"
        self._connections = ThreadConnections(self.db_path, read_only=read_only)
        if read_only:
            if not self.db_path.is_file():
                raise StoreError(f"no results store at {self.root}: score a submission first")
            with self._connect() as con:
                check_version(con, self.db_path)
                self._groups = has_group_columns(con)
                self._optional = optional_columns(con)
                self._outputs = has_output_tables(con)
            return
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"results store path {self.root} is a file, not a folder")
        try:
            self.predictions_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create results store at {self.root}: {exc.strerror or exc}") from None
        with self._connect() as con:
            ensure_schema(con, self.db_path)
            self._optional = optional_columns(con)
        self._groups = True
        self._outputs = True

    @staticmethod
    def exists(root: str | os.PathLike[str]) -> bool:
        """Whether ``root`` holds a results database (without creating one)."""
        return (Path(root) / DB_NAME).is_file()

    # ------------------------------------------------------------------ connections
    def _connect(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """This process's and thread's connection (cached: see :mod:`harness.store.connection`); a database
        failure inside becomes one StoreError line."""
        return self._connections.guarded()

    def close(self) -> None:
        """Close this thread's connection (optional: it is closed when the thread or process ends)."""
        self._connections.drop()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction that takes the write lock up front (waits up to the busy timeout)."""
        if self.read_only:
            raise StoreError(f"results store {self.root} is open read-only")
        with self._connect() as con, write_transaction(con):
            yield con

    def _select(self, where: str = "", args: Sequence[Any] = (), order: str = "created_ns, run_id") -> list[RunRecord]:
        cols = SELECT_COLUMNS + "".join(", " + c for c in self._optional)
        sql = f"SELECT {cols} FROM runs {('WHERE ' + where) if where else ''} ORDER BY {order}"
        with self._connect() as con:
            rows = con.execute(sql, tuple(args)).fetchall()
        return [record_from_row(r, self._optional) for r in rows]

    def _version_clause(self, version: int | None) -> tuple[str, list[Any]]:
        """SQL (and its argument) keeping runs of benchmark ``version`` only; NULL (an old row) counts as 1.
        A read-only view of a store without the column: every run is version 1."""
        if version is None:
            return "", []
        if "bench_version" not in self._optional:
            return ("1" if int(version) == DEFAULT_BENCH_VERSION else "0"), []
        return f"COALESCE(bench_version, {DEFAULT_BENCH_VERSION}) = ?", [int(version)]

    def prediction_path(self, run_id: str) -> Path:
        return self.predictions_dir / f"{run_id}.h5"

    # ------------------------------------------------------------------ writing
    def create_run(
        self,
        *,
        benchmark: str,
        submission: str,
        kind: str,
        submission_hash: str,
        harness_version: str,
        gt_hash: str,
        manifest: dict[str, Any],
        description: str = "",
        is_baseline: bool = False,
        group_id: str | None = None,
        seed: int | None = None,
        gt_only: bool = False,
        bench_version: int = DEFAULT_BENCH_VERSION,
    ) -> str:
        """Record a run that starts now (status "running", this pid and host); returns its id.

        ``group_id`` ties the runs of one seed group together (see :meth:`new_group_id`); ``seed`` is the
        training seed; ``gt_only`` says that only the GT archs will be evaluated; ``bench_version`` is the
        benchmark spec's ``version`` (scoring passes ``bench.version``; runs of two versions are never ranked
        together).
        """
        from harness.submission.text import printable

        if isinstance(bench_version, bool) or not isinstance(bench_version, int) or bench_version < 1:
            raise StoreError(f"benchmark version must be a positive integer, got {bench_version!r}")

        submission = printable(submission, 200)  # a folder name reaches here unchecked when its manifest failed
        pid = os.getpid()
        for _ in range(20):
            now = time.time_ns()
            run_id = new_run_id(now)
            try:
                with self._write() as con:
                    con.execute(
                        "INSERT INTO runs (run_id, benchmark, submission, kind, status, created, created_ns, updated_ns,"
                        " pid, pid_start, host, harness_version, gt_hash, submission_hash, manifest, description,"
                        " is_baseline, timings, metrics) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', '{}')",
                        (
                            run_id, benchmark, submission, kind, _iso(now), now, now, pid, liveness.process_start(pid),
                            liveness.host_name(), harness_version, gt_hash, submission_hash, _dumps(manifest or {}),
                            description or "", int(bool(is_baseline)),
                        ),
                    )
                    con.execute(
                        "UPDATE runs SET group_id = ?, seed = ?, gt_only = ?, bench_version = ? WHERE run_id = ?",
                        (group_id, None if seed is None else int(seed), int(bool(gt_only)), int(bench_version), run_id),
                    )
                return run_id
            except sqlite3.IntegrityError:
                continue  # same second and same 4 random digits: draw again
        raise StoreError("could not allocate a unique run id; is the clock stuck?")

    def complete_run(
        self, run_id: str, *, archs: Sequence[str], predictions: np.ndarray, metrics: dict[str, Any], timings: dict[str, float]
    ) -> None:
        """Store a finished run: predictions file first (atomic rename), then status/metrics in one transaction."""
        found = self._select("run_id = ?", (run_id,))
        if not found:
            raise StoreError(f"unknown run {run_id}")
        rec = found[0]
        if rec.status != "running":
            raise StoreError(f"run {run_id} has status {rec.status}; only a running run can be completed")
        path = self.prediction_path(run_id)
        digest = pred_files.write_atomic(
            path, archs=list(archs), scores=predictions_array(predictions), attrs={"run_id": run_id, "benchmark": rec.benchmark}
        )
        primary, dev_value, test_value = _primary_values(metrics)
        now = time.time_ns()
        try:
            with self._write() as con:
                cur = con.execute(
                    "UPDATE runs SET status = 'ok', metrics = ?, primary_metric = ?, dev_primary = ?, test_primary = ?,"
                    " timings = ?, finished = ?, updated_ns = ?, predictions_hash = ?, error = NULL"
                    " WHERE run_id = ? AND status = 'running'",
                    (_dumps(metrics), primary, dev_value, test_value, _dumps(timings or {}), _iso(now), now, digest, run_id),
                )
                if cur.rowcount != 1:
                    raise StoreError(f"run {run_id} stopped being 'running' while its results were written; not stored")
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def fail_run(self, run_id: str, error: str, timings: dict[str, float] | None = None) -> None:
        """Mark a run failed with a one-line reason (and its timings so far); removes any predictions file."""
        from harness.submission.text import printable

        error = printable(one_line(error), 2000)  # reasons quote participant strings: keep them inert
        now = time.time_ns()
        with self._write() as con:
            row = con.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                raise StoreError(f"unknown run {run_id}")
            if row[0] == "ok":
                raise StoreError(f"run {run_id} already completed; it cannot be marked failed")
            con.execute(
                "UPDATE runs SET status = 'failed', error = ?, timings = COALESCE(?, timings), finished = ?, updated_ns = ?"
                " WHERE run_id = ?",
                (one_line(error, MAX_ERROR_CHARS) or "failed (no reason given)", None if timings is None else _dumps(timings), _iso(now), now, run_id),
            )
        self.prediction_path(run_id).unlink(missing_ok=True)

    def update_metrics(self, run_id: str, metrics: dict[str, Any], gt_hash: str) -> None:
        """Replace a completed run's metrics (``rescore`` against a new GT) in one transaction."""
        primary, dev_value, test_value = _primary_values(metrics)
        now = time.time_ns()
        with self._write() as con:
            row = con.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                raise StoreError(f"unknown run {run_id}")
            if row[0] != "ok":
                raise StoreError(f"run {run_id} has status {row[0]}; only completed runs can be rescored")
            con.execute(
                "UPDATE runs SET metrics = ?, primary_metric = ?, dev_primary = ?, test_primary = ?, gt_hash = ?,"
                " rescored = ?, updated_ns = ? WHERE run_id = ?",
                (_dumps(metrics), primary, dev_value, test_value, gt_hash, _iso(now), now, run_id),
            )

    # ------------------------------------------------------------------ crash recovery
    def _is_dead(self, pid: int | None, pid_start: int | None, host: str | None, created_ns: int, now_ns: int) -> bool:
        if host and host != liveness.host_name():
            return (now_ns - created_ns) / 1e9 > self.foreign_host_limit_s
        return not liveness.pid_alive(pid, pid_start)

    def reap(self) -> list[str]:
        """Fail runs whose scoring process died; remove orphan and temporary prediction files. Returns reaped ids."""
        if self.read_only:
            raise StoreError(f"results store {self.root} is open read-only; it cannot be cleaned up")
        now = time.time_ns()
        with self._connect() as con:
            rows = con.execute("SELECT run_id, pid, pid_start, host, created_ns FROM runs WHERE status = 'running'").fetchall()
        dead = [r[0] for r in rows if self._is_dead(r[1], r[2], r[3], r[4], now)]
        reaped: list[str] = []
        if dead:
            with self._write() as con:
                for run_id in dead:
                    cur = con.execute(
                        "UPDATE runs SET status = 'failed', error = ?, finished = ?, updated_ns = ?"
                        " WHERE run_id = ? AND status = 'running'",
                        (INTERRUPTED, _iso(now), now, run_id),
                    )
                    if cur.rowcount:
                        reaped.append(run_id)
        self._remove_orphans()
        return reaped

    def _remove_orphans(self) -> None:
        if not self.predictions_dir.is_dir():
            return
        with self._connect() as con:
            status = dict(con.execute("SELECT run_id, status FROM runs").fetchall())
        for path in self.predictions_dir.iterdir():
            name = path.name
            if pred_files.TMP_MARK in name:
                run_id, _, writer = name.partition(".h5" + pred_files.TMP_MARK)
                alive = writer.isdigit() and liveness.pid_alive(int(writer))
                if status.get(run_id) == "running" and alive:
                    continue
            elif name.endswith(".h5"):
                if status.get(name[:-3]) in ("ok", "running"):
                    continue
            else:
                continue  # not ours: leave it
            with contextlib.suppress(OSError):
                path.unlink()

    # ------------------------------------------------------------------ reading
    def get_run(self, run_id: str) -> RunRecord:
        """One run by id or by a unique prefix of its id."""
        key = (run_id or "").strip()
        if not key:
            raise UnknownRunError("empty run id")
        found = self._select("run_id = ?", (key,))
        if not found:
            found = self._select("substr(run_id, 1, ?) = ?", (len(key), key))
        if not found:
            raise UnknownRunError(f"no run {key!r} in the results store {self.root}")
        if len(found) > 1:
            shown = ", ".join(r.run_id for r in found[:5])
            raise UnknownRunError(f"run id prefix {key!r} is ambiguous: {len(found)} runs match ({shown}{', …' if len(found) > 5 else ''})")
        return found[0]

    def list_runs(self, benchmark: str | None = None, submission: str | None = None, status: str | None = None,
                  version: int | None = None) -> list[RunRecord]:
        """Runs, earliest first, optionally filtered by benchmark, submission name, status and benchmark version."""
        clauses, args = [], []
        for column, value in (("benchmark", benchmark), ("submission", submission), ("status", status)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        clause, vargs = self._version_clause(version)
        if clause:
            clauses.append(clause)
            args += vargs
        return self._select(" AND ".join(clauses), args)

    def versions(self, benchmark: str) -> list[int]:
        """The benchmark versions of ``benchmark``'s completed runs, newest first (each one leaderboard)."""
        return sorted({r.bench_version for r in self.list_runs(benchmark=benchmark, status="ok")}, reverse=True)

    def load_predictions(self, run_id: str) -> tuple[list[str], np.ndarray]:
        """The arch strings and scores a completed run stored (checked against the recorded hash)."""
        run = self.get_run(run_id)
        if run.status != "ok":
            raise StoreError(f"run {run.run_id} has status {run.status}; only completed runs have predictions")
        return pred_files.read(self.prediction_path(run.run_id), run.predictions_hash)

    def leaderboard(self, benchmark: str, *, split: str = "dev", primary: str, best_per_submission: bool = True,
                    version: int | None = None) -> list[RunRecord]:
        """Completed runs of ``benchmark`` ranked by ``primary`` on ``split``, then tie-breaks, then the earlier run.

        ``version``: only runs of that benchmark version (a leaderboard never ranks two versions together; None
        keeps every run, for callers that split by version themselves).

        ``best_per_submission`` keeps each submission's best run *on the public dev split*, whatever ``split`` is
        shown: choosing each one's best run on the hidden split would fit the selection to the hidden GT (a
        leak by selection, the more so the more runs a submission has).
        """
        from harness.metrics import rank_key

        if split not in _SPLITS:
            raise StoreError(f"unknown split {split!r}; use dev or test")
        off = self.off_budget_ids()
        runs = [r for r in self.list_runs(benchmark=benchmark, status="ok", version=version) if r.run_id not in off]
        if best_per_submission:
            runs = best_run_per_submission(runs, primary)
        runs.sort(key=lambda r: (rank_key(r.report(split), primary), r.created_ns, r.run_id))
        return runs

    # ------------------------------------------------------------------ seed groups
    @staticmethod
    def new_group_id() -> str:
        """A fresh group id: ``g`` + a run-id-like stamp (sorts by start second, never a run id)."""
        return GROUP_PREFIX + new_run_id(time.time_ns())

    @staticmethod
    def is_group_id(key: str) -> bool:
        return (key or "").strip().startswith(GROUP_PREFIX)

    def group_runs(self, group_id: str, status: str | None = "ok") -> list[RunRecord]:
        """The runs of one seed group (by id or unique prefix), earliest first; ``status=None``: all of them."""
        key = (group_id or "").strip()
        if not self.is_group_id(key):
            raise StoreError(f"{key!r} is not a group id (group ids start with {GROUP_PREFIX!r})")
        if not self._groups:
            raise StoreError(f"no run {key!r} in the results store {self.root}")
        with self._connect() as con:
            ids = [r[0] for r in con.execute(
                "SELECT DISTINCT group_id FROM runs WHERE substr(group_id, 1, ?) = ?", (len(key), key)).fetchall()]
        if key in ids:
            ids = [key]
        if not ids:
            raise StoreError(f"no group {key!r} in the results store {self.root}")
        if len(ids) > 1:
            raise StoreError(f"group id prefix {key!r} is ambiguous: {len(ids)} groups match ({', '.join(sorted(ids)[:5])})")
        where, args = "group_id = ?", [ids[0]]
        if status is not None:
            where += " AND status = ?"
            args.append(status)
        return self._select(where, args)

    def groups(self, benchmark: str, version: int | None = None) -> dict[str, list[RunRecord]]:
        """Completed runs of ``benchmark`` by group id (only runs that belong to a group); ``version``: only
        groups of that benchmark version (a group's version is its runs', see :func:`harness.verdicts.resolve`).
        A group with an off-budget run (``score --epochs``, or a trainer short of the budget) is left out: boards
        never rank it beside budget runs."""
        if not self._groups:
            return {}
        out: dict[str, list[RunRecord]] = {}
        clause, vargs = self._version_clause(version)
        where = "benchmark = ? AND status = 'ok' AND group_id IS NOT NULL" + (f" AND {clause}" if clause else "")
        for r in self._select(where, (benchmark, *vargs)):
            out.setdefault(r.group_id or "", []).append(r)
        off = self.off_budget_ids()
        return {g: runs for g, runs in out.items() if not any(r.run_id in off for r in runs)}

    def stale_runs(self, benchmark: str, current_gt_hash: str, version: int | None = None) -> list[RunRecord]:
        """Completed runs of ``benchmark`` scored against another GT than ``current_gt_hash``; ``version``: of
        that benchmark version only (runs of another version are not stale, they are another leaderboard)."""
        clause, vargs = self._version_clause(version)
        where = "benchmark = ? AND status = 'ok' AND COALESCE(gt_hash, '') != ?" + (f" AND {clause}" if clause else "")
        return self._select(where, (benchmark, current_gt_hash, *vargs))

    # ------------------------------------------------------------------ a trainer run's own output
    def save_run_output(self, run_id: str, *, log: str | None = None,
                        scalars: Sequence[tuple[int, str, float]] = (), training: dict[str, Any] | None = None) -> None:
        """Keep what a run's trainer printed (``log``, already bounded and made inert by the sandbox), its
        ``ctx.log`` scalars and how it trained (``training``: hyper-parameters, overrides, epochs; its
        ``off_budget`` keeps the run off every board). One transaction; replaces what the run had."""
        rows = [(run_id, int(st), str(n), float(v)) for st, n, v in scalars if math.isfinite(float(v))]
        with self._write() as con:
            if con.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
                raise StoreError(f"unknown run {run_id}")
            if log is not None:
                con.execute("INSERT OR REPLACE INTO run_logs (run_id, text) VALUES (?, ?)", (run_id, log))
            if rows:
                con.execute("DELETE FROM run_scalars WHERE run_id = ?", (run_id,))
                con.executemany("INSERT INTO run_scalars (run_id, step, name, value) VALUES (?, ?, ?, ?)", rows)
            if training is not None:
                con.execute("INSERT OR REPLACE INTO run_training (run_id, off_budget, info) VALUES (?, ?, ?)",
                            (run_id, int(bool(training.get("off_budget"))), _dumps(training)))

    def run_log(self, run_id: str) -> str:
        """A run's trainer output as stored (the last 1 MB, every line inert; escape it again for your medium);
        ``""`` when none was recorded."""
        row = self._output_row("SELECT text FROM run_logs WHERE run_id = ?", run_id)
        return row[0] if row else ""

    def run_scalars(self, run_id: str) -> list[tuple[int, str, float]]:
        """A run's ``ctx.log`` points as ``(step, name, value)`` in logging order; ``[]`` when none."""
        if not self._outputs:
            return []
        with self._connect() as con:
            rows = con.execute("SELECT step, name, value FROM run_scalars WHERE run_id = ? ORDER BY rowid",
                               (self.get_run(run_id).run_id,)).fetchall()
        return [(int(a), str(b), float(c)) for a, b, c in rows]

    def run_training(self, run_id: str) -> dict[str, Any]:
        """How a run trained (``hparams``, ``overrides``, ``budget_epochs``, ``epochs``, ``off_budget``); ``{}``
        when not recorded (a checkpoint, a run from before issue 32)."""
        row = self._output_row("SELECT info FROM run_training WHERE run_id = ?", run_id)
        return json.loads(row[0]) if row else {}

    def off_budget_ids(self) -> set[str]:
        """Ids of the runs recorded as off budget (never ranked beside budget runs)."""
        if not self._outputs:
            return set()
        with self._connect() as con:
            return {r[0] for r in con.execute("SELECT run_id FROM run_training WHERE off_budget = 1").fetchall()}

    def _output_row(self, sql: str, run_id: str) -> tuple[Any, ...] | None:
        if not self._outputs:
            return None
        key = self.get_run(run_id).run_id
        with self._connect() as con:
            return con.execute(sql, (key,)).fetchone()

    def fingerprint(self) -> tuple[int, int]:
        """(number of runs, last change in ns): changes whenever any run is written; a cheap cache key."""
        with self._connect() as con:
            n, last = con.execute("SELECT count(*), COALESCE(max(updated_ns), 0) FROM runs").fetchone()
        return int(n), int(last)


def predictions_array(values: Any) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"predictions are not numbers: {exc}") from None


SELECTION_SPLIT = "dev"
"""The split on which a submission's best run is chosen: always the public one (see :meth:`ResultStore.leaderboard`)."""


def best_run_per_submission(runs: list[RunRecord], primary: str) -> list[RunRecord]:
    """Each submission's best run by ``primary`` on the public split (ties: the earlier run)."""
    from harness.metrics import rank_key

    ranked = sorted(runs, key=lambda r: (rank_key(r.report(SELECTION_SPLIT), primary), r.created_ns, r.run_id))
    seen: set[str] = set()
    return [r for r in ranked if not (r.submission in seen or seen.add(r.submission))]
