"""The Streamlit app under streamlit.testing.v1.AppTest: every page, empty/missing/broken stores, failed runs,
public vs host mode (no hidden-split value reaches a page or a download in public mode), caching, 200-run timing.

The app's benchmark lookup (``leaderboard_app.data.get_benchmark``) is replaced by a synthetic benchmark whose
hidden test split holds sentinel arch strings, accuracies and scores; every element the app sends to the browser
(protobufs, Arrow tables, chart datasets) and every download is searched for them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import streamlit as st
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from harness.errors import StoreError, UnknownNameError
from harness.store import ResultStore
from leaderboard_app import data, launch, tables
from leaderboard_app.settings import MODE_ENV

from store_fixtures import add_run, hidden_sentinels, make_synthetic_benchmark, payload, populate, sentinel_hits

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "leaderboard_app" / "app.py")
PAGES = (None, "app_pages/submission.py", "app_pages/compare.py")
ARTIFACTS = REPO / "test-artifacts"


# ------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def bench():
    return make_synthetic_benchmark()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, bench) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("app") / "store"
    store = ResultStore(root)
    pop = populate(store, bench, n_ok=6, n_failed=2, n_running=1)
    stale = add_run(store, benchmark=bench.name, submission="old-gt", archs=bench.archset, scores=pop["scores"][0],
                    metrics=store.get_run(pop["ok"][0]).metrics, gt_hash="an-older-gt")
    pop["stale"] = stale
    pop["scores"].append(pop["scores"][0])
    return {"root": root, "store": store, **pop}


@pytest.fixture()
def downloads(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every file the app offers for download (or any other media), as bytes."""
    captured: list[bytes] = []
    real = MemoryMediaFileStorage.load_and_get_id

    def spy(self: Any, path_or_data: Any, mimetype: str, kind: Any, filename: str | None = None) -> str:
        if isinstance(path_or_data, bytes):
            captured.append(path_or_data)
        return real(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    return captured


@pytest.fixture()
def make_app(monkeypatch: pytest.MonkeyPatch, bench):
    """AppTest factory: store path, mode (None = unset), the synthetic benchmark behind the app's lookup."""

    def lookup(name: str) -> Any:
        if name == bench.name:
            return bench
        raise UnknownNameError(f"unknown benchmark {name!r}")

    def factory(store: Path, mode: str | None = "public") -> AppTest:
        monkeypatch.setenv("NAS_HARNESS_STORE", str(store))
        if mode is None:
            monkeypatch.delenv(MODE_ENV, raising=False)
        else:
            monkeypatch.setenv(MODE_ENV, mode)
        monkeypatch.setattr(data, "get_benchmark", lookup)
        st.cache_data.clear()
        return AppTest.from_file(APP, default_timeout=120)

    return factory


def run_page(at: AppTest, page: str | None) -> AppTest:
    """Switch to ``page`` (a path relative to app.py) and run; None reruns the current page."""
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def blob(at: AppTest) -> bytes:
    """Everything the last run sent to the browser: every element's protobuf, serialized."""
    parts: list[bytes] = []

    def walk(node: Any) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "SerializeToString"):
            parts.append(proto.SerializeToString())
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return b"\n".join(parts)


def texts(at: AppTest) -> str:
    return " ".join(str(e.value) for kind in ("info", "error", "warning", "success", "caption", "markdown") for e in getattr(at, kind))


# ------------------------------------------------------------------------------------------ empty states
@pytest.mark.parametrize("page", PAGES)
def test_missing_store_shows_empty_state(tmp_path: Path, make_app, page: str | None) -> None:
    at = run_page(make_app(tmp_path / "nowhere"), page)
    assert "No results yet" in texts(at) and "nas-harness score" in texts(at)
    assert not (tmp_path / "nowhere").exists()  # the app never creates a store


@pytest.mark.parametrize("page", PAGES)
def test_empty_store_shows_empty_state(tmp_path: Path, make_app, page: str | None) -> None:
    ResultStore(tmp_path / "s")
    at = run_page(make_app(tmp_path / "s"), page)
    assert "store is empty" in texts(at)


def test_broken_store_shows_one_line_error(tmp_path: Path, make_app) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "runs.sqlite").write_bytes(b"garbage" * 1000)
    at = run_page(make_app(tmp_path / "s"), None)
    assert at.error and "cannot be read: ask the challenge host" in at.error[0].value and str(tmp_path) not in at.error[0].value
    at = run_page(make_app(tmp_path / "s", mode="host"), None)
    assert "not a database" in at.error[0].value


def test_only_failed_runs(tmp_path: Path, make_app, bench) -> None:
    store = ResultStore(tmp_path / "s")
    add_run(store, benchmark=bench.name, submission="crashy", status="failed", error="trainer crashed: CUDA OOM")
    at = run_page(make_app(tmp_path / "s"), None)
    assert "No run has completed yet" in texts(at)
    assert "trainer crashed: CUDA OOM" in at.dataframe[0].value.to_csv()
    at = run_page(at, "app_pages/submission.py")
    assert any("trainer crashed: CUDA OOM" in e.value for e in at.error)
    at = run_page(at, "app_pages/compare.py")
    assert "two completed runs" in texts(at)


# ------------------------------------------------------------------------------------------ leaderboard page
def test_leaderboard_ranked_with_references_and_flags(world, make_app, bench, downloads) -> None:
    at = run_page(make_app(world["root"]), None)
    assert [s.value for s in at.subheader] == [f"{bench.name} v1"]  # one board per benchmark version
    frame = at.dataframe[0].value
    assert list(frame["type"][:2]) == ["reference", "reference"]
    assert list(frame["submission"][:2]) == [tables.NOISE_CEILING, tables.PARAMS_BASELINE]
    runs = frame[frame["type"] != "reference"]
    assert list(runs["rank"]) == list(range(1, len(runs) + 1))
    taus = runs["Kendall τ"].tolist()
    assert taus == sorted(taus, reverse=True)
    assert runs["Kendall τ CI"].str.match(r"\[-?\d\.\d{3}, -?\d\.\d{3}\]").all()
    assert "baseline" in set(runs["type"]) and runs.loc[runs["type"] == "baseline", "flags"].str.contains("baseline").all()
    assert "stale GT: rescore" in runs.loc[runs["submission"] == "old-gt", "flags"].iloc[0]
    # failed and running runs are listed apart, with their errors
    others = at.dataframe[1].value
    assert set(others["status"]) == {"failed", "running"} and others["error"].str.contains("trainer crashed").any()
    # the CSV download is exactly the table shown
    csv = downloads[-1].decode()
    assert csv.splitlines()[0].startswith("rank,submission,type,kind,Kendall τ")
    assert len(csv.strip().splitlines()) == len(frame) + 1


def test_leaderboard_controls(world, make_app) -> None:
    at = run_page(make_app(world["root"]), None)
    n_best = len(at.dataframe[0].value)
    at.radio(key="lb_per_sub").set_value("all")
    at = run_page(at, None)
    assert len(at.dataframe[0].value) == n_best + 0  # one run per submission in this store: same rows
    at.selectbox(key="lb_sort").set_value("pearson")
    at = run_page(at, None)
    runs = at.dataframe[0].value.query("type != 'reference'")
    assert runs["Pearson r"].tolist() == sorted(runs["Pearson r"].tolist(), reverse=True)
    at.selectbox(key="lb_sort").set_value("top1_regret")  # lower is better
    at.multiselect(key="lb_metrics").set_value(["top1_regret", "kendall_tau"])
    at = run_page(at, None)
    runs = at.dataframe[0].value.query("type != 'reference'")
    assert runs["top-1 regret"].tolist() == sorted(runs["top-1 regret"].tolist())
    assert "Spearman ρ" not in runs.columns


def test_best_and_latest_per_submission(tmp_path: Path, make_app, bench) -> None:
    store = ResultStore(tmp_path / "s")
    add_run(store, benchmark=bench.name, submission="x", metrics=payload({"kendall_tau": 0.9}))
    add_run(store, benchmark=bench.name, submission="x", metrics=payload({"kendall_tau": 0.2}))
    add_run(store, benchmark=bench.name, submission="y", metrics=payload({"kendall_tau": 0.5}))
    at = run_page(make_app(tmp_path / "s"), None)

    def rows() -> list[tuple[str, float]]:
        f = at.dataframe[0].value.query("type != 'reference'")
        return list(zip(f["submission"], f["Kendall τ"], strict=True))

    assert rows() == [("x", 0.9), ("y", 0.5)]
    at.radio(key="lb_per_sub").set_value("latest")
    run_page(at, None)
    assert rows() == [("y", 0.5), ("x", 0.2)]
    at.radio(key="lb_per_sub").set_value("all")
    run_page(at, None)
    assert rows() == [("x", 0.9), ("y", 0.5), ("x", 0.2)]


def test_new_run_invalidates_cache(tmp_path: Path, make_app, bench) -> None:
    store = ResultStore(tmp_path / "s")
    add_run(store, benchmark=bench.name, submission="first", metrics=payload({"kendall_tau": 0.1}))
    at = run_page(make_app(tmp_path / "s"), None)
    assert list(at.dataframe[0].value.query("type != 'reference'")["submission"]) == ["first"]
    add_run(store, benchmark=bench.name, submission="second", metrics=payload({"kendall_tau": 0.3}))
    run_page(at, None)  # a plain rerun, no cache clearing
    assert list(at.dataframe[0].value.query("type != 'reference'")["submission"]) == ["second", "first"]


# ------------------------------------------------------------------------------------------ submission page
def test_submission_page_ok_run(world, make_app, downloads) -> None:
    at = run_page(make_app(world["root"]), "app_pages/submission.py")
    top = at.selectbox(key="sub_pick").value
    assert top[0] == "team-005"  # the default is the leaderboard's best submission
    assert [m.value for m in at.metric][:2] == ["ok", ["trainer", "checkpoint", "predictions"][5 % 3]]
    assert len(at.get("vega_lite_chart")) == 4  # score vs GT, rank vs rank, complexity, top-k regret
    metrics = at.dataframe[1].value
    assert {"Kendall τ", "CB", "top-1 regret"} <= set(metrics["metric"])
    from harness.metrics import METRICS

    max_type = metrics["metric"].isin([m.label for m in METRICS.values() if m.max_type])
    assert max_type.any() and (metrics["95% CI"][max_type] == "").all()  # an extreme of a few archs: no bootstrap CI
    assert metrics["95% CI"][~max_type].str.startswith("[").all()
    assert at.json and json.loads(at.json[0].value)["name"] == "team-005"
    per_arch = downloads[-1].decode().splitlines()
    assert per_arch[0] == "arch,score,gt_acc,params,score_rank,gt_rank,ratio" and len(per_arch) == 1 + 60


def test_submission_page_failed_running_and_deep_link(world, make_app) -> None:
    at = make_app(world["root"])
    at.query_params["run"] = world["failed"][0]
    at = run_page(at, "app_pages/submission.py")
    assert at.selectbox(key="sub_run").value.run_id == world["failed"][0]
    assert any("trainer crashed: ValueError in epoch 0" in e.value for e in at.error)
    assert not at.get("vega_lite_chart")
    history = at.dataframe[0].value
    assert list(history["status"]) == ["failed"] and "total time (s)" in history
    at.selectbox(key="sub_pick").set_value(("busy-0", world["store"].get_run(world["running"][0]).benchmark))
    at = run_page(at, "app_pages/submission.py")
    assert any("still being scored" in i.value for i in at.info)


def test_submission_page_without_gt(tmp_path: Path, make_app) -> None:
    store = ResultStore(tmp_path / "s")
    add_run(store, benchmark="retired-benchmark", submission="z")
    at = run_page(make_app(tmp_path / "s"), "app_pages/submission.py")
    assert any("Per-arch plots unavailable" in w.value for w in at.warning)
    at = run_page(at, "app_pages/leaderboard.py")
    assert "GT unavailable" in texts(at)


# ------------------------------------------------------------------------------------------ compare page
def test_compare_page_verdict(world, make_app) -> None:
    at = run_page(make_app(world["root"]), "app_pages/compare.py")
    verdict = (at.success or at.info)[0].value
    assert "paired bootstrap over the same 60 GT archs of the dev split" in verdict
    a, b = at.selectbox(key="cmp_a").value, at.selectbox(key="cmp_b").value
    from harness.metrics import paired_bootstrap

    fa, fb = (data._arch_frame(str(world["root"]), r.run_id, r.predictions_hash, r.benchmark, r.gt_hash, "dev") for r in (a, b))
    expected = paired_bootstrap(fa["score"].to_numpy(), fb["score"].to_numpy(), fa["gt_acc"].to_numpy(), fa["params"].to_numpy(), "kendall_tau", n_boot=2000, seed=0)
    assert f"A − B = {expected['diff']:.4f}" in verdict
    assert len(at.get("vega_lite_chart")) == 2
    table = at.dataframe[0].value
    assert np.allclose(table["A − B"], table["A"] - table["B"], equal_nan=True)
    at.selectbox(key="cmp_b").set_value(a)
    at = run_page(at, "app_pages/compare.py")
    assert at.warning and "two different runs" in at.warning[0].value


# ------------------------------------------------------------------------------------------ public vs host
def _visit_everything(at: AppTest, world: dict[str, Any], bench: Any, split: str | None) -> list[bytes]:
    """Every page and every submission (choosing ``split`` where the mode offers a choice); what each sent."""
    blobs = []
    at = run_page(at, None)
    if split and at.get("button_group"):
        at.button_group(key="lb_split").set_value(split)
        at = run_page(at, None)
    for metric in ("pearson", "top1_regret"):
        at.selectbox(key="lb_sort").set_value(metric)
        blobs.append(blob(run_page(at, None)))
    names = sorted({r.submission for r in world["store"].list_runs()})
    at = run_page(at, "app_pages/submission.py")
    for name in names:
        at.selectbox(key="sub_pick").set_value((name, bench.name))
        at = run_page(at, "app_pages/submission.py")
        if split and at.get("button_group"):
            at.button_group(key="sub_split").set_value(split)
            at = run_page(at, "app_pages/submission.py")
        blobs.append(blob(at))
    at = run_page(at, "app_pages/compare.py")
    if split and at.get("button_group"):
        at.button_group(key="cmp_split").set_value(split)
        at = run_page(at, "app_pages/compare.py")
    blobs.append(blob(at))
    return blobs


def _test_aggregates(world: dict[str, Any]) -> list[float]:
    """Test-split correlation values of the stored runs (that do not also occur on the dev split)."""
    dev, test = set(), set()
    for r in world["store"].list_runs(status="ok"):
        for split, bag in (("dev", dev), ("test", test)):
            for m in ("kendall_tau", "spearman", "pearson"):
                entry = r.report(split)["metrics"][m]
                bag.update(v for v in (entry["value"], entry["ci_low"], entry["ci_high"]) if v is not None)
    return sorted(test - dev)


def test_public_mode_never_shows_the_hidden_split(world, make_app, bench, downloads) -> None:
    sentinels = hidden_sentinels(bench, world["scores"])
    sentinels["floats"] += _test_aggregates(world)
    at = make_app(world["root"], mode=None)  # public is the default
    at.query_params["mode"] = "host"  # a participant editing the URL changes nothing
    at.query_params["split"] = "test"
    blobs = _visit_everything(at, world, bench, split="test")
    assert not at.get("button_group"), "public mode must not offer a split choice"
    assert not at.text_input, "public mode must not offer a store path setting"
    assert "Public view" in texts(at)
    assert len(downloads) >= 10  # leaderboard CSVs and per-arch CSVs were produced and searched
    hits = {h for b in [*blobs, *downloads] for h in sentinel_hits(b, sentinels)}
    assert not hits, f"hidden-split values reached the public app: {sorted(hits)[:10]}"


def test_host_mode_shows_the_hidden_split(world, make_app, bench, downloads) -> None:
    """Positive control: the same search finds the sentinels once the host asks for the test split."""
    sentinels = hidden_sentinels(bench, world["scores"])
    blobs = _visit_everything(make_app(world["root"], mode="host"), world, bench, split="test")
    page_hits = {h for b in blobs for h in sentinel_hits(b, sentinels)}
    download_hits = {h for b in downloads for h in sentinel_hits(b, sentinels)}
    assert set(sentinels["archs"]) <= page_hits  # every hidden arch appears in the host's plots
    assert len(page_hits) > len(sentinels["archs"]) and download_hits


def test_host_mode_from_secrets_and_bad_mode_fails_closed(world, make_app, monkeypatch: pytest.MonkeyPatch) -> None:
    at = make_app(world["root"], mode=None)
    at.secrets["NAS_HARNESS_APP_MODE"] = "host"
    at = run_page(at, None)
    assert "Host view" in texts(at) and at.get("button_group")
    at = run_page(make_app(world["root"], mode="HoSt "), None)
    assert "Host view" in texts(at)
    at = run_page(make_app(world["root"], mode="admin"), None)
    assert "Public view" in texts(at) and any("unknown app mode" in w.value for w in at.warning)
    assert not at.get("button_group")


def test_host_mode_store_setting(world, tmp_path: Path, make_app) -> None:
    at = run_page(make_app(tmp_path / "elsewhere", mode="host"), None)
    assert "No results yet" in texts(at)
    at.text_input(key="store_path_setting").set_value(str(world["root"]))
    at = run_page(at, None)
    assert len(at.dataframe[0].value) > 2


def test_app_never_writes_the_store(world, make_app) -> None:
    db = world["root"] / "runs.sqlite"
    before = (db.read_bytes(), world["store"].fingerprint())
    for page in PAGES:
        run_page(make_app(world["root"], mode="host"), page)
    assert (db.read_bytes(), world["store"].fingerprint()) == before
    with pytest.raises(StoreError, match="readonly"):
        with data.open_store(world["root"])._connect() as con:
            con.execute("DELETE FROM runs")


# ------------------------------------------------------------------------------------------ real benchmark lookup
def test_real_benchmark_lookup(tiny_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No substitute: the app finds the tiny benchmark through the harness registry and plots against its GT."""
    from harness.benchmarks import get_benchmark

    store = ResultStore(tmp_path / "store")
    populate(store, get_benchmark("tiny-w20"), n_ok=2, n_failed=0)
    monkeypatch.setenv(MODE_ENV, "public")
    st.cache_data.clear()
    at = run_page(AppTest.from_file(APP, default_timeout=120), "app_pages/submission.py")
    assert len(at.get("vega_lite_chart")) == 4
    at = run_page(at, "app_pages/leaderboard.py")
    assert "30 GT archs" in texts(at)


# ------------------------------------------------------------------------------------------ launch helper
def test_launch_builds_the_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    class FakeProc:
        def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
            seen.update(cmd=cmd, env=env)

        def wait(self, timeout: float | None = None) -> int:
            return 0

    monkeypatch.setattr(launch.subprocess, "Popen", FakeProc)
    assert launch.launch(tmp_path / "s", "host", 8555) == 0
    cmd = seen["cmd"]
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("leaderboard_app/app.py")
    assert cmd[cmd.index("--server.port") + 1] == "8555" and cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert seen["env"][MODE_ENV] == "host" and seen["env"]["NAS_HARNESS_STORE"] == str((tmp_path / "s").absolute())
    launch.launch(tmp_path / "s", "public", None)
    assert "--server.address" not in seen["cmd"] and "--server.port" not in seen["cmd"]
    with pytest.raises(UnknownNameError, match="unknown app mode"):
        launch.launch(tmp_path, "admin", None)


def test_launch_ctrl_c_stops_the_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[str] = []

    class FakeProc:
        def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
            self.first = True

        def wait(self, timeout: float | None = None) -> int:
            if self.first:
                self.first = False
                raise KeyboardInterrupt
            return -15

        def terminate(self) -> None:
            calls.append("terminate")

    monkeypatch.setattr(launch.subprocess, "Popen", FakeProc)
    assert launch.launch(tmp_path, "public", None) == 130 and calls == ["terminate"]


def test_launch_passes_sigterm_to_the_server(tmp_path: Path) -> None:
    """Stopping `nas-harness app` with SIGTERM must stop the server too (no orphaned Streamlit)."""
    import os
    import signal
    import subprocess
    import sys

    server = "import os, time; print(os.getpid(), flush=True); time.sleep(120)"
    code = (
        "import sys; from pathlib import Path; from leaderboard_app import launch;"
        f"launch.build_command = lambda **k: [sys.executable, '-c', {server!r}];"
        f"sys.exit(launch.launch(Path({str(tmp_path)!r}), 'public', None))"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=30) == 128 + signal.SIGTERM
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the server outlived `nas-harness app`")


# ------------------------------------------------------------------------------------------ 200 runs
def test_200_run_store_timing(tmp_path: Path, make_app, bench) -> None:
    store = ResultStore(tmp_path / "big")
    populate(store, bench, n_ok=180, n_failed=15, n_running=5, n_boot=50)
    assert len(store.list_runs()) == 200
    timings: dict[str, dict[str, float]] = {}
    at = make_app(tmp_path / "big", mode="host")
    for page in PAGES:
        name = page or "app_pages/leaderboard.py"
        t0 = time.perf_counter()
        run_page(at, page)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        run_page(at, None if page is None else page)
        timings[name] = {"first_s": round(first, 3), "rerun_s": round(time.perf_counter() - t0, 3)}
    assert len(at.selectbox(key="cmp_a").options) == 180
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "app-200-runs-timing.json").write_text(json.dumps(timings, indent=2))
    print("200-run store page timings (AppTest, seconds):", json.dumps(timings))
    for name, t in timings.items():
        assert t["rerun_s"] < 5.0, f"{name} took {t['rerun_s']:.2f}s on a rerun with 200 runs"
