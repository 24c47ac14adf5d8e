"""Real-data check (issue 3): the CVPR-2021 track-1 files, read from ../shared/data/cvpr21/ (skipped if absent).

Scoring the winning team's real predictions through the harness must give exactly what scipy gives on the
same arrays.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from conftest import SHARED_DATA

CVPR = SHARED_DATA / "cvpr21"
pytestmark = pytest.mark.skipif(not (CVPR / "track1_archs_50k.json").is_file(), reason=f"{CVPR} is absent")


@pytest.fixture()
def cvpr_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from harness.benchmarks.loaders import clear_cache

    monkeypatch.setenv("NAS_HARNESS_DATA", str(SHARED_DATA))
    monkeypatch.setenv("NAS_HARNESS_STORE", str(tmp_path / "store"))
    clear_cache()
    from harness.benchmarks import get_benchmark

    return get_benchmark("cvpr21-track1")


def test_archset_and_gt_read_from_user_files(cvpr_env) -> None:
    archs = cvpr_env.archs()
    assert len(archs) == 50_000 and len(set(archs)) == 50_000
    gt = cvpr_env.ground_truth()
    assert len(gt.archs) == 1000 and gt.n_seeds == 1
    assert list(gt.archset_index) == list(range(1000))  # arch1..arch1000 are the first 1000 of the list
    raw = json.loads((CVPR / "gt_first_1000.json").read_text())
    assert gt.acc[0, 0] == pytest.approx(raw["arch1"]["acc"])
    assert set(gt.splits["dev"]).isdisjoint(gt.splits["test"])


def test_first_place_predictions_match_scipy(cvpr_env, tmp_path: Path) -> None:
    from harness.scoring import score_submission
    from harness.store import ResultStore

    sub = tmp_path / "first_place"
    sub.mkdir()
    shutil.copy(CVPR / "first_place_p59_predictions.json", sub / "predictions.json")
    (sub / "submission.toml").write_text(
        'name = "cvpr21-first-place"\nauthors = ["CVPR 2021 track-1 winners"]\nbenchmark = "cvpr21-track1"\n'
        'kind = "predictions"\ndescription = "the winning real submission"\n'
    )
    run = score_submission(sub, ResultStore(tmp_path / "store"))
    assert run.status == "ok"

    preds = json.loads((CVPR / "first_place_p59_predictions.json").read_text())
    gt = cvpr_env.ground_truth()
    for split in ("dev", "test"):
        idx = gt.split_indices(split)
        p = np.asarray([preds[f"arch{i + 1}"]["acc"] for i in gt.archset_index[idx]], dtype=np.float64)
        t = gt.acc[idx, 0]
        got = run.metrics["splits"][split]["metrics"]
        assert got["pearson"]["value"] == pytest.approx(stats.pearsonr(p, t)[0], abs=1e-12)
        assert got["kendall_tau"]["value"] == pytest.approx(stats.kendalltau(p, t, variant="b")[0], abs=1e-12)
        assert got["spearman"]["value"] == pytest.approx(stats.spearmanr(p, t)[0], abs=1e-12)
        assert run.metrics["splits"][split]["noise_ceiling"]["kendall_tau"] is None  # one seed: unknown
    # the whole released GT, as the challenge reported it (Pearson over the 1000 archs)
    p_all = np.asarray([preds[f"arch{i}"]["acc"] for i in range(1, 1001)])
    assert 0.0 < stats.pearsonr(p_all, gt.acc[:, 0])[0] < 1.0
