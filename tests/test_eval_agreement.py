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

from harness.benchmarks import get_benchmark
from harness.evaluation import FastOptions, evaluate
from harness.metrics import compute_metrics
from reference_nets.resnet20_width import WidthSuperNet

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
    truth, params = gt.acc[:N_ARCHS].mean(axis=1), gt.params[:N_ARCHS]
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
