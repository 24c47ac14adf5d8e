"""One visibility rule: a participant sees their own team's submissions and the boards of public or revealed phases.

A store with two teams' runs of a hidden phase (ranked on the *dev* split: hidden whatever its split): every page
of the app in public mode, with team Alpha's token, and the participant CLI, must carry no byte of team Bravo's
data (name, manifest text, error, score, submission ids) and no score of the hidden phase at all. Then the reveal:
refused while the phase is open (one line, exit 2), ``--force`` only with ``--end-now``, and an ended phase takes
no more uploads.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from challenge_helpers import predictions_folder, write_challenge
from harness.challenge import ChallengeError, intake, open_challenge, views, worker
from leaderboard_app import settings
from test_challenge_app import participant_pages

APP_DIR = Path(__file__).resolve().parents[1] / "leaderboard_app"
GENERAL_PAGES = ["app_pages/leaderboard.py", "app_pages/submission.py", "app_pages/compare.py"]
CHALLENGE_PAGES = ["app_pages/my_submissions.py", "app_pages/submit.py"]
SECRETS = ("bravo-manifest-zq7", "bravo-desc-k9", "bravo-key-x5")


def _bravo_checkpoint(root: Path) -> Path:
    """A checkpoint whose one extra key is named so that its error line is recognisable."""
    from harness.benchmarks import get_benchmark
    from harness.submission import new_reference_supernet

    state = new_reference_supernet(get_benchmark("tiny-w20").space).state_dict()
    state["bravo-key-x5"] = torch.zeros(1)
    folder = root / "bravo-ckpt"
    folder.mkdir(parents=True)
    (folder / "submission.toml").write_text('name = "bravo-manifest-zq7"\nbenchmark = "tiny-w20"\nkind = "checkpoint"\n')
    torch.save(state, folder / "checkpoint.pt")
    return folder


@pytest.fixture()
def world(tiny_env, tmp_path: Path) -> dict:
    folder = write_challenge(tmp_path / "c")
    now = datetime.now(UTC)
    fmt = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    text = (folder / "challenge.toml").read_text()
    text = (text.replace("2026-03-02T00:00:00Z", fmt(now - timedelta(days=5))).replace("2026-03-09T00:00:00Z", fmt(now - timedelta(days=1)))
            .replace("2026-03-11T00:00:00Z", fmt(now + timedelta(days=2))).replace('split = "test"', 'split = "dev"'))
    (folder / "challenge.toml").write_text(text)
    host = open_challenge(folder)
    assert host.challenge.phase("final").split == "dev" and host.challenge.phase("final").visibility == "hidden"
    tokens = {t: host.add_team(t) for t in ("Alpha", "Bravo")}
    subs = tmp_path / "subs"
    alpha = predictions_folder(subs, "alpha", 0.8, seed=1)
    bravo = predictions_folder(subs, "bravo", 0.5, seed=2, manifest_name="bravo-manifest-zq7")
    with (bravo / "submission.toml").open("a") as f:
        f.write('description = "bravo-desc-k9"\n')
    jobs = [intake.submit_zip(host, tokens["Alpha"], intake.zip_folder(alpha)),
            intake.submit_zip(host, tokens["Bravo"], intake.zip_folder(bravo)),
            intake.submit_zip(host, tokens["Bravo"], intake.zip_folder(_bravo_checkpoint(subs)))]
    worker.run_worker(host, once=True)
    states = {j.job_id: host.queue.get_job(j.job_id) for j in jobs}
    assert [s.state for s in states.values()] == ["finished", "finished", "failed"], [(s.state, s.error) for s in states.values()]
    assert "bravo-key-x5" in states[jobs[2].job_id].error
    scores: set[str] = set()
    values: set[float] = set()
    for job in states.values():
        if job.run_id and job.state == "finished":  # a failed job keeps its failed run (no score)
            run = host.store.get_run(job.run_id)
            for split in ("dev", "test"):
                v = run.metric(run.primary_metric, split)
                scores |= {f"{v:.4f}", f"{v:.3f}", repr(round(v, 4))}
                values.add(round(v, 4))
    bravo_ids = [j.job_id for j in jobs[1:]] + [s.run_id for s in states.values() if s.team == "Bravo" and s.run_id]
    return {"folder": folder, "host": host, "tokens": tokens, "scores": scores, "values": values, "bravo_ids": bravo_ids}


def _blob(at: AppTest) -> bytes:
    """Every element the last run sent, and every table's cells as text (tables travel as Arrow bytes)."""
    from test_challenge_app import _blob as elements

    return b"\n".join([elements(at), *(df.value.to_csv().encode() for df in at.dataframe)])


def _leaks(blob: bytes, world: dict) -> list[str]:
    needles = ["Bravo", *SECRETS, *world["bravo_ids"], *world["scores"]]
    return [n for n in needles if n.encode() in blob]


def _public(world: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAS_HARNESS_CHALLENGE", str(world["folder"]))
    monkeypatch.setenv("NAS_HARNESS_STORE", str(world["host"].challenge.store_dir))
    monkeypatch.setenv(settings.MODE_ENV, "public")
    st.cache_data.clear()


def test_every_page_in_public_mode_shows_nothing_of_another_team(world: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    _public(world, monkeypatch)
    at = AppTest.from_file(str(APP_DIR / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    blob = _blob(at)
    for _page in participant_pages(at, CHALLENGE_PAGES, world["tokens"]["Alpha"], "Alpha"):
        blob += _blob(at)
    for page in GENERAL_PAGES:  # not offered in the navigation; each refuses on its own too
        page_at = AppTest.from_file(str(APP_DIR / page), default_timeout=120)
        page_at.run()
        assert not page_at.exception, [e.value for e in page_at.exception]
        assert any("host's view only" in i.value for i in page_at.info), page
        blob += _blob(page_at)
    assert not _leaks(blob, world), _leaks(blob, world)


def test_participant_views_and_cli_follow_the_rule(world: dict, tiny_env) -> None:
    host = world["host"]
    rows = views.participant_rows(host, "Alpha")
    assert rows and {r["phase"] for r in rows} == {"final"} and all(r["dev score"] is None for r in rows)
    assert views.leaderboard(host, "final") == []  # hidden, although it ranks on the public split
    assert views.leaderboard(host, "final", host_view=True)
    env = dict(tiny_env, NAS_HARNESS_TEAM_TOKEN=world["tokens"]["Alpha"], COLUMNS="300")
    cli = [sys.executable, "-m", "harness.cli", "challenge"]
    mine = subprocess.run([*cli, "my", str(world["folder"])], capture_output=True, text=True, env=env)
    board = subprocess.run([*cli, "leaderboard", str(world["folder"]), "--phase", "final"], capture_output=True, text=True, env=env)
    assert mine.returncode == 0 and board.returncode == 0, mine.stderr + board.stderr
    assert "hidden until the host reveals" in board.stdout
    assert not _leaks((mine.stdout + board.stdout).encode(), world), _leaks((mine.stdout + board.stdout).encode(), world)


def test_reveal_refused_while_open_and_final_once_done(world: dict, tiny_env) -> None:
    folder = str(world["folder"])
    cli = [sys.executable, "-m", "harness.cli", "challenge", "reveal", folder, "final"]
    for extra in ([], ["--force"], ["--end-now"]):
        proc = subprocess.run([*cli, *extra], capture_output=True, text=True, env=tiny_env)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("error:"), proc.stderr
    host = world["host"]
    assert views.leaderboard(host, "final") == []
    proc = subprocess.run([*cli, "--force", "--end-now"], capture_output=True, text=True, env=tiny_env)
    assert proc.returncode == 0, proc.stderr
    assert views.leaderboard(host, "final") and all(r["dev score"] is not None for r in views.participant_rows(host, "Alpha"))
    assert host.accepting_phase() is None and views.quota_line(host, "Alpha") == "no phase is open for submissions"
    again = predictions_folder(world["folder"].parent / "late", "late", 0.9)
    with pytest.raises(ChallengeError, match="was revealed; it takes no more submissions"):
        intake.submit_zip(host, world["tokens"]["Alpha"], intake.zip_folder(again))
