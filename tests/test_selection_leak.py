""""Best run per submission" is chosen on the public split, also when the hidden split is shown.

A host view that ranked each submission's best run *on the hidden split* would fit the selection to the hidden
GT: a submission with many runs gains from their noise there (issue: hosting a challenge, "a leak by selection").
"""

from __future__ import annotations

from store_fixtures import add_run, payload

from harness.store import ResultStore
from leaderboard_app.tables import choose_runs


def _two_runs(store: ResultStore) -> tuple[str, str, str]:
    # run A: better on dev, worse on test; run B: the reverse. Another submission in between on test.
    a = add_run(store, submission="many-runs", metrics=payload({"kendall_tau": 0.50}, {"kendall_tau": 0.20}))
    b = add_run(store, submission="many-runs", metrics=payload({"kendall_tau": 0.30}, {"kendall_tau": 0.90}))
    c = add_run(store, submission="one-run", metrics=payload({"kendall_tau": 0.40}, {"kendall_tau": 0.40}))
    return a, b, c


def test_store_leaderboard_selects_on_dev_whatever_split_is_shown(tmp_path) -> None:
    store = ResultStore(tmp_path / "store")
    a, b, c = _two_runs(store)
    dev = [r.run_id for r in store.leaderboard("bench", split="dev", primary="kendall_tau")]
    test = [r.run_id for r in store.leaderboard("bench", split="test", primary="kendall_tau")]
    assert dev == [a, c]
    assert test == [c, a]  # run b (best on test) is never picked: it was the worse one on dev
    every = [r.run_id for r in store.leaderboard("bench", split="test", primary="kendall_tau", best_per_submission=False)]
    assert every == [b, c, a]


def test_app_best_per_submission_selects_on_dev_whatever_split_is_shown(tmp_path) -> None:
    store = ResultStore(tmp_path / "store")
    a, b, c = _two_runs(store)
    runs = store.list_runs(status="ok")
    shown = choose_runs(runs, split="test", sort_metric="kendall_tau", per_submission="best")
    assert [r.run_id for r in shown] == [c, a]
    assert [r.run_id for r in choose_runs(runs, split="dev", sort_metric="kendall_tau", per_submission="best")] == [a, c]
