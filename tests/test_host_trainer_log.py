"""A team reads its own trainer's output from a challenge, and nobody else's: the last 64 KB, the host's folders
removed, for finished and failed attempts alike (issue 31, "participants get one error line and nothing else")."""

from __future__ import annotations

from pathlib import Path

from challenge_helpers import T0, write_challenge
from harness.challenge import intake, open_challenge, views, worker
from harness.challenge.clock import FakeClock

TRAINER = """import os
def train(ctx):
    print("{marker} loss 0.5 at", os.path.abspath(__file__))
    print("x" * 2000 + " {marker}-END")
    {tail}
"""


def _trainer(root: Path, name: str, marker: str, *, fail: bool, filler_lines: int = 0) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "submission.toml").write_text(f'name = "{name}"\nbenchmark = "tiny-w20"\nkind = "trainer"\n')
    tail = "raise RuntimeError('diverged')" if fail else "return ctx.new_supernet()"
    body = TRAINER.format(marker=marker, tail=tail)
    if filler_lines:
        body = body.replace('    print("x" * 2000', f'    for _ in range({filler_lines}): print("y" * 100)\n    print("x" * 2000')
    (folder / "trainer.py").write_text(body)
    return folder


def test_a_team_reads_its_own_trainer_output_and_nobody_elses(tiny_env, tmp_path: Path) -> None:
    host = open_challenge(write_challenge(tmp_path / "c", limits="concurrent = 100"), clock=FakeClock(T0.timestamp() + 3600))
    red, blue = host.add_team("Team Red"), host.add_team("Team Blue")
    red_ok = intake.submit_zip(host, red, intake.zip_folder(_trainer(tmp_path / "s", "r1", "RED-MARK", fail=False,
                                                                       filler_lines=1000)))
    red_failed = intake.submit_zip(host, red, intake.zip_folder(_trainer(tmp_path / "s", "r2", "RED-FAIL", fail=True)))
    blue_ok = intake.submit_zip(host, blue, intake.zip_folder(_trainer(tmp_path / "s", "b1", "BLUE-MARK", fail=False)))
    worker.run_worker(host, once=True)
    assert [host.queue.get_job(j.job_id).state for j in (red_ok, red_failed, blue_ok)] == ["finished", "failed", "finished"]

    log_ok = views.trainer_log(host, "Team Red", red_ok.job_id)
    assert log_ok is not None and "RED-MARK-END" in log_ok
    # 100 KB of output: the team gets its last 64 KB (where a failure shows), so the first line is cut
    assert "RED-MARK loss" not in log_ok and len(log_ok.encode()) <= views.TRAINER_LOG_BYTES
    log_failed = views.trainer_log(host, "Team Red", red_failed.job_id)
    assert log_failed is not None and "RED-FAIL loss" in log_failed  # a failed attempt keeps its output too
    for log in (log_ok, log_failed):
        for private in (str(host.challenge.folder), str(host.challenge.folder.resolve()), str(tmp_path)):
            assert private not in log
    # another team's submission, and a job id that does not exist: nothing
    assert views.trainer_log(host, "Team Red", blue_ok.job_id) is None
    assert views.trainer_log(host, "Team Blue", red_ok.job_id) is None
    assert views.trainer_log(host, "Team Red", "j-no-such-job") is None
