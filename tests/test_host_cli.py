"""The host's and participants' commands: whole ids and --json on every challenge table, the app's mode from the
environment, self-service selection (only under rule ``selected``), intake's coverage check, the private-GT
warning of ``validate``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from challenge_helpers import T0, predictions_folder, write_challenge
from harness.challenge import intake, open_challenge, worker
from harness.challenge.clock import FakeClock
from harness.challenge.config import ChallengeError
from harness.cli import app

runner = CliRunner()


def _world(tmp_path: Path, rule: str = "best_public"):
    folder = write_challenge(tmp_path / "c", rule=rule)
    host = open_challenge(folder, clock=FakeClock(T0.timestamp() + 3600))
    tokens = {t: host.add_team(t) for t in ("Alpha", "Team Green")}
    jobs = [intake.submit_zip(host, tokens[t], intake.zip_folder(predictions_folder(tmp_path / "s", f"s{i}", q, seed=i))).job_id
            for i, (t, q) in enumerate([("Alpha", 0.9), ("Team Green", 0.3)])]
    worker.run_worker(host, once=True)
    return folder, host, tokens, jobs


def _code(result) -> int:
    """The exit code `nas-harness` would exit with (the CLI's runner maps a HarnessError to its class's code)."""
    from harness.errors import HarnessError

    return result.exception.exit_code if isinstance(result.exception, HarnessError) else result.exit_code


def _err(result) -> str:
    return result.output + (str(result.exception) if result.exception else "")


def _invoke(args: list[str], monkeypatch: pytest.MonkeyPatch, columns: int = 80):
    monkeypatch.setenv("COLUMNS", str(columns))
    return runner.invoke(app, args)


def test_every_challenge_table_has_json_and_status_shows_whole_ids(tiny_env, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    folder, host, tokens, jobs = _world(tmp_path)
    monkeypatch.setattr("harness.challenge.cli._host", lambda f, **kw: open_challenge(f, clock=host.clock, **kw))
    narrow = _invoke(["challenge", "status", str(folder)], monkeypatch, columns=60)
    assert narrow.exit_code == 0, narrow.output
    for j in jobs:
        assert j in narrow.stdout  # never cut, even at 60 columns
    status = json.loads(_invoke(["challenge", "status", str(folder), "--json"], monkeypatch).stdout)
    assert sorted(r["submission"] for r in status) == sorted(jobs) and all(r["status"] == "finished" for r in status)
    bad = _invoke(["challenge", "status", str(folder), "--state", "runnning"], monkeypatch)
    assert _code(bad) == 7 and "--state 'runnning'" in _err(bad)
    teams = json.loads(_invoke(["challenge", "team", "list", str(folder), "--json"], monkeypatch).stdout)
    assert [t["team"] for t in teams] == ["Alpha", "Team Green"]
    valid = json.loads(_invoke(["challenge", "validate", str(folder), "--json"], monkeypatch).stdout)
    assert [p["phase"] for p in valid["phases"]] == ["dev", "final"] and valid["full_sweep"] is False
    mine = json.loads(_invoke(["challenge", "my", str(folder), "--token", tokens["Alpha"], "--json"], monkeypatch).stdout)
    assert mine["team"] == "Alpha" and [r["submission"] for r in mine["submissions"]] == [jobs[0]]
    board = json.loads(_invoke(["challenge", "leaderboard", str(folder), "-p", "dev", "--json"], monkeypatch).stdout)
    entries = [r for r in board if r["type"] == "entry"]
    assert [r["team"] for r in entries] == ["Alpha", "Team Green"]
    for r in board:
        assert r["metric"] == "kendall_tau" and r["split"] == "dev"
        low, high = r["ci"]
        assert low <= r["value"] <= high and isinstance(r["tied_with_leader"], bool)
    assert any(r["team"] == "#params baseline" and r["rank"] is None for r in board)
    hidden = json.loads(_invoke(["challenge", "leaderboard", str(folder), "-p", "final", "--json"], monkeypatch).stdout)
    assert hidden == []
    table = _invoke(["challenge", "leaderboard", str(folder), "-p", "dev"], monkeypatch, columns=200)
    assert "kendall_tau" in table.stdout and "tied_with_leader" in table.stdout and "#params baseline" in table.stdout


def test_select_is_the_participants_own_and_only_under_rule_selected(tiny_env, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    folder, host, tokens, jobs = _world(tmp_path / "best")
    with pytest.raises(ChallengeError, match="ranks by rule best_public"):
        host.select("Alpha", jobs[0])
    monkeypatch.setattr("harness.challenge.cli._host", lambda f, **kw: open_challenge(f, clock=host.clock, **kw))
    refused = _invoke(["challenge", "select", str(folder), jobs[0], "--token", tokens["Alpha"]], monkeypatch)
    assert _code(refused) == 7 and "ranks by rule best_public" in _err(refused), refused.output
    assert not host.queue.get_job(jobs[0]).selected

    folder, host, tokens, jobs = _world(tmp_path / "sel", rule="selected")
    monkeypatch.setattr("harness.challenge.cli._host", lambda f, **kw: open_challenge(f, clock=host.clock, **kw))
    ok = _invoke(["challenge", "select", str(folder), jobs[0], "--token", tokens["Alpha"]], monkeypatch)
    assert ok.exit_code == 0, ok.output
    assert host.queue.get_job(jobs[0]).selected
    theirs = _invoke(["challenge", "select", str(folder), jobs[1], "--token", tokens["Alpha"]], monkeypatch)
    assert _code(theirs) == 7 and "no submission" in _err(theirs) and not host.queue.get_job(jobs[1]).selected
    both = _invoke(["challenge", "select", str(folder), jobs[0]], monkeypatch)
    assert _code(both) == 7 and "--token" in _err(both)


def test_intake_refuses_predictions_that_do_not_cover_the_arch_set(tiny_env, tmp_path: Path) -> None:
    host = open_challenge(write_challenge(tmp_path / "c", limits="total = 1"), clock=FakeClock(T0.timestamp() + 3600))
    token = host.add_team("Alpha")
    sub = predictions_folder(tmp_path / "s", "short", 0.9)
    lines = (sub / "predictions.csv").read_text().splitlines()
    (sub / "predictions.csv").write_text("\n".join(lines[:-5]) + "\n")
    with pytest.raises(ChallengeError, match="5 of the 300 archs of the arch set missing"):
        intake.submit_zip(host, token, intake.zip_folder(sub))
    assert host.queue.jobs(host.name) == [] and not list(host.challenge.uploads_dir.glob("j-*"))
    intake.submit_zip(host, token, intake.zip_folder(predictions_folder(tmp_path / "s", "full", 0.9)))  # not counted


def test_app_mode_env_is_honoured_and_an_explicit_mode_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[str] = []
    monkeypatch.setattr("leaderboard_app.launch.launch", lambda store, mode, port: seen.append(mode) or 0)
    monkeypatch.setenv("NAS_HARNESS_APP_MODE", "host")
    assert runner.invoke(app, ["app", "--store", str(tmp_path)]).exit_code == 0
    assert runner.invoke(app, ["app", "--store", str(tmp_path), "--mode", "public"]).exit_code == 0
    monkeypatch.delenv("NAS_HARNESS_APP_MODE")
    assert runner.invoke(app, ["app", "--store", str(tmp_path)]).exit_code == 0
    assert seen == ["host", "public", "public"]
    monkeypatch.setenv("NAS_HARNESS_APP_MODE", "root")
    bad = runner.invoke(app, ["app", "--store", str(tmp_path)])
    assert _code(bad) == 2 and "unknown mode" in _err(bad)


def test_the_uploader_states_the_challenge_limit_and_team_headings_do_not_stutter(tiny_env, tmp_path: Path) -> None:
    from leaderboard_app.challenge_ui import team_heading
    from leaderboard_app.launch import build_command, upload_limit_mb

    folder = write_challenge(tmp_path / "c")  # max_upload_mb = 2
    assert upload_limit_mb({"NAS_HARNESS_CHALLENGE": str(folder)}) == 2
    assert upload_limit_mb({}) is None
    assert build_command(extra=["--server.maxUploadSize", "2"])[-2:] == ["--server.maxUploadSize", "2"]
    assert team_heading("Team Green") == "Team Green" and team_heading("Alpha") == "Team Alpha"


def test_validate_warns_when_a_hidden_phase_ranks_on_a_packaged_gt(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    assert runner.invoke(app, ["challenge", "init", str(folder), "--name", "pub", "--benchmark", "mnist1d-w20"]).exit_code == 0
    out = runner.invoke(app, ["challenge", "validate", str(folder)])
    assert out.exit_code == 0, out.output
    assert "warning" in out.stdout and "ships with the nas-harness package" in " ".join(out.stdout.split())
    data = json.loads(runner.invoke(app, ["challenge", "validate", str(folder), "--json"]).stdout)
    assert len(data["warnings"]) == 1 and "final" in data["warnings"][0]


def test_a_participant_cannot_change_the_final_entry_after_the_phase_ends(tiny_env, tmp_path: Path) -> None:
    folder, host, tokens, jobs = _world(tmp_path, rule="selected")
    host.clock.advance(8 * 86400)  # the dev phase ended (its hidden-split scores may be revealed)
    with pytest.raises(ChallengeError, match="phase dev is closed"):
        host.select_own(tokens["Alpha"], jobs[0])
    assert not host.queue.get_job(jobs[0]).selected


def test_a_host_scored_baseline_sits_on_the_board_unranked(tiny_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.challenge import board
    from harness.scoring import ScoreOptions, score_submission
    from harness.submission.folder import TRUSTED_ENV

    folder, host, tokens, jobs = _world(tmp_path)
    monkeypatch.setenv(TRUSTED_ENV, str(tmp_path / "trusted"))  # the host's own reference folders
    ref = predictions_folder(tmp_path / "trusted", "host-ref", 0.6, seed=7, manifest_name="zero-cost proxy")
    (ref / "submission.toml").write_text((ref / "submission.toml").read_text() + "baseline = true\n")
    run = score_submission(ref, host.store, ScoreOptions(n_boot=0, progress=False))
    rows = board.challenge_board(host, "dev")
    base = [r for r in rows if r["type"] == "baseline"]
    assert {r["team"] for r in base} == {"zero-cost proxy", "#params baseline"}
    assert [r["submission"] for r in base if r["team"] == "zero-cost proxy"] == [run.run_id]
    assert all(r["rank"] is None for r in base) and [r["rank"] for r in rows if r["type"] == "entry"] == [1, 2]
    values = [r["value"] for r in rows]
    assert values == sorted(values, reverse=True)  # each baseline where its value falls (kendall_tau: higher is better)
    # an upload whose manifest says `baseline = true` is a team's entry all the same (trust comes from the host)
    sneaky = predictions_folder(tmp_path / "s", "sneaky", 0.5, seed=8)
    (sneaky / "submission.toml").write_text((sneaky / "submission.toml").read_text() + "baseline = true\n")
    intake.submit_zip(host, tokens["Team Green"], intake.zip_folder(sneaky))
    worker.run_worker(host, once=True)
    assert {r["team"] for r in board.challenge_board(host, "dev") if r["type"] == "baseline"} == {"zero-cost proxy", "#params baseline"}
