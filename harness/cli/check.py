"""``nas-harness check``: the CI gate (is a training trick not worse than a baseline by more than a drop?)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from harness.cli.options import JsonOpt, SplitOpt, StoreOpt, open_store, split_choice
from harness.cli.progress_view import stage_bars
from harness.cli.render import console, err_console, noise_warnings, print_json, print_warnings, u
from harness.errors import BadPathError


def check(
    submission: Annotated[Path, typer.Argument(help="The trick: a trainer submission folder.")],
    baseline: Annotated[str, typer.Option("--baseline", help="Run id, group id (g…) or imported reference group's name (spos) to hold the trick against.")],
    store: StoreOpt = None,
    metric: Annotated[Optional[str], typer.Option(help="Metric (default: the benchmark's primary).")] = None,
    max_drop: Annotated[float, typer.Option("--max-drop", help="Largest tolerated drop of the metric (its units).")] = 0.05,
    seeds: Annotated[Optional[str], typer.Option("--seeds", help="Seeds of the trick (default: the baseline group's, so the comparison pairs by seed).")] = None,
    split: SplitOpt = "dev",
    level: Annotated[float, typer.Option(help="One-sided confidence of the verdict.")] = 0.95,
    device: Annotated[str, typer.Option(help="cpu or cuda[:N].")] = "cpu",
    as_json: JsonOpt = False,
) -> None:
    """CI gate: exit 0 when the trick is not worse than the baseline by more than --max-drop (one-sided), else 1.

    The trick is trained as a seed group, GT archs only (all the metrics need), and recorded in the store.
    Exit 2 on usage errors. "Inconclusive" (neither shown) fails too: a gate passes only what it has shown.
    """
    from harness.benchmarks import get_benchmark
    from harness.errors import UsageError
    from harness.scoring import ScoreOptions, parse_seeds, score_group
    from harness.submission import load_submission
    from harness.verdicts import check_metric, compare_sides, matching_seeds, non_inferiority, require_current_version, resolve

    split_choice(split)
    if not submission.is_dir():
        raise BadPathError(f"submission folder {submission} does not exist")
    if not (max_drop >= 0 and math.isfinite(max_drop)):
        raise UsageError("--max-drop must be a finite number >= 0")
    if not 0.5 < level < 1.0:
        raise UsageError("--level must be in (0.5, 1)")
    results = open_store(store, must_exist=True)
    from harness.reference_results import resolve_side

    base = resolve_side(results, baseline)
    bench = get_benchmark(base.runs[0].benchmark)
    require_current_version(base, bench)  # before any training: the trick is scored on the current version
    name = metric or bench.primary_metric
    check_metric(name)
    sub = load_submission(submission)
    if sub.kind != "trainer":
        raise UsageError(f"check gates a training trick; {sub.manifest.name!r} is a {sub.kind}: use compare")
    if sub.manifest.benchmark != bench.name:
        raise UsageError(f"the trick is for {sub.manifest.benchmark}, the baseline for {bench.name}")
    if seeds is not None:
        seed_list = parse_seeds(seeds)
    elif base.is_group and None not in base.seeds:
        seed_list = [int(s) for s in base.seeds]  # type: ignore[arg-type]
    else:
        seed_list = list(range(5))
    err_console.print(f"training {u(sub.manifest.name)} with seeds {seed_list} (GT archs only)…", highlight=False)
    with stage_bars(err_console) as progress:
        gid, _ = score_group(submission, results, seed_list, ScoreOptions(device=device, gt_only=True, progress=progress))
    trick = resolve(results, gid)
    base = matching_seeds(trick, resolve(results, base.label))  # again: a group still being scored has grown
    cmp = compare_sides(results, trick, base, bench, split, name)
    gate = non_inferiority(cmp, max_drop, level=level)
    warnings = noise_warnings(trick, base)
    for r in trick.runs:  # a trick that trained fewer epochs than the budget is not the trick the gate is for
        training = results.run_training(r.run_id)
        if training.get("off_budget"):
            warnings.append(f"the trick's run {r.run_id} (seed {r.seed}) is off budget: {u(training.get('off_budget_why', ''))}")
    text = verdict_paragraph(gate, trick, base, split)
    if as_json:
        print_json({"passed": gate.passed, "outcome": gate.outcome, "trick": {"id": trick.label, "runs": [r.run_id for r in trick.runs]},
                    "baseline": {"id": base.label, "runs": [r.run_id for r in base.runs]}, "split": split,
                    "verdict": gate.to_dict(), "text": text, "warnings": warnings})
    else:
        console.print(text, highlight=False)
        print_warnings(warnings)
    raise typer.Exit(0 if gate.passed else 1)


def verdict_paragraph(gate: Any, trick: Any, base: Any, split: str) -> str:
    """The gate's verdict in words: outcome, values, the one-sided bound against the allowed drop, power."""
    from rich.markup import escape

    c = gate.comparison
    pct = f"{100 * gate.level:.0f}%"
    what = {"not worse": "PASS: not worse than the baseline by more than the allowed drop",
            "worse": "FAIL: worse than the baseline by more than the allowed drop",
            "inconclusive": "FAIL (inconclusive): a drop larger than allowed cannot be excluded"}[gate.outcome]
    seeds = ", ".join(str(s) for s in trick.seeds)
    how = "paired by seed and on the same GT archs" if c.paired_by_seed else "on the same GT archs"
    bound_word = "lower" if c.higher_is_better else "upper"
    lines = [
        f"{what}.",
        f"{escape(trick.submission)} (group {trick.label}, seeds {seeds}) vs {escape(base.submission)} ({base.label}, "
        f"{len(base.runs)} run{'s' if len(base.runs) != 1 else ''}): {c.metric} on the {split} split "
        f"{c.value_a:.4f} vs {c.value_b:.4f}, Δ {c.diff.value:+.4f}; the one-sided {pct} {bound_word} bound of the "
        f"change is {gate.bound:+.4f} against the allowed −{gate.max_drop:g} ({how}; the interval includes "
        f"training-seed {'and arch-sampling noise' if c.training_noise else 'noise only where both sides are groups'}).",
        f"This comparison detects |Δ| ≥ {c.detectable:.4f} with 80% power; p = {c.p_value:.3g}, P(trick better) = {c.prob_a_better:.2f}.",
    ]
    if gate.outcome == "inconclusive":
        lines.append("More seeds (--seeds) narrow the interval; or raise --max-drop if that drop is acceptable.")
    return "\n".join(lines)
