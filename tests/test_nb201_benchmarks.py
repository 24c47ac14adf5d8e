"""NAS-Bench-201 benchmarks (issue 7): specs, the enumerated arch set, the CSV ground truth (generated files always;
the real GT when ../shared/data/nb201/ is present), the predictions baselines against scipy, and the trainer
submissions end to end on generated CIFAR-format data with a tiny budget.
"""

from __future__ import annotations

import csv
import importlib.util
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from conftest import REPO, SHARED_DATA
from harness.errors import BadPathError, GroundTruthError
from test_data_readers import make_cifar10

NB201 = SHARED_DATA / "nb201"
GT_CSV = NB201 / "nb201_test_acc_200ep.csv"
BENCHMARKS = {  # name -> (classes, input size, GT column, published optimum in %)
    "nb201-cifar10": (10, 32, "CIFAR10TestAccuracy200Epochs", 94.373),
    "nb201-cifar100": (100, 32, "CIFAR100TestAccuracy200Epochs", 73.513),
    "nb201-imagenet16": (120, 16, "ImageNetTestAccuracy200Epochs", 47.311),
}
COLUMNS = ["CIFAR10TestAccuracy200Epochs", "CIFAR100TestAccuracy200Epochs", "ImageNetTestAccuracy200Epochs", "ArchitectureString", "UniqueString"]
real_gt = pytest.mark.skipif(not GT_CSV.is_file(), reason=f"{GT_CSV} is absent")


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks train fastest on one thread, and the test machine is shared (2 cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture()
def data_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty user data directory (``$NAS_HARNESS_DATA``) and fresh loader caches."""
    from harness.benchmarks.loaders import clear_cache

    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("NAS_HARNESS_DATA", str(data))
    monkeypatch.setenv("NAS_HARNESS_STORE", str(tmp_path / "store"))
    clear_cache()
    yield data
    clear_cache()


@pytest.fixture()
def real_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    from harness.benchmarks.loaders import clear_cache

    monkeypatch.setenv("NAS_HARNESS_DATA", str(SHARED_DATA))
    monkeypatch.setenv("NAS_HARNESS_STORE", str(tmp_path / "store"))
    clear_cache()
    yield SHARED_DATA
    clear_cache()


def write_gt_csv(path: Path, rows: list[tuple[str, float]], column: str = "CIFAR10TestAccuracy200Epochs") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for arch, acc in rows:
            row = {c: 50.0 for c in COLUMNS[:3]} | {"ArchitectureString": arch, "UniqueString": "x", column: acc}
            writer.writerow(row)


# ------------------------------------------------------------------------------------------- specs
def test_three_benchmarks_with_enumerated_arch_sets(data_env: Path) -> None:
    from harness.benchmarks import benchmark_names, get_benchmark

    assert set(BENCHMARKS) <= set(benchmark_names())
    for name, (classes, size, column, _) in BENCHMARKS.items():
        bench = get_benchmark(name)
        space = bench.space
        assert (space.name, space.num_classes, space.input_size, space.channels, space.cells_per_stage) == ("nb201", classes, size, 16, 5)
        assert bench.primary_metric == "kendall_tau" and bench.gt["column"] == column
        archs = bench.archs()  # enumerated: no file, no data needed
        assert len(archs) == 15_625 and archs == space.archs()
        assert bench.gt_path() is None  # GT is a CSV, not an HDF5 file the harness builds


# ------------------------------------------------------------------------------------- GT from CSV
def test_csv_gt_in_archset_order_scaled_to_unit_interval(data_env: Path) -> None:
    from harness.benchmarks import get_benchmark

    bench = get_benchmark("nb201-cifar10")
    archs = bench.archs()
    rng = np.random.default_rng(0)
    picked = rng.choice(len(archs), 40, replace=False)  # shuffled, a subset
    rows = [(archs[i], float(rng.uniform(10, 95))) for i in picked]
    write_gt_csv(data_env / "nb201" / "nb201_test_acc_200ep.csv", rows)
    gt = bench.ground_truth()
    assert gt.n_seeds == 1 and len(gt.archs) == 40
    assert list(gt.archset_index) == sorted(picked.tolist())
    assert [archs[i] for i in gt.archset_index] == gt.archs
    by_arch = dict(rows)
    np.testing.assert_allclose(gt.acc[:, 0], [by_arch[a] / 100 for a in gt.archs])
    np.testing.assert_array_equal(gt.params, bench.space.params_many(gt.archs))
    np.testing.assert_array_equal(gt.flops, bench.space.flops_many(gt.archs))
    dev, test = set(gt.splits["dev"].tolist()), set(gt.splits["test"].tolist())
    assert dev.isdisjoint(test) and dev | test == set(range(40))
    from harness.spaces.nb201_iso import isomorphism_classes

    classes = isomorphism_classes(gt.archs)
    assert set(classes[sorted(dev)]).isdisjoint(classes[sorted(test)])  # split by isomorphism class
    assert len(set(classes[sorted(test)])) == round(len(set(classes)) / 2)
    np.testing.assert_array_equal(gt.clusters, classes)
    assert "unknown" in gt.attrs["noise_ceiling"] and gt.attrs["column"] == "CIFAR10TestAccuracy200Epochs"


def test_noise_ceiling_is_unknown_for_one_column(data_env: Path) -> None:
    from harness.benchmarks import get_benchmark
    from harness.metrics import noise_ceiling

    bench = get_benchmark("nb201-cifar100")
    archs = bench.archs()[:30]
    write_gt_csv(data_env / "nb201" / "nb201_test_acc_200ep.csv", [(a, 40.0 + i) for i, a in enumerate(archs)], "CIFAR100TestAccuracy200Epochs")
    gt = bench.ground_truth()
    assert all(v is None for v in noise_ceiling(gt.acc, gt.params).values())


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        ([("|none~0|+|none~0|none~1|+|none~0|none~1|bogus~2|", 50.0)], "line 2: not usable .*unknown op 'bogus'"),
        ([("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 50.0)] * 2, "more than once"),
        ([("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 120.0)], "is not an accuracy in %"),
        ([("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", float("nan"))], "is not an accuracy in %"),
    ],
)
def test_csv_gt_errors(data_env: Path, rows: list[tuple[str, float]], words: str) -> None:
    from harness.benchmarks import get_benchmark

    write_gt_csv(data_env / "nb201" / "nb201_test_acc_200ep.csv", rows)
    with pytest.raises(GroundTruthError, match=words):
        get_benchmark("nb201-cifar10").ground_truth()


def test_csv_gt_missing_file_column_or_data_dir(data_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.benchmarks import get_benchmark
    from harness.benchmarks.loaders import clear_cache

    bench = get_benchmark("nb201-imagenet16")
    with pytest.raises(GroundTruthError, match=r"nb201_test_acc_200ep.csv does not exist: put the CSV with columns ArchitectureString and ImageNetTestAccuracy200Epochs"):
        bench.ground_truth()
    path = data_env / "nb201" / "nb201_test_acc_200ep.csv"
    path.parent.mkdir()
    path.write_text("ArchitectureString,Other\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,1\n")
    clear_cache()
    with pytest.raises(GroundTruthError, match="no column 'ImageNetTestAccuracy200Epochs'; its columns: ArchitectureString, Other"):
        bench.ground_truth()
    monkeypatch.delenv("NAS_HARNESS_DATA")
    clear_cache()
    with pytest.raises(BadPathError, match="NAS_HARNESS_DATA"):
        bench.ground_truth()
    assert not bench.gt_available()


# ---------------------------------------------------------------------------------------- real GT
@real_gt
def test_real_gt_matches_the_published_benchmark(real_env: Path) -> None:
    from harness.benchmarks import get_benchmark

    with GT_CSV.open(newline="") as f:
        csv_archs = [row["ArchitectureString"] for row in csv.DictReader(f)]
    for name, (_, _, _, optimum) in BENCHMARKS.items():
        bench = get_benchmark(name)
        gt = bench.ground_truth()
        assert len(gt.archs) == 15_625 and gt.n_seeds == 1 and bool(gt.complete.all())
        assert gt.acc.max() == pytest.approx(optimum / 100, abs=5e-6)
        assert 0.0 <= gt.acc.min() and gt.acc.max() <= 1.0
        assert list(gt.archset_index) == list(range(15_625))
    # the CSV's strings are our canonical strings, row i is NAS-Bench-201 index i
    assert csv_archs == get_benchmark("nb201-cifar10").archs()
    mini = NB201 / "nb201_12ep_acc_minibench.csv"
    if mini.is_file():
        with mini.open(newline="") as f:
            rows = list(csv.DictReader(f))
        assert [int(r["arch_index"]) for r in rows] == list(range(15_625))
        assert [r["arch_str"] for r in rows] == csv_archs


@real_gt
def test_params_proxy_metrics_equal_scipy_on_real_gt(real_env: Path) -> None:
    from harness.benchmarks import get_benchmark
    from harness.metrics import compute_metrics, params_baseline

    bench = get_benchmark("nb201-cifar100")
    gt = bench.ground_truth()
    params = bench.space.params_many(gt.archs).astype(np.float64)
    for split in ("dev", "test", "all"):
        idx = gt.split_indices(split)
        p, t = params[idx], gt.acc[idx, 0]
        got = compute_metrics(p, t, gt.params[idx], names=["kendall_tau", "spearman", "pearson"])
        assert got["spearman"] == pytest.approx(stats.spearmanr(p, t)[0], abs=1e-12)
        assert got["kendall_tau"] == pytest.approx(stats.kendalltau(p, t, variant="b")[0], abs=1e-12)
        assert got["pearson"] == pytest.approx(stats.pearsonr(p, t)[0], abs=1e-12)
        assert params_baseline(gt.params[idx], t, names=["spearman"])["spearman"] == pytest.approx(got["spearman"], abs=1e-12)
    # the literature's check: Spearman(#params, CIFAR-100 GT) over 1,000 random archs is about 0.75
    pick = np.random.default_rng(0).choice(15_625, 1000, replace=False)
    rho = stats.spearmanr(params[pick], gt.acc[pick, 0])[0]
    assert rho == pytest.approx(0.7552, abs=5e-4)
    assert stats.spearmanr(params, gt.acc[:, 0])[0] == pytest.approx(0.7278, abs=5e-4)


@real_gt
def test_score_params_proxy_submission_on_real_gt(real_env: Path, tmp_path: Path) -> None:
    """The predictions path end to end: `nas-harness score submissions/nb201_params_proxy` ≡ scipy on the same arrays."""
    pytest.importorskip("harness.store")
    from harness.scoring import ScoreOptions, score_submission
    from harness.store import ResultStore

    from harness.benchmarks import get_benchmark

    run = score_submission(REPO / "submissions" / "nb201_params_proxy", ResultStore(tmp_path / "store"), ScoreOptions(n_boot=0, progress=False))
    assert run.status == "ok"
    gt = get_benchmark("nb201-cifar100").ground_truth()
    params = get_benchmark("nb201-cifar100").space.params_many(gt.archs).astype(np.float64)
    for split in ("dev", "test"):
        idx = gt.split_indices(split)
        p, t = params[gt.archset_index[idx]], gt.acc[idx, 0]
        got = run.metrics["splits"][split]["metrics"]
        assert got["spearman"]["value"] == pytest.approx(stats.spearmanr(p, t)[0], abs=1e-12)
        assert got["kendall_tau"]["value"] == pytest.approx(stats.kendalltau(p, t, variant="b")[0], abs=1e-12)
        assert run.metrics["splits"][split]["noise_ceiling"]["kendall_tau"] is None  # one column: unknown


# ------------------------------------------------------------------------------ predictions files
@pytest.mark.parametrize("proxy", ["params", "flops"])
def test_baseline_predictions_are_current(data_env: Path, proxy: str) -> None:
    """The committed CSVs are exactly what make_predictions.py writes (regenerate them if the space changes)."""
    from harness.benchmarks import get_benchmark
    from harness.submission import load_submission, read_predictions

    bench = get_benchmark("nb201-cifar100")
    sub = load_submission(REPO / "submissions" / f"nb201_{proxy}_proxy")
    assert sub.kind == "predictions" and sub.manifest.benchmark == "nb201-cifar100" and sub.manifest.baseline
    pred = read_predictions(sub.payload_path, bench.archs(), bench.space)
    archs = bench.archs()
    expected = bench.space.params_many(archs) if proxy == "params" else bench.space.flops_many(archs)
    np.testing.assert_array_equal(pred, expected.astype(np.float64))


def test_params_and_flops_rank_nb201_archs_identically() -> None:
    """Why the two baselines score the same: both are increasing in (#conv3×3, #conv1×1) taken lexicographically."""
    from harness.spaces import get_space

    space = get_space("nb201", num_classes=100)
    archs = space.archs()
    p, f = space.params_many(archs), space.flops_many(archs)
    assert stats.spearmanr(p, f)[0] == pytest.approx(1.0) and stats.kendalltau(p, f)[0] == pytest.approx(1.0)


# --------------------------------------------------------------------------- trainers end to end
TINY_SPEC = """
name = "{name}"
description = "tiny nb201 trainer test"
primary_metric = "kendall_tau"

[space]
name = "nb201"
num_classes = 10
input_size = 32
channels = 4
cells_per_stage = 1

[data]
kind = "cifar10"
verify_checksums = false

[splits]
seed = 0
calib = 32
eval_fraction = 0.5

[archset]
kind = "hdf5"
file = "{name}-archs.h5"
size = {n_archs}

[gt]
kind = "hdf5"
file = "{name}-gt.h5"

[protocol]
calib_batch_size = 16
calib_batches = 2
eval_batch_size = 20

[budget]
epochs = 2
seconds = 120
memory_gb = 6
"""


@pytest.fixture()
def tiny_nb201(data_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A tiny nb201 benchmark (C = 4, one cell per stage) on generated CIFAR-10 files, 12 archs, synthetic GT."""
    from harness.benchmarks import get_benchmark
    from harness.benchmarks.loaders import write_archset_h5
    from harness.gt.gt_file import split_dev_test, write_gt
    from harness.spaces.nb201 import NB201Space

    make_cifar10(data_env, per_batch=16, n_test=40)
    specs = tmp_path / "specs"
    specs.mkdir()
    space = NB201Space(num_classes=10, channels=4, cells_per_stage=1)
    archs = space.sample_unique(np.random.default_rng(0), 12)
    write_archset_h5(specs / "tiny-nb201-archs.h5", archs, {"seed": 0})
    params = space.params_many(archs)
    acc = (0.3 + 0.5 * params / params.max())[:, None]
    write_gt(specs / "tiny-nb201-gt.h5", archs=archs, acc=acc, params=params, flops=space.flops_many(archs),
             splits=split_dev_test(12, 0.5, 0), archset_index=np.arange(12), attrs={"recipe": {"synthetic": True}})
    (specs / "tiny-nb201.toml").write_text(TINY_SPEC.format(name="tiny-nb201", n_archs=12))
    monkeypatch.setenv("NAS_HARNESS_BENCHMARK_DIRS", str(specs))
    return get_benchmark("tiny-nb201")


def _load_trainer(name: str):
    spec = importlib.util.spec_from_file_location(f"trainer_{name}", REPO / "submissions" / name / "trainer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _context(bench, reports: list[tuple[float, str]], initial: dict) -> SimpleNamespace:  # noqa: ANN001
    data = bench.load_data()

    def new_supernet() -> nn.Module:
        net = bench.space.new_supernet()
        initial.update({k: v.clone() for k, v in net.state_dict().items()})
        return net

    return SimpleNamespace(
        space=bench.space, train_x=data.train.x, train_y=data.train.y, num_classes=data.num_classes,
        budget=bench.budget, device="cpu", seed=0, new_supernet=new_supernet,
        progress=lambda fraction, message="": reports.append((fraction, message)),
    )


@torch.no_grad()
def _precise_bn_accuracy(net: nn.Module, arch: str, calib: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> float:
    """Reset every BN, average the statistics of the calibration batches exactly, then eval-mode accuracy."""
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    net.train()
    for xb in calib:
        net(xb, arch)
    net.eval()
    return float((net(x, arch).argmax(1) == y).float().mean())


def test_trainer_sampling_and_augmentation() -> None:
    from harness.spaces.nb201 import OPS, NB201Space

    space = NB201Space()
    gen = torch.Generator().manual_seed(0)
    fair = _load_trainer("nb201_fairnas")
    for _ in range(5):  # strict fairness: every op of every edge exactly once per step
        archs = fair.fair_archs(space, gen)
        assert len(archs) == 5 and all(sorted(ops) == sorted(OPS) for ops in zip(*(space.parse(a) for a in archs)))
    x = torch.arange(4 * 3 * 8 * 8, dtype=torch.float32).reshape(4, 3, 8, 8)
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    for module in (fair, _load_trainer("nb201_spos")):
        out = module.augment(x, gen)
        crops = [[padded[i, :, dy : dy + 8, dx : dx + 8] for dy in range(3) for dx in range(3)] for i in range(4)]
        assert all(any(torch.equal(out[i], c) or torch.equal(out[i], c.flip(-1)) for c in crops[i]) for i in range(4))


@pytest.mark.parametrize("trainer", ["nb201_spos", "nb201_fairnas"])
def test_trainer_then_inherited_weight_evaluation(tiny_nb201, trainer: str) -> None:
    from harness.evaluation import evaluate
    from reference_nets.nb201 import NB201SuperNet

    reports: list[tuple[float, str]] = []
    initial: dict[str, torch.Tensor] = {}
    net = _load_trainer(trainer).train(_context(tiny_nb201, reports, initial))
    assert isinstance(net, NB201SuperNet)
    state = net.state_dict()
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    assert any(not torch.equal(state[k], initial[k]) for k in state if k.endswith("op.1.weight"))  # trained
    assert reports and reports[-1][0] == 1.0
    # inherited-weight evaluation of a handful of archs, BN recalibrated per arch
    archs = tiny_nb201.archs()[:5]
    scores = evaluate(net, tiny_nb201, archs, evaluator="reference", progress=False)
    assert scores.shape == (5,) and np.all((scores >= 0) & (scores <= 1))
    data = tiny_nb201.load_data()
    calib = [data.calib.x[:16], data.calib.x[16:32]]
    mine = [_precise_bn_accuracy(net, a, calib, data.eval.x, data.eval.y) for a in archs]
    np.testing.assert_allclose(scores, mine, atol=1e-12)
    # the standalone net loaded from the recalibrated supernet gives the same outputs
    sub = net.subnet(archs[0]).eval()
    _precise_bn_accuracy(net, archs[0], calib, data.eval.x, data.eval.y)
    sub.load_from_supernet(net)
    torch.testing.assert_close(sub(data.eval.x), net(data.eval.x, archs[0]), rtol=0, atol=1e-6)


def test_trainer_submission_scored_through_the_sandbox(tiny_nb201, tmp_path: Path) -> None:
    """`nas-harness score` on a trainer: sandboxed training, reference-supernet weights, evaluation, metrics, store."""
    pytest.importorskip("harness.store")
    from harness.scoring import ScoreOptions, score_submission
    from harness.store import ResultStore

    sub = tmp_path / "sub"
    sub.mkdir()
    shutil.copy(REPO / "submissions" / "nb201_spos" / "trainer.py", sub / "trainer.py")
    (sub / "submission.toml").write_text(
        'name = "nb201-spos-tiny"\nauthors = ["test"]\nbenchmark = "tiny-nb201"\nkind = "trainer"\ndescription = "tiny"\n'
    )
    run = score_submission(sub, ResultStore(tmp_path / "store"), ScoreOptions(evaluator="reference", n_boot=10, progress=False))
    assert run.status == "ok", run.error
    assert set(run.metrics["splits"]) == {"dev", "test"}
