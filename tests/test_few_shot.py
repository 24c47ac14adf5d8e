"""Few-shot supernets (reference_nets/few_shot.py): routing, splitting, validation, and the fast evaluator per copy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from harness.errors import SubmissionError
from harness.evaluation import FastOptions, evaluate, evaluate_with_info
from harness.spaces.resnet20_width import CHOICES
from harness.submission import load_checkpoint
from reference_nets.few_shot import FewShotSupernet, copy_states
from test_fast_evaluator import fake_bench, random_supernet


@pytest.fixture(scope="module")
def bench():
    return fake_bench(1, size=40, n_eval=40)


def _few_shot(positions: tuple[int, ...], seed: int = 0) -> FewShotSupernet:
    n = int(np.prod([len(CHOICES[p]) for p in positions])) if positions else 1
    return FewShotSupernet([random_supernet(1, 1, 10, seed=seed + i) for i in range(n)], positions, CHOICES)


def test_forward_routes_each_arch_to_the_copy_of_its_split_key(bench) -> None:
    net = _few_shot((0, 7))
    assert len(net.copies) == 4 * 8
    arch = "12-4-4-4-4-4-4-20-4-4-4-4-4-4-4-4-4-4-4-4"
    i = net.copy_index(arch)
    assert net.keys[i] == (12, 20)
    x = bench.data.eval.x[:4]
    net.eval()
    assert torch.equal(net(x, arch), net.copies[i](x, arch))
    with pytest.raises(ValueError, match="not in the space"):
        net.copy_index("5" + arch[2:])


def test_split_starts_each_copy_from_its_parent() -> None:
    coarse = _few_shot((0,))
    fine = coarse.split((0, 1))
    assert fine.positions == (0, 1) and len(fine.copies) == 16
    for i, (w0, _) in enumerate(fine.keys):
        parent = coarse.copies[coarse.keys.index((w0,))]
        assert all(torch.equal(a, b) for a, b in zip(fine.copies[i].state_dict().values(), parent.state_dict().values(), strict=True))
    assert fine.copies[0].stem.weight.data_ptr() != fine.copies[1].stem.weight.data_ptr()  # deep copies
    with pytest.raises(ValueError, match="include the current ones"):
        fine.split((1,))


def test_fast_evaluator_equals_reference_loop_and_each_copy_alone(bench) -> None:
    net = _few_shot((0,), seed=5)
    archs = bench.space.sample_unique(np.random.default_rng(2), 30)
    fast = evaluate_with_info(net.state_dict(), bench, archs, evaluator="fast", progress=False, options=FastOptions(workers=2, chunk_size=4))
    ref = evaluate(net.state_dict(), bench, archs, evaluator="reference", progress=False)
    assert fast.info["evaluator"] == "fast" and fast.info["supernet_copies"] == len({a.split("-")[0] for a in archs})
    assert np.array_equal(fast.scores, ref)
    for arch, score in zip(archs, fast.scores, strict=True):  # each arch scored by its own copy, alone
        copy = net.copies[net.copy_index(arch)]
        assert evaluate(copy.state_dict(), bench, [arch], progress=False)[0] == score
    # the module itself is accepted as well, and gives the same
    assert np.array_equal(evaluate(net, bench, archs, progress=False), ref)


def test_one_copy_few_shot_is_the_plain_supernet(bench) -> None:
    net = _few_shot(())
    archs = bench.space.sample_unique(np.random.default_rng(3), 10)
    assert np.array_equal(evaluate(net.state_dict(), bench, archs, progress=False), evaluate(net.copies[0].state_dict(), bench, archs, progress=False))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.update(split_positions=torch.tensor([0, 0])), "must be distinct positions"),
        (lambda s: s.update(split_positions=torch.tensor([20])), "must be distinct positions"),
        (lambda s: s.update(split_positions=torch.tensor([0.0])), "1-D integer tensor"),
        (lambda s: s.update(split_positions=torch.tensor([0, 1])), "needs 16 copies"),
        (lambda s: [s.pop(k) for k in list(s) if k.startswith("copies.3.")], "needs 4 copies"),
        (lambda s: s.update({"extra.weight": torch.zeros(1)}), "outside the copies"),
        (lambda s: s.pop("copies.2.fc.bias"), r"\(copy 2\) does not match the reference supernet.*copies.2|\(copy 2\).*missing key"),
        (lambda s: s["copies.1.fc.weight"].fill_(float("nan")), r"\(copy 1\) holds non-finite"),
        (lambda s: s.update({"copies.0.split_positions": torch.tensor([1])}), "itself split"),
    ],
)
def test_bad_few_shot_states_fail_with_one_line(bench, tmp_path: Path, edit, message: str) -> None:
    state = {k: v.clone() for k, v in _few_shot((0,)).state_dict().items()}
    edit(state)
    path = tmp_path / "checkpoint.pt"
    torch.save(state, path)
    with pytest.raises(SubmissionError, match=message) as info:
        load_checkpoint(path, bench)
    assert "\n" not in str(info.value)


def test_few_shot_checkpoint_loads_as_plain_tensors(bench, tmp_path: Path) -> None:
    net = _few_shot((0,))
    path = tmp_path / "checkpoint.pt"
    torch.save(net.state_dict(), path)
    state = load_checkpoint(path, bench)
    positions, copies = copy_states(state)
    assert positions == (0,) and len(copies) == 4
    archs = bench.space.sample_unique(np.random.default_rng(4), 8)
    assert np.array_equal(evaluate(state, bench, archs, progress=False), evaluate(net, bench, archs, evaluator="reference", progress=False))
