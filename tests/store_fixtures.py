"""Stores full of runs and a synthetic benchmark whose hidden values are recognisable, for the store and app tests.

Why synthetic: the store and the app need *a* benchmark with a GT in the real layout, not a trained one.
The hidden (test) split is filled with sentinels — arch strings, accuracies and predicted scores that appear
nowhere else — so a test can prove that none of them reaches a page or a download in public mode.

Run as a script it is the writer process of the concurrency and SIGKILL tests::

    python tests/store_fixtures.py ROOT NAME N_RUNS N_ARCHS [CRASH]

CRASH: ``before_replace`` (SIGKILL itself once the temporary predictions file is written) or
``after_replace`` (SIGKILL itself after the rename, before the status transaction), or ``loop`` (write runs
forever until killed from outside).
"""

from __future__ import annotations

import os
import signal
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.gt.gt_file import GroundTruth, content_hash

METRIC_NAMES = ("pearson", "kendall_tau", "spearman", "p_at_top_5", "p_at_top_10", "top1_regret")


# ------------------------------------------------------------------------------------------ metric payloads
def report(values: dict[str, float], *, n: int = 100, half_ci: float = 0.05) -> dict[str, Any]:
    """A REPORT dict (the layout harness.metrics.MetricReport.to_dict writes) from point values."""

    def est(v: float | None) -> dict[str, float | None]:
        return {"value": v, "ci_low": None if v is None else v - half_ci, "ci_high": None if v is None else v + half_ci}

    return {
        "n": n,
        "n_seeds": 2,
        "metrics": {k: est(v) for k, v in values.items()},
        "baseline": {k: est(0.5 * v) for k, v in values.items()},
        "noise_ceiling": {k: 0.95 for k in values},
    }


def payload(dev: dict[str, float], test: dict[str, float] | None = None, primary: str = "kendall_tau") -> dict[str, Any]:
    """The metrics JSON that scoring stores for a run."""
    splits = {"dev": report(dev)}
    if test is not None:
        splits["test"] = report(test)
    return {"primary_metric": primary, "splits": splits}


def add_run(
    store: Any,
    *,
    benchmark: str = "bench",
    submission: str = "sub",
    archs: list[str] | None = None,
    scores: np.ndarray | None = None,
    metrics: dict[str, Any] | None = None,
    status: str = "ok",
    kind: str = "predictions",
    gt_hash: str = "gt-1",
    is_baseline: bool = False,
    error: str = "boom",
    description: str = "",
    timings: dict[str, float] | None = None,
) -> str:
    """Create a run through the public store API and leave it ``ok``, ``failed`` or ``running``."""
    run_id = store.create_run(
        benchmark=benchmark, submission=submission, kind=kind, submission_hash=f"hash-{submission}",
        harness_version="0.1.0", gt_hash=gt_hash, manifest={"name": submission, "kind": kind, "benchmark": benchmark},
        description=description or f"{submission}: a test submission", is_baseline=is_baseline,
    )
    if status == "ok":
        archs = archs if archs is not None else [f"a{i:05d}z" for i in range(20)]
        scores = scores if scores is not None else np.linspace(0, 1, len(archs))
        store.complete_run(
            run_id, archs=archs, predictions=scores, metrics=metrics or payload({"kendall_tau": 0.5}),
            timings=timings or {"read_s": 0.1, "metrics_s": 0.2, "total_s": 0.3},
        )
    elif status == "failed":
        store.fail_run(run_id, error, timings or {"total_s": 0.1})
    return run_id


# ------------------------------------------------------------------------------------------ synthetic benchmark
@dataclass
class SyntheticBenchmark:
    """Just what the app asks of a benchmark: name, description, primary metric, arch set and GT."""

    name: str
    description: str
    primary_metric: str
    archset: list[str]
    gt: GroundTruth
    extra: dict[str, Any] = field(default_factory=dict)

    def archs(self) -> list[str]:
        return self.archset

    def ground_truth(self) -> GroundTruth:
        return self.gt


def arch_name(i: int) -> str:
    """Fixed width, delimited on both ends, so that one arch string is never inside another (or two joined)."""
    return f"a{i:05d}z"


def make_synthetic_benchmark(name: str = "synth-w", n_archs: int = 400, n_gt: int = 120, seeds: int = 2, seed: int = 0) -> SyntheticBenchmark:
    """A benchmark whose GT test split holds sentinel accuracies (…×1e-4 + 3.14159e-7·(seed+1))."""
    rng = np.random.default_rng(seed)
    archset = [arch_name(i) for i in range(n_archs)]
    gt_pos = np.sort(rng.choice(n_archs, size=n_gt, replace=False))
    params = (1000 + 37 * gt_pos + rng.integers(0, 500, n_gt)).astype(np.int64)
    quality = 0.6 + 0.3 * (params - params.min()) / np.ptp(params)
    acc = np.clip(quality[:, None] + rng.normal(0, 0.02, (n_gt, seeds)), 0.05, 0.99)
    acc = np.round(acc * 400) / 400  # dev: multiples of 1/400
    perm = rng.permutation(n_gt)
    test = np.sort(perm[: n_gt // 2])
    dev = np.sort(perm[n_gt // 2 :])
    tail = 3.14159e-7 * (np.arange(seeds) + 1)
    acc[test] = np.round(acc[test], 4) + tail[None, :]  # sentinels: no dev value or metric looks like these
    splits = {"dev": dev, "test": test}
    archs = [archset[i] for i in gt_pos]
    gt = GroundTruth(
        archs=archs, acc=acc, params=params, flops=params * 10, splits=splits, archset_index=gt_pos,
        attrs={"synthetic": True}, content_hash=content_hash(acc, archs, splits),
    )
    return SyntheticBenchmark(name=name, description="synthetic benchmark with sentinel hidden values",
                              primary_metric="kendall_tau", archset=archset, gt=gt)


def synthetic_predictions(bench: Any, quality: float, seed: int) -> np.ndarray:
    """Scores for every arch of the arch set; at hidden-split archs they end in a sentinel tail (…e-9·2.71828).

    ``bench``: a SyntheticBenchmark or a real harness Benchmark (anything with archs() and ground_truth()).
    """
    rng = np.random.default_rng(seed)
    gt = bench.ground_truth()
    scores = rng.uniform(0.1, 0.9, len(bench.archs()))
    scores[gt.archset_index] = quality * gt.mean_acc + (1 - quality) * rng.uniform(0.5, 0.9, len(gt.archs))
    scores = np.round(scores, 6)
    test_pos = gt.archset_index[gt.splits["test"]]
    scores[test_pos] += 2.71828e-9 * (1 + np.arange(test_pos.size) % 7)
    return scores


def hidden_sentinels(bench: Any, stores_scores: list[np.ndarray]) -> dict[str, list[Any]]:
    """What must never reach a public page: hidden arch strings, their accuracies (per seed and mean), scores."""
    gt = bench.ground_truth()
    test = gt.splits["test"]
    floats = [*gt.acc[test].ravel().tolist(), *gt.mean_acc[test].tolist()]
    for scores in stores_scores:
        floats.extend(scores[gt.archset_index[test]].tolist())
    return {"archs": [gt.archs[i] for i in test], "floats": floats}


def sentinel_hits(blob: bytes, sentinels: dict[str, list[Any]]) -> list[str]:
    """Which sentinels occur in ``blob``: arch strings as UTF-8, floats as float64 bytes or as text."""
    hits = [a for a in sentinels["archs"] if a.encode() in blob]
    for v in sentinels["floats"]:
        if struct.pack("<d", v) in blob or repr(v).encode() in blob:
            hits.append(repr(v))
    return hits


def populate(
    store: Any, bench: Any, n_ok: int = 6, n_failed: int = 2, n_running: int = 0, n_boot: int = 20, names: list[str] | None = None
) -> dict[str, Any]:
    """Scored runs (real metrics from harness.scoring.split_metrics), failed runs and running runs.

    ``names``: submission names to cycle through (default team-000, team-001, …).
    """
    from harness.scoring import split_metrics

    gt, archset = bench.ground_truth(), bench.archs()
    ids, all_scores = [], []
    distinct = min(n_ok, 8)  # metrics are computed for a few prediction sets and reused: fast 200-run stores
    cache: dict[int, tuple[np.ndarray, dict[str, Any]]] = {}
    for i in range(n_ok):
        j = i % distinct if distinct else 0
        if j not in cache:
            scores = synthetic_predictions(bench, quality=0.2 + 0.7 * j / max(distinct - 1, 1), seed=j)
            metrics = {"primary_metric": bench.primary_metric, "splits": split_metrics(scores, gt, n_boot=n_boot, seed=0)}
            cache[j] = (scores, metrics)
            all_scores.append(scores)
        scores, metrics = cache[j]
        name = names[i % len(names)] if names else f"team-{i:03d}"
        ids.append(add_run(store, benchmark=bench.name, submission=name, archs=archset, scores=scores,
                           metrics=metrics, gt_hash=gt.content_hash, is_baseline=(i == 0),
                           kind=("trainer", "checkpoint", "predictions")[i % 3]))
    failed = [add_run(store, benchmark=bench.name, submission=f"broken-{i}", status="failed",
                      error=f"trainer crashed: ValueError in epoch {i}") for i in range(n_failed)]
    running = [add_run(store, benchmark=bench.name, submission=f"busy-{i}", status="running") for i in range(n_running)]
    return {"ok": ids, "failed": failed, "running": running, "scores": all_scores}


# ------------------------------------------------------------------------------------------ writer process
def _writer_main(argv: list[str]) -> None:
    from harness.store import ResultStore
    from harness.store import predictions as pred_files

    root, name, n_runs, n_archs = Path(argv[0]), argv[1], int(argv[2]), int(argv[3])
    crash = argv[4] if len(argv) > 4 else ""
    store = ResultStore(root)
    archs = [arch_name(i) for i in range(n_archs)]
    if crash == "before_replace":
        real_replace = os.replace

        def replace(src: Any, dst: Any) -> None:
            if pred_files.TMP_MARK in str(src):
                os.kill(os.getpid(), signal.SIGKILL)
            real_replace(src, dst)

        pred_files.os.replace = replace  # type: ignore[attr-defined]
    elif crash == "after_replace":
        real_write = pred_files.write_atomic

        def write_then_die(*args: Any, **kwargs: Any) -> str:
            real_write(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)
            return ""

        pred_files.write_atomic = write_then_die  # type: ignore[assignment]
    i = 0
    while crash == "loop" or i < n_runs:
        scores = np.random.default_rng(i).normal(size=n_archs)
        add_run(store, benchmark="bench", submission=f"{name}-{i}", archs=archs, scores=scores,
                metrics=payload({"kendall_tau": float(scores[0])}, {"kendall_tau": float(scores[1])}))
        i += 1
    print(f"{name} wrote {i}", flush=True)


if __name__ == "__main__":
    _writer_main(sys.argv[1:])
