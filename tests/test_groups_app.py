"""The app's seed-group rows and group comparison (public mode: dev split only; no hidden value reaches a page)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.scoring import metrics_payload
from harness.store import ResultStore

from test_app import bench, blob, make_app, run_page  # noqa: F401  (fixtures)
from store_fixtures import hidden_sentinels, sentinel_hits, synthetic_predictions


def _group(store: ResultStore, bench, name: str, quality: float, seeds: list[int], gt_only: bool = False) -> tuple[str, list[np.ndarray]]:
    gid = store.new_group_id()
    gt = bench.ground_truth()
    scores = []
    for s in seeds:
        pred = synthetic_predictions(bench, quality=quality, seed=10 * s + len(name))
        archs = bench.archs()
        keep = np.unique(gt.archset_index) if gt_only else np.arange(len(archs))
        run = store.create_run(benchmark=bench.name, submission=name, kind="trainer", submission_hash="h",
                               harness_version="t", gt_hash=gt.content_hash, manifest={}, group_id=gid, seed=s, gt_only=gt_only)
        store.complete_run(run, archs=[archs[i] for i in keep], predictions=pred[keep],
                           metrics=metrics_payload(bench, pred, gt, n_boot=20, seed=0), timings={})
        scores.append(pred)
    return gid, scores


def test_group_rows_and_group_comparison(tmp_path: Path, make_app, bench) -> None:  # noqa: F811
    store = ResultStore(tmp_path / "store")
    good, s1 = _group(store, bench, "good", 0.9, [0, 1, 2])
    weak, s2 = _group(store, bench, "weak", 0.3, [0, 1, 2], gt_only=True)
    at = run_page(make_app(tmp_path / "store"), None)
    frames = [d.value for d in at.dataframe]
    frame = next(f for f in frames if "95% CI (seeds + archs)" in f)
    assert list(frame["submission"]) == ["good", "weak"] and list(frame["runs"]) == [3, 3]
    assert frame["95% CI (seeds + archs)"].str.match(r"\[-?\d\.\d{3}, -?\d\.\d{3}\]").all()
    assert frame["run SD"].notna().all() and frame.loc[1, "flags"] == "GT archs only"
    assert frame.loc[0, "tied with leader"] == "yes" and frame.loc[1, "tied with leader"].startswith("no (Holm p ")
    runs = next(f for f in frames if "type" in f)
    assert runs["flags"].str.contains("run of group").any()
    at = run_page(at, "app_pages/compare.py")
    msg = " ".join(str(e.value) for e in at.success)
    assert "A better" in msg and "training seeds and GT archs" in msg and "detects |Δ|" in msg
    sentinels = hidden_sentinels(bench, s1 + s2)
    assert not sentinel_hits(blob(at), sentinels)
