"""The challenge pages: Submit and My submissions, and the blind-phase leak test.

A blind (hidden, unrevealed) final phase: with a participant's token, no hidden-split value may reach the browser
on any page (every element's protobuf, the websocket payload, is searched), nor any download. Once through
streamlit's AppTest, once through a real headless Chromium (skipped, saying why, when it is not installed) that
also uploads a zip through the Submit page.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from challenge_helpers import predictions_folder, write_challenge
from harness.challenge import intake, open_challenge, views, worker
from leaderboard_app import settings

APP = str(Path(__file__).resolve().parents[1] / "leaderboard_app" / "app.py")
PAGES = ["app_pages/leaderboard.py", "app_pages/submission.py", "app_pages/compare.py", "app_pages/my_submissions.py",
         "app_pages/submit.py"]


def _blind_world(root: Path) -> dict:
    """A challenge in its blind final phase (real clock): two teams, finished dev and final submissions."""
    folder = write_challenge(root / "c")
    text = (folder / "challenge.toml").read_text()
    now = datetime.now(UTC)
    fmt = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    (folder / "challenge.toml").write_text(text.replace("2026-03-02T00:00:00Z", fmt(now - timedelta(days=5)))
                                           .replace("2026-03-09T00:00:00Z", fmt(now - timedelta(days=1)))
                                           .replace("2026-03-11T00:00:00Z", fmt(now + timedelta(days=2))))
    host = open_challenge(folder)
    tokens = {t: host.add_team(t) for t in ("Alpha", "Bravo")}
    for i, (team, q) in enumerate([("Alpha", 0.9), ("Bravo", 0.4), ("Alpha", 0.3)]):
        intake.submit_zip(host, tokens[team], intake.zip_folder(predictions_folder(root / "s", f"s{i}", q, seed=i)))
    worker.run_worker(host, once=True)
    hidden, values = set(), set()
    for r in host.store.list_runs(status="ok"):
        v = r.metric(r.primary_metric, "test")
        hidden |= {f"{v:.4f}", f"{v:.3f}", repr(round(v, 4))}
        values.add(round(v, 4))
    return {"folder": folder, "host": host, "tokens": tokens, "hidden": hidden, "values": values}


def _table_numbers(at: AppTest) -> set[float]:
    """Every number in every table the last run sent (tables travel as Arrow bytes, not as text)."""
    out: set[float] = set()
    for df in at.dataframe:
        for col in df.value.columns:
            for v in df.value[col].tolist():
                if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v:
                    out.add(round(float(v), 4))
    return out


@pytest.fixture()
def world(tiny_env, tmp_path: Path) -> dict:
    return _blind_world(tmp_path)


def _app(world: dict, monkeypatch: pytest.MonkeyPatch, mode: str = "public") -> AppTest:
    monkeypatch.setenv("NAS_HARNESS_CHALLENGE", str(world["folder"]))
    monkeypatch.setenv("NAS_HARNESS_STORE", str(world["host"].challenge.store_dir))
    monkeypatch.setenv(settings.MODE_ENV, mode)
    st.cache_data.clear()
    return AppTest.from_file(APP, default_timeout=120)


def _blob(at: AppTest) -> bytes:
    parts: list[bytes] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "SerializeToString"):
            parts.append(proto.SerializeToString())
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return b"\n".join(parts)


def participant_pages(at: AppTest, pages: list[str], token: str, heading: str) -> Iterator[str]:
    """Each of ``pages`` as a participant sees it: run (no exception), on My submissions with the team's token
    entered, its heading shown and the hidden final phase's board withheld; yields the page after its run."""
    for page in pages:
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        if page.endswith("my_submissions.py"):
            at.text_input(key="my_token").input(token).run()
            assert not at.exception
            assert any(heading in s.value for s in at.subheader)
            assert any("Hidden until the host reveals it" in c.value for c in at.caption)
        yield page


def test_blind_phase_no_hidden_value_on_any_page_for_a_participant(world: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(world, monkeypatch)
    at.run()
    seen, numbers = b"", set()
    # the general pages are the host's with a challenge hosted (tests/test_integrity_views.py)
    for page in participant_pages(at, PAGES[3:], world["tokens"]["Alpha"], "Team Alpha"):
        if page.endswith("my_submissions.py"):
            assert any("left today" in c.value for c in at.caption)
            frames = [df.value for df in at.dataframe]
            assert frames and "test score" not in frames[0].columns and len(frames[0]) == 2
        seen += _blob(at)
        numbers |= _table_numbers(at)
    leaked = [h for h in world["hidden"] if h.encode() in seen]
    assert not leaked, leaked
    assert numbers and not (numbers & world["values"]), numbers & world["values"]
    # the download is built from the same rows
    rows = views.participant_rows(world["host"], "Alpha")
    assert not [h for h in world["hidden"] if h in views.to_csv(rows)]


def test_host_mode_and_reveal_show_the_hidden_split(world: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(world, monkeypatch, mode="host")
    at.run()
    at.switch_page("app_pages/my_submissions.py").run()
    assert not at.exception
    assert _table_numbers(at) & world["values"]  # the host sees the final ranking's hidden-split scores
    world["host"].reveal("final", end_now=True)
    at = _app(world, monkeypatch)
    at.run()
    at.switch_page("app_pages/my_submissions.py").run()
    at.text_input(key="my_token").input(world["tokens"]["Bravo"]).run()
    assert any("test score" in df.value.columns for df in at.dataframe)


def test_submit_page_errors_are_one_escaped_line(world: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(world, monkeypatch)
    at.run()
    at.switch_page("app_pages/submit.py").run()
    assert not at.exception
    assert any("phase final is open" in c.value for c in at.caption)
    at.text_input(key="submit_token").input("nht_wrong")
    at.button[0].click().run()
    assert any("team token" in e.value for e in at.error)
    at = _app(world, monkeypatch)
    monkeypatch.delenv("NAS_HARNESS_CHALLENGE")
    at.run()
    assert not at.exception  # no challenge: the challenge pages are not offered


def test_submit_page_write_goes_only_through_intake(world: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's one write: an upload becomes a queued job via harness.challenge.intake (AppTest cannot drive a
    file uploader, so the page's call is made with the bytes a browser would send; Chromium does it for real)."""
    from leaderboard_app.challenge_ui import open_host

    monkeypatch.setenv("NAS_HARNESS_CHALLENGE", str(world["folder"]))
    host = open_host(read_only=False)
    data = intake.zip_folder(predictions_folder(world["folder"].parent / "x", "new", 0.5))
    job = intake.submit_zip(host, world["tokens"]["Bravo"], data)
    assert job.state == "queued" and job.team == "Bravo"
    ro = open_host(read_only=True)
    with pytest.raises(Exception, match="read-only"):
        intake.submit_zip(ro, world["tokens"]["Bravo"], data)


# ----------------------------------------------------------------------------------------------- real browser
def test_blind_phase_in_headless_chromium_upload_and_no_leak(world: dict, tmp_path: Path) -> None:
    from test_app_e2e import TABLE, browser, streamlit_server

    env = dict(os.environ)
    env["NAS_HARNESS_CHALLENGE"] = str(world["folder"])
    log = tmp_path / "logs"
    log.mkdir()
    try:
        ctx = browser(log / "chromedriver.log")
        wd = ctx.__enter__()
    except FileNotFoundError as exc:
        pytest.skip(f"headless browser test: {exc} (Debian: apt-get install chromium chromium-driver)")
    try:
        with streamlit_server(world["host"].challenge.store_dir, "public", env, log / "streamlit.log") as url:
            zpath = tmp_path / "upload.zip"
            zpath.write_bytes(intake.zip_folder(predictions_folder(tmp_path / "s", "browser", 0.6)))
            before = len(world["host"].queue.jobs(world["host"].name))
            wd.get(f"{url}/submit")
            _type(wd, 'input[type="password"]', world["tokens"]["Bravo"])
            _upload(wd, 'input[type="file"]', str(zpath))
            _click_text(wd, "button", "Submit")
            _wait_text(wd, "is queued in phase final")
            assert len(world["host"].queue.jobs(world["host"].name)) == before + 1
            wd.get(f"{url}/")  # with a challenge, the public view's default page is My submissions
            _type(wd, 'input[type="password"]', world["tokens"]["Alpha"])
            _wait_text(wd, "Team Alpha")
            deadline = time.monotonic() + 90
            while wd.count(TABLE) < 1:  # my submissions (the dev board is empty: all were sent in the final phase)
                assert time.monotonic() < deadline, (wd.script("return document.body.innerText") or "")[-1500:]
                time.sleep(0.5)
            time.sleep(2)  # let the grids fill
            # the grid keeps an accessible <table> in the DOM: its cells are what the participant sees
            cells = wd.script(
                f"return Array.from(document.querySelectorAll('{TABLE} table tr')).map(r => Array.from(r.children)"
                ".map(c => c.innerText).join(' | '))") or []
            text = "\n".join(cells) + (wd.script("return document.documentElement.outerHTML") or "")
            alpha = [j.job_id for j in world["host"].queue.jobs(world["host"].name, team="Alpha")]
            assert all(j in text for j in alpha), cells[:5]
            assert "test score" not in "\n".join(cells)
            leaked = [h for h in world["hidden"] if h in text]
            assert not leaked, leaked
    finally:
        ctx.__exit__(None, None, None)


def _find(wd, css: str) -> str:
    reply = wd.call("POST", "/element", {"using": "css selector", "value": css})
    return next(iter(reply.values()))


def _type(wd, css: str, text: str) -> None:
    deadline = time.monotonic() + 60
    while wd.count(css) == 0:
        assert time.monotonic() < deadline, f"no {css} on the page"
        time.sleep(0.3)
    el = _find(wd, css)
    wd.call("POST", f"/element/{el}/value", {"text": text + "\n"})


def _upload(wd, css: str, path: str) -> None:
    deadline = time.monotonic() + 60
    while wd.count(css) == 0:
        assert time.monotonic() < deadline, f"no {css} on the page"
        time.sleep(0.3)
    wd.call("POST", f"/element/{_find(wd, css)}/value", {"text": path})
    time.sleep(2)


def _click_text(wd, tag: str, text: str) -> None:
    wd.script(f"Array.from(document.querySelectorAll('{tag}')).filter(b => b.innerText.trim() === {text!r})[0].click()")


def _wait_text(wd, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in (wd.script("return document.body.innerText") or ""):
        assert time.monotonic() < deadline, f"{text!r} never appeared; the page: {(wd.script('return document.body.innerText') or '')[-1200:]!r}"
        time.sleep(0.5)
