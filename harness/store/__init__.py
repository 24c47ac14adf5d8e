"""Results store: every scoring run as a row in SQLite (WAL) plus one predictions HDF5 per completed run.

Public API::

    ResultStore(root, *, read_only=False)
        create_run(...) -> run_id; complete_run(...); fail_run(...); update_metrics(...); reap() -> [run_id]
        get_run(id_or_prefix) -> RunRecord; list_runs(benchmark, submission, status); load_predictions(id)
        leaderboard(benchmark, split=, primary=, best_per_submission=); stale_runs(benchmark, gt_hash)
        fingerprint() -> (n_runs, last_change_ns)
    RunRecord                     decoded row (metrics, timings, manifest as dicts); .report(split), .metric(name, split)
"""

from harness.store.records import STATUSES, RunRecord
from harness.store.result_store import INTERRUPTED, ResultStore, new_run_id
from harness.store.schema import DB_NAME, SCHEMA_VERSION

__all__ = ["DB_NAME", "INTERRUPTED", "SCHEMA_VERSION", "STATUSES", "ResultStore", "RunRecord", "new_run_id"]
