"""Issue 6, faults and load: kill -9 of `score`, 8 scorings at once with a reader, a changed GT and `rescore`.

Everything goes through the real CLI in subprocesses against a private copy of the tiny benchmark, so the
process boundaries (SIGKILL, concurrent SQLite writers, the reaper) are the real ones. `gt build` under kill -9
is covered in tests/test_gt_builder.py, the store's own write steps under SIGKILL in tests/test_store.py.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from hostile.cases import manifest  # noqa: E402
from tiny_bench import make_tiny_benchmark  # noqa: E402

CLI = [sys.executable, "-m", "harness.cli"]

#: a short trainer (a few hundred SPOS steps on the tiny benchmark) so that a kill can land in training
TRAINER = '''
import torch
import torch.nn.functional as F


def train(ctx):
    net = ctx.new_supernet()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    total = 3 * ctx.steps_per_epoch(32)
    step = 0
    for epoch in range(3):
        for x, y in ctx.batches(32):
            loss = F.cross_entropy(net(x, ctx.space.sample(ctx.rng, 1)[0]), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            ctx.progress(step / total, "training")
    return net
'''


@pytest.fixture()
def world(tmp_path: Path) -> dict:
    """A private tiny benchmark (its GT may be rewritten) and store, plus the environment for the CLI."""
    from harness.benchmarks.loaders import clear_cache

    bench_dir = make_tiny_benchmark(tmp_path / "bench")
    env = dict(os.environ, NAS_HARNESS_BENCHMARK_DIRS=str(bench_dir), NAS_HARNESS_STORE=str(tmp_path / "store"))
    old = os.environ.get("NAS_HARNESS_BENCHMARK_DIRS")
    os.environ["NAS_HARNESS_BENCHMARK_DIRS"] = str(bench_dir)
    clear_cache()
    from harness.benchmarks import get_benchmark

    bench = get_benchmark("tiny-w20")
    yield {"env": env, "bench": bench, "bench_dir": bench_dir, "store": tmp_path / "store", "tmp": tmp_path}
    if old is None:
        os.environ.pop("NAS_HARNESS_BENCHMARK_DIRS", None)
    else:
        os.environ["NAS_HARNESS_BENCHMARK_DIRS"] = old
    clear_cache()


def _predictions_submission(root: Path, name: str, scores: dict[str, float]) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "submission.toml").write_text(manifest("predictions", name=name))
    (folder / "predictions.csv").write_text("arch,score\n" + "".join(f"{a},{s!r}\n" for a, s in scores.items()))
    return folder


def _cli(args: list[str], env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout)


def _session_members(sid: int) -> list[str]:
    """Live processes of session ``sid`` (from /proc), as 'pid cmdline' strings."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid and fields[0] != "Z":
                cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ")[:80].decode(errors="replace")
                found.append(f"{stat.parent.name} {cmd}")
        except (OSError, IndexError, ValueError):
            continue
    return found


def _rows(store: Path) -> list[dict]:
    with sqlite3.connect(store / "runs.sqlite") as con:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute("SELECT * FROM runs ORDER BY created_ns")]


def test_kill9_of_score_at_random_points_keeps_the_store_whole(world: dict) -> None:
    env, store, bench = world["env"], world["store"], world["bench"]
    archs = bench.archs()
    baseline = _predictions_submission(world["tmp"], "baseline", {a: float(bench.space.params(a)) for a in archs})
    assert _cli(["score", str(baseline)], env).returncode == 0
    baseline_row = _rows(store)[0]
    baseline_file = sorted(store.rglob("*.h5"))
    baseline_bytes = {p: p.read_bytes() for p in baseline_file}

    trainer = world["tmp"] / "victim"
    trainer.mkdir()
    (trainer / "submission.toml").write_text(manifest("trainer", name="victim"))
    (trainer / "trainer.py").write_text(TRAINER)
    t0 = time.monotonic()
    full = _cli(["score", str(trainer)], env)
    duration = time.monotonic() - t0
    assert full.returncode == 0, full.stderr

    rng = random.Random(20261130)
    delays = sorted(rng.uniform(0.2, 1.05 * duration) for _ in range(5))  # from start-up to the final write
    for n, delay in enumerate(delays):
        proc = subprocess.Popen([*CLI, "score", str(trainer)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(delay)
        leader_only = n % 2 == 0  # kill -9 of the harness process alone: its workers must not live on
        try:
            if leader_only:
                os.kill(proc.pid, signal.SIGKILL)
            else:
                os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # it had already finished
        proc.wait(timeout=60)
        if leader_only:
            deadline = time.monotonic() + 15
            while _session_members(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            orphans = _session_members(proc.pid)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            assert not orphans, f"processes outlived a killed `score`: {orphans}"

        board = _cli(["leaderboard", "tiny-w20"], env)  # reads the store and reaps the dead run
        assert board.returncode == 0, board.stderr
        rows = _rows(store)
        assert rows[0] == baseline_row, "another run changed"
        assert {r["status"] for r in rows} <= {"ok", "failed"}, [r["status"] for r in rows]
        for r in rows:
            if r["status"] == "failed":
                assert r["error"] and "\n" not in r["error"]
            else:
                assert json.loads(r["metrics"])["splits"]["dev"], "an ok run without metrics"
        for path, data in baseline_bytes.items():
            assert path.read_bytes() == data
        assert not list(store.rglob("*.tmp*")), "a temporary file survived the reaper"
    # after all the kills the store still takes a complete run
    assert _cli(["score", str(trainer)], env).returncode == 0
    assert _rows(store)[-1]["status"] == "ok"


def test_eight_scorings_at_once_land_correctly_while_the_leaderboard_reads(world: dict) -> None:
    from harness.scoring import split_metrics
    from harness.store import ResultStore

    env, store, bench = world["env"], world["store"], world["bench"]
    archs = bench.archs()
    params = np.array([bench.space.params(a) for a in archs], dtype=float)
    rng = np.random.default_rng(8)
    expected: dict[str, np.ndarray] = {}
    folders = []
    for i in range(8):
        scores = np.log(params) + rng.normal(0, 0.2 * (i + 1), len(archs))
        name = f"concurrent-{i}"
        expected[name] = scores
        folders.append(_predictions_submission(world["tmp"], name, dict(zip(archs, scores.tolist()))))
    ResultStore(store)  # create the schema before the race so that readers have something to open

    seen: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        reads = ResultStore(store, read_only=True)
        while not stop.is_set():
            try:
                rows = reads.leaderboard("tiny-w20", primary="kendall_tau")
                for r in rows:  # every row a reader sees is complete
                    assert r.status == "ok" and r.metric("kendall_tau") is not None
                seen.append(len(rows))
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(f"{type(exc).__name__}: {exc}")
            time.sleep(0.05)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    procs = [subprocess.Popen([*CLI, "score", str(f)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for f in folders]
    outs = [p.communicate(timeout=600) for p in procs]
    stop.set()
    thread.join(timeout=10)
    assert all(p.returncode == 0 for p in procs), [o[1][-400:] for o in outs]
    assert not errors, errors[:3]
    assert seen == sorted(seen), "the reader saw rows disappear"

    board = ResultStore(store, read_only=True).leaderboard("tiny-w20", primary="kendall_tau")
    assert sorted(r.submission for r in board) == sorted(expected)
    gt = bench.ground_truth()
    for run in board:  # every row holds the metrics of its own predictions
        want = split_metrics(expected[run.submission], gt, n_boot=50)
        assert run.metric("kendall_tau") == pytest.approx(want["dev"]["metrics"]["kendall_tau"]["value"], abs=1e-12)
        stored_archs, stored = ResultStore(store, read_only=True).load_predictions(run.run_id)
        assert stored_archs == archs and np.array_equal(stored, expected[run.submission])
    taus = [r.metric("kendall_tau") for r in board]
    assert taus == sorted(taus, reverse=True)


def test_changed_gt_marks_runs_stale_and_rescore_recomputes_from_stored_predictions(world: dict) -> None:
    from harness.benchmarks.loaders import clear_cache
    from harness.store import ResultStore

    env, store, bench = world["env"], world["store"], world["bench"]
    archs = bench.archs()
    scores = {a: float(bench.space.params(a)) for a in archs}
    folder = _predictions_submission(world["tmp"], "proxy", scores)
    assert _cli(["score", str(folder)], env).returncode == 0
    run = ResultStore(store).list_runs()[0]
    before = run.metric("kendall_tau")
    board = _cli(["leaderboard", "tiny-w20"], env)
    assert "stale" not in board.stdout

    gt_file = bench.gt_path()
    with h5py.File(gt_file, "r+") as f:  # a re-built GT: other accuracies for the same archs
        acc = f["acc"][...]
        f["acc"][...] = acc[::-1]
    clear_cache()
    shutil.rmtree(folder)  # the submission is gone: rescore must not need it

    board = _cli(["leaderboard", "tiny-w20"], env)
    assert board.returncode == 0 and "stale" in board.stdout, board.stdout
    done = _cli(["rescore", "tiny-w20"], env)
    assert done.returncode == 0 and "1 run(s) rescored" in done.stdout, done.stdout + done.stderr

    from harness.scoring import split_metrics

    clear_cache()
    from harness.benchmarks import get_benchmark

    new_gt = get_benchmark("tiny-w20").ground_truth()
    after = ResultStore(store).get_run(run.run_id)
    assert after.gt_hash == new_gt.content_hash != run.gt_hash
    want = split_metrics(np.array([scores[a] for a in archs]), new_gt, n_boot=50)["dev"]["metrics"]["kendall_tau"]["value"]
    assert after.metric("kendall_tau") == pytest.approx(want, abs=1e-12) and want != pytest.approx(before)
    assert "stale" not in _cli(["leaderboard", "tiny-w20"], env).stdout
