"""Workers: stateless loops that claim a job under a lease, score it, and record the result once.

Why leases and not "the worker marks its job done when it dies": a worker killed with ``kill -9``, a machine
that loses power or a Ray node that drops off says nothing. A job belongs to its worker only while the worker
renews the lease with heartbeats; once the lease runs out, any worker may claim it again (attempt + 1). Only the
current lease holder can finish a job, so a result is recorded exactly once even if an old worker comes back.

Failures are split by whose fault they are, by :func:`harness.faults.fault_of` (the rule ``score`` and the Ray
path use too). Anything raised while reading, loading or evaluating the upload (a manifest, a predictions file, a
forged checkpoint pickle, a crashing or over-budget trainer, its output folder): the submission's (the job fails,
counted against limits if the challenge says so). What a participant cannot cause (the store busy, the GT
unreadable, the host's disk, the worker dying): the platform's, so the job is queued again and never counted;
after ``scoring.max_attempts`` attempts it fails as a platform failure, still not counted.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness import cancel
from harness.challenge.host import Host
from harness.errors import CancelledError, HarnessError, one_line
from harness.faults import SUBMISSION, fault_of
from harness.store.queue import Job

#: (event, job, message): claimed / finished / failed / requeued / lost / cancelled / handed back
EventFn = Callable[[str, Job, str], None]
# why a job's work was stopped (harness.cancel.CancelToken.reason)
CANCELLED, LEASE_LOST, HANDBACK = "cancelled by the host", "the lease was lost", "handback"


@dataclass
class Outcome:
    job: Job
    event: str
    message: str = ""


def worker_id(slot: int = 0) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{slot}:{os.urandom(3).hex()}"


class Heartbeat:
    """Renews a job's lease every ``scoring.heartbeat_seconds`` on a background thread until stopped.

    Why it also carries the cancel: the lease holder is the one process that can stop the job's work, and the
    heartbeat is where it talks to the store anyway. A renewal the store refuses means the host cancelled the job
    or the lease was taken by another worker; either way the work is stopped through ``token`` (the sandbox is
    killed, the Ray tasks cancelled) within one heartbeat, instead of computing on for a result nobody records.
    """

    def __init__(self, host: Host, job: Job, owner: str, token: cancel.CancelToken | None = None) -> None:
        self.host, self.job, self.owner = host, job, owner
        self.token = token or cancel.CancelToken()
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job.job_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        s = self.host.challenge.scoring
        while not self._stop.wait(s.heartbeat_seconds):
            try:
                ok = self.host.queue.heartbeat(self.job.job_id, self.owner, self.host.now_ns(), int(s.lease_seconds * 1e9))
            except HarnessError:
                continue  # a busy store: try again at the next beat; the lease has room for it
            if not ok:
                self.lost = True
                self.token.cancel(CANCELLED if self._state() == "cancelled" else LEASE_LOST)
                return

    def _state(self) -> str:
        try:
            return self.host.queue.get_job(self.job.job_id).state
        except HarnessError:
            return "?"


def score_job(host: Host, job: Job, device: str) -> str:
    """Score the job's upload with :func:`harness.scoring.score_submission`; returns the run id.

    Only the phase's GT archs (both splits: what the metrics use) are evaluated unless the host set
    ``[scoring] full_sweep = true``; the run records which (``gt_only``). Progress events are where an
    in-process evaluation notices a cancel (:func:`harness.cancel.check`).
    """
    from harness.scoring import ScoreOptions, score_submission

    s = host.challenge.scoring
    opts = ScoreOptions(evaluator=s.evaluator, device=device, seed=s.seed, n_boot=s.n_boot,
                        budget_seconds=host.challenge.budget_seconds, progress=_check_cancel, gt_only=not s.full_sweep,
                        row_name=job.team)
    run = score_submission(host.upload_dir(job.upload), host.store, opts)
    return run.run_id


def _check_cancel(_event: Any) -> None:
    cancel.check()


def run_job(host: Host, job: Job, owner: str, *, device: str = "cpu",
            execute: Callable[[Host, Job, str], str] | None = None, token: cancel.CancelToken | None = None) -> Outcome:
    """Run one claimed job and record its outcome (only if this worker still holds the lease).

    ``token`` stops the work from outside: the heartbeat sets it on a cancel or a lost lease, a draining worker
    with ``handback`` (the job goes back to the queue at once, its attempt not counted).
    """
    from harness.challenge.intake import _public_message

    execute = execute or score_job
    token = token or cancel.CancelToken()
    with Heartbeat(host, job, owner, token), cancel.scope(token):
        try:
            cancel.check()
            run_id = execute(host, job, device)
        except CancelledError:
            return _stopped(host, job, owner, token)
        except Exception as exc:  # noqa: BLE001  (classified by the one rule of harness.faults)
            if token.cancelled:  # the work broke because it was stopped (a killed sandbox, a cancelled Ray task)
                return _stopped(host, job, owner, token)
            if fault_of(exc) == SUBMISSION:
                msg = _public_message(str(exc), host.upload_dir(job.upload))
                ok = host.queue.fail(job.job_id, owner, msg, platform=False, count_failed=job_phase_counts(host, job),
                                     run_id=getattr(exc, "run_id", None), now_ns=host.now_ns())
                return Outcome(job, "failed" if ok else "lost", msg)
            msg = one_line(f"{type(exc).__name__}: {exc}")[:300]  # the platform's: retried, never counted
            ok = host.queue.fail(job.job_id, owner, msg, platform=True, count_failed=False, run_id=None, now_ns=host.now_ns())
            return Outcome(job, "requeued" if ok else "lost", msg)
    ok = host.queue.finish(job.job_id, owner, run_id, job.team, host.now_ns())
    if not ok:
        cancelled = host.queue.get_job(job.job_id).state == "cancelled"
        host.queue.discard_run(run_id, "result discarded: the job was cancelled" if cancelled
                               else "result discarded: the job's lease was lost (it ran again)")
        return Outcome(job, "cancelled" if cancelled else "lost",
                       "cancelled by the host; the result is not recorded" if cancelled
                       else "the lease was lost; the result is not recorded")
    return Outcome(job, "finished", run_id)


def _stopped(host: Host, job: Job, owner: str, token: cancel.CancelToken) -> Outcome:
    """The outcome of work stopped through its token: cancelled, lease lost, or handed back by a draining worker."""
    if token.reason == HANDBACK:
        ok = host.queue.release(job.job_id, owner, host.now_ns())
        return Outcome(job, "handed back" if ok else "lost",
                       "the worker is stopping; the job is queued again (this attempt does not count)")
    if token.reason == CANCELLED:
        return Outcome(job, "cancelled", "cancelled by the host; its work was stopped")
    return Outcome(job, "lost", "the lease was lost (another worker runs it); this worker's work was stopped")


def job_phase_counts(host: Host, job: Job) -> bool:
    try:
        return host.challenge.phase(job.phase).limits.count_failed
    except HarnessError:
        return True


def run_worker(
    host: Host,
    *,
    once: bool = False,
    concurrency: int = 1,
    gpus: list[int] | None = None,
    poll_seconds: float = 2.0,
    on_event: EventFn | None = None,
    stop: threading.Event | None = None,
    execute: Callable[[Host, Job, str], str] | None = None,
    drain: threading.Event | None = None,
) -> list[Outcome]:
    """Claim and run jobs until stopped (or, with ``once``, until the queue has nothing claimable).

    ``gpus`` runs one slot per listed GPU (``cuda:N``); otherwise ``concurrency`` slots on the configured device.
    ``execute`` replaces local scoring (the Ray path passes its own; its ``where`` attribute names where jobs run).
    ``drain`` (set by the CLI on SIGTERM or Ctrl-C): stop claiming, stop the running jobs' work and hand them
    back to the queue at once, so they do not wait out their lease.
    """
    stop = stop or threading.Event()
    drain = drain or threading.Event()
    devices = [f"cuda:{g}" for g in gpus] if gpus else [host.challenge.scoring.device] * max(1, int(concurrency))
    where = getattr(execute, "where", None)
    outcomes: list[Outcome] = []
    running: dict[str, cancel.CancelToken] = {}
    lock = threading.Lock()
    host.store.reap()  # runs left "running" by a killed worker become failed rows (the job itself re-queues by lease)
    s = host.challenge.scoring

    def slot(i: int, device: str) -> None:
        owner = worker_id(i)
        while not stop.is_set():
            job = host.queue.claim(host.name, owner, host.now_ns(), int(s.lease_seconds * 1e9), s.max_attempts)
            if job is None:
                if once:
                    return
                stop.wait(poll_seconds)
                continue
            token = cancel.CancelToken()
            with lock:
                running[job.job_id] = token
                if drain.is_set():
                    token.cancel(HANDBACK)
            if on_event:
                on_event("claimed", job, f"attempt {job.attempts} on {where or device}")
            out = run_job(host, job, owner, device=device, execute=execute, token=token)
            if out.event in ("failed", "lost", "cancelled"):
                host.prune_uploads()  # failed and cancelled uploads are bounded ([submissions] failed_uploads_mb)
            with lock:
                running.pop(job.job_id, None)
                outcomes.append(out)
            if on_event:
                on_event(out.event, out.job, out.message)

    def hand_back_all() -> None:
        stop.set()
        with lock:
            for token in running.values():
                token.cancel(HANDBACK)

    threads = [threading.Thread(target=slot, args=(i, d), name=f"worker-slot-{i}", daemon=True) for i, d in enumerate(devices)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                if drain.is_set():
                    hand_back_all()
                t.join(0.2)
    except KeyboardInterrupt:
        hand_back_all()
        for t in threads:
            t.join()
        raise
    return outcomes
