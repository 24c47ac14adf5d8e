"""The Ray path classifies faults by the same rule as ``score`` and the local worker (``harness.faults``): forged
checkpoints fail on the node as the submission's fault, once, counted, and the run row carries the team."""

from __future__ import annotations

from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from challenge_helpers import T0, write_challenge  # noqa: E402
from harness.challenge import intake, open_challenge, worker  # noqa: E402
from harness.challenge.clock import FakeClock  # noqa: E402
from harness.challenge.ray_exec import ray_executor  # noqa: E402
from test_challenge_ray import cluster  # noqa: E402,F401  (the module's local Ray cluster, nodes without the GT)
from test_integrity_faults import _cases, _checkpoint_dir  # noqa: E402


def test_forged_checkpoints_on_ray_are_the_submissions_fault(cluster, tiny_env, tmp_path: Path) -> None:  # noqa: F811
    from harness.benchmarks import get_benchmark
    from harness.submission import new_reference_supernet

    state = new_reference_supernet(get_benchmark("tiny-w20").space).state_dict()
    host = open_challenge(write_challenge(tmp_path / "c", limits="per_day = 2\nconcurrent = 100"),
                          clock=FakeClock(T0.timestamp() + 3600))
    token = host.add_team("Team Red")
    cases = _cases(state)
    jobs = [intake.submit_zip(host, token, intake.zip_folder(_checkpoint_dir(tmp_path / "s", name, cases[name])))
            for name in ("meta", "persid")]
    outcomes = worker.run_worker(host, once=True, execute=ray_executor(None))
    assert sorted(o.event for o in outcomes) == ["failed", "failed"], [(o.event, o.message) for o in outcomes]
    for job in jobs:
        j = host.queue.get_job(job.job_id)
        assert j.error_kind == "submission" and j.attempts == 1 and j.counted and "\n" not in j.error, j
    with pytest.raises(Exception, match="daily limit"):
        intake.submit_zip(host, token, intake.zip_folder(_checkpoint_dir(tmp_path / "s", "third", cases["meta"])))
