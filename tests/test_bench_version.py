"""Benchmark versions (issue 17): the spec's ``version``, recorded with every run, old stores read as v1, one
leaderboard per (benchmark, version), and compare / check / rescore refusing to mix versions with one line.

The tiny benchmark is the current version 2 here (a copy of its spec with ``version = 2``, same files); runs
recorded as version 1 stand for runs of the benchmark before it changed.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.errors import BenchmarkVersionError, SpecError, StoreError

from store_fixtures import payload

REPO = Path(__file__).resolve().parents[1]
ONE_LINE = "runs of different benchmark versions are never compared"


# ------------------------------------------------------------------------------------------ helpers
@pytest.fixture()
def v2_env(tiny_bench_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The tiny benchmark as version 2 (its spec with ``version = 2``) and a fresh store, also for subprocesses."""
    import os

    from harness.benchmarks.loaders import clear_cache

    folder = tmp_path / "bench-v2"
    folder.mkdir()
    for f in tiny_bench_dir.iterdir():
        if f.suffix == ".h5":
            shutil.copy(f, folder / f.name)
    spec = (tiny_bench_dir / "tiny-w20.toml").read_text()
    (folder / "tiny-w20.toml").write_text("version = 2\n" + spec)
    monkeypatch.setenv("NAS_HARNESS_BENCHMARK_DIRS", str(folder))
    monkeypatch.setenv("NAS_HARNESS_STORE", str(tmp_path / "store"))
    clear_cache()
    return dict(os.environ)


def _bench():
    from harness.benchmarks import get_benchmark

    return get_benchmark("tiny-w20")


def _stored_run(store, *, submission: str, tau: float, version: int, group_id: str | None = None,
                seed: int | None = None, kind: str = "predictions") -> str:
    """A completed run with synthetic stored metrics (its predictions are never recomputed for older versions)."""
    archs = [f"a{i}" for i in range(5)]
    run = store.create_run(benchmark="tiny-w20", submission=submission, kind=kind, submission_hash="h",
                           harness_version="t", gt_hash="old-gt", manifest={}, group_id=group_id, seed=seed,
                           bench_version=version)
    store.complete_run(run, archs=archs, predictions=np.arange(5.0), metrics=payload({"kendall_tau": tau, "pearson": tau}),
                       timings={})
    return run


def _real_run(store, bench, *, submission: str, noise: float, seed: int, group_id: str | None = None) -> str:
    """A completed current-version run whose predictions rank the GT (real metrics, recomputable)."""
    from harness.scoring import metrics_payload

    gt, archs = bench.ground_truth(), bench.archs()
    rng = np.random.default_rng(seed)
    pred = rng.uniform(0, 1, len(archs))
    pred[gt.archset_index] = gt.mean_acc + rng.normal(0, noise, gt.mean_acc.size)
    run = store.create_run(benchmark=bench.name, submission=submission, kind="trainer", submission_hash="h",
                           harness_version="t", gt_hash=gt.content_hash, manifest={}, group_id=group_id, seed=seed,
                           bench_version=bench.version)
    store.complete_run(run, archs=archs, predictions=pred, metrics=metrics_payload(bench, pred, gt, n_boot=20, seed=0),
                       timings={})
    return run


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess: what a user sees, exit code, stderr and all."""
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=300)


# ------------------------------------------------------------------------------------------ the spec key
def test_spec_version_defaults_to_1_and_parses(tmp_path: Path, tiny_bench_dir: Path) -> None:
    from harness.benchmarks import list_benchmarks
    from harness.benchmarks.spec import parse_spec

    spec = (tiny_bench_dir / "tiny-w20.toml").read_text()
    for f in tiny_bench_dir.glob("*.h5"):
        shutil.copy(f, tmp_path / f.name)
    plain = tmp_path / "plain.toml"
    plain.write_text(spec)
    assert parse_spec(plain).version == 1 and parse_spec(plain).label == "tiny-w20 v1"
    three = tmp_path / "three.toml"
    three.write_text("version = 3\n" + spec)
    assert parse_spec(three).version == 3 and parse_spec(three).label == "tiny-w20 v3"
    versions = {b.name: b.version for b in list_benchmarks()}
    assert versions["mnist1d-w20"] == 2  # the default benchmark is on v2 (30 epochs, 2,600-arch GT)
    # the NB201 benchmarks are on v2 (dev/test split by isomorphism class, class bootstrap)
    full_nb201 = ("nb201-cifar10", "nb201-cifar100", "nb201-imagenet16")
    assert all(versions[name] == 2 for name in full_nb201)
    assert all(v == 1 for name, v in versions.items() if name != "mnist1d-w20" and name not in full_nb201)


@pytest.mark.parametrize("value", ["0", "-2", '"2"', "true", "1.5", "[2]"])
def test_spec_version_must_be_a_positive_integer(tmp_path: Path, tiny_bench_dir: Path, value: str) -> None:
    from harness.benchmarks.spec import parse_spec

    bad = tmp_path / "bad.toml"
    bad.write_text(f"version = {value}\n" + (tiny_bench_dir / "tiny-w20.toml").read_text())
    with pytest.raises(SpecError) as err:
        parse_spec(bad)
    text = str(err.value)
    assert "'version' must be a positive integer" in text and str(bad) in text and "\n" not in text


def test_a_bad_version_is_one_red_line_at_the_cli(tmp_path: Path, tiny_bench_dir: Path) -> None:
    import os

    (tmp_path / "bad.toml").write_text("version = 0\n" + (tiny_bench_dir / "tiny-w20.toml").read_text())
    done = _cli(["benchmarks"], {**os.environ, "NAS_HARNESS_BENCHMARK_DIRS": str(tmp_path)})
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and "'version' must be a positive integer" in lines[0]
    assert "Traceback" not in done.stderr + done.stdout


# ------------------------------------------------------------------------------------------ the store
def test_run_records_its_benchmark_version(tmp_path: Path) -> None:
    from harness.store import ResultStore

    store = ResultStore(tmp_path / "s")
    v2 = _stored_run(store, submission="new", tau=0.5, version=2)
    v1 = _stored_run(store, submission="old", tau=0.5, version=1)
    assert (store.get_run(v2).bench_version, store.get_run(v2).version_label) == (2, "v2")
    assert store.get_run(v1).bench_label == "tiny-w20 v1"
    assert [r.run_id for r in store.list_runs(version=2)] == [v2]
    assert store.versions("tiny-w20") == [2, 1]
    with pytest.raises(StoreError, match="positive integer"):
        store.create_run(benchmark="b", submission="s", kind="k", submission_hash="", harness_version="", gt_hash="",
                         manifest={}, bench_version=0)


def test_scoring_records_the_spec_version(v2_env: dict[str, str], tmp_path: Path) -> None:
    import torch

    import harness
    from harness.submission.reference import new_reference_supernet

    bench = _bench()
    assert bench.version == 2
    torch.manual_seed(0)
    run = harness.score_supernet(new_reference_supernet(bench.space), "tiny-w20", store=tmp_path / "s", gt_only=True, n_boot=20)
    assert run.bench_version == 2 and run.version_label == "v2"
    unsaved = harness.score_supernet(new_reference_supernet(bench.space), "tiny-w20", gt_only=True, n_boot=0)
    assert unsaved.bench_version == 2


@pytest.mark.parametrize("layout", ["before groups", "before versions"])
def test_old_store_reads_as_v1_and_migrates(tmp_path: Path, layout: str, v2_env: dict[str, str]) -> None:
    from harness.store import ResultStore
    from harness.store.schema import DDL, GROUP_COLUMNS, SCHEMA_VERSION

    root = tmp_path / "old"
    root.mkdir()
    con = sqlite3.connect(root / "runs.sqlite")
    con.executescript(DDL)
    if layout == "before versions":
        for name, decl in GROUP_COLUMNS:
            con.execute(f"ALTER TABLE runs ADD COLUMN {name} {decl}")
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    con.execute("INSERT INTO runs (run_id, benchmark, submission, kind, status, created, created_ns, updated_ns, metrics)"
                " VALUES ('260101-000000-abcd', 'tiny-w20', 'legacy', 'predictions', 'ok', 'then', 1, 1, ?)",
                (json.dumps(payload({"kendall_tau": 0.4})),))
    con.commit()
    con.close()
    reader = ResultStore(root, read_only=True)  # a reader never migrates: it reads the old layout as v1
    rec = reader.get_run("260101")
    assert rec.bench_version == 1 and rec.version_label == "v1"
    assert [r.run_id for r in reader.list_runs(version=1)] == [rec.run_id] and reader.list_runs(version=2) == []
    assert reader.versions("tiny-w20") == [1]
    store = ResultStore(root)  # a writer adds the column; the old row stays NULL there and reads as v1
    with sqlite3.connect(root / "runs.sqlite") as raw:
        assert raw.execute("SELECT bench_version FROM runs").fetchall() == [(None,)]
    assert store.get_run(rec.run_id).bench_version == 1
    assert store.stale_runs("tiny-w20", "current-gt", version=2) == []  # another version is not stale
    assert [r.run_id for r in store.stale_runs("tiny-w20", "current-gt", version=1)] == [rec.run_id]
    shown = _cli(["show", rec.run_id, "--store", str(root)], v2_env)
    assert shown.returncode == 0, shown.stderr
    assert "benchmark version" in shown.stdout and "v1" in shown.stdout
    as_json = json.loads(_cli(["show", rec.run_id, "--store", str(root), "--json"], v2_env).stdout)
    assert as_json["bench_version"] == 1


# ------------------------------------------------------------------------------------------ the board
def test_board_ranks_each_version_apart(v2_env: dict[str, str], tmp_path: Path) -> None:
    from harness.store import ResultStore
    from harness.verdicts import board_versions, leaderboard_rows

    bench = _bench()
    store = ResultStore(tmp_path / "store")
    old_single = _stored_run(store, submission="old-a", tau=0.95, version=1)  # would top any v2 run if mixed
    old_gid = store.new_group_id()
    for seed, tau in ((0, 0.8), (1, 0.6)):
        _stored_run(store, submission="old-g", tau=tau, version=1, group_id=old_gid, seed=seed, kind="trainer")
    new_single = _real_run(store, bench, submission="new-b", noise=0.05, seed=1)
    new_gid = store.new_group_id()
    for seed in (0, 1):
        _real_run(store, bench, submission="new-g", noise=0.01, seed=10 + seed, group_id=new_gid)

    assert board_versions(store, bench) == [2, 1]
    current = leaderboard_rows(store, bench, "dev")
    assert {e["id"] for e in current} == {new_single, new_gid}
    assert all(e["version"] == 2 for e in current) and sorted(e["rank"] for e in current) == [1, 2]
    older = leaderboard_rows(store, bench, "dev", version=1)
    assert [e["id"] for e in older] == [old_single, old_gid]  # ranked among v1 runs only: 0.95, then 0.7
    group = older[1]
    assert group["version"] == 1 and not group["recomputed"] and group["value"] == pytest.approx(0.7)
    assert group["ci_low"] < 0.7 < group["ci_high"]  # the seed interval of the stored values

    p = _cli(["leaderboard", "tiny-w20", "--json"], v2_env)
    assert p.returncode == 0, p.stderr
    board = json.loads(p.stdout)["benchmarks"]["tiny-w20"]
    assert board["version"] == 2 and {e["id"] for e in board["rows"]} == {new_single, new_gid}
    assert [(o["version"], [e["id"] for e in o["rows"]]) for o in board["older_versions"]] == [(1, [old_single, old_gid])]
    text = _cli(["leaderboard", "tiny-w20"], v2_env).stdout
    assert "tiny-w20 v2" in text and "tiny-w20 v1 (the benchmark is now v2)" in text
    assert text.index("tiny-w20 v2") < text.index("tiny-w20 v1")
    assert "stale GT" not in text  # v1 runs scored on another GT are another version, not stale


def test_app_frames_never_mix_versions(tmp_path: Path) -> None:
    from harness.store import ResultStore
    from leaderboard_app import tables

    store = ResultStore(tmp_path / "s")
    _stored_run(store, submission="old", tau=0.9, version=1)
    _stored_run(store, submission="new", tau=0.2, version=2)
    runs = store.list_runs()
    with pytest.raises(ValueError, match="one leaderboard"):
        tables.leaderboard_frame(runs, split="dev", sort_metric="kendall_tau")
    split = tables.by_version(runs, current=2)
    assert [(v, [r.submission for r in rs]) for v, rs in split] == [(2, ["new"]), (1, ["old"])]
    frame = tables.leaderboard_frame(split[1][1], split="dev", sort_metric="kendall_tau", current_gt_hash="new-gt",
                                     current_version=2)
    row = frame[frame["type"] == "submission"].iloc[0]
    assert row["version"] == "v1" and "older version" in row["flags"] and "stale" not in row["flags"]


# ------------------------------------------------------------------------------------------ verdicts
def test_compare_across_versions_is_one_line(v2_env: dict[str, str], tmp_path: Path) -> None:
    from harness.store import ResultStore

    bench = _bench()
    store = ResultStore(tmp_path / "store")
    old = _stored_run(store, submission="old", tau=0.9, version=1)
    old_too = _stored_run(store, submission="old2", tau=0.8, version=1)
    new = _real_run(store, bench, submission="new", noise=0.05, seed=1)
    p = _cli(["compare", old, new], v2_env)
    assert p.returncode == BenchmarkVersionError.exit_code == 2
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and ONE_LINE in lines[0] and "Traceback" not in p.stderr
    assert f"run {old} is on tiny-w20 v1 and run {new} on v2" in lines[0]
    p = _cli(["compare", old, old_too], v2_env)  # same version, but not the current one: its GT is gone
    assert p.returncode == 2 and "only runs of v2" in p.stderr and "Traceback" not in p.stderr


def test_check_and_groups_refuse_other_versions(v2_env: dict[str, str], tmp_path: Path) -> None:
    from harness.store import ResultStore
    from harness.verdicts import compare_sides, resolve

    bench = _bench()
    store = ResultStore(tmp_path / "store")
    old = _stored_run(store, submission="old", tau=0.9, version=1)
    sub = tmp_path / "trick"
    sub.mkdir()
    (sub / "submission.toml").write_text('name = "trick"\nbenchmark = "tiny-w20"\nkind = "trainer"\n')
    (sub / "trainer.py").write_text("def train(ctx):\n    return ctx.new_supernet()\n")
    p = _cli(["check", str(sub), "--baseline", old], v2_env)  # refused before any training
    assert p.returncode == 2 and "the benchmark is now v2" in p.stderr and "Traceback" not in p.stderr
    assert [r.submission for r in store.list_runs()] == ["old"]
    mixed = store.new_group_id()
    _stored_run(store, submission="m", tau=0.5, version=1, group_id=mixed, seed=0, kind="trainer")
    _stored_run(store, submission="m", tau=0.5, version=2, group_id=mixed, seed=1, kind="trainer")
    with pytest.raises(BenchmarkVersionError, match="mixes benchmark versions"):
        resolve(store, mixed)
    new = _real_run(store, bench, submission="new", noise=0.05, seed=1)
    with pytest.raises(BenchmarkVersionError, match=ONE_LINE):
        compare_sides(store, resolve(store, new), resolve(store, old), bench, "dev", "kendall_tau")


def test_rescore_leaves_older_versions_alone(v2_env: dict[str, str], tmp_path: Path) -> None:
    from harness.scoring import rescore_run, runs_to_rescore
    from harness.store import ResultStore
    from harness.store.records import is_stale

    bench = _bench()
    store = ResultStore(tmp_path / "store")
    old = _stored_run(store, submission="old", tau=0.9, version=1)  # gt_hash "old-gt": another GT
    stale = _stored_run(store, submission="stale", tau=0.9, version=2)
    assert [r.run_id for r in runs_to_rescore(store, "tiny-w20")] == [stale]
    assert [r.run_id for r in runs_to_rescore(store, "tiny-w20", all_runs=True)] == [stale]
    with pytest.raises(BenchmarkVersionError, match="never rescored"):
        rescore_run(store, store.get_run(old))
    current = bench.ground_truth().content_hash
    assert is_stale("old-gt", current) and is_stale("old-gt", current, 2, 2) and not is_stale("old-gt", current, 1, 2)
