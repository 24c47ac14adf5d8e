"""One scoring run, end to end: load the submission, get one score per arch, compute metrics, store the run.

Why this module holds nothing else: the CLI, the tests and batch scripts all call :func:`score_submission`,
so the order of the steps (and the rule that every started run ends as "ok" or "failed", never half-written)
lives in exactly one place.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness import __version__
from harness.benchmarks import Benchmark, get_benchmark
from harness.errors import HarnessError, ManifestError, SubmissionError
from harness.gt.gt_file import GroundTruth
from harness.metrics import evaluate_predictions
from harness.store import ResultStore, RunRecord

SPLITS = ("dev", "test")
ProgressFn = Callable[[str, float, str], None]  # (stage, fraction, message)


@dataclass
class ScoreOptions:
    evaluator: str = "fast"
    device: str = "cpu"
    seed: int = 0
    n_boot: int = 1000
    budget_seconds: float | None = None
    progress: bool = True
    on_progress: ProgressFn | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def split_metrics(pred: np.ndarray, gt: GroundTruth, *, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Metrics of arch-set-aligned predictions against the GT, per GT split (dev public, test hidden)."""
    if gt.archset_index is None:
        raise HarnessError("the ground truth does not say where its archs are in the arch set")
    out: dict[str, Any] = {}
    for split in SPLITS:
        idx = gt.split_indices(split)
        if idx.size < 3:
            continue
        report = evaluate_predictions(
            pred[gt.archset_index[idx]], gt.acc[idx], gt.params[idx], n_boot=n_boot, seed=seed
        )
        out[split] = report.to_dict()
    return out


def metrics_payload(bench: Benchmark, pred: np.ndarray, gt: GroundTruth, *, n_boot: int, seed: int) -> dict[str, Any]:
    return {"primary_metric": bench.primary_metric, "splits": split_metrics(pred, gt, n_boot=n_boot, seed=seed)}


def _predict(sub: Any, bench: Benchmark, archs: list[str], opts: ScoreOptions, timings: dict[str, float]) -> np.ndarray:
    """One score per arch of the arch set, by the submission's kind."""
    from harness.evaluation import evaluate
    from harness.submission import SubnetModuleHandle, load_checkpoint, read_predictions, run_trainer

    if sub.kind == "predictions":
        t0 = time.perf_counter()
        pred = read_predictions(sub.payload_path, archs, bench.space)
        timings["read_s"] = time.perf_counter() - t0
        return pred
    t0 = time.perf_counter()
    if sub.kind == "checkpoint":
        model = load_checkpoint(sub.payload_path, bench)
        timings["load_s"] = time.perf_counter() - t0
    else:
        budget = bench.budget
        if opts.budget_seconds is not None:
            from dataclasses import replace

            budget = replace(budget, seconds=float(opts.budget_seconds))
        progress = None
        if opts.on_progress is not None:
            progress = lambda frac, msg: opts.on_progress("train", frac, msg)  # noqa: E731
        model = run_trainer(sub, bench, budget=budget, device=opts.device, seed=opts.seed, progress=progress)
        timings["train_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    eval_progress: Any = opts.progress
    if opts.on_progress is not None:
        eval_progress = lambda frac, msg: opts.on_progress("evaluate", frac, msg)  # noqa: E731
    if isinstance(model, SubnetModuleHandle):
        # A submission's own module class: evaluated inside the sandbox, never unpickled here.
        try:
            pred = model.evaluate(bench, archs, device=opts.device, seed=opts.seed,
                                  progress=eval_progress if callable(eval_progress) else None)
        finally:
            model.close()
    else:
        pred = evaluate(model, bench, archs, evaluator=opts.evaluator, device=opts.device, progress=eval_progress)
    timings["eval_s"] = time.perf_counter() - t0
    return np.asarray(pred, dtype=np.float64)


def score_submission(sub_dir: Path, store: ResultStore, opts: ScoreOptions | None = None) -> RunRecord:
    """Score the submission in ``sub_dir`` and record the run; raises HarnessError (after recording) on failure."""
    from harness.submission import load_submission

    opts = opts or ScoreOptions()
    started = time.perf_counter()
    sub_dir = Path(sub_dir)
    try:
        sub = load_submission(sub_dir)
    except ManifestError as exc:
        # A run row still records the attempt, so a challenge host sees every failed upload.
        run_id = store.create_run(
            benchmark="?", submission=sub_dir.name, kind="?", submission_hash="", harness_version=__version__,
            gt_hash="", manifest={}, description="",
        )
        store.fail_run(run_id, str(exc), {"total_s": time.perf_counter() - started})
        raise
    bench = get_benchmark(sub.manifest.benchmark)
    gt = bench.ground_truth()
    archs = bench.archs()
    run_id = store.create_run(
        benchmark=bench.name,
        submission=sub.manifest.name,
        kind=sub.kind,
        submission_hash=sub.content_hash,
        harness_version=__version__,
        gt_hash=gt.content_hash,
        manifest=sub.manifest.as_dict(),
        description=sub.manifest.description,
        is_baseline=bool(sub.manifest.baseline),
    )
    timings: dict[str, float] = {}
    try:
        pred = _predict(sub, bench, archs, opts, timings)
        if pred.shape != (len(archs),) or not np.all(np.isfinite(pred)):
            raise SubmissionError("the supernet produced non-finite scores for some subnets")
        t0 = time.perf_counter()
        metrics = metrics_payload(bench, pred, gt, n_boot=opts.n_boot, seed=opts.seed)
        timings["metrics_s"] = time.perf_counter() - t0
        timings["total_s"] = time.perf_counter() - started
        store.complete_run(run_id, archs=archs, predictions=pred, metrics=metrics, timings=timings)
    except HarnessError as exc:
        timings["total_s"] = time.perf_counter() - started
        store.fail_run(run_id, str(exc), timings)
        raise
    except BaseException as exc:  # KeyboardInterrupt / internal bugs: record, then let it propagate
        timings["total_s"] = time.perf_counter() - started
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"internal error: {type(exc).__name__}: {exc}"
        store.fail_run(run_id, " ".join(reason.split()), timings)
        raise
    return store.get_run(run_id)


def rescore_run(store: ResultStore, run: RunRecord, *, n_boot: int = 1000, seed: int = 0) -> RunRecord:
    """Recompute a stored run's metrics from its stored predictions against the benchmark's current GT."""
    bench = get_benchmark(run.benchmark)
    gt = bench.ground_truth()
    archs, scores = store.load_predictions(run.run_id)
    if list(archs) != bench.archs():
        raise HarnessError(f"run {run.run_id}: its predictions are for another arch set; score the submission again")
    metrics = metrics_payload(bench, np.asarray(scores, dtype=np.float64), gt, n_boot=n_boot, seed=seed)
    store.update_metrics(run.run_id, metrics, gt.content_hash)
    return store.get_run(run.run_id)
