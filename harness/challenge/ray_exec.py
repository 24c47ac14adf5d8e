"""Scale-out on an existing Ray cluster: each job a Ray task that returns predictions only.

Why this split of work: the task gets the submission's bytes and the benchmark's *name*; on the worker node it
trains in the sandbox (trainer kind) or loads the checkpoint, evaluates the arch set and returns one score per
arch plus its log lines. It never opens the GT: the metrics, which need it, are computed here on the host, so the
hidden GT never leaves the host (a node needs the benchmark's spec, data and arch set, not its GT file).

Why no Ray retries (``max_retries=0``): the queue's lease rule is the one retry mechanism. A task whose worker
process or node dies raises here, which is a platform failure: the job goes back to the queue (not counted) and
runs again; if this driver dies instead, the job's lease expires. Either way it is recorded once.

Why the wait polls: a host's cancel (seen by the job's heartbeat) or a draining worker (SIGTERM) must stop the
job's tasks on the nodes at once, not after they finish (:func:`_wait_all`, :mod:`harness.cancel`).

Only the phase's GT archs are evaluated unless the host sets ``[scoring] full_sweep = true``; the node is sent
their arch-set positions, never their values. One large evaluation (a checkpoint over 50,000 subnets) is sharded: the arch set is cut into chunks, each a task
(``num_gpus=1`` on a GPU benchmark), and the scores are put back together in arch-set order.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from harness.challenge.config import ChallengeError
from harness.progress import ProgressEvent

MAX_LOG_LINES = 200
DEFAULT_CHUNK = 10_000


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ChallengeError('--ray needs Ray: pip install "nas-harness[ray]"') from None
    return ray


def zip_dir(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and not path.is_symlink():
                zf.write(path, path.relative_to(folder).as_posix())
    return buf.getvalue()


def predict_on_node(sub_zip: bytes, benchmark: str, opts: dict[str, Any], chunk: tuple[int, int] | None = None,
                    positions: list[int] | None = None) -> dict[str, Any]:
    """What a Ray task runs: the submission's scores for the arch set (or some of its archs) and its log lines.

    ``positions``: the arch-set positions to evaluate (the phase's GT archs unless the host asked for the full
    sweep), in this order; ``chunk`` then cuts ``[lo, hi)`` out of them (or out of the whole arch set). The node
    gets positions, never GT values. The bytes were checked on the host at intake; they are unpacked into a
    private temporary folder here.
    """
    from harness.benchmarks import get_benchmark
    from harness.challenge.intake import extract_zip
    from harness.faults import participant_bytes
    from harness.scoring import ScoreOptions, predict_all
    from harness.submission import load_submission

    logs: list[str] = []

    def on_progress(event: ProgressEvent) -> None:
        if len(logs) < MAX_LOG_LINES:
            logs.append(f"{event.stage} {event.fraction or 0.0:.0%} {' '.join(str(event.message).split())[:200]}")

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nas-harness-ray-") as tmp:
        folder = extract_zip(sub_zip, Path(tmp) / "sub", max(len(sub_zip) * 200, 1 << 20))
        with participant_bytes("the submission folder"):
            sub = load_submission(folder)
        bench = get_benchmark(benchmark)
        archs = bench.archs()
        if positions is not None:
            archs = [archs[int(i)] for i in positions]
        if chunk is not None:
            archs = archs[chunk[0]:chunk[1]]
        timings: dict[str, float] = {}
        so = ScoreOptions(evaluator=opts.get("evaluator", "fast"), device=opts.get("device", "cpu"),
                          seed=int(opts.get("seed", 0)), budget_seconds=opts.get("budget_seconds"), progress=on_progress)
        if chunk is not None:
            from harness.evaluation import evaluate
            from harness.submission import load_checkpoint

            from harness.progress import silent
            from harness.scoring import capped

            model = load_checkpoint(sub.payload_path, bench)
            cap = float(bench.budget.eval_seconds)
            with participant_bytes("the submission's weights"):
                pred = evaluate(model, bench, archs, evaluator=so.evaluator, device=so.device,
                                progress=capped(silent, time.monotonic() + cap, cap))
        else:
            pred = predict_all(sub, bench, archs, so, timings)
    timings["node_s"] = time.perf_counter() - started
    return {"predictions": np.asarray(pred, dtype=np.float64), "logs": logs, "timings": timings,
            "node": os.uname().nodename, "pid": os.getpid()}


def ray_executor(address: str | None, *, chunk_size: int = DEFAULT_CHUNK) -> Callable[[Any, Any, str], str]:
    """An ``execute`` for :func:`harness.challenge.worker.run_worker` that runs each job as Ray task(s).

    Only the phase's GT archs (both splits) are evaluated unless ``[scoring] full_sweep = true``. The wait for
    the tasks polls the job's cancel token (:mod:`harness.cancel`): a cancel seen at a heartbeat, or a draining
    worker, cancels the job's Ray tasks at once.
    """
    ray = _ray()
    if not ray.is_initialized():
        try:
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        except Exception as exc:  # noqa: BLE001  (connection refused, version mismatch: one line)
            raise ChallengeError(f"cannot connect to the Ray cluster at {address}: {' '.join(str(exc).split())[:200]}") from None
    remote = ray.remote(max_retries=0)(predict_on_node)

    def execute(host: Any, job: Any, device: str) -> str:
        from harness.benchmarks import get_benchmark
        from harness.scoring import gt_positions

        cfg = host.challenge
        bench = get_benchmark(cfg.benchmark)
        gpu = 1 if cfg.scoring.device.startswith("cuda") else 0
        task = remote.options(num_gpus=gpu, name=f"nas-harness-{job.job_id}")
        opts = {"evaluator": cfg.scoring.evaluator, "device": "cuda" if gpu else "cpu", "seed": cfg.scoring.seed,
                "budget_seconds": cfg.budget_seconds}
        data = zip_dir(host.upload_dir(job.upload))
        n_all = len(bench.archs())
        positions = None if cfg.scoring.full_sweep or job.kind == "predictions" else gt_positions(bench.ground_truth())
        pos_arg = None if positions is None else [int(i) for i in positions]
        n = n_all if positions is None else len(pos_arg)
        started = time.perf_counter()
        if job.kind == "checkpoint" and n > chunk_size:
            refs = [task.remote(data, bench.name, opts, (lo, min(lo + chunk_size, n)), pos_arg) for lo in range(0, n, chunk_size)]
            parts = _get(ray, refs)
            result = {"predictions": np.concatenate([p["predictions"] for p in parts]),
                      "logs": [line for p in parts for line in p["logs"]], "timings": {"chunks": float(len(parts))}}
        else:
            result = _get(ray, task.remote(data, bench.name, opts, None, pos_arg))
        if positions is not None:
            full = np.full(n_all, np.nan)
            full[positions] = np.asarray(result["predictions"], dtype=np.float64)
            result["predictions"], result["positions"] = full, positions
        return record_predictions(host, job, result, time.perf_counter() - started)

    execute.where = f"the Ray cluster {address or '(auto)'}"  # type: ignore[attr-defined]  (the worker's log line)
    return execute


class RayPlatformError(RuntimeError):
    """A Ray task lost to the platform (its worker process or node died): the job is queued again."""


#: how long a cancelled task may take to stop by itself (KeyboardInterrupt in the task: its sandbox is killed by
#: the launcher's cleanup) before it is force-killed
CANCEL_GRACE_S = 5.0
POLL_S = 0.25


def _wait_all(ray: Any, refs: list[Any]) -> None:
    """Wait for ``refs``, polling the job's cancel token; on a cancel, cancel the tasks and raise CancelledError."""
    from harness import cancel

    pending = list(refs)
    while pending:
        if cancel.requested():
            _cancel_tasks(ray, pending)
            cancel.check()
        _done, pending = ray.wait(pending, num_returns=len(pending), timeout=POLL_S)


def _cancel_tasks(ray: Any, refs: list[Any]) -> None:
    """Stop running tasks: first as a KeyboardInterrupt (the task's own cleanup kills its sandbox), then by force."""
    for ref in refs:
        try:
            ray.cancel(ref, force=False)
        except Exception:  # noqa: BLE001  (already finished or lost: nothing to stop)
            pass
    deadline = time.monotonic() + CANCEL_GRACE_S
    pending = list(refs)
    while pending and time.monotonic() < deadline:
        _done, pending = ray.wait(pending, num_returns=len(pending), timeout=POLL_S)
    for ref in pending:
        try:
            ray.cancel(ref, force=True)
        except Exception:  # noqa: BLE001
            pass


def _get(ray: Any, refs: Any) -> Any:
    """``ray.get`` after a cancellable wait, with the task's own error re-raised as itself (one line, classified
    as the submission's or the platform's fault by the worker) and a dead worker or node as :class:`RayPlatformError`."""
    from harness.errors import HarnessError

    try:
        _wait_all(ray, refs if isinstance(refs, list) else [refs])
        return ray.get(refs)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, HarnessError):
            raise type(cause)(cause.message) from None
        raise RayPlatformError(f"the Ray task failed: {type(cause).__name__ if cause else 'error'}: "
                               f"{' '.join(str(cause).split())[:200]}") from None
    except ray.exceptions.RayError as exc:  # WorkerCrashedError, NodeDiedError, ObjectLostError, ...
        raise RayPlatformError(f"the Ray task was lost ({type(exc).__name__}); the job runs again") from None


def record_predictions(host: Any, job: Any, result: dict[str, Any], wall_s: float) -> str:
    """Host side: the metrics against the GT (which stays here), stored as one run like ``score_submission`` does."""
    from harness.version import __version__
    from harness.benchmarks import get_benchmark
    from harness.errors import SubmissionError, one_line
    from harness.faults import participant_bytes
    from harness.scoring import metrics_payload
    from harness.submission import load_submission

    with participant_bytes("the submission folder"):
        sub = load_submission(host.upload_dir(job.upload))
    bench = get_benchmark(host.challenge.benchmark)
    gt = bench.ground_truth()
    archs = bench.archs()
    store = host.store
    positions = result.get("positions")
    run_id = store.create_run(
        benchmark=bench.name, submission=job.team, kind=sub.kind, submission_hash=sub.content_hash,
        harness_version=__version__, gt_hash=gt.content_hash, bench_version=bench.version, manifest=sub.manifest.as_dict(),
        description=sub.manifest.description, gt_only=positions is not None,
    )
    timings = {k: float(v) for k, v in (result.get("timings") or {}).items()}
    try:
        pred = np.asarray(result["predictions"], dtype=np.float64)
        keep = np.arange(len(archs)) if positions is None else np.asarray(positions)
        if pred.shape != (len(archs),) or not np.all(np.isfinite(pred[keep])):
            raise SubmissionError("the supernet produced non-finite scores for some subnets")
        t0 = time.perf_counter()
        metrics = metrics_payload(bench, pred, gt, n_boot=host.challenge.scoring.n_boot, seed=host.challenge.scoring.seed)
        timings["metrics_s"] = time.perf_counter() - t0
        timings["total_s"] = wall_s + timings["metrics_s"]
        store.complete_run(run_id, archs=[archs[i] for i in keep], predictions=pred[keep], metrics=metrics, timings=timings)
    except BaseException as exc:
        store.fail_run(run_id, one_line(exc) or type(exc).__name__, timings)
        raise
    return run_id
