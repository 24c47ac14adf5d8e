"""My submissions in the app: the team's own heading, the phase board with its metric, CI, baseline row and ties,
and the choice of the final entry (rule ``selected``) through the page's form."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from challenge_helpers import predictions_folder, write_challenge
from harness.challenge import intake, open_challenge, worker
from leaderboard_app import settings

APP = str(Path(__file__).resolve().parents[1] / "leaderboard_app" / "app.py")


def test_my_submissions_board_and_self_selection(tiny_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_challenge(tmp_path / "c", rule="selected")
    text = (folder / "challenge.toml").read_text()
    now = time.time()
    for old, days in {"2026-03-02T00:00:00Z": -3, "2026-03-09T00:00:00Z": 3, "2026-03-11T00:00:00Z": 5}.items():
        text = text.replace(old, datetime.fromtimestamp(now + days * 86400, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    (folder / "challenge.toml").write_text(text)
    host = open_challenge(folder)
    token = host.add_team("Team Green")
    other = host.add_team("Alpha")
    first = intake.submit_zip(host, token, intake.zip_folder(predictions_folder(tmp_path / "s", "a", 0.9))).job_id
    intake.submit_zip(host, token, intake.zip_folder(predictions_folder(tmp_path / "s", "b", 0.2, seed=1)))
    intake.submit_zip(host, other, intake.zip_folder(predictions_folder(tmp_path / "s", "c", 0.5, seed=2)))
    worker.run_worker(host, once=True)

    monkeypatch.setenv("NAS_HARNESS_CHALLENGE", str(folder))
    monkeypatch.setenv("NAS_HARNESS_STORE", str(host.challenge.store_dir))
    monkeypatch.setenv(settings.MODE_ENV, "public")
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("app_pages/my_submissions.py").run()
    at.text_input(key="my_token").input(token).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.subheader][0] == "Team Green"  # not "Team Team Green"
    boards = [df.value for df in at.dataframe if "tied_with_leader" in df.value.columns]
    assert boards, [list(df.value.columns) for df in at.dataframe]
    dev = boards[0]
    assert {"kendall_tau", "95% CI"} <= set(dev.columns) and "#params baseline" in set(dev["team"])
    assert any("ranked by kendall" in c.value for c in at.caption)  # (Markdown-escaped: kendall\\_tau)
    assert dev[dev["team"] == "Team Green"]["submission"].tolist() != [first]  # the latest counts until one is selected

    at.selectbox(key="select_job").select(first)
    at.button[0].click().run()  # a form: the choice and the click travel in one run
    assert not at.exception, [e.value for e in at.exception]
    assert any("selected entry" in s.value for s in at.success), [e.value for e in at.error]
    assert host.queue.get_job(first).selected, [s.value for s in at.success]
