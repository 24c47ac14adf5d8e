"""The fast evaluator (both strategies) against the reference loop on a *trained* supernet and real data.

Why trained: a randomly initialised supernet has well-separated logits, so any path agrees with any other; a
trained one has near-tie samples, where float rounding (summation order of a convolution, which differs by CPU
kind and kernel shape) can flip a prediction. The tolerance held (docs/eval_performance.md, README "Performance"):
per arch at most a few of the eval samples, and every metric of the run within 0.001 of the reference loop's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import importlib.util
import time
from dataclasses import replace
from pathlib import Path

from harness.benchmarks import get_benchmark
from harness.evaluation import FastOptions, evaluate
from harness.metrics import compute_metrics
from harness.scoring import split_metrics
from harness.submission.context import TrainContext
from reference_nets.resnet20_width import WidthSuperNet

SUBMISSIONS = Path(__file__).resolve().parent.parent / "submissions"

N_ARCHS = 60  # GT archs: the reference loop on them costs ~5 s on 2 idle cores
METRIC_TOL = 1e-3
ACC_TOL = 3 / 500  # per arch: 3 of the 500 eval samples (measured worst on AVX2 for trained supernets: see the doc)


def _spos(bench, steps: int, seed: int = 0) -> WidthSuperNet:
    """A few single-path (SPOS) steps: enough to create near-tie logits."""
    space, data = bench.space, bench.load_data()
    torch.manual_seed(seed)
    net = WidthSuperNet(dims=space.dims, in_channels=space.in_channels, num_classes=space.num_classes)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(seed)
    net.train()
    for _ in range(steps):
        idx = torch.from_numpy(rng.integers(0, len(data.train.x), 128))
        loss = F.cross_entropy(net(data.train.x[idx], space.sample(rng, 1)[0]), data.train.y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net


@pytest.fixture(scope="module")
def default_bench():
    bench = get_benchmark("mnist1d-w20")
    if not bench.gt_available():
        pytest.skip("the default benchmark's GT is not available")
    return bench


@pytest.fixture(scope="module")
def trained(default_bench):
    saved = torch.get_num_threads()
    torch.set_num_threads(1)  # the same weights whatever the core count (threaded kernels reduce in another order)
    try:
        return _spos(default_bench, steps=120)
    finally:
        torch.set_num_threads(saved)


def test_metrics_of_a_run_agree_between_fast_and_reference(default_bench, trained) -> None:
    gt = default_bench.ground_truth()
    archs = gt.archs[:N_ARCHS]
    truth, params = gt.seed_mean[:N_ARCHS], gt.params[:N_ARCHS]
    state = trained.state_dict()
    ref = evaluate(state, default_bench, archs, evaluator="reference", progress=False)
    assert len(np.unique(ref)) > 20  # a trained net: accuracies spread, the ranking means something
    want = compute_metrics(ref, truth, params)
    for strategy in ("walk", "grouped"):
        fast = evaluate(state, default_bench, archs, progress=False, options=FastOptions(strategy=strategy, workers=1))
        assert np.abs(fast - ref).max() <= ACC_TOL + 1e-12, strategy
        got = compute_metrics(fast, truth, params)
        gaps = {m: abs(got[m] - want[m]) for m in want if np.isfinite(want[m])}
        assert max(gaps.values()) <= METRIC_TOL, (strategy, {m: g for m, g in gaps.items() if g > METRIC_TOL})


def _reference_trainer(bench, name: str, epochs: int, seed: int = 0):
    """The supernet a reference trainer of ``submissions/`` returns after ``epochs`` of the benchmark's data, trained
    in this process (as the sandbox would, without the sandbox: the weights are what matters here)."""
    spec = importlib.util.spec_from_file_location(f"trainer_{name}", SUBMISSIONS / name / "trainer.py")
    trainer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(trainer)
    data = bench.load_data()
    torch.manual_seed(seed)
    ctx = TrainContext(space=bench.space, train_x=data.train.x, train_y=data.train.y, num_classes=bench.space.num_classes,
                       budget=replace(bench.budget, epochs=epochs), device="cpu", seed=seed, deadline=time.time() + 3600,
                       _new_supernet=bench.space.new_supernet)
    return trainer.train(ctx)


# (trainer, epochs, GT splits): spos on both splits; fairnas (4 paths a step, the slow one) on the public dev split
# only, to keep the file under 3 minutes on 2 cores (the reference loop is the cost: ~11 archs/s), on the GT's first
# AGREEMENT_ROWS rows whatever the shipped GT's size (v2 has 2,600)
AGREEMENT_ROWS = 500
REAL_RUNS = [("spos", 2, ("dev", "test")), ("fairnas", 1, ("dev",))]


def _first_rows(gt, n: int):
    """The GT restricted to its first ``n`` rows, each split to its members among them (v2's first 500 rows are the
    12-seed rows, 250 dev + 250 test): the metrics of a run on fewer archs, computed the way ``score`` does."""
    if len(gt.archs) <= n:
        return gt
    head = {k: getattr(gt, k)[:n] for k in ("acc", "params", "flops", "archset_index", "seeds_per_arch", "cell_path",
                                             "cell_batch", "cell_build") if getattr(gt, k) is not None}
    return replace(gt, archs=gt.archs[:n], splits={k: v[v < n] for k, v in gt.splits.items()}, **head)


@pytest.mark.parametrize(("trainer", "epochs", "splits"), REAL_RUNS)
def test_run_metrics_of_reference_trainers_agree_between_fast_and_reference(default_bench, trainer: str, epochs: int,
                                                                             splits: tuple[str, ...]) -> None:
    """What a run reports — every metric of a GT split, computed as ``score`` does — is the same, within 0.001,
    whether the CPU-default fast evaluator or the plain reference loop produced the inherited-weight accuracies;
    on supernets trained by the reference trainers themselves, on all the archs of the split."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        net = _reference_trainer(default_bench, trainer, epochs)
    finally:
        torch.set_num_threads(saved)
    gt = _first_rows(default_bench.ground_truth(), AGREEMENT_ROWS)
    all_archs = list(default_bench.archs())
    rows = np.concatenate([gt.split_indices(sp) for sp in splits])
    archs = [all_archs[gt.archset_index[i]] for i in rows]
    state = net.state_dict()
    ref = evaluate(state, default_bench, archs, evaluator="reference", progress=False)
    fast = evaluate(state, default_bench, archs, progress=False, options=FastOptions(workers=1))
    assert len(np.unique(ref)) > 30  # trained: the accuracies spread
    assert np.abs(fast - ref).max() <= ACC_TOL + 1e-12
    pred_ref, pred_fast = np.zeros(len(all_archs)), np.zeros(len(all_archs))
    pred_ref[gt.archset_index[rows]], pred_fast[gt.archset_index[rows]] = ref, fast
    want = split_metrics(pred_ref, gt, n_boot=0)
    got = split_metrics(pred_fast, gt, n_boot=0)
    for split in splits:
        for m, est in want[split]["metrics"].items():
            if est["value"] is not None and np.isfinite(est["value"]):
                assert abs(got[split]["metrics"][m]["value"] - est["value"]) <= METRIC_TOL, (trainer, split, m)
