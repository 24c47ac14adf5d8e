"""``score_supernet``: score a supernet trained in your own loop (trusted code), no folder and no sandbox.

Why a separate entry point: research code already holds the module (or its state dict) in memory; writing a
submission folder just to have it loaded back, and running it in a sandbox meant for strangers' code, is
friction without protection. This runs the same evaluation and metrics as ``nas-harness score`` (GT archs
first; ``gt_only`` to stop there) and returns the same :class:`~harness.store.RunRecord` the CLI prints, recorded
in a store when one is given. A run from your loop is one run by nature; to put training-seed variance into a
verdict, score one run per training seed with the same ``group_id`` (``ResultStore.new_group_id()``).

Example (a plain script needs no ``if __name__ == "__main__":`` guard, and a notebook works too: the
evaluator's worker processes are their own program, :mod:`harness.workerpool`, and never re-run the caller)::

    import harness
    run = harness.score_supernet(net, "mnist1d-w20", gt_only=True)
    print(run.metric("kendall_tau", "dev"))

:func:`local_context` builds a trainer's ``ctx`` in this process, to run a submission's ``train(ctx)`` while
debugging.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from harness.version import __version__
from harness.errors import UsageError
from harness.progress import ProgressCallback

UNSAVED = "unsaved"


def score_supernet(
    model_or_state_dict: Any,
    benchmark: str,
    store: Any = None,
    *,
    name: str = "python",
    description: str = "",
    gt_only: bool = False,
    seed: int | None = None,
    group_id: str | None = None,
    evaluator: str = "fast",
    device: str = "cpu",
    n_boot: int = 1000,
    progress: ProgressCallback | None = None,
    on_metrics: Callable[[dict[str, Any]], None] | None = None,
) -> Any:
    """Evaluate ``model_or_state_dict`` on ``benchmark`` and compute the metrics; returns a RunRecord.

    ``store``: None (nothing written; the record's ``run_id`` is ``"unsaved"``), a folder path, or a
    :class:`~harness.store.ResultStore`. ``seed``: the training seed you used (recorded; also seeds the
    bootstrap). ``group_id``: add the run to a seed group (a run from a loop is then a trainer run of that group).
    ``progress`` receives :class:`harness.progress.ProgressEvent` values (stages "evaluate GT archs", "evaluate the
    rest"); ``on_metrics`` receives the metrics payload as soon as the GT archs are evaluated.
    """
    from harness.benchmarks import get_benchmark
    from harness.scoring import ScoreOptions, evaluate_gt_first, gt_positions, metrics_payload
    from harness.store import ResultStore

    if evaluator not in ("fast", "reference"):
        raise UsageError(f"unknown evaluator {evaluator!r}; use fast or reference")
    if group_id is not None and seed is None:
        raise UsageError("a run of a seed group needs its training seed (seed=...)")
    bench = get_benchmark(benchmark)
    gt = bench.ground_truth()
    archs = bench.archs()
    results: ResultStore | None
    if store is None or isinstance(store, ResultStore):
        results = store
    elif isinstance(store, (str, os.PathLike)):
        results = ResultStore(Path(store))
    else:
        raise UsageError(f"store must be None, a folder or a ResultStore, not {type(store).__name__}")
    if group_id is not None and results is None:
        raise UsageError("group_id needs a store (a group is a set of stored runs)")
    kind = "trainer" if group_id is not None else "checkpoint"
    manifest = {"name": name, "benchmark": bench.name, "kind": kind, "source": "harness.score_supernet"}
    started = time.perf_counter()
    run_id = UNSAVED
    if results is not None:
        run_id = results.create_run(
            benchmark=bench.name, submission=name, kind=kind, submission_hash=_weights_hash(model_or_state_dict),
            harness_version=__version__, gt_hash=gt.content_hash, manifest=manifest, description=description,
            group_id=group_id, seed=seed, gt_only=gt_only, bench_version=bench.version,
        )
    opts = ScoreOptions(evaluator=evaluator, device=device, seed=seed or 0, n_boot=n_boot, gt_only=gt_only,
                        progress=progress if progress is not None else False)
    timings: dict[str, float] = {}
    first = gt_positions(gt)
    done: dict[str, Any] = {}

    def on_first(pred: np.ndarray) -> None:
        t0 = time.perf_counter()
        done["metrics"] = metrics_payload(bench, pred, gt, n_boot=n_boot, seed=opts.seed)
        timings["metrics_s"] = time.perf_counter() - t0
        timings["to_metrics_s"] = time.perf_counter() - started
        if on_metrics is not None:
            on_metrics(done["metrics"])

    try:
        pred = evaluate_gt_first(model_or_state_dict, bench, archs, opts, timings, first, on_first)
        keep = first if gt_only else np.arange(len(archs))
        timings["total_s"] = time.perf_counter() - started
        if results is not None:
            results.complete_run(run_id, archs=[archs[i] for i in keep], predictions=pred[keep],
                                 metrics=done["metrics"], timings=timings)
            return results.get_run(run_id)
    except BaseException as exc:
        if results is not None:
            timings["total_s"] = time.perf_counter() - started
            results.fail_run(run_id, f"{type(exc).__name__}: {exc}", timings)
        raise
    return _unsaved_record(bench.name, name, kind, gt.content_hash, manifest, description, done["metrics"],
                           timings, seed, gt_only, bench.version)


def _weights_hash(model: Any) -> str:
    """A content hash of the weights (the run's "submission hash"): two identical supernets match."""
    import hashlib

    import torch

    state = model.state_dict() if isinstance(model, torch.nn.Module) else model
    if not isinstance(state, Mapping):
        return ""
    h = hashlib.sha256()
    for key in sorted(state):
        value = state[key]
        h.update(str(key).encode())
        if isinstance(value, torch.Tensor):
            h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _unsaved_record(benchmark: str, name: str, kind: str, gt_hash: str, manifest: dict[str, Any], description: str,
                    metrics: dict[str, Any], timings: dict[str, float], seed: int | None, gt_only: bool,
                    bench_version: int) -> Any:
    from datetime import UTC, datetime

    from harness.store import RunRecord

    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return RunRecord(
        run_id=UNSAVED, benchmark=benchmark, submission=name, kind=kind, status="ok", created=now, finished=now,
        timings=timings, metrics=metrics, harness_version=__version__, gt_hash=gt_hash, submission_hash="",
        error=None, manifest=manifest, description=description, is_baseline=False, pid=os.getpid(),
        seed=seed, gt_only=gt_only, bench_version=bench_version,
    )


def local_context(
    benchmark: str,
    *,
    epochs: int | None = None,
    seed: int = 0,
    hparams: Mapping[str, Any] | None = None,
    device: str = "cpu",
    seconds: float | None = None,
) -> Any:
    """A :class:`~harness.submission.TrainContext` built in this process, to run ``train(ctx)`` while debugging.

    The same context a trainer gets in the sandbox (training split only, the space, ``new_supernet()``, the budget,
    seeded ``torch``/``numpy``/``random``), with ``epochs`` and ``seconds`` replacing the budget's for a quick try
    and ``hparams`` as ``ctx.hparams``. No sandbox and no time limit is enforced (your own code); ``ctx.log``
    points are kept in ``ctx.logged`` and ``ctx.progress`` is silent. Score the result with
    :func:`score_supernet` (a run from here is off the budget's record: use ``nas-harness score`` for that)::

        import harness, trainer
        ctx = harness.local_context("mnist1d-w20", epochs=1, seed=0)
        net = trainer.train(ctx)
        print(ctx.epochs_trained, ctx.logged[-1:])
    """
    from dataclasses import replace

    from harness.benchmarks import get_benchmark
    from harness.submission.child.train import seed_everything
    from harness.submission.context import TrainContext
    from harness.submission.manifest import check_hparams
    from harness.submission.reference import new_reference_supernet

    import torch

    bench = get_benchmark(benchmark)
    budget = bench.budget
    if epochs is not None:
        if int(epochs) < 1:
            raise UsageError("epochs must be at least 1")
        budget = replace(budget, epochs=int(epochs))
    if seconds is not None:
        budget = replace(budget, seconds=float(seconds))
    data = bench.load_data()
    seed_everything(int(seed), torch.get_num_threads())
    logged: list[tuple[int, dict[str, float]]] = []
    ctx = TrainContext(
        space=bench.space, train_x=data.train.x.to(device), train_y=data.train.y.to(device),
        num_classes=int(data.num_classes), budget=budget, device=device, seed=int(seed),
        deadline=time.time() + float(budget.seconds), _new_supernet=lambda: new_reference_supernet(bench.space),
        _scalars=lambda step, values: logged.append((step, values)),
        hparams=check_hparams(dict(hparams or {}), "hparams"),
    )
    ctx.logged = logged  # type: ignore[attr-defined]
    return ctx
