"""``nas-harness score`` (a run or a seed group) and ``rescore`` (stale runs against the current GT)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from harness.cli.options import JsonOpt, SplitOpt, StoreOpt, check_device, open_store, split_choice
from harness.cli.progress_view import stage_bars
from harness.cli.render import console, err_console, fmt, group_table, print_json, render_payload, run_json, u
from harness.errors import BadPathError, UnknownNameError


def score(
    submission: Annotated[Path, typer.Argument(help="Submission folder with submission.toml.")],
    store: StoreOpt = None,
    evaluator: Annotated[str, typer.Option(help="fast or reference (the plain per-subnet loop).")] = "fast",
    device: Annotated[str, typer.Option(help="cpu or cuda\\[:N].")] = "cpu",
    seed: Annotated[int, typer.Option(help="Seed given to trainers and the bootstrap (single run).")] = 0,
    seeds: Annotated[Optional[str], typer.Option("--seeds", help="Train a seed group: a count (5), a list (0,1,2) or a range (5-9).")] = None,
    gt_only: Annotated[bool, typer.Option("--gt-only", help="Evaluate the GT archs only (quick; recorded on the run).")] = False,
    budget_seconds: Annotated[Optional[float], typer.Option(help="Override the trainer wall-clock budget.")] = None,
    split: SplitOpt = "dev",
    as_json: JsonOpt = False,
) -> None:
    """Score a submission (trainer, checkpoint or predictions) on its benchmark and record the run (or seed group).

    The GT archs are evaluated first and the metric table is printed as soon as they are done; then the rest
    of the arch set (skipped with --gt-only).
    """
    from harness.scoring import ScoreOptions, parse_seeds, score_group, score_submission

    if evaluator not in ("fast", "reference"):
        raise UnknownNameError(f"unknown evaluator {evaluator!r}; use fast or reference")
    split_choice(split)
    check_device(device)
    if submission.is_file():
        raise BadPathError(f"{submission} is a file; pass the submission folder that holds it and its submission.toml "
                           f"(e.g. nas-harness score {submission.parent})")
    if not submission.is_dir():
        raise BadPathError(f"submission folder {submission} does not exist")
    seed_list = parse_seeds(seeds) if seeds is not None else None
    results = open_store(store)
    started = time.perf_counter()
    with stage_bars(err_console) as progress:
        def on_metrics(metrics: dict[str, Any]) -> None:
            if as_json:
                return
            label = u(submission.name) + (" (GT archs only)" if gt_only else "")
            render_payload(f"{label}: final metrics, {time.perf_counter() - started:.0f} s after start", metrics, split)
            if not gt_only:
                err_console.print("evaluating the rest of the arch set (the metrics above are final)…")

        opts = ScoreOptions(evaluator=evaluator, device=device, seed=seed, budget_seconds=budget_seconds,
                            progress=progress, gt_only=gt_only, on_metrics=None if seed_list else on_metrics)
        if seed_list is None:
            runs = [score_submission(submission, results, opts)]
            group_id = None
        else:
            def on_run(s: int, run: Any) -> None:
                if not as_json:
                    console.print(f"seed {s}: {run.metrics.get('primary_metric')} {split} "
                                  f"{fmt(run.metric(run.metrics.get('primary_metric') or '', split), 4)} (run {run.run_id})")

            group_id, runs = score_group(submission, results, seed_list, opts, on_run=on_run)
    summary = None
    if group_id is not None:
        from harness.benchmarks import get_benchmark
        from harness.verdicts import resolve, summarize

        bench = get_benchmark(runs[0].benchmark)
        summary = summarize(results, resolve(results, group_id), bench, split, bench.primary_metric)
    if as_json:
        out: dict[str, Any] = {"runs": [run_json(r) for r in runs], "group_id": group_id}
        if summary is not None:
            out["group"] = summary.to_dict()
        print_json(out)
        return
    run = runs[-1]
    if group_id is None:
        if run.gt_only:
            console.print("[yellow]GT archs only[/] (--gt-only): the rest of the arch set was not evaluated")
        if run.is_single_trainer_run:
            console.print("[yellow]single trainer run[/]: its CIs are over archs only; `--seeds 5` scores a seed group")
    else:
        console.print(group_table([summary], f"seed group {group_id} — {split} split, {summary.metric}"))
    if run.kind == "trainer":
        from harness.submission import isolation_mode

        console.print(f"sandbox: {isolation_mode()} (see README, 'Running untrusted submissions')")
    for r in runs:
        timings = ", ".join(f"{k} {v:.1f}s" for k, v in r.timings.items())
        console.print(f"[green]run {u(r.run_id)} recorded[/] ({timings})")
    if group_id is not None:
        console.print(f"[green]group {u(group_id)} recorded[/] ({len(runs)} runs)")


def rescore(
    benchmark: Annotated[Optional[str], typer.Argument(help="Only this benchmark.")] = None,
    store: StoreOpt = None,
    all_runs: Annotated[bool, typer.Option("--all", help="Rescore every run, not only stale ones.")] = False,
) -> None:
    """Recompute metrics of runs scored against an older GT, from their stored predictions."""
    from harness.scoring import rescore_run, runs_to_rescore

    results = open_store(store, must_exist=True)
    done = 0
    for run in runs_to_rescore(results, benchmark, all_runs=all_runs):
        rescore_run(results, run)
        done += 1
        console.print(f"rescored {u(run.run_id)} ({u(run.submission)} on {run.benchmark})")
    console.print(f"{done} run(s) rescored")
