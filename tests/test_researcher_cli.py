"""The researcher's loop through the real CLI (issue 32): progress lines in a pipe, trainer output and scalars
kept with the run, hyper-parameters, sweeps, quick debug runs, on the tiny benchmark with a quick probe trainer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

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
    from harness.store import ResultStore

    sub = probe(tmp_path)
    p = cli(["score", str(sub), "--gt-only", "--set", "lr=0.25", "--json"], tiny_env)
    assert p.returncode == 0, p.stderr[-2000:]
    run_id = json.loads(p.stdout)["runs"][0]["run_id"]
    store = ResultStore(tiny_env["NAS_HARNESS_STORE"])
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
