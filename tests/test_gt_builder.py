"""GT builder and arch set: layout, crash-safe resume (a real SIGKILL), refusal to mix recipes, the shipped files."""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from harness.benchmarks import get_benchmark
from harness.errors import GroundTruthError
from harness.gt.builder import build_gt, gt_selection, trim_gt
from harness.gt.gt_file import read_gt
from harness.gt.make_archset import make_archset
from harness.gt.recipe import DEFAULT_RECIPE, Recipe

BENCH = "mnist1d-w20"
#: 8 steps on 128 samples: seconds per run, enough to exercise every code path (accuracy is meaningless)
TINY = Recipe(epochs=1, train_samples=128, batch_size=16, eval_batch_size=4096)
ATTRS = ("recipe", "seeds", "data_hash", "harness_version", "created", "benchmark")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    return get_benchmark(BENCH)


@pytest.fixture(scope="module")
def tiny_gt(bench, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gt") / "tiny.h5"
    build_gt(bench, n_archs=3, seeds=[0, 1], workers=1, out=out, progress=False, recipe=TINY, path="stacked")
    return out


def _check_layout(path: Path, bench, n_archs: int, seeds: list[int]) -> None:
    gt = read_gt(path)
    archset = bench.archs()
    assert len(gt.archs) == n_archs and gt.acc.shape == (n_archs, len(seeds))
    meant = np.arange(len(seeds))[None, :] < gt.target_seeds[:, None]  # a ragged GT leaves columns past k empty
    cells = gt.acc[meant]
    assert np.isfinite(cells).all() and ((cells >= 0) & (cells <= 1)).all() and np.isnan(gt.acc[~meant]).all()
    assert np.array_equal(gt.archset_index, gt_selection(bench, n_archs, len(archset)))
    assert gt.archs == [archset[i] for i in gt.archset_index]
    assert np.array_equal(gt.params, bench.space.params_many(gt.archs))
    assert np.array_equal(gt.flops, bench.space.flops_many(gt.archs))
    dev, test = set(gt.splits["dev"].tolist()), set(gt.splits["test"].tolist())
    assert not dev & test and dev | test == set(range(n_archs))
    for key in ATTRS:
        assert key in gt.attrs, key
    assert gt.attrs["seeds"] == seeds and gt.attrs["benchmark"] == bench.name
    assert gt.attrs["data_hash"] == bench.load_data().data_hash


def test_tiny_build_writes_the_layout(bench, tiny_gt: Path) -> None:
    _check_layout(tiny_gt, bench, 3, [0, 1])
    assert Recipe.from_json(read_gt(tiny_gt).attrs["recipe"]) == TINY


def test_resume_of_a_finished_file_trains_nothing(bench, tiny_gt: Path) -> None:
    before = read_gt(tiny_gt).acc.copy()
    trained: list[tuple[int, int]] = []
    build_gt(bench, n_archs=3, seeds=[0, 1], workers=1, out=tiny_gt, progress=False, recipe=TINY,
             on_result=lambda i, j, a: trained.append((i, j)))
    assert trained == []
    assert np.array_equal(read_gt(tiny_gt).acc, before)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(recipe=replace(TINY, lr=0.05)), "another recipe \\(differs in lr\\)"),
        (dict(seeds=[5, 6]), "must start with them"),
    ],
)
def test_incompatible_resume_is_refused(bench, tiny_gt: Path, change: dict, message: str) -> None:
    kwargs = dict(n_archs=3, seeds=[0, 1], workers=1, out=tiny_gt, progress=False, recipe=TINY) | change
    before = read_gt(tiny_gt).content_hash
    with pytest.raises(GroundTruthError, match=message):
        build_gt(bench, **kwargs)
    assert read_gt(tiny_gt).content_hash == before  # the refused build did not touch the file


def test_other_data_is_refused(bench, tiny_gt: Path, tmp_path: Path) -> None:
    import h5py

    out = tmp_path / "other.h5"
    shutil.copy(tiny_gt, out)
    with h5py.File(out, "r+") as f:
        f.attrs["data_hash"] = "0" * 64
    with pytest.raises(GroundTruthError, match="other data"):
        build_gt(bench, n_archs=3, seeds=[0, 1], workers=1, out=out, progress=False, recipe=TINY)


@pytest.mark.parametrize("bad", [1.02, -0.01, np.inf], ids=["above-1", "negative", "inf"])
def test_accuracy_outside_0_1_is_a_gt_error(tiny_gt: Path, tmp_path: Path, bad: float) -> None:
    """A hand-edited or percent-scaled GT file fails on read with one line, not deep inside a metric."""
    import h5py

    out = tmp_path / "bad.h5"
    shutil.copy(tiny_gt, out)
    with h5py.File(out, "r+") as f:
        f["acc"][0, 0] = bad
    with pytest.raises(GroundTruthError, match=r"fractions in \[0, 1\] or NaN"):
        read_gt(out)
    with h5py.File(out, "r+") as f:
        f["acc"][0, 0] = np.nan  # not trained yet: still a valid (partial) file
    assert np.isnan(read_gt(out).acc[0, 0])


def test_bad_arguments_are_user_errors(bench, tmp_path: Path) -> None:
    with pytest.raises(GroundTruthError, match="seeds"):
        build_gt(bench, n_archs=2, seeds=[], out=tmp_path / "x.h5", progress=False, recipe=TINY)
    with pytest.raises(GroundTruthError, match="--archs"):
        build_gt(bench, n_archs=0, seeds=[0], out=tmp_path / "x.h5", progress=False, recipe=TINY)
    with pytest.raises(GroundTruthError, match="optimizer"):
        Recipe(optimizer="lbfgs")


_CHILD = """
import sys
from harness.gt.builder import build_gt
from harness.gt.recipe import Recipe
build_gt("{bench}", n_archs=5, seeds=[0, 1], workers=1, out=sys.argv[1], progress=False,
         recipe=Recipe.from_json(sys.argv[2]))
"""


def _finished_cells(path: Path) -> int:
    try:
        return int(np.isfinite(read_gt(path).acc).sum())
    except GroundTruthError:
        return 0


def test_resume_after_sigkill_loses_nothing_and_repeats_nothing(bench, tmp_path: Path) -> None:
    out = tmp_path / "killed.h5"
    child = subprocess.Popen([sys.executable, "-c", _CHILD.format(bench=BENCH), str(out), TINY.to_json()], cwd=REPO)
    try:
        deadline = time.monotonic() + 120
        while _finished_cells(out) < 2:
            assert child.poll() is None, "the build ended before it could be killed"
            assert time.monotonic() < deadline, "the build made no progress"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
    after_kill = read_gt(out)  # a killed build leaves a readable file
    done = {(i, j) for i, j in zip(*np.nonzero(np.isfinite(after_kill.acc)))}
    pending = {(i, j) for i, j in zip(*np.nonzero(np.isnan(after_kill.acc)))}
    assert len(done) >= 2 and pending, "kill came too late to test anything"
    assert not list(tmp_path.glob("*.tmp")) or True  # a stale temporary file is harmless; it is rewritten

    partial = tmp_path / "partial.h5"
    shutil.copy(out, partial)
    trained: list[tuple[int, int]] = []
    build_gt(bench, n_archs=5, seeds=[0, 1], workers=2, out=out, progress=False, recipe=TINY,
             on_result=lambda i, j, a: trained.append((int(i), int(j))))
    assert len(trained) == len(set(trained))  # nothing twice
    assert set(trained) == pending  # nothing lost, nothing finished redone
    final = read_gt(out)
    _check_layout(out, bench, 5, [0, 1])
    for i, j in done:
        assert final.acc[i, j] == after_kill.acc[i, j]

    # a partial file can be cut to its complete prefix, which a later build extends again
    n, k = trim_gt(partial)
    trimmed = read_gt(partial)
    assert k == 2 and trimmed.acc.shape == (n, 2) and np.isfinite(trimmed.acc).all()
    assert all(math.isfinite(after_kill.acc[i, j]) for i in range(n) for j in range(2))


def test_arch_set_regenerates_exactly(bench) -> None:
    import h5py

    stored = bench.archs()
    assert len(stored) == bench.archset["size"] == 50_000 == len(set(stored))
    assert make_archset(bench) == stored
    path = bench.resolve(bench.archset["file"], user_data=False)
    with h5py.File(path, "r") as f:
        assert int(f.attrs["seed"]) == bench.archset["seed"] and int(f.attrs["count"]) == 50_000
        assert "resnet20-width-1d" in str(f.attrs["space"])


def test_default_recipe_is_valid() -> None:
    assert Recipe.from_json(DEFAULT_RECIPE.to_json()) == DEFAULT_RECIPE


def test_shipped_gt_is_well_formed(bench) -> None:
    path = bench.gt_path()
    if path is None or not path.is_file():
        pytest.skip("the shipped GT file is not built yet")
    gt = read_gt(path)
    assert len(gt.archs) >= 500 and gt.n_seeds >= 3
    if bench.version >= 2:  # the default benchmark's v2 (issue 17): ≥ 2,600 archs × ≥ 3 seeds
        assert len(gt.archs) >= 2600 and (gt.target_seeds >= 3).all()
    assert gt.complete.all()  # every meant cell present; _check_layout below checks the values
    assert np.array_equal(gt.archset_index, gt_selection(bench, len(gt.archs), len(bench.archs())))
    _check_layout(path, bench, len(gt.archs), list(gt.attrs["seeds"]))
    Recipe.from_json(gt.attrs["recipe"])
    assert gt.mean_acc.std() > 0.005  # a GT with no spread across archs would rank nothing


def test_each_build_records_its_environment_and_cells(bench, tiny_gt: Path, tmp_path: Path) -> None:
    import torch

    builds = read_gt(tiny_gt).attrs["builds"]
    assert len(builds) == 1 and builds[0]["cells"] == 6  # 3 archs × 2 seeds; the no-op resume above added none
    assert builds[0]["torch"] == torch.__version__ and builds[0]["cpu_capability"]
    out = tmp_path / "extended.h5"
    shutil.copy(tiny_gt, out)
    build_gt(bench, n_archs=4, seeds=[0, 1, 2], workers=1, out=out, progress=False, recipe=TINY)
    builds = read_gt(out).attrs["builds"]
    assert [b["cells"] for b in builds] == [6, 12 - 6]  # the extension trained the 6 new cells of 4 × 3


def test_verify_retrains_cells_bit_for_bit_and_catches_an_edited_cell(bench, tiny_gt: Path, tmp_path: Path) -> None:
    import h5py

    from harness.gt.verify import verify_gt

    result = verify_gt(bench, path=tiny_gt, n_cells=3, workers=1)
    checks = result.checks
    assert result.same_kind and result.ok  # built on this machine: bit identity is the test
    assert len(checks) == 3 and all(c.matches for c in checks)
    assert all(c.path == "stacked-v1" and c.batch == 2 for c in checks)  # re-trained the way they were built
    edited = tmp_path / "edited.h5"
    shutil.copy(tiny_gt, edited)
    row, col = checks[0].row, [0, 1].index(checks[0].seed)
    with h5py.File(edited, "r+") as f:
        f["acc"][row, col] = f["acc"][row, col] + 1e-6
    again = {(c.row, c.seed): c.matches for c in verify_gt(bench, path=edited, n_cells=3, workers=1).checks}
    assert again == {(c.row, c.seed): (c.row, c.seed) != (checks[0].row, checks[0].seed) for c in checks}


def test_verify_cli_exit_codes(tiny_gt: Path, tmp_path: Path) -> None:
    import h5py

    cli = [sys.executable, "-m", "harness.cli"]
    ok = subprocess.run([*cli, "gt", "verify", BENCH, "--file", str(tiny_gt), "--cells", "2", "--workers", "1"],
                        capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "2 of 2 cells re-trained to the stored accuracy bit for bit" in ok.stdout
    edited = tmp_path / "edited.h5"
    shutil.copy(tiny_gt, edited)
    with h5py.File(edited, "r+") as f:
        f["acc"][...] = f["acc"][...] * 0.5
    bad = subprocess.run([*cli, "gt", "verify", BENCH, "--file", str(edited), "--cells", "1", "--workers", "1"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "1 of 1 cells differ" in bad.stderr and "Traceback" not in bad.stderr
    rows = subprocess.run([*cli, "gt", "verify", BENCH, "--file", str(tiny_gt), "--rows", "2:9"],
                          capture_output=True, text=True, timeout=300)
    assert rows.returncode != 0 and "outside the GT's rows 0:3" in rows.stderr and "Traceback" not in rows.stderr
    with h5py.File(edited, "r+") as f:
        f.attrs["benchmark"] = "nb201-cifar10"
    other = subprocess.run([*cli, "gt", "verify", BENCH, "--file", str(edited)], capture_output=True, text=True, timeout=300)
    assert other.returncode == 3 and "holds the GT of benchmark 'nb201-cifar10'" in other.stderr


def test_gt_show_of_a_file_lists_builds_and_the_measured_ceiling(tiny_gt: Path, tmp_path: Path) -> None:
    import h5py

    cli = [sys.executable, "-m", "harness.cli"]
    shown = subprocess.run([*cli, "gt", "show", BENCH, "--file", str(tiny_gt)], capture_output=True, text=True,
                           timeout=300, env={**os.environ, "COLUMNS": "250"})
    assert shown.returncode == 0, shown.stderr
    assert "3 of 3 × 2 seeds" in shown.stdout and "measured ceiling τ" in shown.stdout and "1+1 seeds" in shown.stdout
    assert "6 cells · torch" in shown.stdout and "before builds were recorded" not in shown.stdout
    other = tmp_path / "other.h5"
    shutil.copy(tiny_gt, other)
    with h5py.File(other, "r+") as f:
        f.attrs["benchmark"] = "nb201-cifar10"
    refused = subprocess.run([*cli, "gt", "show", BENCH, "--file", str(other)], capture_output=True, text=True, timeout=300)
    assert refused.returncode == 3 and "holds the GT of benchmark 'nb201-cifar10'" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_cells_record_the_training_path_and_a_sequential_build_mixes_in(bench, tiny_gt: Path, tmp_path: Path) -> None:
    from harness.gt.gt_file import PATH_NAMES
    from harness.gt.verify import verify_gt

    gt = read_gt(tiny_gt)
    assert (gt.cell_path == PATH_NAMES.index("stacked-v1")).all() and (gt.cell_batch == 2).all()
    assert gt.attrs["builds"][0]["path"] == "stacked-v1"
    out = tmp_path / "mixed.h5"
    shutil.copy(tiny_gt, out)
    build_gt(bench, n_archs=4, seeds=[0, 1], workers=1, out=out, progress=False, recipe=TINY, path="sequential")
    mixed = read_gt(out)
    assert mixed.cell_path[3].tolist() == [PATH_NAMES.index("sequential-v1")] * 2 and mixed.cell_batch[3].tolist() == [1, 1]
    assert np.array_equal(mixed.cell_path[:3], gt.cell_path) and mixed.attrs["builds"][-1]["path"] == "sequential-v1"
    checks = verify_gt(bench, path=out, n_cells=8, rows=(2, 4), workers=1).checks
    assert {c.path for c in checks} == {"stacked-v1", "sequential-v1"} and all(c.matches for c in checks)


def test_verify_judges_each_cell_by_the_cpu_kind_of_its_own_build(bench, tiny_gt: Path, tmp_path: Path) -> None:
    """A GT grown over sessions mixes CPU kinds: cells of this kind must match bit for bit, the others statistically."""
    import json

    import h5py

    from harness.gt.verify import verify_gt

    out = tmp_path / "two_kinds.h5"
    shutil.copy(tiny_gt, out)
    build_gt(bench, n_archs=4, seeds=[0, 1, 2], workers=1, out=out, progress=False, recipe=TINY, path="sequential")
    gt = read_gt(out)
    assert gt.cell_build[:3, :2].tolist() == [[1, 1]] * 3  # the first build trained the 3 × 2 cells of tiny_gt
    assert gt.cell_build[:3, 2].tolist() == [2] * 3 and gt.cell_build[3].tolist() == [2, 2, 2]
    with h5py.File(out, "r+") as f:  # pretend the first build ran on another machine
        builds = json.loads(f.attrs["builds"])
        builds[0]["cpu"] = "Some Other CPU"
        f.attrs["builds"] = json.dumps(builds)
    result = verify_gt(bench, path=out, n_cells=12, workers=1)
    other = {(c.row, c.seed) for c in result.other_kind}
    assert other == {(i, s) for i in range(3) for s in (0, 1)}
    assert all(c.built_on and c.built_on.startswith("Some Other CPU") for c in result.other_kind)
    assert len(result.bit_checked) == 6 and all(c.matches for c in result.bit_checked)
    assert not result.same_kind and result.agreement["n"] == 6 and result.ok
    col = [0, 1, 2].index(result.bit_checked[-1].seed)  # row 3, the last cell of this kind
    with h5py.File(out, "r+") as f:  # a cell of this machine's kind, edited: caught although the file is mixed
        f["acc"][3, col] = f["acc"][3, col] + 1e-6
    edited = verify_gt(bench, path=out, n_cells=12, workers=1)
    assert not edited.ok and [(c.row, c.matches) for c in edited.bit_checked if not c.matches] == [(3, False)]
    with h5py.File(out, "r+") as f:  # an older file without per-cell builds: mixed builds → every cell statistical
        del f["cell_build"]
    legacy = verify_gt(bench, path=out, n_cells=4, workers=1)
    assert len(legacy.other_kind) == 4 and all(c.built_on is None for c in legacy.checks)
    with h5py.File(out, "r+") as f:
        f.create_dataset("cell_build", data=np.full(f["acc"].shape, 7, dtype=np.int64))
    with pytest.raises(GroundTruthError, match="cell_build refers to builds beyond"):
        read_gt(out)


def test_ragged_extension_keeps_old_rows_their_seeds_and_split(bench, tiny_gt: Path, tmp_path: Path) -> None:
    out = tmp_path / "ragged.h5"
    shutil.copy(tiny_gt, out)
    old = read_gt(tiny_gt)
    trained: list[tuple[int, int]] = []
    build_gt(bench, n_archs=6, seeds=[0], workers=1, out=out, progress=False, recipe=TINY,
             on_result=lambda i, j, a: trained.append((int(i), int(j))))
    gt = read_gt(out)
    assert sorted(trained) == [(3, 0), (4, 0), (5, 0)]  # one seed on the new rows, nothing on the old ones
    assert gt.acc.shape == (6, 2) and gt.attrs["seeds"] == [0, 1] and gt.ragged
    assert gt.target_seeds.tolist() == [2, 2, 2, 1, 1, 1] and gt.complete.all()
    assert gt.full.tolist() == [True] * 3 + [False] * 3 and np.isnan(gt.acc[3:, 1]).all()
    assert np.array_equal(gt.acc[:3], old.acc) and gt.content_hash != old.content_hash
    np.testing.assert_allclose(gt.seed_mean[3:], gt.acc[3:, 0])
    for k in ("dev", "test"):  # old rows keep their half: no hidden archs move into the public one
        assert np.array_equal(gt.splits[k][gt.splits[k] < 3], old.splits[k])
    assert sorted(np.concatenate([gt.splits["dev"], gt.splits["test"]]).tolist()) == list(range(6))
    # resuming with more seeds raises every row's count; trimming a ragged file keeps its finished prefix
    assert trim_gt(out) == (6, 2) and read_gt(out).target_seeds.tolist() == [2, 2, 2, 1, 1, 1]
    cli = [sys.executable, "-m", "harness.cli"]
    shown = subprocess.run([*cli, "gt", "show", BENCH, "--file", str(out)], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "COLUMNS": "250"})
    assert shown.returncode == 0, shown.stderr
    assert "6 of 6 (ragged: 3 × 2  3 × 1 seeds)" in shown.stdout and "measured ceiling τ" in shown.stdout


def test_statistical_agreement_accepts_seed_noise_and_rejects_a_shift() -> None:
    from harness.gt.gt_file import GroundTruth
    from harness.gt.verify import CellCheck, statistical_agreement

    rng = np.random.default_rng(0)
    n, s = 40, 6
    true = rng.uniform(0.8, 0.95, n)
    acc = np.clip(true[:, None] + rng.normal(0, 0.02, (n, s)), 0, 1)
    gt = GroundTruth(archs=[f"a{i}" for i in range(n)], acc=acc, params=np.zeros(n), flops=np.zeros(n), splits={},
                     attrs={"seeds": list(range(s))})
    fresh = np.clip(true + rng.normal(0, 0.02, n), 0, 1)  # another CPU kind: a new draw of the same training
    same = [CellCheck(i, f"a{i}", 0, float(acc[i, 0]), float(fresh[i])) for i in range(n)]
    ok = statistical_agreement(same, gt)
    assert ok["agrees"] and ok["p_spread"] > 0.01 and ok["p_shift"] > 0.01
    shifted = [CellCheck(i, f"a{i}", 0, float(acc[i, 0]), float(fresh[i] - 0.03)) for i in range(n)]
    assert not statistical_agreement(shifted, gt)["agrees"]  # a systematic change of accuracy
    wide = [CellCheck(i, f"a{i}", 0, float(acc[i, 0]), float(np.clip(true[i] + rng.normal(0, 0.08), 0, 1))) for i in range(n)]
    assert not statistical_agreement(wide, gt)["agrees"]  # four times the seed noise: not the same training


def test_training_paths_are_declared_once_and_unknown_ones_are_one_error() -> None:
    from harness.gt.gt_file import PATH_NAMES
    from harness.gt.paths import DEFAULT_PATH, TRAINING_PATHS, get_path, path_recorded_as, plan_batches

    assert DEFAULT_PATH in TRAINING_PATHS and all(p.recorded in PATH_NAMES for p in TRAINING_PATHS.values())
    assert all(path_recorded_as(p.recorded) is p for p in TRAINING_PATHS.values())
    assert path_recorded_as("someone-elses-v9") is None
    with pytest.raises(GroundTruthError, match="unknown GT training path 'gpu'; use one of sequential, stacked"):
        get_path("gpu")
    cells = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (2, 2)]
    assert plan_batches(cells, "sequential", 12) == [[c] for c in cells]
    assert plan_batches(cells, "stacked", 2) == [[(0, 0), (0, 1)], [(0, 2)], [(1, 0), (1, 1)], [(2, 2)]]


def test_gt_show_gives_a_ragged_gt_the_ceiling_of_its_own_truth() -> None:
    """A ragged GT ranks scores against each arch's mean over its own (few) seeds, a noisier truth than the
    all-seed mean of its full rows: the ceiling a score can reach is the lower one, and ``gt show`` says so."""
    from harness.gt.gt_file import GroundTruth
    from harness.gt.summary import summarize_gt

    rng = np.random.default_rng(3)
    n_full, n_few, s = 60, 240, 8
    true = rng.uniform(0.85, 0.95, n_full + n_few)
    acc = true[:, None] + rng.normal(0, 0.02, (n_full + n_few, s))
    acc[n_full:, 2:] = np.nan  # 2 seeds on the other rows
    n = n_full + n_few
    gt = GroundTruth(archs=[f"a{i}" for i in range(n)], acc=acc, params=rng.uniform(1, 2, n), flops=np.zeros(n),
                     splits={"dev": np.arange(0, n, 2), "test": np.arange(1, n, 2)}, attrs={"seeds": list(range(s))},
                     seeds_per_arch=[s] * n_full + [2] * n_few)
    assert gt.layout_text == "300 (60 × 8 + 240 × 2)" and gt.seed_counts == [(60, 8), (240, 2)]
    summary = summarize_gt(gt, power_reps=20)
    assert summary.best_tau_truth is not None and summary.best_tau is not None
    harmonic = 1 / np.mean([1 / s] * n_full + [1 / 2] * n_few)
    assert summary.best_tau_truth["n_seeds"] == pytest.approx(harmonic)
    assert summary.best_tau_truth["tau"] < summary.best_tau["tau"] - 0.05  # 2.4 effective seeds against 8
    rectangular = GroundTruth(archs=gt.archs[:n_full], acc=acc[:n_full], params=gt.params[:n_full],
                              flops=np.zeros(n_full), splits={}, attrs={"seeds": list(range(s))})
    assert summarize_gt(rectangular, power_reps=20).best_tau_truth is None  # one truth, one ceiling
    assert rectangular.layout_text == "60 × 8"
