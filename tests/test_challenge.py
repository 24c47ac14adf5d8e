"""Challenge hosting: challenge.toml validation, teams and tokens, limits on a fake clock, a scripted challenge
with two phases and three teams from ``challenge init`` to reveal, and no hidden-split value for participants."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

import pytest

from challenge_helpers import DAY, T0, broken_checkpoint_folder, predictions_folder, write_challenge
from harness.challenge import ChallengeError, init_challenge, open_challenge, parse_challenge
from harness.challenge import intake, views, worker
from harness.challenge.clock import FakeClock


def _host(folder: Path, clock: FakeClock, **kw):
    return open_challenge(write_challenge(folder, **kw), clock=clock)


# ----------------------------------------------------------------------------------------------- config
def test_init_template_validates_and_has_a_blind_final_phase(tiny_env, tmp_path: Path) -> None:
    path = init_challenge(tmp_path / "c", name="spring", benchmark="tiny-w20", now=T0)
    c = parse_challenge(path.parent)
    assert [p.name for p in c.phases] == ["development", "final"]
    assert c.phases[1].split == "test" and c.phases[1].visibility == "hidden"
    assert c.ranking_rule == "best_public" and c.store_dir == (tmp_path / "c" / "store").resolve()
    with pytest.raises(ChallengeError, match="already exists"):
        init_challenge(tmp_path / "c", name="spring", benchmark="tiny-w20")


@pytest.mark.parametrize("edit, words", [
    (("rule = \"best_public\"", "rule = \"best_test\""), "hidden split is not offered"),
    (("visibility = \"hidden\"", "visibility = \"secret\""), "visibility must be public or hidden"),
    (("split = \"test\"", "split = \"train\""), "split must be dev"),
    (("end = 2026-03-09T00:00:00Z", "end = 2026-03-10T00:00:00Z"), "must not overlap"),
    (("end = 2026-03-11T00:00:00Z", "end = 2026-03-08T00:00:00Z"), "end must be after start"),
    (("benchmark = \"tiny-w20\"", "benchmark = \"no-such-bench\""), "no-such-bench"),
    (("n_boot = 0", "n_boot = -3"), "scoring.n_boot must be an integer"),
    (("concurrent = 100", "concurrent = 0"), "limits.concurrent must be an integer >= 1"),
    (("concurrent = 100", "weekly = 3"), "unknown key 'weekly'"),
    (("start = 2026-03-02T00:00:00Z", "start = 2026-03-02T00:00:00"), "time zone"),
    (("tie_break = [\"public_score\", \"earlier\"]", "tie_break = [\"test_score\"]"), "tie_break"),
    (("name = \"tinychal\"", "name = \"Tiny Chal!\""), "'name' must be"),
    (("[scoring]", "[scoring\n"), "malformed TOML"),
])
def test_invalid_challenge_toml_is_one_line(tiny_env, tmp_path: Path, edit: tuple[str, str], words: str) -> None:
    folder = write_challenge(tmp_path / "c")
    path = folder / "challenge.toml"
    text = path.read_text()
    assert edit[0] in text
    path.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(ChallengeError) as info:
        parse_challenge(folder)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_cli_errors_are_one_red_line(tiny_env, tmp_path: Path) -> None:
    folder = write_challenge(tmp_path / "c", rule="best_hidden")
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "challenge", "validate", str(folder)],
                          capture_output=True, text=True, env=tiny_env)
    assert proc.returncode == 7 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error:") and len(proc.stderr.strip().splitlines()) == 1


# ----------------------------------------------------------------------------------------------- teams
def test_team_tokens_are_hashed_and_names_are_host_given(tiny_env, tmp_path: Path) -> None:
    host = _host(tmp_path / "c", FakeClock(T0.timestamp()))
    token = host.add_team("Team Red")
    assert token.startswith("nht_") and len(token) > 40
    raw = (host.challenge.store_dir / "runs.sqlite").read_bytes()
    assert token.encode() not in raw  # only the hash is stored
    assert host.team_for_token(token) == "Team Red"
    with pytest.raises(ChallengeError, match="unknown team token"):
        host.team_for_token(token[:-1] + ("A" if token[-1] != "A" else "B"))
    for bad, words in [("team_red", "taken"), ("TEAM RED", "taken"), ("spos", "taken"), ("Reference-1", "reserved"),
                       ("<b>x</b>", "must be 1-40"), ("", "must be 1-40"), ("a" * 41, "must be 1-40")]:
        with pytest.raises(ChallengeError, match=words):
            host.add_team(bad)


def test_runs_carry_the_team_not_the_manifest_name(tiny_env, tmp_path: Path) -> None:
    clock = FakeClock(T0.timestamp() + 3600)
    host = _host(tmp_path / "c", clock)
    token = host.add_team("Team Red")
    sub = predictions_folder(tmp_path / "subs", "impostor", 0.9, manifest_name="spos")
    job = intake.submit_zip(host, token, intake.zip_folder(sub))
    worker.run_worker(host, once=True)
    run = host.store.get_run(host.queue.get_job(job.job_id).run_id)
    assert run.submission == "Team Red" and run.manifest["name"] == "spos"
    assert host.queue.other_run_names() == set()
    with pytest.raises(ChallengeError, match="taken"):
        host.add_team("team-red")


# ----------------------------------------------------------------------------------------------- limits
def test_limits_per_day_total_concurrent_on_a_fake_clock(tiny_env, tmp_path: Path) -> None:
    clock = FakeClock(T0.timestamp() + 3600)
    host = _host(tmp_path / "c", clock, limits="per_day = 2\ntotal = 3\nconcurrent = 1\ncount_failed = false")
    token = host.add_team("Team Red")
    good = intake.zip_folder(predictions_folder(tmp_path / "s", "good", 0.9))
    broken = intake.zip_folder(broken_checkpoint_folder(tmp_path / "s"))

    intake.submit_zip(host, token, good)
    with pytest.raises(ChallengeError, match="at once"):
        intake.submit_zip(host, token, good)  # concurrent = 1: the first is still queued
    worker.run_worker(host, once=True)
    intake.submit_zip(host, token, good)
    worker.run_worker(host, once=True)
    with pytest.raises(ChallengeError, match="daily limit"):
        intake.submit_zip(host, token, good)

    # a submission failure does not count here (count_failed = false) ...
    clock.advance(DAY)
    job = intake.submit_zip(host, token, broken)
    worker.run_worker(host, once=True)
    failed = host.queue.get_job(job.job_id)
    assert failed.state == "failed" and failed.error_kind == "submission" and "\n" not in failed.error
    assert "uploads" not in failed.error and str(tmp_path) not in failed.error  # no host paths in participant errors
    # ... nor does a platform failure (the scorer raising something that is not the submission's fault)
    job = intake.submit_zip(host, token, good)

    def platform_down(h, j, device):
        raise OSError("disk full on the scoring node")

    outs = worker.run_worker(host, once=True, execute=platform_down)
    assert [o.event for o in outs] == ["requeued", "requeued", "requeued"]
    assert worker.run_worker(host, once=True, execute=platform_down) == []  # attempts used up: failed, not claimed
    plat = host.queue.get_job(job.job_id)
    assert plat.state == "failed" and plat.error_kind == "platform" and not plat.counted
    rows = {r["submission"]: r for r in views.participant_rows(host, "Team Red")}
    assert rows[job.job_id]["error"] == views.PLATFORM_NOTE and "disk full" not in json.dumps(rows)

    intake.submit_zip(host, token, good)  # third counted one: total = 3 reached
    worker.run_worker(host, once=True)
    clock.advance(DAY)
    with pytest.raises(ChallengeError, match="limit for this phase reached"):
        intake.submit_zip(host, token, good)
    assert "0 left in the phase" in views.quota_line(host, "Team Red")


def test_failed_submissions_count_when_configured(tiny_env, tmp_path: Path) -> None:
    clock = FakeClock(T0.timestamp() + 3600)
    host = _host(tmp_path / "c", clock, limits="total = 1\ncount_failed = true")
    token = host.add_team("Team Red")
    intake.submit_zip(host, token, intake.zip_folder(broken_checkpoint_folder(tmp_path / "s")))
    worker.run_worker(host, once=True)
    with pytest.raises(ChallengeError, match="limit for this phase"):
        intake.submit_zip(host, token, intake.zip_folder(predictions_folder(tmp_path / "s", "good", 0.9)))


# ----------------------------------------------------------------------------------------------- intake
def _zip(members: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


def test_hostile_zips_are_refused_with_one_line(tiny_env, tmp_path: Path) -> None:
    host = _host(tmp_path / "c", FakeClock(T0.timestamp() + 3600))
    token = host.add_team("Team Red")
    manifest = b'name = "x"\nbenchmark = "tiny-w20"\nkind = "predictions"\n'
    cases = [
        (b"not a zip", "not a zip"),
        (_zip({"../evil.csv": b"x", "submission.toml": manifest}), "climbs out"),
        (_zip({"/abs/evil.csv": b"x"}), "absolute"),
        (_zip({"submission.toml": manifest}, symlink="predictions.csv"), "link or special"),
        (_zip({"submission.toml": manifest, "predictions.csv": b"0" * (3 * 1024**2)}), "zip bomb"),
        (b"PK" + b"\0" * (3 * 1024**2), "too large"),
        (_zip({"sub/submission.toml": manifest.replace(b"tiny-w20", b"other")}), "manifest names"),
        (_zip({"readme.txt": b"hi"}), "no submission.toml"),
        (_zip({"a": b"x", "a/b": b"y"}), "as a file and a folder"),
        (_zip({f"f{i}": b"" for i in range(2001)}), "2001 members"),
    ]
    for data, words in cases:
        with pytest.raises(ChallengeError) as info:
            intake.submit_zip(host, token, data)
        assert words in str(info.value) and "\n" not in str(info.value), (words, str(info.value))
    assert host.queue.jobs(host.name) == []
    assert [p.name for p in host.challenge.uploads_dir.iterdir()] == []  # nothing left behind
    # a folder zipped with its top folder is unwrapped
    sub = predictions_folder(tmp_path / "s", "wrapped", 0.5)
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in sub.iterdir():
            zf.write(p, f"wrapped/{p.name}")
    assert intake.submit_zip(host, token, buf.getvalue()).state == "queued"


def test_kinds_and_phases_are_enforced(tiny_env, tmp_path: Path) -> None:
    clock = FakeClock(T0.timestamp() - 3600)
    host = _host(tmp_path / "c", clock, kinds='["trainer"]')
    token = host.add_team("Team Red")
    data = intake.zip_folder(predictions_folder(tmp_path / "s", "p", 0.5))
    with pytest.raises(ChallengeError, match="no phase .* is open now; the next one \\(dev\\)"):
        intake.submit_zip(host, token, data)
    clock.advance(2 * 3600)
    with pytest.raises(ChallengeError, match="accepts trainer submissions, not predictions"):
        intake.submit_zip(host, token, data)
    clock.advance(30 * DAY)
    with pytest.raises(ChallengeError, match="the challenge is over"):
        intake.submit_zip(host, token, data)


# ----------------------------------------------------------------------------------------------- the whole flow
def test_scripted_challenge_two_phases_three_teams_to_reveal(tiny_env, tmp_path: Path) -> None:
    """init -> teams -> dev phase (public) -> final phase (blind) -> host approves, cancels, reruns -> reveal."""
    clock = FakeClock(T0.timestamp() + 3600)
    folder = write_challenge(tmp_path / "c", rule="best_public", approval=True, limits="per_day = 3\nconcurrent = 5")
    host = open_challenge(folder, clock=clock)
    tokens = {t: host.add_team(t) for t in ("Alpha", "Bravo", "Charlie")}
    subs = tmp_path / "subs"
    qual = {"Alpha": [0.2, 0.9], "Bravo": [0.6, 0.5], "Charlie": [0.4, 0.8]}

    def upload(team: str, q: float, tag: str) -> str:
        folder = predictions_folder(subs, f"{team}-{tag}", q, seed=hash(tag) % 100)
        return intake.submit_zip(host, tokens[team], intake.zip_folder(folder)).job_id

    # --- development phase: public split, leaderboard public
    dev_jobs = {t: [upload(t, q, f"d{i}") for i, q in enumerate(qs)] for t, qs in qual.items()}
    assert {j.state for j in host.queue.jobs(host.name)} == {"submitted"}  # waiting for approval
    assert worker.run_worker(host, once=True) == []
    for jobs in dev_jobs.values():
        for j in jobs:
            host.approve(j)
    cancelled = dev_jobs["Charlie"][0]
    host.cancel(cancelled)
    with pytest.raises(ChallengeError, match="must be submitted"):
        host.approve(cancelled)
    outs = worker.run_worker(host, once=True, concurrency=2)
    assert sorted(o.event for o in outs) == ["finished"] * 5
    board = views.leaderboard(host, "dev")
    assert [r["team"] for r in board] == ["Alpha", "Charlie", "Bravo"]
    assert all("test score" not in r for r in board)

    # --- final phase: blind, ranked on the hidden split, each team's entry chosen on the public split
    clock.now = T0.timestamp() + 7 * DAY + 3600
    final = {t: [upload(t, q, f"f{i}") for i, q in enumerate(reversed(qs))] for t, qs in qual.items()}
    for jobs in final.values():
        for j in jobs:
            host.approve(j)
    worker.run_worker(host, once=True, concurrency=2)
    # the host reruns one (not counted; it replaces the original on the board)
    rerun = host.rerun(final["Bravo"][0])
    worker.run_worker(host, once=True)
    assert host.queue.get_job(rerun.job_id).state == "finished" and host.queue.get_job(final["Bravo"][0]).superseded
    assert views.leaderboard(host, "final") == []  # participants: hidden until reveal
    hidden_board = views.leaderboard(host, "final", host_view=True)
    assert len(hidden_board) == 3 and all(r["test score"] is not None for r in hidden_board)
    for team in qual:
        rows = views.participant_rows(host, team)
        assert rows and all("test score" not in r for r in rows)
        counted = [r for r in rows if r["phase"] == "final" and r["counted"]]
        assert len(counted) == 2  # the rerun is not counted
    # the ranking entry is each team's best on the public split, never its best on the hidden one
    by_team = {r["team"]: r for r in hidden_board}
    for team, jobs in final.items():
        candidates = [host.queue.get_job(j) for j in jobs]
        candidates = [j for j in candidates if not j.superseded] + ([host.queue.get_job(rerun.job_id)] if team == "Bravo" else [])
        runs = [host.store.get_run(j.run_id) for j in candidates]
        best_public = max(runs, key=lambda r: r.metric(r.primary_metric, "dev"))
        assert by_team[team]["dev score"] == round(best_public.metric(best_public.primary_metric, "dev"), 4)

    with pytest.raises(ChallengeError, match="is open until"):
        host.reveal("final")  # a reveal while teams can still upload is refused
    clock.advance(3 * DAY)  # the final phase has ended
    host.reveal("final")
    revealed = views.leaderboard(host, "final")
    assert revealed == hidden_board
    assert all("test score" in r for r in views.participant_rows(host, "Alpha") if r["phase"] == "final")
    assert all("test score" not in r for r in views.participant_rows(host, "Alpha") if r["phase"] == "dev")

    written = host.export(tmp_path / "export")
    assert sorted(p.name for p in written) == ["tinychal-dev-ranking.csv", "tinychal-final-ranking.csv", "tinychal-jobs.json"]
    assert "test score" in (tmp_path / "export" / "tinychal-final-ranking.csv").read_text()


def test_selected_and_latest_rules(tiny_env, tmp_path: Path) -> None:
    clock = FakeClock(T0.timestamp() + 3600)
    for rule in ("latest", "selected"):
        host = _host(tmp_path / rule, clock, rule=rule)
        token = host.add_team("Alpha")
        a = intake.submit_zip(host, token, intake.zip_folder(predictions_folder(tmp_path / rule / "s", "a", 0.9))).job_id
        clock.advance(60)
        b = intake.submit_zip(host, token, intake.zip_folder(predictions_folder(tmp_path / rule / "s", "b", 0.1))).job_id
        worker.run_worker(host, once=True)
        assert views.leaderboard(host, "dev")[0]["submission"] == b  # latest (also: selected with nothing selected)
        if rule == "selected":
            host.select("alpha", a)
            assert views.leaderboard(host, "dev")[0]["submission"] == a
            assert [r["submission"] for r in views.participant_rows(host, "Alpha") if r["selected"]] == [a]


def test_blind_phase_cli_for_participants_shows_no_hidden_value(tiny_env, tmp_path: Path) -> None:
    """`challenge my --token` and `challenge leaderboard` without --host print no hidden-split score."""
    folder = write_challenge(tmp_path / "c")
    # real clock: move the final phase around now
    import datetime as dt

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    text = (folder / "challenge.toml").read_text()
    fmt = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    text = text.replace("2026-03-02T00:00:00Z", fmt(now - dt.timedelta(days=3))).replace(
        "2026-03-09T00:00:00Z", fmt(now - dt.timedelta(days=1))).replace("2026-03-11T00:00:00Z", fmt(now + dt.timedelta(days=1)))
    (folder / "challenge.toml").write_text(text)
    host = open_challenge(folder)
    token = host.add_team("Alpha")
    job = intake.submit_zip(host, token, intake.zip_folder(predictions_folder(tmp_path / "s", "a", 0.9)))
    worker.run_worker(host, once=True)
    run = host.store.get_run(host.queue.get_job(job.job_id).run_id)
    hidden = f"{run.metric(run.primary_metric, 'test'):.4f}"
    from typer.testing import CliRunner

    from harness.cli import app

    runner = CliRunner()
    mine = runner.invoke(app, ["challenge", "my", str(folder), "--token", token])
    board = runner.invoke(app, ["challenge", "leaderboard", str(folder), "-p", "final"])
    host_board = runner.invoke(app, ["challenge", "leaderboard", str(folder), "-p", "final", "--host"])
    assert mine.exit_code == board.exit_code == host_board.exit_code == 0, mine.output + board.output
    assert job.job_id in mine.stdout and "left today" in mine.stdout
    assert hidden not in mine.stdout and hidden not in board.stdout and "hidden until the host reveals" in board.stdout
    assert hidden in host_board.stdout
