"""Fault belongs to whoever caused it: participant bytes that make the loaders raise anything are the submission's
fault, in-process (fuzzed checkpoints), through ``nas-harness score`` (one line, no traceback, no host path) and
through a challenge worker (failed once, counted, never retried as a platform failure), so a burst of failing
uploads of every kind cannot get past a daily limit."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from challenge_helpers import T0, write_challenge
from integrity_mutants import mutants, named_cases, reference_bytes
from harness.challenge import ChallengeError, intake, open_challenge, worker
from harness.challenge.clock import FakeClock
from harness.errors import HarnessError
from harness.faults import SUBMISSION, fault_of

N_MUTANTS = 240
#: a trainer that trains nothing and then swaps what the child writes as out/state.pt for meta-device tensors
SWAP_TRAINER = """\
import torch

_save = torch.save

def _swap(obj, f, *args, **kwargs):
    if str(f).endswith("state.pt"):
        obj = {k: v.to("meta") for k, v in obj.items()}
    return _save(obj, f, *args, **kwargs)

def train(ctx):
    torch.save = _swap
    return ctx.new_supernet()
"""


@pytest.fixture()
def reference_state(tiny_env):
    from harness.benchmarks import get_benchmark
    from harness.submission import new_reference_supernet

    bench = get_benchmark("tiny-w20")
    return bench, new_reference_supernet(bench.space).state_dict()


def _checkpoint_dir(root: Path, name: str, data: bytes) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "submission.toml").write_text(f'name = "{name}"\nbenchmark = "tiny-w20"\nkind = "checkpoint"\n')
    (folder / "checkpoint.pt").write_bytes(data)
    return folder


def _cases(state: dict) -> dict[str, bytes]:
    """One checkpoint per failure class: each raised another exception type out of torch before."""
    cases = {name: make() for name, make in named_cases(state).items()}
    by_kind: dict[str, bytes] = {}
    for what, data in mutants(state, 60, seed=1):
        kind = what.split("@")[0].split(" ")[0]
        by_kind.setdefault(kind, data)
    cases["truncated-pickle"] = by_kind["truncate"]
    cases["foreign-global"] = by_kind["global"]
    return cases


def test_fuzzed_checkpoints_are_the_submissions_fault_in_process(reference_state, tmp_path: Path) -> None:
    from harness.submission import load_checkpoint

    bench, state = reference_state
    outcomes: dict[str, int] = {}
    for i, (what, data) in enumerate(mutants(state, N_MUTANTS, seed=0)):
        path = tmp_path / f"m{i}" / "checkpoint.pt"
        path.parent.mkdir()
        path.write_bytes(data)
        try:
            load_checkpoint(path, bench)
        except HarnessError as exc:  # anything else escaping fails the test with its traceback
            assert fault_of(exc) == SUBMISSION, (what, type(exc).__name__, str(exc))
            text = str(exc)
            assert "\n" not in text and str(tmp_path) not in text and "\x1b" not in text, (what, text)
            outcomes[type(exc).__name__] = outcomes.get(type(exc).__name__, 0) + 1
        else:
            outcomes["loaded"] = outcomes.get("loaded", 0) + 1
    assert sum(outcomes.values()) == N_MUTANTS and outcomes.get("SubmissionError", 0) > N_MUTANTS // 2, outcomes


def test_each_failure_class_through_score_is_one_line(reference_state, tiny_env, tmp_path: Path) -> None:
    _, state = reference_state
    env = dict(tiny_env, COLUMNS="400")
    procs = {}
    for name, data in _cases(state).items():
        folder = _checkpoint_dir(tmp_path / "subs", name, data)
        procs[name] = subprocess.Popen([sys.executable, "-m", "harness.cli", "score", str(folder), "--store", str(tmp_path / "store")],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 5, (name, proc.returncode, err[-2000:])
        assert "Traceback" not in err + out, (name, err[-2000:])
        lines = [line for line in err.splitlines() if line.strip()]
        assert lines and lines[-1].startswith("error:") and ("cannot" in lines[-1] or "refused" in lines[-1]), (name, lines)
        assert str(tmp_path) not in err + out and "/work" not in lines[-1], (name, lines[-1])


def test_a_burst_of_failing_uploads_of_every_kind_is_counted(reference_state, tmp_path: Path) -> None:
    """per_day = 6 and count_failed: six failing uploads (four checkpoint classes, one trainer that swaps its
    out/state.pt, and a broken predictions file) fail once each as the submission's fault; the next is refused."""
    _, state = reference_state
    clock = FakeClock(T0.timestamp() + 3600)
    host = open_challenge(write_challenge(tmp_path / "c", limits="per_day = 6\nconcurrent = 100\ncount_failed = true"), clock=clock)
    token = host.add_team("Team Red")
    subs = tmp_path / "subs"
    folders = [_checkpoint_dir(subs, name, data) for name, data in _cases(state).items()]
    trainer = subs / "swap"
    trainer.mkdir()
    (trainer / "submission.toml").write_text('name = "swap"\nbenchmark = "tiny-w20"\nkind = "trainer"\n')
    (trainer / "trainer.py").write_text(SWAP_TRAINER)
    preds = subs / "preds"
    preds.mkdir()
    (preds / "submission.toml").write_text('name = "preds"\nbenchmark = "tiny-w20"\nkind = "predictions"\n')
    (preds / "predictions.csv").write_text("arch,score\n\"|not-an-arch|\",1.0\n")
    accepted = []
    for folder in [*folders, trainer, preds]:
        try:
            accepted.append(intake.submit_zip(host, token, intake.zip_folder(folder)).job_id)
        except ChallengeError as exc:  # refused at intake is fine too: never run, never counted, quota intact
            assert "limit" not in str(exc), str(exc)
    outcomes = worker.run_worker(host, once=True)
    assert {o.event for o in outcomes} == {"failed"}, [(o.event, o.message) for o in outcomes]
    for job_id in accepted:
        job = host.queue.get_job(job_id)
        assert job.state == "failed" and job.error_kind == "submission" and job.attempts == 1, job
        assert "\n" not in job.error and str(tmp_path) not in job.error and "uploads" not in job.error, job.error
    while len(accepted) < 6:  # fill the day with cheap failing uploads, then one more must be refused
        accepted.append(intake.submit_zip(host, token, intake.zip_folder(folders[0])).job_id)
        worker.run_worker(host, once=True)
    with pytest.raises(ChallengeError, match="daily limit"):
        intake.submit_zip(host, token, intake.zip_folder(folders[0]))
    clock.advance(timedelta(days=1).total_seconds())
    assert intake.submit_zip(host, token, intake.zip_folder(folders[0])).state == "queued"


def test_reference_checkpoint_still_loads(reference_state, tmp_path: Path) -> None:
    """The classifier only relabels failures: the reference state dict loads unchanged."""
    from harness.submission import load_checkpoint

    bench, state = reference_state
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(reference_bytes(state))
    loaded = load_checkpoint(path, bench)
    assert set(loaded) == set(state)
