"""Typed benchmark specs: every key checked at load with one line naming the file and key, includes, fragments
that are never listed, and listing benchmarks / reading a GT without torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.benchmarks.spec import Budget, parse_spec, spec_files
from harness.errors import SpecError

GOOD = """
name = "tiny-spec"
primary_metric = "spearman"

[space]
name = "resnet20-width-1d"
in_channels = 1
num_classes = 10
input_size = 40

[data]
kind = "mnist1d"
num_samples = 600
seed = 3

[splits]
seed = 1
train = 300
calib = 64
eval = 100
gt_test = 200

[archset]
kind = "hdf5"
file = "a.h5"
size = 10
seed = 0

[gt]
kind = "hdf5"
file = "g.h5"

[budget]
seconds = 60
"""


def _write(tmp_path: Path, text: str, name: str = "tiny-spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_good_spec_is_typed(tmp_path: Path) -> None:
    bench = parse_spec(_write(tmp_path, GOOD))
    assert bench.primary_metric == "spearman" and bench.space_name == "resnet20-width-1d"
    assert bench.data.kind == "mnist1d" and bench.data["num_samples"] == 600 and "generator" not in bench.data
    assert bench.splits.train == 300 and bench.splits.eval_fraction is None
    assert bench.archset["size"] == 10 and bench.gt.get("user_data", False) is False
    assert bench.budget == Budget(seconds=60.0) and isinstance(bench.budget.seconds, float)
    assert bench.space.num_classes == 10


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ('[gt]\nkind = "hdf5"\n', '[gt]\nkind = "hdf5"\ncolum = "x"\n', "[gt]: unknown key 'colum' for kind 'hdf5'"),
        ('primary_metric = "spearman"', 'primary_metric = "spearman"\nprimary = 1', "unknown key 'primary'"),
        ('primary_metric = "spearman"', 'primary_metric = "kendal_tau"', "unknown primary_metric 'kendal_tau'"),
        ("seed = 1\n", "seed = 1\nvalidation = 3\n", "[splits]: unknown key 'validation'"),
        ("[budget]\nseconds = 60", '[budget]\nseconds = "a minute"', "[budget]: key 'seconds' must be a number"),
        ("num_samples = 600", "num_samples = 600.5", "[data]: key 'num_samples' must be an integer"),
        ('kind = "mnist1d"', 'kind = "mnist2d"', "[data]: unknown data kind 'mnist2d'"),
        ('[space]\nname = "resnet20-width-1d"', '[space]\nname = "resnet21"', "unknown search space 'resnet21'"),
        ("input_size = 40", "input_size = 40\nkernel = 5", "does not take this geometry"),
        ('[archset]\nkind = "hdf5"\nfile = "a.h5"', '[archset]\nkind = "hdf5"', "kind 'hdf5' needs key 'file'"),
        ('name = "tiny-spec"', "", "missing key 'name'"),
        ("[budget]", "[budget\n", "malformed TOML"),
    ],
)
def test_bad_specs_fail_at_load_with_one_line_naming_file_and_key(tmp_path: Path, old: str, new: str, words: str) -> None:
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(SpecError) as info:
        parse_spec(path)
    line = str(info.value)
    assert words in line and str(path) in line and "\n" not in line


def test_include_merges_tables_and_fragments_are_not_listed(tmp_path: Path) -> None:
    base = GOOD.replace('name = "tiny-spec"\n', "").replace("[budget]\nseconds = 60\n", "[budget]\nseconds = 60\nepochs = 3\n")
    _write(tmp_path, base, "tiny.base.toml")
    child = _write(tmp_path, 'include = "tiny.base.toml"\nname = "child"\n[budget]\nseconds = 30\n[gt]\nfile = "other.h5"\n', "child.toml")
    bench = parse_spec(child)
    assert bench.name == "child" and bench.budget == Budget(epochs=3, seconds=30.0)  # merged key by key
    assert bench.gt.kind == "hdf5" and bench.gt["file"] == "other.h5" and bench.data["num_samples"] == 600
    assert spec_files(tmp_path) == [child]  # the fragment is never listed as a benchmark
    _write(tmp_path, 'include = "missing.toml"\nname = "x"\n', "broken.toml")
    with pytest.raises(SpecError, match="included file 'missing.toml' does not exist"):
        parse_spec(tmp_path / "broken.toml")
    _write(tmp_path, 'include = "loop.toml"\nname = "x"\n', "loop.toml")
    with pytest.raises(SpecError, match="nest deeper"):
        parse_spec(tmp_path / "loop.toml")


def test_the_nb201_specs_share_one_base() -> None:
    from harness.benchmarks import get_benchmark
    from harness.benchmarks.spec import SPECS_DIR

    trio = [get_benchmark(n) for n in ("nb201-cifar10", "nb201-cifar100", "nb201-imagenet16")]
    assert {b.protocol for b in trio} == {trio[0].protocol} and {b.budget for b in trio} == {trio[0].budget}
    assert [b.space.num_classes for b in trio] == [10, 100, 120] and [b.data.kind for b in trio] == ["cifar10", "cifar100", "imagenet16-120"]
    for b in trio:
        assert 'include = "nb201.base.toml"' in b.spec_path.read_text()
        assert b.gt["file"] == "nb201/nb201_test_acc_200ep.csv" and b.archset["size"] == 15625
    assert (SPECS_DIR / "nb201.base.toml").is_file() and "nb201.base" not in " ".join(p.name for p in spec_files(SPECS_DIR))


def test_a_bad_spec_is_one_red_line_at_the_cli(tmp_path: Path) -> None:
    import os

    _write(tmp_path, GOOD.replace('[gt]\nkind = "hdf5"\n', '[gt]\nkind = "hdf5"\ncolum = "x"\n'))
    env = {**os.environ, "NAS_HARNESS_BENCHMARK_DIRS": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "harness.cli", "benchmarks"], env=env, capture_output=True, text=True, timeout=120)
    out = done.stdout + done.stderr
    assert done.returncode == 2 and "unknown key 'colum'" in out and "Traceback" not in out


def test_listing_benchmarks_and_reading_the_gt_import_no_torch() -> None:
    code = (
        "import json, sys\n"
        "from harness.benchmarks import get_benchmark, list_benchmarks\n"
        "from harness.gt.gt_file import read_gt\n"
        "names = [b.name for b in list_benchmarks()]\n"
        "bench = get_benchmark('mnist1d-w20')\n"
        "gt = bench.ground_truth()\n"
        "gt2 = read_gt(bench.gt_path())\n"
        "archs = bench.archs()\n"
        "print(json.dumps({'names': names, 'shape': list(gt.acc.shape), 'same': gt2.archs == gt.archs,\n"
        "                  'n_archs': len(archs), 'torch': 'torch' in sys.modules}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert "mnist1d-w20" in out["names"] and out["shape"][0] > 0 and out["same"] and out["n_archs"] == 50_000
    assert out["torch"] is False
