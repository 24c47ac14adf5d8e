"""What participants and the host see: "my submissions", the phase leaderboards and the final ranking.

One visibility rule (:class:`Viewer`): a participant sees their own team's submissions, and the boards of phases
that are public or revealed; nothing else (no other team's manifests, errors, per-arch values, runs of a hidden
phase). The host sees everything. ``visibility = "hidden"`` hides a phase whatever its split: until the host
reveals it, no value of the split it ranks on is shown to anyone but the host, not even a team's own.

Why every view is built here and nowhere else: a blind phase must not show a hidden-split value anywhere (pages,
"my submissions", downloads, CLI), so all of them are built from these rows, and a participant's rows are built
without the hidden value rather than with it and then hidden. The app's general pages (Leaderboard, Submission,
Compare) read the store's runs directly, so with a challenge hosted they are the host's only. The final ranking picks one entry per team by
the challenge's rule (selected, latest, or best on the *public* split) and only then ranks those entries on the
phase's split: choosing each team's best run on the hidden split would itself leak it.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.challenge import limits as limit_rules
from harness.challenge.config import PUBLIC_SPLIT, Phase
from harness.errors import HarnessError
from harness.store.queue import Job

if TYPE_CHECKING:  # the host calls these views (its export); they only read it
    from harness.challenge.host import Host

PLATFORM_NOTE = "a platform problem (not your submission's fault); it is retried and not counted"


def _iso(ns: int | None) -> str:
    return "" if ns is None else datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _secs(a: int | None, b: int | None) -> float | None:
    return None if a is None or b is None else round((b - a) / 1e9, 1)


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the host (everything), a participant's team (known from its token), or anyone (no team)."""

    team: str | None = None
    host: bool = False

    def sees_job(self, job: Job) -> bool:
        """A submission's row (status, error, timings, scores) is its team's and the host's, nobody else's."""
        return self.host or (self.team is not None and job.team == self.team)


HOST = Viewer(host=True)
ANYONE = Viewer()


def board_visible(host: Host, phase: Phase, viewer: Viewer = ANYONE) -> bool:
    """Whether ``viewer`` may see ``phase``'s board: the host always; others when it is public or revealed."""
    return viewer.host or host.revealed(phase)


def visible_splits(host: Host, phase: Phase, viewer: Viewer = ANYONE) -> tuple[str, ...]:
    """The GT splits whose values of ``phase``'s runs ``viewer`` may see.

    The host: both. Others, once the board is visible: the public split and the phase's own. Before that: the
    public split only, and not even that when the phase ranks on it (a hidden phase on the dev split).
    """
    if viewer.host:
        return (PUBLIC_SPLIT, "test")
    if board_visible(host, phase, viewer):
        return tuple(dict.fromkeys((PUBLIC_SPLIT, phase.split)))
    return tuple(s for s in (PUBLIC_SPLIT,) if s != phase.split)


def hidden_visible(host: Host, phase: Phase) -> bool:
    """Whether participants may see hidden-split (test) values of this phase's runs."""
    return "test" in visible_splits(host, phase)


def _value(run: Any, split: str) -> float | None:
    if run is None or run.primary_metric is None:
        return None
    v = run.metric(run.primary_metric, split)
    return None if v is None or not math.isfinite(v) else round(float(v), 4)


def _runs(host: Host, jobs: list[Job]) -> dict[str, Any]:
    ids = {j.run_id for j in jobs if j.run_id and j.state == "finished"}
    if not ids:
        return {}
    return {r.run_id: r for r in host.store.list_runs(status="ok") if r.run_id in ids}


def _status(job: Job) -> str:
    if job.state == "queued" and job.error_kind == "platform":
        return "queued (retry)"
    return job.state


def participant_rows(host: Host, team: str) -> list[dict[str, Any]]:
    """A team's submissions, newest first: status, one-line error, timings, scores it may see."""
    viewer = Viewer(team=team)
    jobs = [j for j in host.queue.jobs(host.name, team=team) if viewer.sees_job(j)]
    runs = _runs(host, jobs)
    rows = []
    for j in reversed(jobs):
        phase = host.challenge.phase(j.phase)
        splits = visible_splits(host, phase, viewer)
        run = runs.get(j.run_id or "")
        row: dict[str, Any] = {
            "submission": j.job_id, "phase": j.phase, "status": _status(j), "kind": j.kind,
            "submitted (UTC)": _iso(j.submitted_ns), "waited_s": _secs(j.submitted_ns, j.started_ns),
            "ran_s": _secs(j.started_ns, j.finished_ns) if j.state in ("finished", "failed") else None,
            "attempts": j.attempts, "counted": limit_rules.counts(j, phase.limits), "selected": j.selected,
            "error": (PLATFORM_NOTE if j.error_kind == "platform" else j.error) or "",
            f"{PUBLIC_SPLIT} score": _value(run, PUBLIC_SPLIT) if PUBLIC_SPLIT in splits else None,
        }
        if "test" in splits:
            row["test score"] = _value(run, "test")
        rows.append(row)
    return rows


#: how much of a trainer's output its team can download (the end of it: where a failure shows)
TRAINER_LOG_BYTES = 64 * 1024


def trainer_log(host: Host, team: str, job_id: str) -> str | None:
    """The last 64 KB of the trainer output of ``team``'s own submission ``job_id``, with the host's folders
    removed; ``None`` when the job is not the team's, not a trainer, or has no run.

    Why through :class:`Viewer`: the log is a submission's row like its error line, so the same rule decides who
    reads it. The store keeps every line inert (escaped); the host's paths (upload folder, store, challenge folder,
    the harness's environment, temporary folders) are replaced, as in error lines.
    """
    try:
        job = host.queue.get_job(job_id)
    except HarnessError:
        return None
    if job.challenge != host.name or not Viewer(team=team).sees_job(job) or job.kind != "trainer" or not job.run_id:
        return None
    text = host.store.run_log(job.run_id)
    data = text.encode("utf-8", "replace")
    if len(data) > TRAINER_LOG_BYTES:
        text = data[-TRAINER_LOG_BYTES:].decode("utf-8", "ignore").split("\n", 1)[-1]
    return _without_host_paths(text, host, job)


def _without_host_paths(text: str, host: Host, job: Job) -> str:
    import sys
    import tempfile

    named = {host.upload_dir(job.upload): "submission", host.challenge.folder: "<challenge>",
             host.challenge.store_dir: "<store>",
             Path(sys.prefix): "<python>", Path(__file__).resolve().parents[2]: "<harness>",
             Path(tempfile.gettempdir()): "<tmp>", Path.home(): "~"}
    pairs = {}
    for path, label in named.items():
        for form in {str(path), str(path.resolve())}:
            if len(form) > 1:
                pairs[form] = label
    for form in sorted(pairs, key=len, reverse=True):
        text = text.replace(form, pairs[form])
    return text


def host_rows(host: Host, *, states: list[str] | None = None) -> list[dict[str, Any]]:
    """Every job with everything (host only): lease, attempts, raw errors, both splits."""
    jobs = host.queue.jobs(host.name, states=states)
    runs = _runs(host, jobs)
    return [{
        "submission": j.job_id, "team": j.team, "phase": j.phase, "status": _status(j), "kind": j.kind,
        "submitted (UTC)": _iso(j.submitted_ns), "attempts": j.attempts, "lease_owner": j.lease_owner or "",
        "heartbeat (UTC)": _iso(j.heartbeat_ns), "run": j.run_id or "", "error_kind": j.error_kind or "",
        "error": j.error or "", "dev score": _value(runs.get(j.run_id or ""), "dev"),
        "test score": _value(runs.get(j.run_id or ""), "test"), "rerun_of": j.rerun_of or "",
    } for j in jobs]


def quota_line(host: Host, team: str) -> str:
    """Remaining quota of the team in the open phase, as one line (or why there is none)."""
    phase = host.accepting_phase()
    if phase is None:
        return "no phase is open for submissions"
    q = limit_rules.quota(host.queue.jobs(host.name, team=team, phase=phase.name), phase.limits, host.clock())
    part = lambda left: "unlimited" if left is None else str(left)  # noqa: E731
    return (f"phase {phase.name}: {part(q.left_today)} left today, {part(q.left_total)} left in the phase,"
            f" {part(q.left_concurrent)} more at once")


def _entries(host: Host, phase: Phase) -> list[tuple[Job, Any, int]]:
    """(job, run, n counted submissions) of each team's ranked entry in ``phase`` by the challenge's rule."""
    jobs = host.queue.jobs(host.name, phase=phase.name)
    runs = _runs(host, jobs)
    version = _current_version(host)
    if version is not None:  # runs of another benchmark version are never ranked with this one's
        runs = {k: r for k, r in runs.items() if r.bench_version == version}
    by_team: dict[str, list[Job]] = {}
    for j in jobs:
        by_team.setdefault(j.team, []).append(j)
    primary_key = _primary_key(runs)
    out = []
    for team, tj in by_team.items():
        done = [j for j in tj if j.state == "finished" and not j.superseded and j.run_id in runs]
        if not done:
            continue
        rule = host.challenge.ranking_rule
        chosen = None
        if rule == "selected":
            sel = [j for j in done if j.selected or any(o.selected and o.job_id == j.rerun_of for o in tj)]
            chosen = sel[-1] if sel else None
        if chosen is None and rule in ("selected", "latest"):
            chosen = max(done, key=lambda j: (j.submitted_ns, j.job_id))  # no selection: the latest counts
        if rule == "best_public":
            chosen = min(done, key=lambda j: (primary_key(runs[j.run_id], PUBLIC_SPLIT), j.submitted_ns))
        n = sum(1 for j in tj if limit_rules.counts(j, phase.limits))
        out.append((chosen, runs[chosen.run_id], n))
    return out


def _current_version(host: Host) -> int | None:
    """The challenge benchmark's current version; None when its spec cannot be read here (then no filter)."""
    from harness.benchmarks import get_benchmark
    from harness.errors import HarnessError

    try:
        return get_benchmark(host.challenge.benchmark).version
    except HarnessError:
        return None


def _primary_key(runs: dict[str, Any]):
    from harness.metrics import rank_key

    def key(run: Any, split: str) -> float:
        return rank_key(run.report(split), run.primary_metric)[0] if run.primary_metric else math.inf

    return key


def leaderboard(host: Host, phase_name: str, *, host_view: bool = False) -> list[dict[str, Any]]:
    """One row per team, ranked on the phase's split. Participants get ``[]`` for a hidden, unrevealed phase
    (whatever its split)."""
    phase = host.challenge.phase(phase_name)
    if not board_visible(host, phase, HOST if host_view else ANYONE):
        return []
    entries = _entries(host, phase)
    key = _primary_key({})

    def order(e: tuple[Job, Any, int]) -> tuple:
        job, run, n = e
        parts: list[Any] = [key(run, phase.split)]
        for tb in host.challenge.tie_break:
            parts.append({"public_score": key(run, PUBLIC_SPLIT), "fewer_submissions": n, "earlier": job.submitted_ns}[tb])
        return (*parts, job.submitted_ns, job.job_id)

    rows = []
    for rank, (job, run, n) in enumerate(sorted(entries, key=order), start=1):
        row: dict[str, Any] = {"rank": rank, "team": job.team, "submission": job.job_id, "kind": job.kind,
                               "submitted (UTC)": _iso(job.submitted_ns), "submissions": n,
                               f"{PUBLIC_SPLIT} score": _value(run, PUBLIC_SPLIT)}
        if phase.split != PUBLIC_SPLIT:
            row["test score"] = _value(run, phase.split)
        rows.append(row)
    return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
    """CSV of view rows; cells that a spreadsheet would run as formulas are quoted with a leading apostrophe."""
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@\t\r" else v) for k, v in r.items()})
    return buf.getvalue()
