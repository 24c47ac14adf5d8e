"""The researcher's loop through the real CLI (issue 32): progress lines in a pipe, trainer output and scalars
kept with the run, hyper-parameters, sweeps, quick debug runs, on the tiny benchmark with a quick probe trainer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


# A probe trainer: prints, logs scalars, reports progress in tenths, and reads its hyper-parameters.
PROBE = '''
import time

def train(ctx):
    lr = ctx.hparams.get("lr", 0.0)
    print(f"probe lr={lr} seed={ctx.seed} <b>[red]x[/red]</b>", flush=True)
    net = ctx.new_supernet()
    for epoch in range(ctx.budget.epochs):
        for i, (x, y) in enumerate(ctx.batches(200)):
            pass
        ctx.log(epoch, loss=1.0 / (epoch + 1), lr=lr)
    for i in range(11):
        ctx.progress(i / 10, f"step {i}")
        time.sleep(0.21 * SLOW)
    import torch
    with torch.no_grad():
        for p in net.parameters():
            p.add_(lr * 0.01 * torch.randn_like(p))
    return net

SLOW = {slow}
'''


def probe(root: Path, name: str = "probe", *, hparams: str = 'lr = 0.1', slow: int = 0) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "submission.toml").write_text(
        f'name = "{name}"\nbenchmark = "tiny-w20"\nkind = "trainer"\n\n[hparams]\n{hparams}\n')
    (folder / "trainer.py").write_text(PROBE.replace("{slow}", str(slow)))
    return folder


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, stdout and stderr as pipes (not a terminal), as CI runs it."""
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def scored_run(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[Path, Any, str]:
    """A probe scored once through the CLI (GT archs only) with ``args``: (its folder, the store, the run id)."""
    from harness.store import ResultStore

    sub = probe(tmp_path)
    p = cli(["score", str(sub), "--gt-only", *args, "--json"], env)
    assert p.returncode == 0, p.stderr[-2000:]
    return sub, ResultStore(env["NAS_HARNESS_STORE"]), json.loads(p.stdout)["runs"][0]["run_id"]


def test_check_prints_progress_lines_into_a_pipe(tiny_env: dict[str, str], tmp_path: Path) -> None:
    from test_groups import _good_group

    good = _good_group(Path(tiny_env["NAS_HARNESS_STORE"]), [0])
    p = cli(["check", str(probe(tmp_path, slow=1)), "--baseline", good, "--seeds", "1"], tiny_env)
    assert p.returncode in (0, 1), p.stderr[-2000:]
    lines = p.stderr.splitlines()
    train = [ln for ln in lines if ln.startswith("train: ")]
    assert len(train) >= 5, p.stderr  # a line per 10 % of the trainer's progress (it reports 0.0 .. 1.0)
    assert any(ln.startswith("train: 50%") for ln in train) and train[-1].startswith("train: 100%")
    assert any(ln.startswith("evaluate GT archs: 100%") for ln in lines)
    assert "\x1b" not in p.stderr  # no terminal control sequences in a pipe


def test_trainer_output_hparams_and_scalars_are_kept_with_the_run(tiny_env: dict[str, str], tmp_path: Path) -> None:
    sub, store, run_id = scored_run(tmp_path, tiny_env, "--set", "lr=0.25")
    assert "probe lr=0.25 seed=0" in store.run_log(run_id)  # ctx.hparams from the manifest, overridden by --set
    assert store.run_scalars(run_id) == [(0, "loss", 1.0), (0, "lr", 0.25)]
    training = store.run_training(run_id)
    assert training["hparams"] == {"lr": 0.25} and training["overrides"] == {"lr": 0.25}
    assert training["epochs"] == 1 and not training["off_budget"]
    assert store.get_run(run_id).manifest["hparams"] == {"lr": 0.25}

    p = cli(["show", run_id, "--log"], tiny_env)
    assert p.returncode == 0, p.stderr
    assert "probe lr=0.25 seed=0 <b>[red]x[/red]</b>" in p.stdout  # the trainer's line, markup not interpreted
    assert "lr=0.25 (--set)" in p.stdout and "1 trained; asked 1, budget 1" in p.stdout

    p = cli(["score", str(sub), "--set", "lrr=1"], tiny_env)
    assert p.returncode != 0 and "has no 'lrr'" in p.stderr and "Traceback" not in p.stderr


def test_a_failing_trainer_keeps_its_output(tiny_env: dict[str, str], tmp_path: Path) -> None:
    from harness.store import ResultStore

    sub = probe(tmp_path)
    (sub / "trainer.py").write_text("def train(ctx):\n    print('before the crash \\x1b[31mred')\n    raise ValueError('boom')\n")
    p = cli(["score", str(sub), "--gt-only"], tiny_env)
    assert p.returncode != 0 and "boom" in p.stderr
    store = ResultStore(tiny_env["NAS_HARNESS_STORE"])
    run = store.list_runs()[-1]
    assert run.status == "failed"
    assert store.run_log(run.run_id) == "before the crash \\u001b[31mred"  # kept, the escape made visible


def test_sweep_of_two_values_prints_one_table(tiny_env: dict[str, str], tmp_path: Path) -> None:
    from harness.store import ResultStore

    sub = probe(tmp_path)
    p = cli(["score", str(sub), "--sweep", "lr=0.0,5.0", "--seeds", "2", "--gt-only"], tiny_env)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "sweep of lr" in p.stdout and "Δ vs best" in p.stdout
    store = ResultStore(tiny_env["NAS_HARNESS_STORE"])
    groups: dict[str, list] = {}
    for r in store.list_runs(status="ok"):
        groups.setdefault(r.group_id, []).append(r)
    assert len(groups) == 2
    values = []
    for gid, runs in groups.items():
        assert gid in p.stdout and [r.seed for r in runs] == [0, 1]  # each value its own seed group, same seeds
        lrs = {store.run_training(r.run_id)["hparams"]["lr"] for r in runs}
        assert len(lrs) == 1
        values += lrs
    assert sorted(values) == [0.0, 5.0]
    assert "│ best" in p.stdout  # the best value's row, the other with its difference from it and a verdict
    assert "worse than the best" in p.stdout or "no significant" in p.stdout


def test_quick_debug_epochs_are_off_budget_and_never_ranked(tiny_env: dict[str, str], tmp_path: Path) -> None:
    _, store, run_id = scored_run(tmp_path, tiny_env, "--epochs", "2")
    t = store.run_training(run_id)
    assert t["off_budget"] and t["epochs"] == 2 and t["epochs_asked"] == 2 and t["budget_epochs"] == 1
    assert [(s, n) for s, n, _ in store.run_scalars(run_id)] == [(0, "loss"), (0, "lr"), (1, "loss"), (1, "lr")]
    p = cli(["leaderboard", "--json"], tiny_env)
    assert json.loads(p.stdout)["benchmarks"] == {} or all(
        r["id"] != run_id for r in json.loads(p.stdout)["benchmarks"]["tiny-w20"]["rows"])
    p = cli(["show", run_id], tiny_env)
    assert "off budget" in p.stdout and "--epochs 2 (the budget is 1)" in p.stdout


def test_a_trainer_short_of_the_budget_is_recorded_so(tiny_env: dict[str, str], tmp_path: Path) -> None:
    from harness.benchmarks import get_benchmark
    from harness.scoring import ScoreOptions, score_submission
    from harness.store import ResultStore

    sub = probe(tmp_path)
    (sub / "trainer.py").write_text("def train(ctx):\n    for _ in ctx.batches(100):\n        break\n"
                                    "    ctx.epochs_trained = ctx.budget.epochs - 1\n    return ctx.new_supernet()\n")
    store = ResultStore(tiny_env["NAS_HARNESS_STORE"])
    assert get_benchmark("tiny-w20").budget.epochs == 1
    run = score_submission(sub, store, ScoreOptions(gt_only=True, progress=False, n_boot=50, epochs=3))
    t = store.run_training(run.run_id)
    assert t["epochs"] == 2 and t["off_budget"] and "trained 2 of 3 epochs" in t["off_budget_why"]
    assert t["sandbox_threads"] == int(os.environ.get("NAS_HARNESS_SANDBOX_THREADS", "1"))
    assert store.leaderboard("tiny-w20", primary="kendall_tau") == []


def test_local_context_runs_a_trainer_in_process(tiny_env: dict[str, str], tmp_path: Path) -> None:
    import importlib.util

    import harness

    sub = probe(tmp_path)
    spec = importlib.util.spec_from_file_location("probe_trainer", sub / "trainer.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    ctx = harness.local_context("tiny-w20", epochs=3, seed=5, hparams={"lr": 0.5})
    net = mod.train(ctx)
    assert ctx.epochs_trained == 3 and ctx.seed == 5 and ctx.budget.epochs == 3
    assert ctx.logged[-1] == (2, {"loss": 1 / 3, "lr": 0.5})
    run = harness.score_supernet(net, "tiny-w20", gt_only=True, n_boot=50)
    assert run.metric("kendall_tau", "dev") is not None
