"""Submission limits per team and phase: per UTC day, in total, and at once.

Why counting lives in one function: the intake refuses by it, "my submissions" shows the remaining quota by it,
and the tests check it with a fake clock, so the three can never disagree. What counts: every submission that
is waiting, running or finished, and those that failed by their own fault when ``count_failed`` is set. Platform
failures (a dead worker, a busy store: ``error_kind = 'platform'``), host cancellations and host reruns never count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from harness.challenge.config import ChallengeError, Limits
from harness.store.queue import OPEN_STATES, Job


@dataclass(frozen=True)
class Quota:
    used_today: int
    used_total: int
    running: int
    left_today: int | None
    left_total: int | None
    left_concurrent: int | None
    concurrent_limit: int | None = None

    def refusal(self) -> str | None:
        """Why one more submission is refused now, or None."""
        if self.left_concurrent is not None and self.left_concurrent <= 0:
            return f"{self.running} submission(s) still waiting or running; the limit is {self.concurrent_limit} at once — wait for one to finish"
        if self.left_today is not None and self.left_today <= 0:
            return f"daily limit reached ({self.used_today} today, UTC); try again after midnight UTC"
        if self.left_total is not None and self.left_total <= 0:
            return f"limit for this phase reached ({self.used_total} submissions)"
        return None


def counts(job: Job, limits: Limits) -> bool:
    """Whether a job counts against its team's limits."""
    if not job.counted or job.rerun_of is not None:
        return False
    if job.state == "cancelled":
        return False
    if job.state == "failed":
        return job.error_kind == "submission" and limits.count_failed
    return True


def day_start(now_s: float) -> float:
    d = datetime.fromtimestamp(now_s, UTC)
    return datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()


def quota(jobs: list[Job], limits: Limits, now_s: float) -> Quota:
    """The team's quota in one phase from its jobs of that phase."""
    counted = [j for j in jobs if counts(j, limits)]
    since = int(day_start(now_s) * 1e9)
    today = sum(1 for j in counted if j.submitted_ns >= since)
    running = sum(1 for j in jobs if j.state in OPEN_STATES and j.rerun_of is None)
    left = lambda limit, used: None if limit is None else max(0, limit - used)  # noqa: E731
    return Quota(today, len(counted), running, left(limits.per_day, today), left(limits.total, len(counted)),
                 left(limits.concurrent, running), limits.concurrent)


def check(jobs: list[Job], limits: Limits, now_s: float) -> None:
    reason = quota(jobs, limits, now_s).refusal()
    if reason:
        raise ChallengeError(f"submission refused: {reason}")
