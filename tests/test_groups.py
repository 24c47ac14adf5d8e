"""Seed groups end to end: `score --seeds/--gt-only/--json`, GT archs first, `compare`, `check`, the store
columns, the leaderboard's group rows and `harness.score_supernet` — on the tiny benchmark (no real training:
the trainer returns its seeded, untrained supernet, so runs are quick and differ by seed)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

FRESH = 'def train(ctx):\n    return ctx.new_supernet()\n'


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def _cli(args: list[str], env: dict) -> Result:
    """The CLI in-process (the environment is already in os.environ); HarnessError -> its exit code and line."""
    from harness.cli import app
    from harness.errors import HarnessError

    res = CliRunner().invoke(app, args)
    if isinstance(res.exception, HarnessError):
        return Result(res.exception.exit_code, res.stdout, f"error: {res.exception}")
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception
    return Result(res.exit_code, res.stdout, res.stderr if res.stderr_bytes is not None else "")


def _trainer(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "submission.toml").write_text(f'name = "{name}"\nbenchmark = "tiny-w20"\nkind = "trainer"\n')
    (folder / "trainer.py").write_text(FRESH)
    return folder


def _good_group(store_root: Path, seeds: list[int]) -> str:
    """A stored group of trainer runs that rank the GT well (synthetic predictions, real metrics)."""
    from harness.benchmarks import get_benchmark
    from harness.scoring import metrics_payload
    from harness.store import ResultStore

    bench = get_benchmark("tiny-w20")
    gt, archs = bench.ground_truth(), bench.archs()
    store = ResultStore(store_root)
    gid = store.new_group_id()
    for s in seeds:
        rng = np.random.default_rng(100 + s)
        pred = rng.uniform(0, 1, len(archs))
        pred[gt.archset_index] = gt.mean_acc + rng.normal(0, 0.01, gt.mean_acc.size)
        run = store.create_run(benchmark=bench.name, submission="good", kind="trainer", submission_hash="h",
                               harness_version="t", gt_hash=gt.content_hash, manifest={}, group_id=gid, seed=s)
        store.complete_run(run, archs=archs, predictions=pred, metrics=metrics_payload(bench, pred, gt, n_boot=50, seed=0),
                           timings={})
    return gid


def test_seed_group_gt_first_compare_and_check(tiny_env, tmp_path: Path) -> None:
    from harness.benchmarks import get_benchmark
    from harness.scoring import split_metrics
    from harness.store import ResultStore

    fresh = _trainer(tmp_path, "fresh")
    p = _cli(["score", str(fresh), "--seeds", "0,1", "--gt-only", "--json"], tiny_env)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    gid = out["group_id"]
    assert gid.startswith("g") and [r["seed"] for r in out["runs"]] == [0, 1]
    assert all(r["gt_only"] and r["group_id"] == gid and not r["single_trainer_run"] for r in out["runs"])
    assert out["group"]["interval"]["training_noise"] and out["group"]["sd"] is not None

    bench = get_benchmark("tiny-w20")
    gt = bench.ground_truth()
    store = ResultStore(tiny_env["NAS_HARNESS_STORE"])
    run0 = store.get_run(out["runs"][0]["run_id"])
    archs, scores = store.load_predictions(run0.run_id)
    assert sorted(archs) == sorted(gt.archs)  # GT-only: the GT archs and nothing else

    # a full single run: GT archs first, then the rest; its stored GT scores are exactly what the metrics used
    p = _cli(["score", str(fresh), "--seed", "0", "--json"], tiny_env)
    assert p.returncode == 0, p.stderr
    full = store.get_run(json.loads(p.stdout)["runs"][0]["run_id"])
    assert not full.gt_only and full.is_single_trainer_run and "eval_rest_s" in full.timings
    assert full.timings["to_metrics_s"] < full.timings["total_s"]
    f_archs, f_scores = store.load_predictions(full.run_id)
    assert list(f_archs) == bench.archs()
    assert split_metrics(np.asarray(f_scores), gt, n_boot=1000, seed=0) == full.metrics["splits"]
    by_arch = dict(zip(archs, scores))
    assert np.array_equal([by_arch[a] for a in gt.archs], np.asarray(f_scores)[gt.archset_index])  # same seed, same numbers
    assert full.metrics == run0.metrics

    # two single trainer runs: the comparison says training noise is unaccounted for and how to fix it
    p = _cli(["compare", full.run_id, run0.run_id], tiny_env)
    assert p.returncode == 0, p.stderr
    assert "training-seed noise is unaccounted for" in p.stdout and "--seeds 5" in p.stdout
    assert "confirmatory" in p.stdout and "not two" in p.stdout  # dev and test are not independent evidence

    # leaderboard: a group row and a marked single run
    p = _cli(["leaderboard", "--json"], tiny_env)
    rows = json.loads(p.stdout)["benchmarks"]["tiny-w20"]["rows"]
    kinds = {(r["type"], r["n_runs"], r["single_trainer_run"]) for r in rows}
    assert ("group", 2, False) in kinds and ("run", 1, True) in kinds
    assert all("tied_with_leader" in r and "p_vs_leader_holm" in r for r in rows) and rows[0]["tied_with_leader"] is True
    p = _cli(["show", gid[:8], "--json"], tiny_env)
    assert json.loads(p.stdout)["group"]["runs"] == [r["run_id"] for r in out["runs"]]

    # check: a copy passes (paired by seed, identical), the untrained trainer fails against a good group
    copy = _trainer(tmp_path, "fresh_copy")
    p = _cli(["check", str(copy), "--baseline", gid, "--max-drop", "0.01", "--json"], tiny_env)
    assert p.returncode == 0, p.stdout + p.stderr
    verdict = json.loads(p.stdout)
    assert verdict["passed"] and verdict["verdict"]["comparison"]["paired_by_seed"]
    assert verdict["verdict"]["comparison"]["diff"]["value"] == 0
    good = _good_group(Path(tiny_env["NAS_HARNESS_STORE"]), [0, 1])
    p = _cli(["check", str(fresh), "--baseline", good, "--seeds", "1"], tiny_env)
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stdout.startswith("FAIL") and "one-sided 95%" in p.stdout

    p = _cli(["compare", good, gid, "--json"], tiny_env)
    cmp = json.loads(p.stdout)["comparison"]
    # two seeds a side pair into one df: a τ gap of 0.95 is clear in direction, and its interval is honest
    # about the untrained seeds disagreeing by ~0.13 (t with ~1 df), so only the direction is asserted here
    assert cmp["diff"]["value"] > 0.5 and cmp["prob_a_better"] > 0.95 and cmp["training_noise"] and cmp["detectable"] > 0
    assert cmp["diff"]["df"] >= 1.0


@pytest.mark.parametrize(
    "args, words",
    [
        (["check", "SUB", "--baseline", "GID", "--max-drop", "-1"], "--max-drop"),
        (["score", "SUB", "--seeds", "abc"], "--seeds"),
        (["score", "SUB", "--seeds", "0,0"], "distinct"),
        (["compare", "gnothing", "gnothing"], "no group"),  # an unknown id: the store's error (exit 6)
    ],
)
def test_usage_errors_exit_2(tiny_env, tmp_path: Path, args: list[str], words: str) -> None:
    from harness.store import ResultStore

    ResultStore(tiny_env["NAS_HARNESS_STORE"])
    sub = _trainer(tmp_path, "fresh")
    gid = _good_group(Path(tiny_env["NAS_HARNESS_STORE"]), [0, 1])
    args = [str(sub) if a == "SUB" else gid if a == "GID" else a for a in args]
    p = _cli(args, tiny_env)
    assert p.returncode == (6 if words == "no group" else 2) and words in p.stderr, p.stderr


def test_seeds_of_a_predictions_file_are_a_usage_error(tiny_env, tmp_path: Path) -> None:
    from harness.benchmarks import get_benchmark

    folder = tmp_path / "preds"
    folder.mkdir()
    (folder / "submission.toml").write_text('name = "preds"\nbenchmark = "tiny-w20"\nkind = "predictions"\n')
    archs = get_benchmark("tiny-w20").archs()
    (folder / "predictions.csv").write_text("arch,score\n" + "".join(f"{a},{i}\n" for i, a in enumerate(archs)))
    p = _cli(["score", str(folder), "--seeds", "3"], tiny_env)
    assert p.returncode == 2 and "one run by nature" in p.stderr


def test_old_store_gains_group_columns_additively(tmp_path: Path) -> None:
    from harness.store import ResultStore
    from harness.store.schema import DDL, SCHEMA_VERSION

    db = tmp_path / "runs.sqlite"
    con = sqlite3.connect(db)
    con.executescript(DDL)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    con.execute("INSERT INTO runs (run_id, benchmark, submission, kind, status, created, created_ns, updated_ns)"
                " VALUES ('r1', 'b', 's', 'trainer', 'failed', 'now', 1, 1)")
    con.commit()
    con.close()
    old = ResultStore(tmp_path, read_only=True)  # a reader never migrates: it still reads the old layout
    assert old.get_run("r1").group_id is None and old.groups("b") == {}
    store = ResultStore(tmp_path)
    rec = store.get_run("r1")
    assert rec.group_id is None and rec.seed is None and not rec.gt_only and rec.is_single_trainer_run
    gid = store.new_group_id()
    rid = store.create_run(benchmark="b", submission="s", kind="trainer", submission_hash="", harness_version="",
                           gt_hash="", manifest={}, group_id=gid, seed=3, gt_only=True)
    assert store.group_runs(gid, status=None)[0].run_id == rid
    assert (store.get_run(rid).seed, store.get_run(rid).gt_only) == (3, True)
    ResultStore(tmp_path)  # idempotent


def test_score_supernet_returns_the_cli_report(tiny_env, tmp_path: Path) -> None:
    import torch

    import harness
    from harness.benchmarks import get_benchmark
    from harness.submission.reference import new_reference_supernet

    torch.manual_seed(0)
    net = new_reference_supernet(get_benchmark("tiny-w20").space)
    seen = []
    run = harness.score_supernet(net, "tiny-w20", gt_only=True, n_boot=50, on_metrics=seen.append)
    assert run.run_id == "unsaved" and run.gt_only and seen == [run.metrics]
    stored = harness.score_supernet(net.state_dict(), "tiny-w20", store=tmp_path / "s", n_boot=50)
    assert stored.status == "ok" and stored.metrics == run.metrics and stored.kind == "checkpoint"
    with pytest.raises(harness.errors.UsageError):
        harness.score_supernet(net, "tiny-w20", group_id="g1")
