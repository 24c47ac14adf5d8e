"""Score every reference trainer of a benchmark as a seed group and print the README's table of them.

    python benchmarks/reference_groups.py [--bench mnist1d-w20] [--seeds 0-4] [--store results/reference-groups] \
        [--only spos,fairnas] [--full] [--json groups.json]

Why a script: the README's "reference trainers as seed groups" table is re-measured whenever the default benchmark
changes version (the v2 switch of docs/default_benchmark.md, step 4) or the machine kind changes; one command that
scores them all the same way (the harness's own ``score_group``, in its sandbox, into one store) and renders the
table keeps every figure of it reproducible. Trainers are the ``submissions/*`` folders of kind ``trainer`` whose
manifest names ``--bench``; predictions and checkpoints are single runs by nature and are not grouped.

By default only the GT archs are evaluated (``--gt-only``: all the metrics need); ``--full`` evaluates the whole
arch set too. A trainer whose group is already in the store for the same seeds, benchmark version and GT is not
trained again (so a stopped run resumes), unless ``--again``. Prints one Markdown row per trainer: the primary
metric per run, the group mean with its 95 % interval over seeds and archs, and the run-level SD, for the dev and
the test split.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

SUBMISSIONS = Path(__file__).resolve().parents[1] / "submissions"


def reference_trainers(bench: str, only: list[str] | None) -> list[Path]:
    """The shipped trainer submissions of ``bench`` (``--only`` picks and orders some of them)."""
    from harness.submission.manifest import parse_manifest

    found = {}
    for folder in sorted(p for p in SUBMISSIONS.iterdir() if (p / "submission.toml").is_file()):
        manifest = parse_manifest(folder / "submission.toml")
        if manifest.kind == "trainer" and manifest.benchmark == bench:
            found[folder.name] = folder
    if only is None:
        return list(found.values())
    unknown = [name for name in only if name not in found]
    if unknown:
        raise SystemExit(f"not a trainer submission of {bench}: {', '.join(unknown)} (have: {', '.join(found)})")
    return [found[name] for name in only]


def existing_group(store: Any, submission: str, seeds: list[int], bench: Any) -> str | None:
    """The newest group of ``submission`` with exactly ``seeds``, scored on the benchmark's current version and GT.

    The same GT, not only the same version: a ``--gt-only`` run has predictions for the GT archs of its day only.
    """
    gt_hash = bench.ground_truth().content_hash
    runs = store.list_runs(benchmark=bench.name, submission=submission, status="ok", version=bench.version)
    for run in reversed(runs):  # newest first
        if run.group_id is None or run.gt_hash != gt_hash:
            continue
        members = store.group_runs(run.group_id)
        if sorted(r.seed for r in members) == sorted(seeds) and all(r.gt_hash == gt_hash for r in members):
            return run.group_id
    return None


def fmt_row(name: str, seeds: list[int], dev: Any, test: Any) -> str:
    def cells(s: Any) -> list[str]:
        iv = s.interval
        sd = "–" if s.sd is None else f"{s.sd:.3f}"
        return [", ".join(f"{v:.3f}" for v in s.values), f"{iv.value:.3f} [{iv.ci_low:.3f}, {iv.ci_high:.3f}]", sd]

    span = f"{seeds[0]}–{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) else ",".join(map(str, seeds))
    return "| " + " | ".join([f"{name} ({span})", *cells(dev), *cells(test)]) + " |"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", default="mnist1d-w20")
    ap.add_argument("--seeds", default="0-4", help="a count (5), a list (0,1,2) or a range (0-4)")
    ap.add_argument("--store", type=Path, default=Path("results/reference-groups"))
    ap.add_argument("--only", default=None, help="comma-separated submission names (default: every trainer)")
    ap.add_argument("--full", action="store_true", help="evaluate the whole arch set, not only the GT archs")
    ap.add_argument("--again", action="store_true", help="train groups that the store already holds")
    ap.add_argument("--json", type=Path, default=None, help="also write the groups' summaries to this file")
    args = ap.parse_args()

    from harness.benchmarks import get_benchmark
    from harness.scoring import ScoreOptions, parse_seeds, score_group
    from harness.store import ResultStore
    from harness.verdicts import resolve, summarize

    bench = get_benchmark(args.bench)
    seeds = parse_seeds(args.seeds)
    trainers = reference_trainers(bench.name, args.only.split(",") if args.only else None)
    store = ResultStore(args.store)
    rows, dump = [], []
    for folder in trainers:
        group = None if args.again else existing_group(store, folder.name, seeds, bench)
        if group is None:
            print(f"{folder.name}: training seeds {args.seeds} on {bench.name} v{bench.version} …", flush=True)
            group, _ = score_group(folder, store, seeds, ScoreOptions(gt_only=not args.full, progress=False),
                                   on_run=lambda s, run: print(f"  seed {s}: run {run.run_id}", flush=True))
        else:
            print(f"{folder.name}: group {group} already in {args.store}", flush=True)
        side = resolve(store, group)
        dev, test = (summarize(store, side, bench, split, bench.primary_metric) for split in ("dev", "test"))
        rows.append(fmt_row(folder.name, sorted(side.seeds), dev, test))
        dump.append({"submission": folder.name, "group": group, "dev": dev.to_dict(), "test": test.to_dict()})
    metric = bench.primary_metric
    print(f"\n{bench.name} v{bench.version}, {metric}, seeds {args.seeds}, store {args.store}\n")
    print(f"| group (seeds) | dev {metric} per run | dev mean [95 % CI] | dev run SD | test {metric} per run | "
          "test mean [95 % CI] | test run SD |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    if args.json is not None:
        args.json.write_text(json.dumps({"benchmark": bench.name, "version": bench.version, "groups": dump}, indent=1))


if __name__ == "__main__":
    main()
