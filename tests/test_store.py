"""The results store: API behaviour, crash recovery (SIGKILL for real), concurrent writers and readers."""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from harness.errors import StoreError
from harness.store import INTERRUPTED, SCHEMA_VERSION, ResultStore
from harness.store.predictions import content_hash

from store_fixtures import add_run, payload

WRITER = [sys.executable, str(Path(__file__).with_name("store_fixtures.py"))]


@pytest.fixture()
def store(tmp_path: Path) -> ResultStore:
    return ResultStore(tmp_path / "store")


def _rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT run_id, status, error FROM runs ORDER BY run_id").fetchall()


# ------------------------------------------------------------------------------------------ basics
def test_layout_wal_and_schema_version(store: ResultStore) -> None:
    assert (store.root / "runs.sqlite").is_file() and (store.root / "predictions").is_dir()
    with sqlite3.connect(store.root / "runs.sqlite") as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_create_complete_get_roundtrip(store: ResultStore) -> None:
    archs = ["1-2-3", "4-5-6", "7-8-1"]
    run_id = store.create_run(
        benchmark="b", submission="s", kind="checkpoint", submission_hash="sh", harness_version="9",
        gt_hash="g", manifest={"name": "s", "authors": ["x"]}, description="desc", is_baseline=True,
    )
    assert re.fullmatch(r"\d{6}-\d{6}-[0-9a-f]{4}", run_id)
    rec = store.get_run(run_id)
    assert (rec.status, rec.pid, rec.finished, rec.host) == ("running", os.getpid(), None, rec.host)
    m = payload({"kendall_tau": 0.7, "pearson": 0.8}, {"kendall_tau": 0.6})
    store.complete_run(run_id, archs=archs, predictions=np.array([0.3, 0.1, 0.2]), metrics=m, timings={"eval_s": 1.5})
    rec = store.get_run(run_id)
    assert rec.status == "ok" and rec.finished and rec.error is None
    assert rec.metrics == m and rec.timings == {"eval_s": 1.5}
    assert rec.manifest == {"name": "s", "authors": ["x"]} and rec.description == "desc" and rec.is_baseline
    assert (rec.kind, rec.harness_version, rec.gt_hash, rec.submission_hash) == ("checkpoint", "9", "g", "sh")
    assert rec.metric("kendall_tau") == 0.7 and rec.metric("kendall_tau", "test") == 0.6 and rec.metric("spearman") is None
    got_archs, scores = store.load_predictions(run_id)
    assert got_archs == archs and scores.tolist() == [0.3, 0.1, 0.2]
    import h5py

    with h5py.File(store.prediction_path(run_id)) as f:
        assert f.attrs["run_id"] == run_id and f.attrs["benchmark"] == "b"
        assert f.attrs["content_hash"] == content_hash(archs, np.array([0.3, 0.1, 0.2]))
    with sqlite3.connect(store.root / "runs.sqlite") as con:
        assert con.execute("SELECT primary_metric, dev_primary, test_primary FROM runs").fetchone() == ("kendall_tau", 0.7, 0.6)


def test_id_collisions_are_redrawn(store: ResultStore, monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.store.result_store as rs

    draws = iter(["aaaa", "aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr(rs.secrets, "token_hex", lambda n: next(draws))
    monkeypatch.setattr(rs.time, "time_ns", lambda: 1_700_000_000_000_000_000)
    first = add_run(store, status="running")
    second = add_run(store, status="running")
    assert first.endswith("-aaaa") and second.endswith("-bbbb")


def test_ids_unique_and_sorted_by_time(store: ResultStore) -> None:
    ids = [add_run(store, submission=f"s{i}", status="running") for i in range(30)]
    assert len(set(ids)) == 30
    assert [r.run_id for r in store.list_runs()] == ids  # listed in creation order
    assert ids[0][:13] <= ids[-1][:13]


def test_prefix_lookup_and_unknown_ids(store: ResultStore) -> None:
    a = add_run(store)
    assert store.get_run(a[:-1]).run_id == a
    with pytest.raises(StoreError, match="no run 'nope'"):
        store.get_run("nope")
    with pytest.raises(StoreError, match="empty run id"):
        store.get_run(" ")
    add_run(store)
    with pytest.raises(StoreError, match="ambiguous"):
        store.get_run(a[:3])


def test_list_filters(store: ResultStore) -> None:
    add_run(store, benchmark="b1", submission="x")
    add_run(store, benchmark="b2", submission="x", status="failed")
    add_run(store, benchmark="b1", submission="y", status="running")
    assert [r.submission for r in store.list_runs(benchmark="b1")] == ["x", "y"]
    assert [r.benchmark for r in store.list_runs(submission="x")] == ["b1", "b2"]
    assert [r.status for r in store.list_runs(status="failed")] == ["failed"]


def test_bad_predictions_store_nothing(store: ResultStore) -> None:
    run_id = add_run(store, status="running")
    for archs, scores, msg in (
        (["a", "b"], [1.0], "pair up"),
        (["a", "b"], [1.0, float("nan")], "NaN"),
        (["a"], [[1.0]], "1-D"),
        (["é"], [1.0], "ASCII"),
    ):
        with pytest.raises(StoreError, match=msg):
            store.complete_run(run_id, archs=archs, predictions=np.asarray(scores), metrics={}, timings={})
    assert store.get_run(run_id).status == "running"
    assert list(store.predictions_dir.iterdir()) == []


def test_fail_run_one_line_and_rules(store: ResultStore) -> None:
    run_id = add_run(store, status="running")
    store.fail_run(run_id, "Traceback:\n  line 1\n\tValueError: bad   thing", {"total_s": 2.0})
    rec = store.get_run(run_id)
    assert rec.status == "failed" and rec.error == "Traceback: line 1 ValueError: bad thing" and rec.timings == {"total_s": 2.0}
    store.fail_run(run_id, "x" * 5000)
    assert len(store.get_run(run_id).error) <= 500
    ok = add_run(store)
    with pytest.raises(StoreError, match="already completed"):
        store.fail_run(ok, "late")
    with pytest.raises(StoreError, match="only a running run"):
        store.complete_run(run_id, archs=["a"], predictions=np.ones(1), metrics={}, timings={})
    with pytest.raises(StoreError, match="unknown run"):
        store.fail_run("zzz", "x")
    with pytest.raises(StoreError, match="only completed runs have predictions"):
        store.load_predictions(run_id)


def test_without_splits_is_fail_closed(store: ResultStore) -> None:
    m = payload({"kendall_tau": 0.5}, {"kendall_tau": 0.9})
    m["extra"] = {"test_only_thing": 0.9}
    rec = store.get_run(add_run(store, metrics=m)).without_splits(("dev",))
    assert rec.metrics == {"primary_metric": "kendall_tau", "splits": {"dev": m["splits"]["dev"]}}
    assert rec.metric("kendall_tau", "test") is None


def test_tampered_predictions_file_is_refused(store: ResultStore) -> None:
    run_id = add_run(store)
    import h5py

    with h5py.File(store.prediction_path(run_id), "r+") as f:
        f["scores"][0] = 123.0
    with pytest.raises(StoreError, match="does not match"):
        store.load_predictions(run_id)
    store.prediction_path(run_id).unlink()
    with pytest.raises(StoreError, match="missing"):
        store.load_predictions(run_id)


# ------------------------------------------------------------------------------------------ leaderboard, rescore
def test_leaderboard_order_ties_and_best_per_submission(store: ResultStore) -> None:
    def run(sub: str, tau: float, sp: float, status: str = "ok", test_tau: float = 0.0) -> str:
        return add_run(store, submission=sub, status=status, metrics=payload({"kendall_tau": tau, "spearman": sp}, {"kendall_tau": test_tau}))

    a1 = run("a", 0.5, 0.6, test_tau=0.9)
    b1 = run("b", 0.7, 0.1)
    c1 = run("c", 0.5, 0.7)  # ties a1 on τ, wins on the tie-break (spearman)
    a2 = run("a", 0.7, 0.1)  # ties b1 on everything: the earlier run (b1) ranks first
    run("d", 0.99, 0.99, status="failed")
    run("e", 0.99, 0.99, status="running")
    nan = add_run(store, submission="n", metrics=payload({"kendall_tau": float("nan")}))
    full = [r.run_id for r in store.leaderboard("bench", primary="kendall_tau", best_per_submission=False)]
    assert full == [b1, a2, c1, a1, nan]
    best = store.leaderboard("bench", primary="kendall_tau")
    assert [r.run_id for r in best] == [b1, a2, c1, nan]
    assert [r.submission for r in best] == ["b", "a", "c", "n"]
    # a1 is a's best run on the hidden test split, a2 its best on dev: the selection is made on dev (no leak by
    # selection on the hidden GT); every run, unselected, still ranks a1 first on test
    test_rows = store.leaderboard("bench", split="test", primary="kendall_tau")
    assert {r.submission: r.run_id for r in test_rows}["a"] == a2 and a1 not in [r.run_id for r in test_rows]
    assert [r.run_id for r in store.leaderboard("bench", split="test", primary="kendall_tau", best_per_submission=False)][0] == a1
    assert store.leaderboard("other", primary="kendall_tau") == []
    with pytest.raises(StoreError, match="unknown split"):
        store.leaderboard("bench", split="train", primary="kendall_tau")


def test_update_metrics_and_stale_runs(store: ResultStore) -> None:
    old = add_run(store, gt_hash="g1")
    new = add_run(store, gt_hash="g2")
    add_run(store, gt_hash="g1", status="failed")
    assert [r.run_id for r in store.stale_runs("bench", "g2")] == [old]
    before = store.fingerprint()
    store.update_metrics(old, payload({"kendall_tau": 0.9}), "g2")
    assert store.fingerprint() != before
    rec = store.get_run(old)
    assert rec.gt_hash == "g2" and rec.metric("kendall_tau") == 0.9 and rec.rescored
    assert store.stale_runs("bench", "g2") == []
    assert store.get_run(new).gt_hash == "g2"
    failed = add_run(store, status="failed")
    with pytest.raises(StoreError, match="only completed runs"):
        store.update_metrics(failed, {}, "g2")


# ------------------------------------------------------------------------------------------ read-only and schema
def test_read_only_store(tmp_path: Path, store: ResultStore) -> None:
    run_id = add_run(store)
    ro = ResultStore(store.root, read_only=True)
    assert ro.get_run(run_id).status == "ok" and ro.load_predictions(run_id)[1].size == 20
    assert ro.fingerprint() == store.fingerprint()
    with pytest.raises(StoreError, match="read-only"):
        add_run(ro)
    with pytest.raises(StoreError, match="read-only"):
        ro.reap()
    with pytest.raises(StoreError, match="no results store"):
        ResultStore(tmp_path / "missing", read_only=True)
    assert not (tmp_path / "missing").exists()


def test_newer_schema_refused(store: ResultStore) -> None:
    with sqlite3.connect(store.db_path) as con:
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="upgrade nas-harness"):
        ResultStore(store.root)
    with pytest.raises(StoreError, match="upgrade nas-harness"):
        ResultStore(store.root, read_only=True)


def test_garbage_database_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "runs.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError, match="not a database"):
        ResultStore(tmp_path / "s")
    (tmp_path / "f").write_text("x")
    with pytest.raises(StoreError, match="is a file"):
        ResultStore(tmp_path / "f")


# ------------------------------------------------------------------------------------------ reap
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _set(store: ResultStore, run_id: str, **cols: object) -> None:
    with sqlite3.connect(store.db_path) as con:
        for k, v in cols.items():
            con.execute(f"UPDATE runs SET {k} = ? WHERE run_id = ?", (v, run_id))


def test_reap_dead_live_reused_and_foreign(store: ResultStore) -> None:
    live = add_run(store, status="running")
    dead = add_run(store, status="running")
    _set(store, dead, pid=_dead_pid())
    reused = add_run(store, status="running")
    _set(store, reused, pid_start=1)  # our pid, but recorded with another start time: pid reuse
    foreign_old = add_run(store, status="running")
    _set(store, foreign_old, host="elsewhere", created_ns=time.time_ns() - int(2 * 86400e9))
    foreign_new = add_run(store, status="running")
    _set(store, foreign_new, host="elsewhere", pid=_dead_pid())
    ok = add_run(store)
    assert sorted(store.reap()) == sorted([dead, reused, foreign_old])
    status = {r.run_id: (r.status, r.error) for r in store.list_runs()}
    assert status[live] == ("running", None) and status[foreign_new][0] == "running" and status[ok][0] == "ok"
    for rid in (dead, reused, foreign_old):
        assert status[rid] == ("failed", INTERRUPTED)
    assert store.reap() == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc to see zombies")
def test_reap_zombie_counts_as_dead(store: ResultStore) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.time() + 10
    while Path(f"/proc/{proc.pid}/stat").read_text().split(")")[1].split()[0] != "Z" and time.time() < deadline:
        time.sleep(0.02)
    run_id = add_run(store, status="running")
    _set(store, run_id, pid=proc.pid, pid_start=None)
    try:
        assert store.reap() == [run_id]
    finally:
        proc.wait()


def test_reap_removes_orphans_keeps_live_files(store: ResultStore) -> None:
    ok = add_run(store)
    live = add_run(store, status="running")
    failed = add_run(store, status="failed")
    pdir = store.predictions_dir
    (pdir / f"{failed}.h5").write_bytes(b"orphan of a failed run")
    (pdir / "999999-000000-dead.h5").write_bytes(b"no row at all")
    (pdir / f"{live}.h5").write_bytes(b"renamed, status not yet committed")
    (pdir / f"{live}.h5.tmp-{os.getpid()}").write_bytes(b"being written by a live process")
    (pdir / f"{live}.h5.tmp-{_dead_pid()}").write_bytes(b"left by a dead writer")
    (pdir / "README.txt").write_text("not ours")
    store.reap()
    assert sorted(p.name for p in pdir.iterdir()) == sorted(
        [f"{ok}.h5", f"{live}.h5", f"{live}.h5.tmp-{os.getpid()}", "README.txt"]
    )


# ------------------------------------------------------------------------------------------ SIGKILL, for real
def _check_consistent(store: ResultStore) -> list[str]:
    """Every ok run has its complete predictions file; nothing half-written is visible. Returns ok ids."""
    with sqlite3.connect(store.db_path) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ok = []
    for r in store.list_runs():
        assert r.status in ("ok", "failed", "running")
        if r.status == "ok":
            archs, scores = store.load_predictions(r.run_id)  # verifies the recorded content hash
            assert len(archs) == scores.size and r.metrics["splits"]["dev"]["metrics"]["kendall_tau"]["value"] == scores[0]
            ok.append(r.run_id)
    return ok


@pytest.mark.parametrize("crash", ["before_replace", "after_replace"])
def test_sigkill_at_each_write_step(tmp_path: Path, crash: str) -> None:
    root = tmp_path / "store"
    store = ResultStore(root)
    keep = add_run(store, submission="survivor", metrics=payload({"kendall_tau": 0.0}))
    proc = subprocess.run([*WRITER, str(root), "victim", "1", "500", crash], timeout=60, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    victim = store.list_runs(submission="victim-0")[0]
    assert victim.status == "running"
    leftovers = list(store.predictions_dir.glob(f"{victim.run_id}*"))
    assert leftovers  # the crash left a temporary or an orphan file behind
    assert store.reap() == [victim.run_id]
    assert store.get_run(victim.run_id).status == "failed" and store.get_run(victim.run_id).error == INTERRUPTED
    assert not list(store.predictions_dir.glob(f"{victim.run_id}*"))
    assert _check_consistent(store) == [keep]


def test_sigkill_at_random_points_while_writing(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = ResultStore(root)
    keep = add_run(store, submission="survivor", metrics=payload({"kendall_tau": 0.0}))
    rng = random.Random(1234)
    for trial in range(4):
        proc = subprocess.Popen([*WRITER, str(root), f"w{trial}", "0", "20000", "loop"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 30  # wait until it writes, then kill it at a random instant
        while not store.list_runs(submission=f"w{trial}-0") and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        reaped = store.reap()
        assert len(reaped) <= 1
        ok = _check_consistent(store)
        assert keep in ok
        assert all(r.status != "running" for r in store.list_runs())
        names = {p.name for p in store.predictions_dir.iterdir()}
        assert names == {f"{rid}.h5" for rid in ok}  # no orphans, no temporaries


# ------------------------------------------------------------------------------------------ concurrency
def test_eight_writers_at_once_with_a_reader(tmp_path: Path) -> None:
    """Eight processes create the store and write runs at once; a reader reads throughout."""
    root = tmp_path / "store"
    per_writer = 3
    procs = [subprocess.Popen([*WRITER, str(root), f"p{i}", str(per_writer), "2000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(8)]
    seen_counts: list[int] = []
    errors: list[BaseException] = []

    def open_reader() -> ResultStore:
        deadline = time.time() + 60
        while True:  # the writers create the store; until one has, there is nothing to read
            try:
                return ResultStore(root, read_only=True)
            except StoreError:
                if time.time() > deadline:
                    raise
                time.sleep(0.01)

    def read_loop() -> None:
        try:
            reader = open_reader()
            while any(p.poll() is None for p in procs):
                runs = reader.list_runs()
                seen_counts.append(sum(r.status == "ok" for r in runs))
                for r in runs:
                    if r.status == "ok":  # an ok row always comes with its complete predictions
                        archs, scores = reader.load_predictions(r.run_id)
                        assert len(archs) == 2000 and r.metric("kendall_tau") == scores[0]
                board = reader.leaderboard("bench", primary="kendall_tau", best_per_submission=False)
                assert all(r.status == "ok" for r in board)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=read_loop)
    thread.start()
    outs = [p.communicate(timeout=120) for p in procs]
    thread.join(timeout=60)
    assert not errors, errors
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    store = ResultStore(root)
    assert store.reap() == []
    runs = store.list_runs()
    assert len(runs) == 8 * per_writer and all(r.status == "ok" for r in runs)
    assert sorted(r.submission for r in runs) == sorted(f"p{i}-{j}" for i in range(8) for j in range(per_writer))
    assert len(_check_consistent(store)) == 8 * per_writer
    assert len(seen_counts) >= 2 and seen_counts == sorted(seen_counts)  # read while writing; no run ever vanished
