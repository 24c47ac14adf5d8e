"""Zero-cost proxies: each definition against an independent formula on a tiny hand-built net, the conventions
(BN removal, float64, per-arch seeding, NaN floor), the resumable values file and the registry."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from harness.errors import UnknownNameError, UsageError
from harness.proxies import get_proxy, proxy_names, resolve_proxies
from harness.proxies.activations import JACOB_K
from harness.proxies.batch import ProxyBatch
from harness.proxies.compute import ValuesFile, arch_values, prepared, ranked_scores, score_net
from harness.proxies.nets import arch_seed, init_net

D, H, C, N = 5, 16, 3, 6


@pytest.fixture(autouse=True)
def _one_thread():  # noqa: ANN202 - small nets: one thread is much faster on a shared machine (see compute_values)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _batch(seed: int = 0) -> ProxyBatch:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, D, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    return ProxyBatch((D,), x, y)


def _linear(seed: int = 1) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(D, C).double()


def _softmax_grad(W: np.ndarray, b: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """∂L/∂W and ∂L/∂z of the mean cross-entropy of logits z = x Wᵀ + b (by hand)."""
    z = x @ W.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dz = (p - np.eye(W.shape[0])[y]) / len(y)
    return dz.T @ x, dz


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy()


def test_registry_declares_every_proxy_once() -> None:
    names = proxy_names()
    assert {"synflow", "grad_norm", "snip", "grasp", "fisher", "jacob_cov", "nwot", "params", "flops"} <= set(names)
    assert not get_proxy("synflow").needs_data and get_proxy("snip").needs_data
    assert get_proxy("synflow").keep_bn is False and get_proxy("synflow").float64
    assert [p.name for p in resolve_proxies("snip, synflow,snip")] == ["snip", "synflow"]
    with pytest.raises(UnknownNameError, match="unknown proxy 'sinp'"):
        get_proxy("sinp")


def test_grad_norm_snip_fisher_of_a_linear_softmax_model() -> None:
    net, batch = _linear(), _batch()
    W, b, x, y = _np(net.weight), _np(net.bias), _np(batch.x), batch.y.numpy()
    gW, dz = _softmax_grad(W, b, x, y)
    assert score_net(get_proxy("grad_norm"), prepared(net, get_proxy("grad_norm")), batch) == pytest.approx(np.linalg.norm(gW), rel=1e-12)
    assert score_net(get_proxy("snip"), prepared(net, get_proxy("snip")), batch) == pytest.approx(np.abs(W * gW).sum(), rel=1e-12)
    z = x @ W.T + b
    fisher = (0.5 * ((z * dz) ** 2).mean(0)).sum() * D  # per output channel, counted once per weight of it
    assert score_net(get_proxy("fisher"), prepared(net, get_proxy("fisher")), batch) == pytest.approx(fisher, rel=1e-12)


def test_grasp_is_minus_w_times_hessian_gradient_product() -> None:
    net, batch = _linear(2), _batch(1)
    W, b, x, y = _np(net.weight), _np(net.bias), _np(batch.x), batch.y.numpy()
    g, _ = _softmax_grad(W, b, x, y)
    eps = 1e-5  # H g by central differences of the hand-written gradient
    hg = (_softmax_grad(W + eps * g, b, x, y)[0] - _softmax_grad(W - eps * g, b, x, y)[0]) / (2 * eps)
    assert score_net(get_proxy("grasp"), prepared(net, get_proxy("grasp")), batch) == pytest.approx(float(np.sum(-W * hg)), rel=1e-6)


class _TwoLayer(nn.Module):
    """Linear → BN → ReLU → Linear, no biases; ``functional`` writes the ReLU as F.relu."""

    def __init__(self, functional: bool = False) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.fc1 = nn.Linear(D, H, bias=False)
        self.bn = nn.BatchNorm1d(H)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(H, 1, bias=False)
        self.functional = functional

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.bn(self.fc1(x))
        return self.fc2(F.relu(h) if self.functional else self.act(h))


def test_synflow_is_twice_the_path_sum_of_a_bn_free_two_layer_net() -> None:
    net = _TwoLayer()
    W1, W2 = np.abs(_np(net.fc1.weight)), np.abs(_np(net.fc2.weight))
    path_sum = float((np.ones(D) @ W1.T @ W2.T)[0])  # all-ones input, |weights|, BN removed: every path's product
    got = get_proxy("synflow").fn(prepared(net, get_proxy("synflow")), ProxyBatch((D,)))
    assert got == pytest.approx(2 * path_sum, rel=1e-13)  # each layer's Σ|θ ∂R/∂θ| equals R here
    assert net.fc1.weight.min() < 0 and isinstance(net.bn, nn.BatchNorm1d)  # the original is untouched


def test_jacob_cov_and_nwot_against_hand_formulas() -> None:
    batch = _batch(2)
    for functional in (False, True):  # nn.ReLU and F.relu are seen alike
        net = _TwoLayer(functional).double()
        net.bn = nn.Identity()
        W1, W2, x = _np(net.fc1.weight), _np(net.fc2.weight), _np(batch.x)
        pre = x @ W1.T
        J = ((pre > 0) * W2[0]) @ W1  # row n: W2 diag(relu'(W1 x_n)) W1
        v = np.linalg.eigvalsh(np.corrcoef(J))
        expected = -np.sum(np.log(v + JACOB_K) + 1 / (v + JACOB_K))
        assert score_net(get_proxy("jacob_cov"), prepared(net, get_proxy("jacob_cov")), batch) == pytest.approx(expected, rel=1e-10)
        c = (pre > 0).astype(float)
        K = c @ c.T + (1 - c) @ (1 - c).T
        assert score_net(get_proxy("nwot"), prepared(net, get_proxy("nwot")), batch) == pytest.approx(np.linalg.slogdet(K)[1], rel=1e-12)


def test_jacob_cov_is_nan_when_the_output_ignores_the_input() -> None:
    net = nn.Sequential(nn.Linear(D, C)).double()
    with torch.no_grad():
        net[0].weight.zero_()
    assert np.isnan(get_proxy("jacob_cov").fn(prepared(net, get_proxy("jacob_cov")), _batch()))
    scores, bad = ranked_scores(np.array([2.0, np.nan, -1.0]), -1)
    assert bad == 1 and scores.tolist() == [-2.0, -3.0, 1.0]  # direction -1; NaN one below the lowest


def test_nb201_values_are_seeded_per_arch_and_bit_reproducible() -> None:
    from harness.spaces import get_space

    space = get_space("nb201", channels=4, cells_per_stage=1, input_size=8)
    archs = space.archs()[:2]
    ps = resolve_proxies(["synflow", "snip", "params"])
    g = torch.Generator().manual_seed(0)
    batch = ProxyBatch((3, 8, 8), torch.randn(4, 3, 8, 8, generator=g), torch.tensor([0, 1, 2, 3]))
    a = arch_values(ps, space, archs[1], batch, seed=5)
    torch.manual_seed(123)  # the global stream does not matter, nor what ran before
    arch_values(ps, space, archs[0], batch, seed=5)
    assert arch_values(ps, space, archs[1], batch, seed=5) == a
    assert a[2] == space.params(archs[1]) and a[0] > 0
    assert arch_values(ps, space, archs[1], batch, seed=6)[0] != a[0]
    assert arch_seed(5, archs[1]) == arch_seed(5, archs[1]) != arch_seed(5, archs[0])
    w1 = init_net(space, archs[1], 5).state_dict()
    w2 = init_net(space, archs[1], 5).state_dict()
    assert all(torch.equal(w1[k], w2[k]) for k in w1)


def test_values_file_resumes_and_refuses_other_settings(tmp_path) -> None:  # noqa: ANN001
    vf = ValuesFile(tmp_path / "v.csv", ["synflow"], {"seed": 0})
    vf.start()
    vf.append([("a", [1.5]), ("b", [float("nan")])])
    with (tmp_path / "v.csv").open("a") as f:
        f.write("c,2.")  # cut short by an interruption
    again = ValuesFile(tmp_path / "v.csv", ["synflow"], {"seed": 0})
    rows = again.read()
    assert rows["a"] == [1.5] and np.isnan(rows["b"][0]) and "c" in rows  # "2." parses; the line is complete
    again.start()
    again.append([("d", [3.0])])
    assert again.read()["d"] == [3.0] and again.read()["c"] == [2.0]
    with pytest.raises(UsageError, match="other settings"):
        ValuesFile(tmp_path / "v.csv", ["synflow"], {"seed": 1}).read()


def test_hamming_kernel_is_exact() -> None:
    from harness.proxies.activations import hamming_kernel

    rng = np.random.default_rng(0)
    codes = [rng.random((9, n)) > 0.3 for n in (5, 4000, 70000)]
    direct = sum(c.astype(float) @ c.T.astype(float) + (1 - c.astype(float)) @ (1 - c.astype(float)).T for c in codes)
    assert np.array_equal(hamming_kernel(codes), direct)


def test_worker_processes_give_the_same_values() -> None:
    from harness.proxies.compute import compute_values
    from harness.spaces import get_space

    space = get_space("resnet20-width-1d", in_channels=1, num_classes=10, input_size=40)
    archs = space.sample_unique(np.random.default_rng(0), 17)  # three chunks of work
    ps = resolve_proxies(["synflow", "params"])
    one = compute_values(ps, space, archs, ProxyBatch((1, 40)), 3)
    two = compute_values(ps, space, archs, ProxyBatch((1, 40)), 3, workers=2)
    assert np.array_equal(one, two) and one.shape == (17, 2)


def test_a_shared_pass_gives_each_proxy_its_own_value() -> None:
    from harness.spaces import get_space

    space = get_space("resnet20-width-1d", in_channels=1, num_classes=10, input_size=40)
    arch = space.sample(np.random.default_rng(1), 1)[0]
    g = torch.Generator().manual_seed(0)
    batch = ProxyBatch((1, 40), torch.randn(8, 1, 40, generator=g), torch.arange(8) % 10)
    names = ["grad_norm", "snip", "fisher", "grasp", "nwot"]
    together = arch_values(resolve_proxies(names), space, arch, batch, 0)  # one backward for the first three
    alone = [arch_values(resolve_proxies([n]), space, arch, batch, 0)[0] for n in names]
    assert together == alone
