"""A released NB201 supernet's per-arch accuracies as a predictions submission for any NB201 benchmark.

The few-shot NAS authors (Zhao et al., "Few-shot Neural Architecture Search", ICML 2021) released the
inherited-weight CIFAR-10 accuracy of every NAS-Bench-201 arch under their one-shot and their few-shot supernets
(``aoiang/few-shot-NAS``, ``Few-Shot_NasBench201/supernet_info/{one-shot-supernet,few-shot-supernet}``: JSON,
keys are genotype strings such as ``[(('avg_pool_3x3', 0),), (('none', 0), ('none', 1)), ...]``, values in %).
Those files are theirs: cite them, never ship them. This script turns one into a submission folder that
``nas-harness score`` reads as it is, so their supernets sit on the same board as ours, on the same archs:

    python benchmarks/released_nb201_predictions.py /path/to/one-shot-supernet nb201-cifar10-mini -o runs/released-one-shot
    nas-harness score runs/released-one-shot --store runs

``--check`` also prints Kendall τ_b of the file over all 15,625 archs against the authors' own ground-truth file
(``supernet_info/nasbench201``), the figure their ``rank.py`` prints.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def arch_string(genotype: str) -> str:
    """``[(('op', 0),), (('op', 0), ('op', 1)), ...]`` (their key) → ``|op~0|+|op~0|op~1|+|...|``."""
    nodes = ast.literal_eval(genotype)
    return "+".join("|" + "|".join(f"{op}~{src}" for op, src in node) + "|" for node in nodes)


def read_released(path: Path) -> dict[str, float]:
    """NB201 arch string → released accuracy (%), every key checked by the space's parser."""
    from harness.spaces.nb201 import NB201Space

    space = NB201Space()
    raw = json.loads(Path(path).read_text())
    return {space.canonical(arch_string(k)): float(v) for k, v in raw.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("released", type=Path, help="one of the released supernet_info files")
    parser.add_argument("benchmark", help="an NB201 benchmark (e.g. nb201-cifar10-mini)")
    parser.add_argument("-o", "--out", type=Path, required=True, help="submission folder to write (new or empty)")
    parser.add_argument("--name", default=None, help="submission name (default: the file's name)")
    parser.add_argument("--check", type=Path, default=None, help="the authors' GT file (supernet_info/nasbench201)")
    ns = parser.parse_args()

    from harness.benchmarks import get_benchmark
    from harness.submission import write_predictions

    values = read_released(ns.released)
    if ns.check is not None:
        from scipy import stats

        truth = read_released(ns.check)
        common = sorted(set(values) & set(truth))
        tau = stats.kendalltau([values[a] for a in common], [truth[a] for a in common]).statistic
        print(f"{ns.released.name}: Kendall tau_b {tau:.4f} against {ns.check.name} over {len(common)} archs")
    bench = get_benchmark(ns.benchmark)
    archs = bench.archs()
    missing = [a for a in archs if a not in values]
    if missing:
        raise SystemExit(f"{ns.released} has no value for {len(missing)} archs of {bench.name} (e.g. {missing[0]})")
    if ns.out.exists() and any(ns.out.iterdir()):
        raise SystemExit(f"{ns.out} is not empty")
    ns.out.mkdir(parents=True, exist_ok=True)
    write_predictions(ns.out / "predictions.csv", archs, np.asarray([values[a] for a in archs]))
    name = ns.name or ns.released.name.replace("-", "_")
    description = (f"Released inherited-weight CIFAR-10 accuracies of the {ns.released.name} of Zhao et al., Few-shot "
                   "Neural Architecture Search (ICML 2021), aoiang/few-shot-NAS supernet_info; their protocol "
                   "(trained on their own split), not this benchmark's.")
    (ns.out / "submission.toml").write_text(
        f"name = {json.dumps(name)}\nauthors = [\"Zhao et al. (released)\"]\nbenchmark = {json.dumps(bench.name)}\n"
        f"kind = \"predictions\"\nfile = \"predictions.csv\"\nbaseline = true\ndescription = {json.dumps(description)}\n")
    print(f"wrote {ns.out} ({len(archs)} archs of {bench.name})")


if __name__ == "__main__":
    main()
