"""The evaluation protocol (reference loop), the params check, and bad-input paths of ``evaluate``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from harness.errors import SubmissionError, UnknownNameError
from harness.evaluation import check_realised_params, evaluate, evaluate_with_info, make_eval_data
from harness.evaluation.reference import reference_correct
from reference_nets.resnet20_width import StandaloneNet, WidthSuperNet, as_widths
from test_fast_evaluator import fake_bench, random_supernet


@pytest.fixture(scope="module")
def bench():
    return fake_bench(1, size=40, n_eval=40)


@pytest.fixture(scope="module")
def net() -> WidthSuperNet:
    return random_supernet(1, 1, 10, seed=11)


def _standalone_correct(net: WidthSuperNet, arch: str, calib: torch.Tensor, bs: int, ex: torch.Tensor, ey: torch.Tensor) -> int:
    """An independent oracle: the standalone network of the arch, nn.BatchNorm1d with momentum=None."""
    sub = StandaloneNet(arch, dims=1, in_channels=1, num_classes=10).load_from_supernet(net)
    for m in sub.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.reset_running_stats()
            m.momentum = None
    sub.train()
    with torch.no_grad():
        for b in range(calib.shape[0] // bs):
            sub(calib[b * bs : (b + 1) * bs])
        sub.eval()
        return int((sub(ex).argmax(1) == ey).sum())


def test_reference_loop_follows_the_protocol(bench, net: WidthSuperNet) -> None:
    d = bench.data
    data = make_eval_data(d.calib.x, d.eval.x, d.eval.y, calib_batch_size=16, calib_batches=2, eval_batch_size=15)
    archs = bench.space.sample_unique(np.random.default_rng(0), 5)
    got = reference_correct(net, archs, data)
    want = [_standalone_correct(net, a, d.calib.x[:32], 16, d.eval.x, d.eval.y) for a in archs]
    assert got.tolist() == want


def test_reference_loop_leaves_the_model_untouched(bench, net: WidthSuperNet) -> None:
    before = {k: v.clone() for k, v in net.state_dict().items()}
    evaluate(net, bench, bench.space.sample_unique(np.random.default_rng(1), 2), evaluator="reference", progress=False)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


# ------------------------------------------------------------------------------------ params check
class Wrapper(nn.Module):
    """A submission's own module around the reference supernet; ``rewrite`` changes the widths it realises."""

    def __init__(self, base: WidthSuperNet, rewrite=None) -> None:
        super().__init__()
        self.base = base
        self.rewrite = rewrite

    def forward(self, x: torch.Tensor, arch: str) -> torch.Tensor:
        w = list(as_widths(arch))
        if self.rewrite is not None:
            w = self.rewrite(w)
        return self.base(x, "-".join(map(str, w)))


MAX = (16,) * 7 + (32,) * 6 + (64,) * 7


def wider(w: list[int]) -> list[int]:
    return [min(c + 4, m) if c <= 8 else c for c, m in zip(w, MAX, strict=True)]


def largest(w: list[int]) -> list[int]:
    return list(MAX)


def test_params_check_accepts_the_reference_supernet_and_an_honest_wrapper(bench, net: WidthSuperNet) -> None:
    archs = bench.space.sample_unique(np.random.default_rng(2), 30)
    check_realised_params(net, bench.space, archs, (1, 40), n_check=4)
    check_realised_params(Wrapper(net), bench.space, archs, (1, 40), n_check=4)


@pytest.mark.parametrize("rewrite", [wider, largest], ids=["wider-layers", "ignores-arch"])
def test_params_check_catches_cheating_modules(bench, net: WidthSuperNet, rewrite) -> None:
    archs = bench.space.sample_unique(np.random.default_rng(3), 30)
    with pytest.raises(SubmissionError) as err:
        check_realised_params(Wrapper(net, rewrite), bench.space, archs, (1, 40), n_check=8)
    message = str(err.value)
    assert "params" in message and "\n" not in message
    assert any(a in message for a in archs)


def test_evaluate_checks_and_falls_back_for_custom_modules(bench, net: WidthSuperNet) -> None:
    archs = bench.space.sample_unique(np.random.default_rng(4), 4)
    res = evaluate_with_info(Wrapper(net), bench, archs, progress=False)
    assert res.info["evaluator"] == "reference" and res.info["fallback_reason"]
    assert res.info["params_check"] == "passed"
    assert np.array_equal(res.scores, evaluate(net.state_dict(), bench, archs, progress=False))
    with pytest.raises(SubmissionError, match="params"):
        evaluate(Wrapper(net, largest), bench, archs, progress=False)


# ------------------------------------------------------------------------------------ bad inputs
def test_nan_weights_are_rejected(bench, net: WidthSuperNet) -> None:
    archs = bench.space.sample_unique(np.random.default_rng(5), 2)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    state["blocks.3.conv2.weight"][0, 0, 0] = float("nan")
    for model in (state, _with_nan(net)):
        with pytest.raises(SubmissionError, match="(?i)nan|non-finite"):
            evaluate(model, bench, archs, progress=False)


def _with_nan(net: WidthSuperNet) -> WidthSuperNet:
    bad = WidthSuperNet(1, 1, 10)
    bad.load_state_dict(net.state_dict())
    with torch.no_grad():
        bad.fc.weight.fill_(float("nan"))
    return bad


def test_non_finite_outputs_are_rejected(bench, net: WidthSuperNet) -> None:
    archs = bench.space.sample_unique(np.random.default_rng(6), 2)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    state["fc.bias"][3] = 3e38  # finite weight, but logits overflow to inf
    state["fc.weight"][3] = 3e38
    for evaluator in ("fast", "reference"):
        with pytest.raises(SubmissionError, match="not finite"):
            evaluate(state, bench, archs, evaluator=evaluator, progress=False)


def test_missing_keys_and_wrong_shapes_are_rejected(bench, net: WidthSuperNet) -> None:
    archs = bench.space.sample_unique(np.random.default_rng(7), 2)
    state = dict(net.state_dict())
    del state["blocks.2.bn1.running_var"]
    with pytest.raises(SubmissionError, match="missing"):
        evaluate(state, bench, archs, progress=False)
    state = dict(net.state_dict())
    state["fc.weight"] = torch.zeros(10, 32)
    with pytest.raises(SubmissionError, match="shape"):
        evaluate(state, bench, archs, progress=False)
    with pytest.raises(SubmissionError):
        evaluate("not a model", bench, archs, progress=False)  # type: ignore[arg-type]


def test_unknown_evaluator(bench, net: WidthSuperNet) -> None:
    with pytest.raises(UnknownNameError):
        evaluate(net, bench, bench.space.sample_unique(np.random.default_rng(8), 1), evaluator="magic", progress=False)


def test_failing_forward_is_one_line(bench, net: WidthSuperNet) -> None:
    def boom(w):
        raise RuntimeError("boom\nwith a second line")

    with pytest.raises(SubmissionError, match="boom") as err:
        evaluate(Wrapper(net, boom), bench, bench.space.sample_unique(np.random.default_rng(9), 2), progress=False, check_params=False)
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------------------------ other spaces
def test_reference_loop_is_space_agnostic_nb201() -> None:
    nb201 = pytest.importorskip("reference_nets.nb201")
    from harness.spaces import get_space

    space = get_space("nb201", num_classes=10, input_size=8, channels=4, cells_per_stage=1)
    net = nb201.NB201SuperNet.for_space(space)
    g = torch.Generator().manual_seed(0)
    calib = torch.randn(16, 3, 8, 8, generator=g)
    ex, ey = torch.randn(12, 3, 8, 8, generator=g), torch.randint(0, 10, (12,), generator=g)
    data = make_eval_data(calib, ex, ey, calib_batch_size=8, calib_batches=2, eval_batch_size=5)
    archs = space.sample_unique(np.random.default_rng(0), 3)
    a = reference_correct(net, archs, data)
    b = reference_correct(net, archs, data)
    assert a.tolist() == b.tolist() and ((a >= 0) & (a <= 12)).all()
    # the oracle semantics: the standalone subnet with its BN recalibrated the same way gives the same counts
    for arch, count in zip(archs, a, strict=True):
        sub = net.subnet(arch)
        for m in sub.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None
        sub.train()
        with torch.no_grad():
            sub(calib[:8]), sub(calib[8:])
            sub.eval()
            assert int((sub(ex).argmax(1) == ey).sum()) == count
