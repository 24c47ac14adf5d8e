"""A search space added without touching the package: a plugin file in tests/, a benchmark spec in a temporary
folder, the arch set and the GT made by the harness itself, and a trainer scored on it through the CLI and the
sandbox. Everything the harness needs to know about the space it must learn from the space object."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN = Path(__file__).parent / "plugins" / "tiny_space.py"
CLI = [sys.executable, "-m", "harness.cli"]
NAME = "tiny-plugin"

SPEC = f"""
name = "{NAME}"
description = "a benchmark on a space defined by a plugin"
primary_metric = "kendall_tau"

[space]
name = "tiny-mlp"
in_channels = 1
num_classes = 10
input_size = 40

[data]
kind = "mnist1d"
num_samples = 700
seed = 5

[splits]
seed = 1
train = 300
calib = 64
eval = 100
gt_test = 300

[archset]
kind = "hdf5"
file = "{NAME}-archs.h5"
size = 9
seed = 3

[gt]
kind = "hdf5"
file = "{NAME}-gt.h5"

[protocol]
calib_batch_size = 32
calib_batches = 2
eval_batch_size = 100

[budget]
epochs = 2
seconds = 120
memory_gb = 6
"""

TRAINER = """
import torch
import torch.nn.functional as F


def train(ctx):
    net = ctx.new_supernet()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    for _ in range(ctx.budget.epochs):
        for x, y in ctx.batches(32):
            arch = ctx.space.sample(ctx.rng, 1)[0]
            loss = F.cross_entropy(net(x, arch), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net
"""


def _run(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{args[3:]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture()
def plugin_env(tmp_path: Path) -> dict[str, str]:
    bench_dir = tmp_path / "benchmarks"
    bench_dir.mkdir()
    (bench_dir / f"{NAME}.toml").write_text(SPEC)
    env = dict(os.environ)
    env.update(NAS_HARNESS_PLUGINS=str(PLUGIN), NAS_HARNESS_BENCHMARK_DIRS=str(bench_dir),
               NAS_HARNESS_STORE=str(tmp_path / "store"))
    return env


def test_a_plugin_space_is_benchmarked_and_scored_end_to_end(plugin_env: dict[str, str], tmp_path: Path) -> None:
    env = plugin_env
    # the arch set and the GT, made by the harness's own tools (two spawned GT workers load the plugin too)
    _run([sys.executable, "-m", "harness.gt.make_archset", NAME], env)
    _run([*CLI, "gt", "build", NAME, "--archs", "8", "--seeds", "2", "--workers", "2"], env)

    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "submission.toml").write_text(f'name = "tiny-spos"\nbenchmark = "{NAME}"\nkind = "trainer"\n')
    (sub / "trainer.py").write_text(TRAINER)
    out = json.loads(_run([*CLI, "score", str(sub), "--json"], env).stdout)

    # what landed in the store, read in a fresh process (as the leaderboard would)
    check = (
        "import json, os, sys\n"
        "from harness.store import ResultStore\n"
        "from harness.benchmarks import get_benchmark\n"
        f"runs = ResultStore(os.environ['NAS_HARNESS_STORE']).list_runs(benchmark={NAME!r}, status='ok')\n"
        "archs, scores = ResultStore(os.environ['NAS_HARNESS_STORE']).load_predictions(runs[0].run_id)\n"
        f"gt = get_benchmark({NAME!r}).ground_truth()\n"
        "print(json.dumps({'n': len(runs), 'id': runs[0].run_id, 'metrics': runs[0].metrics, 'archs': list(archs),\n"
        "                  'gt_shape': list(gt.acc.shape), 'cell_path': sorted(set(gt.cell_path.ravel().tolist()))}))\n"
    )
    stored = json.loads(_run([sys.executable, "-c", check], env).stdout)
    assert stored["n"] == 1 and stored["id"] == out["runs"][0]["run_id"]
    assert stored["gt_shape"] == [8, 2]  # every GT cell trained by the harness
    assert len(stored["archs"]) == 9  # the whole arch set was evaluated
    tau = stored["metrics"]["splits"]["dev"]["metrics"]["kendall_tau"]["value"]
    assert stored["metrics"]["primary_metric"] == "kendall_tau" and -1.0 <= tau <= 1.0


def test_a_plugin_that_fails_to_import_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.errors import PluginError
    from harness.spaces import get_space

    broken = tmp_path / "broken_plugin.py"
    broken.write_text("raise RuntimeError('boom')\n")
    monkeypatch.setenv("NAS_HARNESS_PLUGINS", os.pathsep.join([str(PLUGIN), str(broken)]))
    with pytest.raises(PluginError, match="broken_plugin.py failed to import: RuntimeError: boom"):
        get_space("resnet20-width-1d")
    monkeypatch.setenv("NAS_HARNESS_PLUGINS", str(tmp_path / "missing.py"))
    with pytest.raises(PluginError, match="does not exist"):
        get_space("resnet20-width-1d")
    monkeypatch.setenv("NAS_HARNESS_PLUGINS", "no_such_plugin_module_xyz")
    with pytest.raises(PluginError, match="no_such_plugin_module_xyz"):
        get_space("resnet20-width-1d")
