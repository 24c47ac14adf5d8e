"""The app's submission page shows a trainer run's training record, its scalars and (host view) its output,
escaped (issue 32)."""

from __future__ import annotations

from pathlib import Path

from harness.store import ResultStore

from store_fixtures import add_run
from test_app import blob, bench, make_app, run_page, texts  # noqa: F401 - pytest fixtures


def test_submission_page_shows_training_scalars_and_log(tmp_path: Path, make_app, bench) -> None:  # noqa: F811
    store = ResultStore(tmp_path / "s")
    run_id = add_run(store, benchmark=bench.name, submission="probe", kind="trainer")
    store.save_run_output(run_id, log="epoch 1 loss 0.5\n<img src=x onerror=alert(1)> **bold**",
                          scalars=[(0, "loss", 1.0), (1, "loss", 0.5)],
                          training={"hparams": {"lr": 0.1}, "overrides": {}, "budget_epochs": 10, "epochs_asked": 2,
                                    "epochs": 2, "off_budget": True, "off_budget_why": "--epochs 2 (the budget is 10)"})
    at = run_page(make_app(tmp_path / "s", mode="host"), "app_pages/submission.py")
    assert "Training" in [s.value for s in at.subheader]
    assert "lr \\= 0\\.1" in texts(at) and "Off budget" in " ".join(w.value for w in at.warning)  # escaped markdown
    assert [c.value for c in at.code] == ["epoch 1 loss 0.5\n<img src=x onerror=alert(1)> **bold**"]  # a code block: literal
    assert b"loss" in blob(at)  # the scalars chart's data

    public = run_page(make_app(tmp_path / "s", mode="public"), "app_pages/submission.py")
    assert not public.code and "shown to its own team" in texts(public)  # another team's output stays with the host
