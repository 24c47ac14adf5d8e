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
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a hyper-parameter of submission.toml's \\[hparams]: --set lr=0.05 (repeatable; recorded with the run).")] = None,
    sweep: Annotated[Optional[str], typer.Option("--sweep", help="Score each value of one hyper-parameter as its own seed group and print one comparison table: --sweep lr=0.05,0.1,0.2 --seeds 3.")] = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", help="Quick debug run: train this many epochs instead of the budget's (recorded off budget, never ranked).")] = None,
    split: SplitOpt = "dev",
    as_json: JsonOpt = False,
) -> None:
    """Score a submission (trainer, checkpoint or predictions) on its benchmark and record the run (or seed group).

    The GT archs are evaluated first and the metric table is printed as soon as they are done; then the rest
    of the arch set (skipped with --gt-only).
    """
    from harness.errors import UsageError
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
    if epochs is not None and not 1 <= epochs <= 100_000:
        raise UsageError("--epochs must be a positive number of epochs")
    overrides = hparam_overrides(submission, set_ or [])
    results = open_store(store)
    if sweep is not None:
        if seed_list is None:
            raise UsageError("--sweep scores each value as a seed group: give --seeds too (e.g. --seeds 3)")
        run_sweep(submission, results, sweep, seed_list, overrides, ScoreOptions(
            evaluator=evaluator, device=device, budget_seconds=budget_seconds, gt_only=gt_only, epochs=epochs), split, as_json)
        return
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
                            progress=progress, gt_only=gt_only, on_metrics=None if seed_list else on_metrics,
                            hparams=overrides, epochs=epochs)
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
        out: dict[str, Any] = {"runs": [{**run_json(r), "training": results.run_training(r.run_id)} for r in runs],
                               "group_id": group_id}
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
    for r in runs:
        training = results.run_training(r.run_id)
        if training.get("off_budget"):
            console.print(f"[yellow]off budget[/] (run {u(r.run_id)}: {u(training.get('off_budget_why', ''))}): "
                          "recorded, never ranked beside budget runs")
    if run.kind == "trainer":
        from harness.submission import isolation_mode

        console.print(f"sandbox: {isolation_mode()} (see README, 'Running untrusted submissions')")
    for r in runs:
        timings = ", ".join(f"{k} {v:.1f}s" for k, v in r.timings.items())
        console.print(f"[green]run {u(r.run_id)} recorded[/] ({timings})")
    if group_id is not None:
        console.print(f"[green]group {u(group_id)} recorded[/] ({len(runs)} runs)")


def hparam_overrides(submission: Path, items: list[str]) -> dict[str, Any]:
    """``--set`` items checked against the submission's ``[hparams]`` (one-line errors)."""
    if not items:
        return {}
    from harness.submission import load_submission
    from harness.submission.manifest import parse_overrides

    return parse_overrides(items, load_submission(submission).manifest.hparams)


def run_sweep(submission: Path, results: Any, sweep: str, seeds: list[int], overrides: dict[str, Any], opts: Any,
              split: str, as_json: bool) -> None:
    """``--sweep key=v1,v2,...``: one seed group per value (with the same seeds, so groups pair by seed), then
    one table: each value's mean with its interval over seeds and archs, and its difference from the best value
    with that difference's interval (paired by seed)."""
    from dataclasses import replace

    from harness.benchmarks import get_benchmark
    from harness.scoring import score_group
    from harness.verdicts import compare_sides, resolve, summarize

    key, values = sweep_values(submission, sweep)
    rows = []
    with stage_bars(err_console) as progress:
        for value in values:
            err_console.print(f"{u(key)}={u(value)}: seeds {seeds}", highlight=False)
            group_id, runs = score_group(submission, results, seeds, replace(opts, progress=progress,
                                                                              hparams={**overrides, key: value}))
            rows.append((value, group_id))
    bench = get_benchmark(results.get_run(results.group_runs(rows[0][1])[0].run_id).benchmark)
    metric = bench.primary_metric
    sides = [resolve(results, gid) for _, gid in rows]
    summaries = [summarize(results, side, bench, split, metric) for side in sides]
    from harness.metrics import METRICS

    hib = METRICS[metric].higher_is_better if metric in METRICS else True
    best = max(range(len(rows)), key=lambda i: (summaries[i].interval.value if hib is not False else -summaries[i].interval.value))
    diffs = [None if i == best else compare_sides(results, sides[i], sides[best], bench, split, metric)
             for i in range(len(rows))]
    if as_json:
        print_json({"sweep": key, "split": split, "metric": metric, "best": rows[best][0],
                    "groups": [{"value": v, "group_id": g, **s.to_dict(), "vs_best": None if d is None else d.to_dict()}
                               for (v, g), s, d in zip(rows, summaries, diffs)]})
        return
    console.print(sweep_table(key, rows, summaries, diffs, best, f"sweep of {key} — {split} split, {metric} "
                                                                  f"(seeds {', '.join(map(str, seeds))})"))


def sweep_values(submission: Path, sweep: str) -> tuple[str, list[Any]]:
    """``key=v1,v2,...`` -> (key, values), each value checked as a ``--set`` override of the submission."""
    from harness.errors import UsageError

    key, sep, text = sweep.partition("=")
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not sep or not key.strip() or len(items) < 2:
        raise UsageError(f"--sweep {sweep!r}: write name=value1,value2[,...] (at least two values)")
    if len(items) > 20:
        raise UsageError(f"--sweep {sweep!r}: at most 20 values")
    values = [hparam_overrides(submission, [f"{key.strip()}={t}"])[key.strip()] for t in items]
    return key.strip(), values


def sweep_table(key: str, rows: list[tuple[Any, str]], summaries: list[Any], diffs: list[Any], best: int, title: str) -> Any:
    from rich.table import Table

    table = Table(title=title)
    for col in (key, "group", "runs", "mean", "95% CI (seeds + archs)", "run-level SD", "Δ vs best (95% CI)", "verdict"):
        table.add_column(col, overflow="fold")
    for i, ((value, gid), g, d) in enumerate(zip(rows, summaries, diffs)):
        iv = g.interval
        delta = "best" if d is None else f"{fmt(d.diff.value, 4)} [{fmt(d.diff.ci_low, 4)}, {fmt(d.diff.ci_high, 4)}]"
        table.add_row(u(value) + (" [bold]*[/]" if i == best else ""), u(gid), str(len(g.side.runs)), fmt(iv.value, 4),
                      f"[{fmt(iv.ci_low, 4)}, {fmt(iv.ci_high, 4)}]", fmt(g.sd, 4), delta,
                      "" if d is None else sweep_verdict(d.verdict))
    return table


def sweep_verdict(verdict: str) -> str:
    """A comparison's verdict (A = this value, B = the best value) in the sweep table's words."""
    return {"A better": "better than the best", "B better": "worse than the best"}.get(verdict, verdict)


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
