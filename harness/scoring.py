"""One scoring run, end to end: load the submission, get one score per arch, compute metrics, store the run.

Why this module holds nothing else: the CLI, the tests and batch scripts all call :func:`score_submission`,
so the order of the steps (and the rule that every started run ends as "ok" or "failed", never half-written)
lives in exactly one place.

Why the GT archs are evaluated first: the metrics need only them (a few hundred of the 50,000), so the final
metrics are known minutes before the full sweep ends. :class:`ScoreOptions` ``on_metrics`` receives them then;
the rest of the arch set is evaluated afterwards (or skipped with ``gt_only``, recorded on the run). The GT
archs' stored scores are the very numbers the metrics used: the second pass never re-evaluates them.

:func:`score_group` scores one trainer with several seeds as one seed group (a run per seed, one group id).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.version import __version__
from harness.benchmarks import Benchmark, get_benchmark
from harness.errors import EvaluationTimeoutError, HarnessError, ManifestError, SubmissionError, one_line
from harness.faults import participant_bytes
from harness.gt.gt_file import GroundTruth
from harness.metrics import evaluate_predictions
from harness.progress import ProgressArg, ProgressEvent, resolve, restage
from harness.store import ResultStore, RunRecord

SPLITS = ("dev", "test")


@dataclass
class ScoreOptions:
    evaluator: str = "fast"
    device: str = "cpu"
    seed: int = 0
    n_boot: int = 1000
    budget_seconds: float | None = None
    #: a :data:`harness.progress.ProgressCallback` (stages "train", "evaluate GT archs", "evaluate the rest",
    #: "seeds"), True (log lines) or False (silent); see :func:`harness.progress.resolve`
    progress: ProgressArg = True
    extra: dict[str, Any] = field(default_factory=dict)
    gt_only: bool = False  # evaluate the GT archs only (quick iteration); the run records it
    group_id: str | None = None  # set by score_group
    #: hyper-parameter overrides of the manifest's ``[hparams]`` (``score --set``); recorded with the run
    hparams: dict[str, Any] = field(default_factory=dict)
    #: train this many epochs instead of the budget's (``score --epochs``): the run is recorded off budget
    epochs: int | None = None
    on_metrics: Callable[[dict[str, Any]], None] | None = None  # the metrics payload, as soon as the GT archs are done
    #: the name the run row carries from creation (a challenge job: its team, host-given); None: the manifest's name.
    #: The manifest's own name is then kept as data only (in the stored manifest), never as the row's identity.
    row_name: str | None = None


def gt_positions(gt: GroundTruth) -> np.ndarray:
    """Sorted arch-set positions of every complete GT arch (all splits): what the metrics need."""
    if gt.archset_index is None:
        raise HarnessError("the ground truth does not say where its archs are in the arch set")
    return np.unique(gt.archset_index[gt.split_indices("all")])


def split_predictions(archs: list[str], scores: np.ndarray, gt: GroundTruth, split: str) -> np.ndarray:
    """A stored run's scores of the GT archs of ``split``, in GT order; works for full and GT-only runs.

    Looked up by arch string (:func:`harness.gt.align.split_scores`, the app's alignment too), so a GT-only run
    and a full run give the same numbers. Raises HarnessError when a GT arch is missing (another arch set).
    """
    from harness.gt.align import split_scores

    return split_scores(archs, scores, gt, split)


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
            pred[gt.archset_index[idx]], gt.acc[idx], gt.params[idx], n_boot=n_boot, seed=seed,
            clusters=gt.split_clusters(split)
        )
        out[split] = report.to_dict()
    return out


def metrics_payload(bench: Benchmark, pred: np.ndarray, gt: GroundTruth, *, n_boot: int, seed: int) -> dict[str, Any]:
    return {"primary_metric": bench.primary_metric, "splits": split_metrics(pred, gt, n_boot=n_boot, seed=seed)}


def _predict(
    sub: Any, bench: Benchmark, archs: list[str], opts: ScoreOptions, timings: dict[str, float],
    first: np.ndarray, on_first: Callable[[np.ndarray], None], output: Any = None,
) -> np.ndarray:
    """One score per arch of the arch set, by the submission's kind.

    The archs at positions ``first`` (the GT archs) are evaluated first and handed to ``on_first`` (a full-length
    array, NaN elsewhere); then the rest, unless ``opts.gt_only`` (their scores stay NaN).
    """
    from harness.submission import load_checkpoint, read_predictions, run_trainer

    if sub.kind == "predictions":
        t0 = time.perf_counter()
        pred = read_predictions(sub.payload_path, archs, bench.space)
        timings["read_s"] = time.perf_counter() - t0
        on_first(np.asarray(pred, dtype=np.float64))
        return pred
    t0 = time.perf_counter()
    if sub.kind == "checkpoint":
        model = load_checkpoint(sub.payload_path, bench)
        timings["load_s"] = time.perf_counter() - t0
    else:
        budget = run_budget(bench, opts)
        progress = resolve(opts.progress)
        with participant_bytes("the trainer's output"):  # its out/state.pt is as hostile as a checkpoint
            model = run_trainer(sub, bench, budget=budget, device=opts.device, seed=opts.seed,
                                progress=restage(progress, "train"), hparams=effective_hparams(sub, opts),
                                output=output)
        timings["train_s"] = time.perf_counter() - t0
    return evaluate_gt_first(model, bench, archs, opts, timings, first, on_first)


def run_budget(bench: Benchmark, opts: ScoreOptions) -> Any:
    """The budget a trainer gets: the benchmark's, with ``--budget-seconds`` and ``--epochs`` applied."""
    from dataclasses import replace

    budget = bench.budget
    if opts.budget_seconds is not None:
        budget = replace(budget, seconds=float(opts.budget_seconds))
    if opts.epochs is not None:
        budget = replace(budget, epochs=int(opts.epochs))
    return budget


def effective_hparams(sub: Any, opts: ScoreOptions) -> dict[str, Any]:
    """The trainer's ``ctx.hparams``: the manifest's ``[hparams]`` with ``opts.hparams`` overriding; a key the
    manifest does not declare is a one-line error (a typo must not be silently ignored)."""
    from harness.submission.manifest import check_hparams

    unknown = sorted(set(opts.hparams) - set(sub.manifest.hparams))
    if unknown:
        known = ", ".join(sorted(sub.manifest.hparams)) or "none"
        raise ManifestError(f"--set {unknown[0]}: submission.toml's [hparams] has no {unknown[0]!r} (declared: {known})")
    return {**sub.manifest.hparams, **check_hparams(dict(opts.hparams), "--set")}


def training_record(bench: Benchmark, sub: Any, opts: ScoreOptions, output: Any) -> dict[str, Any]:
    """How a trainer run trained, stored with it: hyper-parameters (and which were overridden), the budget's
    epochs, the epochs asked (``--epochs``) and trained (as its context counted them: None when it did not use
    ``ctx.batches`` nor set ``ctx.epochs_trained``), and the sandbox's torch threads (a wall-clock budget buys more
    steps with more threads). ``off_budget`` when it was asked for other epochs than the budget's or trained fewer
    than asked: such a run is never ranked beside budget runs."""
    budget_epochs = int(bench.budget.epochs)
    asked = budget_epochs if opts.epochs is None else int(opts.epochs)
    trained = output.epochs if output is not None and output.epochs else None
    reasons = []
    if asked != budget_epochs:
        reasons.append(f"--epochs {asked} (the budget is {budget_epochs})")
    if trained is not None and trained < asked:
        reasons.append(f"trained {trained} of {asked} epochs")
    from harness.config import sandbox_threads

    return {"hparams": effective_hparams(sub, opts), "overrides": dict(opts.hparams), "budget_epochs": budget_epochs,
            "epochs_asked": asked, "epochs": trained, "off_budget": bool(reasons), "off_budget_why": "; ".join(reasons),
            "sandbox_threads": sandbox_threads()}


def _keep_output(store: ResultStore, run_id: str, bench: Benchmark, sub: Any, opts: ScoreOptions, output: Any) -> None:
    """Store a trainer run's output and training record; a failure here never hides the run's own outcome."""
    if output is None:
        return
    try:
        store.save_run_output(run_id, log=output.log, scalars=output.scalars,
                              training=training_record(bench, sub, opts, output))
    except HarnessError:
        pass


def evaluate_gt_first(
    model: Any, bench: Benchmark, archs: list[str], opts: ScoreOptions, timings: dict[str, float],
    first: np.ndarray, on_first: Callable[[np.ndarray], None],
) -> np.ndarray:
    """Evaluate ``model`` on the archs at ``first`` (handed to ``on_first`` at once), then on the rest.

    Two calls of :func:`harness.evaluation.evaluate` (the evaluator is not told about the GT); a
    :class:`SubnetModuleHandle` is closed at the end either way.
    """
    from harness.evaluation import evaluate
    from harness.submission import SubnetModuleHandle

    rest = np.setdiff1d(np.arange(len(archs)), first)
    pred = np.full(len(archs), np.nan)
    progress = resolve(opts.progress)
    cap = float(bench.budget.eval_seconds)
    timings["eval_cap_s"] = cap
    deadline = time.monotonic() + cap

    def run_pass(stage: str, positions: np.ndarray) -> np.ndarray:
        eval_progress = capped(restage(progress, stage), deadline, cap)
        subset = [archs[i] for i in positions]
        with participant_bytes("the submission's weights"):  # evaluating them is reading participant bytes too
            if isinstance(model, SubnetModuleHandle):
                # A submission's own module class: evaluated inside the sandbox, never unpickled here.
                out = model.evaluate(bench, subset, device=opts.device, seed=opts.seed, progress=eval_progress)
            else:
                out = evaluate(model, bench, subset, evaluator=opts.evaluator, device=opts.device, progress=eval_progress)
        out = np.asarray(out, dtype=np.float64)
        if out.shape != (positions.size,) or not np.all(np.isfinite(out)):
            raise SubmissionError("the supernet produced non-finite scores for some subnets")
        return out

    try:
        t0 = time.perf_counter()
        pred[first] = run_pass("evaluate GT archs", first)
        timings["eval_gt_s"] = time.perf_counter() - t0
        on_first(pred)
        if not opts.gt_only and rest.size:
            t0 = time.perf_counter()
            pred[rest] = run_pass("evaluate the rest", rest)
            timings["eval_rest_s"] = time.perf_counter() - t0
    finally:
        if isinstance(model, SubnetModuleHandle):
            model.close()
    return pred


def capped(progress: Callable[[ProgressEvent], None], deadline: float, cap: float) -> Callable[[ProgressEvent], None]:
    """``progress`` that stops the evaluation once ``time.monotonic()`` passes ``deadline``.

    Why through progress: the evaluators report after every chunk (fast) or subnet (reference loop), in the
    process that waits on their workers, so raising there stops the pass (its workers are terminated)."""
    def report(event: ProgressEvent) -> None:
        if time.monotonic() > deadline:
            raise EvaluationTimeoutError(f"the evaluation ran past the benchmark's wall-clock cap of {cap:g} s and was stopped")
        progress(event)

    return report


def score_submission(sub_dir: Path, store: ResultStore, opts: ScoreOptions | None = None) -> RunRecord:
    """Score the submission in ``sub_dir`` and record the run; raises HarnessError (after recording) on failure.

    A raised exception carries the failed run's id as ``run_id``: a challenge job keeps it, so its team can read
    the trainer's output of a failed attempt."""
    from harness.submission import load_submission

    opts = opts or ScoreOptions()
    started = time.perf_counter()
    sub_dir = Path(sub_dir)
    try:
        with participant_bytes(f"submission folder {sub_dir.name}"):
            sub = load_submission(sub_dir)
    except (ManifestError, SubmissionError) as exc:
        # A run row still records the attempt, so a challenge host sees every failed upload.
        run_id = store.create_run(
            benchmark="?", submission=opts.row_name or sub_dir.name, kind="?", submission_hash="", harness_version=__version__,
            gt_hash="", manifest={}, description="",
        )
        store.fail_run(run_id, str(exc), {"total_s": time.perf_counter() - started})
        exc.run_id = run_id  # type: ignore[attr-defined]  # a challenge job keeps its failed run (its trainer log)
        raise
    bench = get_benchmark(sub.manifest.benchmark)
    gt = bench.ground_truth()
    archs = bench.archs()
    if sub.kind != "trainer" and (opts.hparams or opts.epochs is not None):
        raise ManifestError(f"--set and --epochs need a trainer submission; {sub.manifest.name!r} is a {sub.kind}")
    manifest = sub.manifest.as_dict()
    if sub.kind == "trainer" and sub.manifest.hparams:
        manifest["hparams"] = effective_hparams(sub, opts)  # what the trainer got, overrides included
    output = _new_output() if sub.kind == "trainer" else None
    run_id = store.create_run(
        benchmark=bench.name,
        submission=opts.row_name or sub.manifest.name,
        kind=sub.kind,
        submission_hash=sub.content_hash,
        harness_version=__version__,
        gt_hash=gt.content_hash,
        bench_version=bench.version,
        manifest=manifest,
        description=sub.manifest.description,
        is_baseline=bool(sub.manifest.baseline),
        group_id=opts.group_id,
        seed=opts.seed if sub.kind == "trainer" else None,
        gt_only=opts.gt_only and sub.kind != "predictions",
    )
    timings: dict[str, float] = {}
    first = gt_positions(gt)
    done: dict[str, Any] = {}

    def on_first(pred_first: np.ndarray) -> None:
        t0 = time.perf_counter()
        done["metrics"] = metrics_payload(bench, pred_first, gt, n_boot=opts.n_boot, seed=opts.seed)
        timings["metrics_s"] = time.perf_counter() - t0
        timings["to_metrics_s"] = time.perf_counter() - started
        if opts.on_metrics is not None:
            opts.on_metrics(done["metrics"])

    try:
        pred = np.asarray(_predict(sub, bench, archs, opts, timings, first, on_first, output), dtype=np.float64)
        if pred.shape != (len(archs),):
            raise SubmissionError("the supernet produced the wrong number of scores")
        if opts.gt_only and sub.kind != "predictions":
            store_archs, store_pred = [archs[i] for i in first], pred[first]
        else:
            store_archs, store_pred = archs, pred
        if not np.all(np.isfinite(store_pred)):
            raise SubmissionError("the supernet produced non-finite scores for some subnets")
        timings["total_s"] = time.perf_counter() - started
        _keep_output(store, run_id, bench, sub, opts, output)  # before "ok": an off-budget run is never ranked
        store.complete_run(run_id, archs=store_archs, predictions=store_pred, metrics=done["metrics"], timings=timings)
    except HarnessError as exc:
        timings["total_s"] = time.perf_counter() - started
        _keep_output(store, run_id, bench, sub, opts, output)
        store.fail_run(run_id, str(exc), timings)
        exc.run_id = run_id  # type: ignore[attr-defined]
        raise
    except BaseException as exc:  # KeyboardInterrupt / internal bugs: record, then let it propagate
        timings["total_s"] = time.perf_counter() - started
        _keep_output(store, run_id, bench, sub, opts, output)
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else f"internal error: {type(exc).__name__}: {exc}"
        store.fail_run(run_id, one_line(reason), timings)
        if isinstance(exc, Exception):
            exc.run_id = run_id  # type: ignore[attr-defined]
        raise
    return store.get_run(run_id)


def _new_output() -> Any:
    from harness.submission import TrainerOutput

    return TrainerOutput()


def rescore_run(store: ResultStore, run: RunRecord, *, n_boot: int = 1000, seed: int = 0) -> RunRecord:
    """Recompute a stored run's metrics from its stored predictions against the benchmark's current GT.

    Only a run of the benchmark's current version: an older version's run belongs to that version's leaderboard
    (its arch set, GT or protocol differ), so rescoring it against this GT would relabel it silently.
    """
    from harness.errors import BenchmarkVersionError

    bench = get_benchmark(run.benchmark)
    if run.bench_version != bench.version:
        raise BenchmarkVersionError(
            f"run {run.run_id} is on {run.bench_label} and the benchmark is now v{bench.version}: runs of another "
            "benchmark version are never rescored against this one's GT"
        )
    gt = bench.ground_truth()
    archs, scores = store.load_predictions(run.run_id)
    full = bench.archs()
    if run.gt_only:
        pred = np.full(len(full), np.nan)
        where = {a: i for i, a in enumerate(archs)}
        first = gt_positions(gt)
        if any(full[i] not in where for i in first):
            raise HarnessError(f"run {run.run_id}: it evaluated another GT's archs only; score the submission again")
        pred[first] = np.asarray(scores, dtype=np.float64)[[where[full[i]] for i in first]]
    else:
        if list(archs) != full:
            raise HarnessError(f"run {run.run_id}: its predictions are for another arch set; score the submission again")
        pred = np.asarray(scores, dtype=np.float64)
    metrics = metrics_payload(bench, pred, gt, n_boot=n_boot, seed=seed)
    store.update_metrics(run.run_id, metrics, gt.content_hash)
    return store.get_run(run.run_id)


def current_gt_hash(bench: Benchmark) -> str | None:
    """Content hash of ``bench``'s GT as it is now; None when the GT is not available (then nothing is stale,
    :func:`harness.store.records.is_stale`)."""
    try:
        return bench.ground_truth().content_hash
    except HarnessError:
        return None


def runs_to_rescore(store: ResultStore, benchmark: str | None = None, *, all_runs: bool = False) -> Iterator[RunRecord]:
    """The completed runs ``nas-harness rescore`` recomputes: those scored against an older GT (or all with
    ``all_runs``), of ``benchmark`` or of every benchmark with runs, benchmark by benchmark in name order; of each
    benchmark's current version only (older versions keep the metrics of their own GT).

    Lazy per benchmark: a benchmark's list is read after the previous one's runs were handled. Raises
    UnknownNameError for an unknown benchmark and HarnessError when its current GT cannot be read.
    """
    names = [benchmark] if benchmark else sorted({r.benchmark for r in store.list_runs(status="ok")})
    for name in names:
        bench = get_benchmark(name)
        current = bench.ground_truth().content_hash
        yield from (store.list_runs(benchmark=name, status="ok", version=bench.version) if all_runs
                    else store.stale_runs(name, current, version=bench.version))


def parse_seeds(text: str) -> list[int]:
    """``--seeds`` as given: a count N (seeds 0..N-1), a list ``0,1,2`` or a range ``5-9``; one-line errors."""
    from harness.errors import UsageError

    text = (text or "").strip()
    try:
        if "," in text:
            seeds = [int(t) for t in text.split(",") if t.strip()]
        elif "-" in text.lstrip("-") and not text.startswith("-"):
            lo, hi = (int(t) for t in text.split("-", 1))
            if hi < lo:
                raise ValueError
            seeds = list(range(lo, hi + 1))
        else:
            n = int(text)
            if n < 1:
                raise ValueError
            seeds = list(range(n))
    except ValueError:
        raise UsageError(f"--seeds {text!r}: give a count (5), a list (0,1,2,3,4) or a range (5-9) of seeds >= 0") from None
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise UsageError(f"--seeds {text!r}: seeds must be distinct and >= 0")
    if len(seeds) > 100:
        raise UsageError(f"--seeds {text!r}: at most 100 seeds per group")
    return seeds


def score_group(
    sub_dir: Path, store: ResultStore, seeds: list[int], opts: ScoreOptions | None = None,
    on_run: Callable[[int, RunRecord], None] | None = None,
) -> tuple[str, list[RunRecord]]:
    """Score a trainer once per seed as one seed group; returns (group id, runs).

    Every seed is a full run of its own (recorded even when it fails); a failing seed stops the group and the
    error propagates, so a group is never silently smaller than asked. Only trainers have training seeds: a
    checkpoint or a predictions file is one run by nature.
    """
    from dataclasses import replace

    from harness.errors import UsageError
    from harness.submission import load_submission

    opts = opts or ScoreOptions()
    sub = load_submission(Path(sub_dir))
    if sub.kind != "trainer":
        raise UsageError(f"--seeds needs a trainer submission; {sub.manifest.name!r} is a {sub.kind} (one run by nature)")
    group_id = store.new_group_id()
    progress = resolve(opts.progress)
    opts = replace(opts, progress=progress)  # one LogProgress for the whole group, not one per seed
    runs: list[RunRecord] = []
    for i, s in enumerate(seeds):
        progress(ProgressEvent("seeds", i, len(seeds), f"seed {s} ({i + 1}/{len(seeds)})"))
        run = score_submission(sub_dir, store, replace(opts, seed=s, group_id=group_id))
        runs.append(run)
        if on_run is not None:
            on_run(s, run)
    progress(ProgressEvent("seeds", len(seeds), len(seeds), f"{len(seeds)} seeds done"))
    return group_id, runs


def predict_all(sub: Any, bench: Benchmark, archs: list[str], opts: ScoreOptions, timings: dict[str, float]) -> np.ndarray:
    """One score per arch of the arch set in a single pass, without the GT.

    For workers on nodes that hold no GT (the challenge's Ray path): they return predictions only and the host
    computes the metrics, so there is no "GT archs first" pass to order by.
    """
    everything = np.arange(len(archs))
    return np.asarray(_predict(sub, bench, archs, opts, timings, everything, lambda _pred: None), dtype=np.float64)
