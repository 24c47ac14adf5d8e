"""Every row belongs to its team: a challenge job's run carries the team's name from creation until it ends, in
every state (running, failed, cancelled), and the manifest's name is data only, so it squats no team name."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import torch

from challenge_helpers import T0, write_challenge
from harness.challenge import intake, open_challenge, worker
from harness.challenge.clock import FakeClock

SLOW_TRAINER = "import time\ndef train(ctx):\n    time.sleep(4)\n    return ctx.new_supernet()\n"


def _folder(root: Path, name: str, manifest_name: str, kind: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "submission.toml").write_text(f'name = "{manifest_name}"\nbenchmark = "tiny-w20"\nkind = "{kind}"\n')
    return folder


def test_rows_carry_the_team_in_every_state_and_squat_no_name(tiny_env, tmp_path: Path) -> None:
    from harness.benchmarks import get_benchmark
    from harness.submission import new_reference_supernet

    host = open_challenge(write_challenge(tmp_path / "c", limits="concurrent = 100", lease=20, beat=1),
                          clock=FakeClock(T0.timestamp() + 3600))
    token = host.add_team("Team Red")
    broken = _folder(tmp_path / "s", "broken", "Team Green", "checkpoint")
    state = new_reference_supernet(get_benchmark("tiny-w20").space).state_dict()
    torch.save({k: v.to("meta") for k, v in state.items()}, broken / "checkpoint.pt")
    slow = _folder(tmp_path / "s", "slow", "spos", "trainer")
    (slow / "trainer.py").write_text(SLOW_TRAINER)

    failed = intake.submit_zip(host, token, intake.zip_folder(broken))
    worker.run_worker(host, once=True)
    assert host.queue.get_job(failed.job_id).state == "failed"

    running = intake.submit_zip(host, token, intake.zip_folder(slow))
    outcomes: list = []
    thread = threading.Thread(target=lambda: outcomes.extend(worker.run_worker(host, once=True)))
    thread.start()
    seen_running = None
    deadline = time.monotonic() + 60
    while seen_running is None and time.monotonic() < deadline and thread.is_alive():
        seen_running = next((r for r in host.store.list_runs() if r.status == "running"), None)
        time.sleep(0.1)
    assert seen_running is not None and seen_running.submission == "Team Red", seen_running
    host.cancel(running.job_id)  # the worker sees it at its next heartbeat and stops the sandbox
    thread.join(120)
    assert [o.event for o in outcomes] == ["cancelled"], outcomes

    runs = host.store.list_runs()
    assert len(runs) == 2 and {r.status for r in runs} == {"failed"}
    assert {r.submission for r in runs} == {"Team Red"}
    assert sorted(r.manifest.get("name") for r in runs if r.manifest) == ["Team Green", "spos"]  # kept as data
    assert host.add_team("Team Green").startswith("nht_")  # the manifest's name squats nothing
    assert host.add_team("spos2").startswith("nht_")
