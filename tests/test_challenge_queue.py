"""The durable queue under real processes: 4 workers x 40 submissions scored exactly once, and a worker killed
with ``kill -9`` mid-job whose job runs again (lease expiry) and is recorded once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from challenge_helpers import predictions_folder, write_challenge
from harness.challenge import intake, open_challenge, worker

NOW_PHASES = {"2026-03-02T00:00:00Z": -3, "2026-03-09T00:00:00Z": 30, "2026-03-11T00:00:00Z": 31}


def _live_challenge(folder: Path, **kw) -> Path:
    """A challenge whose dev phase is open on the real clock (worker subprocesses use the real clock)."""
    folder = write_challenge(folder, **kw)
    text = (folder / "challenge.toml").read_text()
    now = time.time()
    for old, days in NOW_PHASES.items():
        text = text.replace(old, datetime.fromtimestamp(now + days * 86400, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    (folder / "challenge.toml").write_text(text)
    return folder


def _worker_cmd(folder: Path) -> list[str]:
    return [sys.executable, "-m", "harness.cli", "worker", "--challenge", str(folder), "--once"]


def test_four_workers_forty_submissions_each_scored_exactly_once(tiny_env, tmp_path: Path) -> None:
    folder = _live_challenge(tmp_path / "c")
    host = open_challenge(folder)
    teams = ["Alpha", "Bravo", "Charlie"]
    for t in teams:
        host.add_team(t)
    base = predictions_folder(tmp_path / "subs", "base", 0.7)
    jobs = [intake.submit_folder(host, teams[i % 3], base).job_id for i in range(40)]
    procs = [subprocess.Popen(_worker_cmd(folder), env=tiny_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(4)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    done = [host.queue.get_job(j) for j in jobs]
    assert [j.state for j in done] == ["finished"] * 40
    assert all(j.attempts == 1 for j in done)
    run_ids = [j.run_id for j in done]
    assert len(set(run_ids)) == 40
    ok = host.store.list_runs(status="ok")
    assert sorted(r.run_id for r in ok) == sorted(run_ids)  # no run recorded twice, none lost
    assert host.store.list_runs(status="failed") == [] and host.store.list_runs(status="running") == []
    by_team = {t: sum(1 for j in done if j.team == t) for t in teams}
    assert {r.submission for r in ok} == set(teams) and sum(by_team.values()) == 40
    pids = {r.pid for r in ok}
    assert pids <= {p.pid for p in procs}
    print(f"runs per worker pid: {sorted(sum(1 for r in ok if r.pid == p) for p in pids)}")


def _wait(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_kill_9_mid_job_requeues_by_lease_and_records_once(tiny_env, tmp_path: Path) -> None:
    folder = _live_challenge(tmp_path / "c", lease=4, beat=1)
    host = open_challenge(folder)
    host.add_team("Alpha")
    sub = tmp_path / "slow"
    sub.mkdir()
    (sub / "submission.toml").write_text('name = "slow"\nbenchmark = "tiny-w20"\nkind = "trainer"\n')
    (sub / "trainer.py").write_text("import time\ndef train(ctx):\n    time.sleep(2)\n    return ctx.new_supernet()\n")
    job = intake.submit_folder(host, "Alpha", sub)

    proc = subprocess.Popen(_worker_cmd(folder), env=tiny_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        _wait(lambda: any(r.pid == proc.pid for r in host.store.list_runs(status="running")), 120, "the worker to start scoring")
        before = host.queue.get_job(job.job_id)
        _wait(lambda: (host.queue.get_job(job.job_id).heartbeat_ns or 0) > (before.heartbeat_ns or 0), 10, "a heartbeat")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    killed = host.queue.get_job(job.job_id)
    assert killed.state == "running" and killed.attempts == 1  # nobody said anything: only the lease can tell
    assert worker.run_worker(host, once=True) == []  # the lease has not expired yet: not claimable
    _wait(lambda: time.time_ns() > (host.queue.get_job(job.job_id).lease_until_ns or 0), 10, "the lease to expire")
    outs = worker.run_worker(host, once=True)
    assert [o.event for o in outs] == ["finished"], [o.message for o in outs]
    final = host.queue.get_job(job.job_id)
    assert final.state == "finished" and final.attempts == 2 and final.counted
    ok = host.store.list_runs(status="ok")
    assert [r.run_id for r in ok] == [final.run_id] and ok[0].submission == "Alpha"
    failed = host.store.list_runs(status="failed")
    assert len(failed) == 1 and failed[0].pid == proc.pid and "interrupted" in (failed[0].error or "")
