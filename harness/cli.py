"""The ``nas-harness`` command line: parse, call the library, render with rich. Nothing else lives here."""

from __future__ import annotations

import csv
import json
import math
import os
import time
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from harness import __version__, config
from harness.errors import BadPathError, DeviceError, GroundTruthError, HarnessError, UnknownNameError
from harness.submission.text import rich_escape as _u  # every participant string into a rich renderable

app = typer.Typer(
    help="Evaluation harness and leaderboard for weight-sharing NAS supernets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
gt_app = typer.Typer(help="Standalone ground truth: build and inspect.", no_args_is_help=True)
app.add_typer(gt_app, name="gt")
from harness.challenge import cli as _challenge_cli  # noqa: E402  (challenge hosting: its own module)

app.add_typer(_challenge_cli.challenge_app, name="challenge")
app.command("submit")(_challenge_cli.submit)
app.command("worker")(_challenge_cli.worker)

console = Console()
if not console.is_terminal and "COLUMNS" not in os.environ:
    console = Console(width=160)  # piped or logged: wide tables stay readable instead of folding at 80 columns
err_console = Console(stderr=True)

StoreOpt = Annotated[Optional[Path], typer.Option("--store", help="Results store folder \\[env NAS_HARNESS_STORE; default ./results].")]
SplitOpt = Annotated[str, typer.Option("--split", help="GT split: dev (public) or test (hidden).")]


@app.callback()
def _root(
    data_dir: Annotated[
        Optional[Path], typer.Option("--data-dir", help="Folder with user-supplied data \\[env NAS_HARNESS_DATA].")
    ] = None,
) -> None:
    if data_dir is not None:
        os.environ[config.DATA_DIR_ENV] = str(data_dir)


def _store(path: Path | None, *, must_exist: bool = False):
    from harness.store import ResultStore

    root = config.store_dir(path)
    if must_exist and not (root / "runs.sqlite").exists():
        raise BadPathError(f"no results store at {root}: score a submission first or pass --store")
    store = ResultStore(root)
    store.reap()
    return store


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _split_choice(split: str) -> str:
    if split not in ("dev", "test"):
        raise UnknownNameError(f"unknown split {split!r}; use dev or test")
    return split


# ------------------------------------------------------------------------------------------ benchmarks
@app.command()
def benchmarks() -> None:
    """List the benchmarks with their space, data, arch-set size, GT size and split-half agreement."""
    from harness.benchmarks import list_benchmarks
    from harness.metrics import split_half_agreement

    table = Table(title="Benchmarks")
    for col in ("name", "space", "data", "arch set", "GT archs × seeds", "split-half τ", "primary"):
        table.add_column(col, no_wrap=col == "name", overflow="fold")
    for bench in list_benchmarks():
        size = bench.archset.get("size", "?")
        try:
            gt = bench.ground_truth()
            gt_text = f"{int(gt.complete.sum())} × {gt.n_seeds}"
            ceiling = split_half_agreement(gt.acc[gt.full], gt.params[gt.full], names=["kendall_tau"]).get("kendall_tau")
            ceiling_text = _fmt(ceiling, 3) if ceiling is not None else "unknown (1 seed)"
        except HarnessError as exc:
            gt_text, ceiling_text = f"[yellow]not available[/]: {_u(exc)}", "—"
        table.add_row(bench.name, bench.space_name, bench.data.get("kind", "?"), str(size), gt_text, ceiling_text, bench.primary_metric)
    console.print(table)


@app.command()
def archs(
    benchmark: str,
    fmt: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """Export a benchmark's public arch set (CSV or JSON), with #params and FLOPs."""
    from harness.benchmarks import get_benchmark

    if fmt not in ("csv", "json"):
        raise UnknownNameError(f"unknown format {fmt!r}; use csv or json")
    bench = get_benchmark(benchmark)
    arch_list = bench.archs()
    space = bench.space
    if out is not None and not out.parent.exists():
        raise BadPathError(f"folder {out.parent} does not exist")
    stream = open(out, "w", newline="") if out else sys.stdout  # noqa: SIM115
    try:
        if fmt == "csv":
            writer = csv.writer(stream)
            writer.writerow(["index", "arch", "params", "flops"])
            for i, a in enumerate(arch_list):
                writer.writerow([i, a, space.params(a), space.flops(a)])
        else:
            json.dump([{"index": i, "arch": a, "params": space.params(a), "flops": space.flops(a)} for i, a in enumerate(arch_list)], stream)
            stream.write("\n")
    finally:
        if out:
            stream.close()
    if out:
        err_console.print(f"wrote {len(arch_list)} archs to {out}")


# ------------------------------------------------------------------------------------------------ GT
@gt_app.command("build")
def gt_build(
    benchmark: str,
    n_archs: Annotated[int, typer.Option("--archs", help="Number of GT archs.")] = 500,
    seeds: Annotated[int, typer.Option("--seeds", help="Seeds per arch.")] = 3,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.")] = 2,
    out: Annotated[Optional[Path], typer.Option("--out", help="GT file (default: the benchmark's).")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Refuse to resume: fail if the file exists.")] = False,
    path: Annotated[str, typer.Option("--path", help="Training path: stacked (the seeds of an arch together) or sequential.")] = "stacked",
) -> None:
    """Train the standalone ground truth (resumable: rerun the same command after an interruption).

    --seeds is the seed count of the rows this build adds; rows already in the file keep a larger count (ragged GT).
    """
    from harness.benchmarks import get_benchmark
    from harness.gt.builder import build_gt

    if n_archs < 1 or seeds < 1 or workers < 1:
        raise HarnessError("--archs, --seeds and --workers must be positive")
    bench = get_benchmark(benchmark)
    done = build_gt(bench, n_archs=n_archs, seeds=list(range(seeds)), workers=workers, out=out, resume=not fresh,
                    path=path)
    console.print(f"ground truth complete: {done}")


@gt_app.command("trim")
def gt_trim(
    benchmark: str,
    out: Annotated[Optional[Path], typer.Option("--out", help="GT file (default: the benchmark's).")] = None,
) -> None:
    """Cut a partly built GT file to its finished prefix of archs (a later `gt build` extends it again)."""
    from harness.benchmarks import get_benchmark
    from harness.gt.builder import trim_gt

    bench = get_benchmark(benchmark)
    path = Path(out) if out is not None else bench.gt_path()
    if path is None or not path.is_file():
        raise BadPathError(f"no GT file to trim for {benchmark}: {path}")
    n, k = trim_gt(path)
    console.print(f"{path}: kept the {n} archs finished for all {k} seeds")


@gt_app.command("verify")
def gt_verify(
    benchmark: str,
    cells: Annotated[int, typer.Option("--cells", help="How many finished cells to re-train.")] = 6,
    rows: Annotated[Optional[str], typer.Option("--rows", help="Only GT rows START:STOP (e.g. 0:140).")] = None,
    sample_seed: Annotated[int, typer.Option("--sample-seed", help="Seed of the cell sample.")] = 0,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.")] = 2,
    file: Annotated[Optional[Path], typer.Option("--file", help="GT file (default: the benchmark's).")] = None,
) -> None:
    """Re-train a sample of GT cells the way they were built: bit for bit on the build's CPU kind, statistically on another."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from harness.benchmarks import get_benchmark
    from harness.gt.verify import verify_gt

    if workers < 1:
        raise HarnessError("--workers must be positive")
    row_range = _row_range(rows) if rows is not None else None
    bench = get_benchmark(benchmark)
    with Progress(TextColumn("re-training GT cells"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as bar:
        task = bar.add_task("verify", total=None)
        result = verify_gt(bench, path=file, n_cells=cells, rows=row_range, sample_seed=sample_seed, workers=workers,
                           on_cell=lambda done, total: bar.update(task, completed=done, total=total))
    checks = result.checks
    table = Table(title=f"GT cells of {bench.name} re-trained here")
    for col in ("row", "arch", "seed", "path", "stored", "re-trained", "same"):
        table.add_column(col)
    for c in checks:
        table.add_row(str(c.row), c.arch, str(c.seed), f"{c.path}" + (f" ×{c.batch}" if c.batch > 1 else ""),
                      f"{c.stored:.6f}", f"{c.retrained:.6f}", "[green]yes[/]" if c.matches else "[red]no[/]")
    console.print(table)
    built_on = ", ".join(result.build_cpus) or "not recorded"
    console.print(f"built on: {built_on}\nthis machine: {result.here_cpu}", soft_wrap=True)
    differ = sum(not c.matches for c in checks)
    console.print(f"{len(checks) - differ} of {len(checks)} cells re-trained to the stored accuracy bit for bit")
    if result.same_kind:
        if differ:
            err_console.print(f"[red]Error:[/] {differ} of {len(checks)} cells differ from the stored accuracies on the "
                              "CPU kind that built them: another code, recipe or file trained them (builds: "
                              "`nas-harness gt show`)", soft_wrap=True)
            raise typer.Exit(1)
        return
    ag = result.agreement
    ref = ag.get("seed_pair_mean_abs_diff")
    console.print(f"other CPU kind: bit identity is not expected (rounding differs from the first step), so the test is "
                  f"statistical: mean |re-trained − stored| {ag['mean_abs_diff']:.4f} against {_fmt(ref, 4)} between two "
                  f"stored seeds of the same archs; p(spread) {_fmt(ag.get('p_spread'), 3)}, p(shift) "
                  f"{_fmt(ag.get('p_shift'), 3)} (fail below {ag['alpha']})", soft_wrap=True)
    if not ag.get("agrees"):
        err_console.print("[red]Error:[/] the re-trained cells differ from the stored ones more than seed noise "
                          f"explains{': ' + ag['why'] if ag.get('why') else ''} (another recipe, code or data?)",
                          soft_wrap=True)
        raise typer.Exit(1)
    console.print("statistically consistent with the stored cells (same training, other rounding)")


def _row_range(text: str) -> tuple[int, int]:
    try:
        start, stop = (int(part) for part in text.split(":"))
    except ValueError:
        raise HarnessError(f"--rows must look like START:STOP (e.g. 0:140), got {text!r}") from None
    return start, stop


@gt_app.command("show")
def gt_show(
    benchmark: str,
    file: Annotated[Optional[Path], typer.Option("--file", help="A GT file of this benchmark, e.g. a build in progress.")] = None,
) -> None:
    """Summary of a benchmark's GT: size, accuracy spread, split-half agreement, best achievable τ, provenance.

    Statistics use the archs finished for every seed, so a build in progress can be watched with ``--file``.
    """
    import numpy as np

    from harness.benchmarks import get_benchmark
    from harness.gt.gt_file import read_gt
    from harness.metrics import (
        best_achievable_tau,
        complexity_bias_reference,
        params_baseline,
        projected_kendall_ceiling,
        split_half_agreement,
    )

    bench = get_benchmark(benchmark)
    gt = read_gt(file) if file is not None else bench.ground_truth()
    if file is not None and gt.attrs.get("benchmark") != bench.name:
        raise GroundTruthError(f"{file} holds the GT of benchmark {gt.attrs.get('benchmark')!r}, not {bench.name!r}")
    ok = gt.complete
    full = gt.full  # the rectangular block (every seed column trained): seed reliability is measured on it
    mean = gt.seed_mean[ok]
    table = Table(title=f"Ground truth of {bench.name}", show_header=False)
    if gt.ragged:
        want = gt.target_seeds
        parts = "  ".join(f"{int((want == k).sum())} × {k}" for k in sorted(set(want.tolist()), reverse=True))
        table.add_row("archs complete", f"{int(ok.sum())} of {len(gt.archs)} (ragged: {parts} seeds)")
    else:
        table.add_row("archs complete", f"{int(ok.sum())} of {len(gt.archs)} × {gt.n_seeds} seeds")
    table.add_row("splits", ", ".join(f"{k}: {len(v)}" for k, v in gt.splits.items()))
    if mean.size:
        table.add_row("seed-mean accuracy", f"min {mean.min():.4f}  median {np.median(mean):.4f}  max {mean.max():.4f}  std {mean.std():.4f}")
        if gt.n_seeds > 1 and full.sum() >= 3:
            table.add_row("seed noise (mean std)", f"{np.nanstd(gt.acc[full], axis=1, ddof=1).mean():.4f}"
                          + (f" (on the {int(full.sum())} archs with all {gt.n_seeds} seeds)" if gt.ragged else ""))
    if mean.size and full.sum() >= 3:
        nc = split_half_agreement(gt.acc[full], gt.params[full], names=["kendall_tau", "spearman", "pearson"])
        table.add_row("split-half agreement", "  ".join(f"{k} {_fmt(v, 3)}" for k, v in nc.items()) + f" ({gt.n_seeds // 2} vs {gt.n_seeds - gt.n_seeds // 2} seeds; not an upper bound)" if any(v is not None for v in nc.values()) else "unknown (one seed column)")
        best = best_achievable_tau(gt.acc[full])
        if best["tau"] is not None:
            table.add_row("best achievable τ", f"{best['tau']:.3f} (perfect predictor of expected accuracy vs the {gt.n_seeds}-seed mean; {best['model']})")
        table.add_row("CB reference (size-blind)", f"{complexity_bias_reference(mean, gt.params[ok]):.3f} (C/(C+D) of GT vs #params: the CB of a predictor that ignores size)")
        half = gt.n_seeds // 2
        proj = projected_kendall_ceiling(gt.acc[full], seeds_per_half=range(1, max(8, half + 4) + 1))
        if proj["single_seed_tau"] is not None:
            table.add_row("single-seed Kendall τ", f"{proj['single_seed_tau']:.3f} (mean over seed pairs; latent r {proj['latent_r']:.3f})")
            table.add_row("measured ceiling τ", "  ".join(f"{k}+{k} seeds {v:.3f}" for k, v in proj["measured"].items()))
            beyond = {k: v for k, v in proj["tau_by_seeds_per_half"].items() if k > half}
            fit = proj["rho_fit"]
            how = (f"Spearman–Brown calibrated on the measured curve, ρ_k = {fit['rho_inf']:.3f} + {fit['c']:.3f}/k"
                   if fit is not None else "Spearman–Brown from single seeds: optimistic when seed noise is heavy-tailed")
            table.add_row("projected ceiling τ", "  ".join(f"{k}+{k} seeds {v:.3f}" for k, v in beyond.items()) + f"  ({how})")
        dev = gt.split_indices("dev") if "dev" in gt.splits else np.flatnonzero(ok)
        if gt.n_seeds > 1 and dev.size >= 3:
            from harness.metrics.power import detectable_delta_tau

            pw = detectable_delta_tau(gt.acc[full], int(dev.size), gt.target_seeds[dev], reps=200, at=(0.03,))
            table.add_row("detectable Δτ (dev)", f"{pw.detectable:.3f} at power 0.8, α 0.05 ({dev.size} archs, "
                          f"{pw.seeds:.1f} seeds each; predictors correlated ρ {pw.rho}, τ {pw.tau_a}); power for "
                          f"Δτ 0.03: {pw.power_at[0.03]:.2f}  (benchmarks/gt_power.py)")
    if mean.size:
        base = params_baseline(gt.params[ok], mean, names=["kendall_tau", "spearman"])
        table.add_row("#params baseline", "  ".join(f"{k} {_fmt(v, 3)}" for k, v in base.items()))
    for key in ("recipe", "seeds", "data_hash", "harness_version", "created", "build_seconds", "source"):
        if key in gt.attrs:
            value = gt.attrs[key]
            table.add_row(key, json.dumps(value) if isinstance(value, (dict, list)) else str(value))
    builds = gt.attrs.get("builds", []) if isinstance(gt.attrs.get("builds"), list) else []
    for b in builds:
        table.add_row("build", f"{b.get('started', '?')}: {b.get('cells', '?')} cells · torch {b.get('torch', '?')} · "
                               f"{b.get('cpu', '?')} ({b.get('cpu_capability', '?')}) · {b.get('workers', '?')} workers · "
                               f"{b.get('path', 'sequential-v1')} path")
    unrecorded = int(np.isfinite(gt.acc).sum()) - sum(int(b.get("cells", 0)) for b in builds)
    if gt.attrs.get("recipe") is not None and unrecorded > 0:
        table.add_row("build", f"{unrecorded} cells trained before builds were recorded (environment unknown)")
    table.add_row("content hash", gt.content_hash[:16])
    console.print(table)


# --------------------------------------------------------------------------------------------- score
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of tables (for scripts).")]


def _print_json(obj: Any) -> None:
    from harness.store.result_store import _dumps

    sys.stdout.write(_dumps(obj) + "\n")
    sys.stdout.flush()


def _run_json(run: Any, split: str | None = None) -> dict[str, Any]:
    """A run as scripts get it: identity, status, group, timings and the metrics of the split(s) asked."""
    splits = run.metrics.get("splits", {}) or {}
    return {
        "run_id": run.run_id, "benchmark": run.benchmark, "submission": run.submission, "kind": run.kind,
        "status": run.status, "error": run.error, "created": run.created, "finished": run.finished,
        "group_id": run.group_id, "seed": run.seed, "gt_only": run.gt_only,
        "single_trainer_run": run.is_single_trainer_run, "gt_hash": run.gt_hash, "timings": run.timings,
        "primary_metric": run.metrics.get("primary_metric"),
        "splits": {k: v for k, v in splits.items() if split is None or k == split},
    }


def _render_payload(title: str, metrics: dict[str, Any], split: str) -> None:
    """``title`` is rich markup: callers escape every participant string in it."""
    from harness.metrics import METRICS, best_tau_of, neutral_of, split_half_of

    payload = (metrics.get("splits") or {}).get(split)
    if payload is None:
        console.print(f"[yellow]no {split} metrics for {title}[/]")
        return
    primary = metrics.get("primary_metric", "kendall_tau")
    table = Table(title=f"{title} — {split} split (n={payload['n']})")
    for col in ("metric", "value", "95% CI (archs)", "#params baseline", "split-half / neutral"):
        table.add_column(col, justify="right" if col != "metric" else "left")
    split_half = split_half_of(payload)
    for name, m in payload["metrics"].items():
        spec = METRICS.get(name)
        label = spec.label if spec is not None else name
        if name == primary:
            label = f"[bold]{label} (primary)[/]"
        base = payload.get("baseline", {}).get(name, {})
        if spec is not None and spec.higher_is_better is None:  # diagnostic: its neutral point, not an agreement
            nu = neutral_of(payload, name)
            reference = f"near {_fmt(nu, 3)}" if nu is not None else "n/a"
        else:
            reference = _fmt(split_half.get(name))
        table.add_row(
            label,
            _fmt(m.get("value")),
            f"[{_fmt(m.get('ci_low'), 3)}, {_fmt(m.get('ci_high'), 3)}]",
            _fmt(base.get("value") if isinstance(base, dict) else base),
            reference,
        )
    console.print(table)
    best = best_tau_of(payload)
    if best is not None:
        console.print(f"best achievable Kendall τ on this split (perfect predictor of expected accuracy vs the GT seed mean): {best:.3f}")


def _render_report(run: Any, split: str) -> None:
    what = f"{_u(run.submission)} on {_u(run.benchmark)}, run {_u(run.run_id)}"
    _render_payload(what, run.metrics, split)
    if run.gt_only:
        console.print("[yellow]GT archs only[/] (--gt-only): the rest of the arch set was not evaluated")
    if run.is_single_trainer_run:
        console.print("[yellow]single trainer run[/]: the CI is over archs only, training-seed variance is not in it "
                      "(score with --seeds 5 for a seed group)")


def _group_table(summaries: list[Any], title: str) -> Table:
    table = Table(title=title)
    for col in ("submission", "group / run", "runs", "mean", "95% CI (seeds + archs)", "run-level SD", "per-run values"):
        table.add_column(col, overflow="fold")
    for g in summaries:
        iv = g.interval
        mark = "" if g.side.training_noise else " [yellow](single run: archs-only CI)[/]"
        table.add_row(_u(g.side.submission), _u(g.side.label) + mark, str(len(g.side.runs)), _fmt(iv.value, 3),
                      f"[{_fmt(iv.ci_low, 3)}, {_fmt(iv.ci_high, 3)}]", _fmt(g.sd, 3),
                      " ".join(f"{v:.3f}" for v in g.values))
    return table


@app.command()
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
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from harness.scoring import ScoreOptions, parse_seeds, score_group, score_submission

    if evaluator not in ("fast", "reference"):
        raise UnknownNameError(f"unknown evaluator {evaluator!r}; use fast or reference")
    _split_choice(split)
    _check_device(device)
    if submission.is_file():
        raise BadPathError(f"{submission} is a file; pass the submission folder that holds it and its submission.toml "
                           f"(e.g. nas-harness score {submission.parent})")
    if not submission.is_dir():
        raise BadPathError(f"submission folder {submission} does not exist")
    seed_list = parse_seeds(seeds) if seeds is not None else None
    results = _store(store)
    started = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(), console=err_console, transient=True) as bar:
        tasks: dict[str, int] = {}

        last_line: dict[str, float] = {}

        def on_progress(stage: str, fraction: float, message: str) -> None:
            if not err_console.is_terminal:  # a log (nohup, CI): rich cannot redraw, so a line every 30 s
                now = time.monotonic()
                if now - last_line.get(stage, 0.0) > 30 or fraction >= 1.0:
                    last_line[stage] = now
                    err_console.print(f"{stage}: {100 * min(max(fraction, 0.0), 1.0):.0f}% {message}"[:120], highlight=False)
                return
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=1.0)
            elif stage != "seeds" and bar.tasks[tasks[stage]].completed > fraction + 1e-9:
                bar.reset(tasks[stage], total=1.0)  # the next seed of a group starts this stage again
            bar.update(tasks[stage], completed=min(max(fraction, 0.0), 1.0), description=f"{stage}: {message}"[:70])

        def on_metrics(metrics: dict[str, Any]) -> None:
            if as_json:
                return
            label = _u(submission.name) + (" (GT archs only)" if gt_only else "")
            _render_payload(f"{label}: final metrics, {time.perf_counter() - started:.0f} s after start", metrics, split)
            if not gt_only:
                err_console.print("evaluating the rest of the arch set (the metrics above are final)…")

        opts = ScoreOptions(evaluator=evaluator, device=device, seed=seed, budget_seconds=budget_seconds,
                            on_progress=on_progress, gt_only=gt_only, on_metrics=None if seed_list else on_metrics)
        if seed_list is None:
            runs = [score_submission(submission, results, opts)]
            group_id = None
        else:
            def on_run(s: int, run: Any) -> None:
                if not as_json:
                    console.print(f"seed {s}: {run.metrics.get('primary_metric')} {split} "
                                  f"{_fmt(run.metric(run.metrics.get('primary_metric') or '', split), 4)} (run {run.run_id})")

            group_id, runs = score_group(submission, results, seed_list, opts, on_run=on_run)
    summary = None
    if group_id is not None:
        from harness.benchmarks import get_benchmark
        from harness.verdicts import resolve, summarize

        bench = get_benchmark(runs[0].benchmark)
        summary = summarize(results, resolve(results, group_id), bench, split, bench.primary_metric)
    if as_json:
        out: dict[str, Any] = {"runs": [_run_json(r) for r in runs], "group_id": group_id}
        if summary is not None:
            out["group"] = summary.to_dict()
        _print_json(out)
        return
    run = runs[-1]
    if group_id is None:
        if run.gt_only:
            console.print("[yellow]GT archs only[/] (--gt-only): the rest of the arch set was not evaluated")
        if run.is_single_trainer_run:
            console.print("[yellow]single trainer run[/]: its CIs are over archs only; `--seeds 5` scores a seed group")
    else:
        console.print(_group_table([summary], f"seed group {group_id} — {split} split, {summary.metric}"))
    if run.kind == "trainer":
        from harness.submission import isolation_mode

        console.print(f"sandbox: {isolation_mode()} (see README, 'Running untrusted submissions')")
    for r in runs:
        timings = ", ".join(f"{k} {v:.1f}s" for k, v in r.timings.items())
        console.print(f"[green]run {_u(r.run_id)} recorded[/] ({timings})")
    if group_id is not None:
        console.print(f"[green]group {_u(group_id)} recorded[/] ({len(runs)} runs)")


def _check_device(device: str) -> None:
    """``cpu`` or an available ``cuda[:N]``, checked before a run is recorded or a sandbox starts."""
    import re

    if device == "cpu":
        return
    match = re.fullmatch(r"cuda(?::(\d+))?", device)
    if match is None:
        raise DeviceError(f"unknown device {device!r}; use cpu or cuda[:N]")
    import torch

    if not torch.cuda.is_available():
        raise DeviceError(f"device {device!r} asked for, but this machine has no CUDA device (torch {torch.__version__}); use --device cpu")
    index = int(match.group(1) or 0)
    if index >= torch.cuda.device_count():
        raise DeviceError(f"device {device!r} asked for, but this machine has {torch.cuda.device_count()} CUDA device(s)")


# --------------------------------------------------------------------------------------- leaderboard
def _leaderboard_entries(results: Any, bench: Any, split: str, all_runs: bool) -> list[dict[str, Any]]:
    """Rows of one benchmark: a row per seed group (mean, interval over seeds and archs) and per single run.

    Single runs are those outside any group (best per submission unless ``all_runs``); a trainer's single run
    is marked as such, since its interval lacks training-seed variance.
    """
    from harness.verdicts import resolve, summarize

    primary = bench.primary_metric
    rows: list[dict[str, Any]] = []
    for gid in sorted(results.groups(bench.name)):
        side = resolve(results, gid)
        g = summarize(results, side, bench, split, primary, n_boot=400)
        last = side.runs[-1]
        rows.append({"type": "group", "id": gid, "submission": side.submission, "kind": side.kind,
                     "n_runs": len(side.runs), "seeds": side.seeds, "gt_only": any(r.gt_only for r in side.runs),
                     "value": g.interval.value, "ci_low": g.interval.ci_low, "ci_high": g.interval.ci_high, "sd": g.sd,
                     "values": list(g.values), "metrics": {k: _mean_metric(side.runs, k, split) for k in _LB_COLS},
                     "is_baseline": last.is_baseline, "gt_hash": last.gt_hash, "single_trainer_run": False})
    singles = [r for r in results.leaderboard(bench.name, split=split, primary=primary, best_per_submission=False)
               if r.group_id is None]
    seen: set[str] = set()
    for r in singles:
        if not all_runs and r.submission in seen:
            continue
        seen.add(r.submission)
        est = (r.report(split).get("metrics") or {}).get(primary) or {}
        rows.append({"type": "run", "id": r.run_id, "submission": r.submission, "kind": r.kind, "n_runs": 1,
                     "seeds": [r.seed], "gt_only": r.gt_only, "value": r.metric(primary, split),
                     "ci_low": est.get("ci_low"), "ci_high": est.get("ci_high"), "sd": None, "values": [r.metric(primary, split)],
                     "metrics": {k: r.metric(k, split) for k in _LB_COLS}, "is_baseline": r.is_baseline,
                     "gt_hash": r.gt_hash, "single_trainer_run": r.is_single_trainer_run})
    from harness.metrics import METRICS

    hib = METRICS[primary].higher_is_better if primary in METRICS else True
    rows.sort(key=lambda e: (e["value"] is None, -(e["value"] or 0.0) if hib is not False else (e["value"] or 0.0), e["id"]))
    for i, e in enumerate(rows, 1):
        e["rank"] = i
    return rows


_LB_COLS = ("kendall_tau", "spearman", "pearson", "p_at_top_5", "top1_regret")


def _mean_metric(runs: Any, name: str, split: str) -> float | None:
    vals = [v for v in (r.metric(name, split) for r in runs) if v is not None]
    return float(sum(vals) / len(vals)) if vals else None


@app.command()
def leaderboard(
    benchmark: Annotated[Optional[str], typer.Argument(help="Benchmark (default: every benchmark with runs).")] = None,
    store: StoreOpt = None,
    split: SplitOpt = "dev",
    all_runs: Annotated[bool, typer.Option("--all-runs", help="Every single run, not only the best per submission.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Ranked seed groups (mean, CI over seeds and archs) and single runs (marked), by the primary metric."""
    from harness.benchmarks import get_benchmark
    from harness.metrics import LEADERBOARD_COLUMNS, METRICS, split_half_of

    _split_choice(split)
    results = _store(store, must_exist=True)
    names = [benchmark] if benchmark else sorted({r.benchmark for r in results.list_runs(status="ok")})
    if benchmark:
        get_benchmark(benchmark)
    if not names:
        if as_json:
            _print_json({"benchmarks": {}})
            return
        console.print("no scored runs yet: `nas-harness score submissions/NAME`")
        return
    out: dict[str, Any] = {}
    for name in names:
        bench = get_benchmark(name)
        try:
            current_gt = bench.ground_truth().content_hash
        except HarnessError:
            current_gt = None
        entries = _leaderboard_entries(results, bench, split, all_runs)
        out[name] = {"primary_metric": bench.primary_metric, "split": split, "rows": entries}
        if as_json:
            continue
        primary = bench.primary_metric
        others = [k for k in LEADERBOARD_COLUMNS if k != primary]
        digits = {k: 4 if k in METRICS and METRICS[k].unit == "pp" else 3 for k in (primary, *others)}
        table = Table(title=f"{name} — {split} split, ranked by {primary} (groups: mean of runs, CI over seeds and archs)")
        primary_label = METRICS[primary].label if primary in METRICS else primary
        for col in ("#", "submission", "kind", "runs", primary_label, "95% CI", "run SD", *(METRICS[k].label for k in others), "group / run", "note"):
            table.add_column(col, min_width=6 if col not in ("#", "note", "runs") else None, overflow="fold")
        rows = results.leaderboard(name, split=split, primary=primary, best_per_submission=True)
        payload = rows[0].metrics.get("splits", {}).get(split, {}) if rows else {}
        if payload:
            ceiling = split_half_of(payload)
            base = payload.get("baseline", {})
            table.add_row("", "[italic]split-half agreement (GT seeds)[/]", "reference", "", _fmt(ceiling.get(primary), digits[primary]), "", "",
                          *(_fmt(ceiling.get(k), digits[k]) for k in others), "", "")
            table.add_row("", "[italic]#params baseline[/]", "reference", "", _fmt(base.get(primary, {}).get("value"), digits[primary]), "", "",
                          *(_fmt(base.get(k, {}).get("value"), digits[k]) for k in others), "", "")
        for e in entries:
            note = []
            if e["is_baseline"]:
                note.append("baseline")
            if e["single_trainer_run"] or (e["type"] == "group" and e["n_runs"] < 2):
                note.append("[yellow]single run: no seed variance[/]")
            if e["gt_only"]:
                note.append("GT archs only")
            if current_gt is not None and e["gt_hash"] != current_gt:
                note.append("[red]stale GT: rescore[/]")
            m = e["metrics"]
            ci = f"[{_fmt(e['ci_low'], 3)}, {_fmt(e['ci_high'], 3)}]"
            table.add_row(str(e["rank"]), _u(e["submission"]), _u(e["kind"]), str(e["n_runs"]), _fmt(e["value"], digits[primary]), ci, _fmt(e["sd"], 3),
                          *(_fmt(m.get(k), digits[k]) for k in others), _u(e["id"]), ", ".join(note))
        console.print(table)
    if as_json:
        _print_json({"benchmarks": out})


@app.command()
def show(
    run_id: Annotated[str, typer.Argument(help="A run id or a group id (g…), or a unique prefix.")],
    store: StoreOpt = None,
    split: SplitOpt = "dev",
    as_json: JsonOpt = False,
) -> None:
    """One run (manifest, status, timings, metrics) or one seed group (its runs and the group interval)."""
    _split_choice(split)
    results = _store(store, must_exist=True)
    if results.is_group_id(run_id):
        from harness.benchmarks import get_benchmark
        from harness.verdicts import resolve, summarize

        side = resolve(results, run_id)
        bench = get_benchmark(side.runs[0].benchmark)
        summary = summarize(results, side, bench, split, bench.primary_metric)
        if as_json:
            _print_json({"group": summary.to_dict(), "runs": [_run_json(r, split) for r in side.runs]})
            return
        console.print(_group_table([summary], f"seed group {_u(side.label)} — {split} split, {summary.metric}"))
        return
    run = results.get_run(run_id)
    if as_json:
        _print_json(_run_json(run, split))
        return
    head = Table(show_header=False, title=f"run {_u(run.run_id)}")
    for key in ("benchmark", "submission", "kind", "status", "created", "finished", "group_id", "seed", "harness_version", "gt_hash", "submission_hash", "error"):
        value = getattr(run, key, None)
        if value not in (None, ""):
            head.add_row(key, _u(str(value)[:100]))
    if run.gt_only:
        head.add_row("evaluated", "GT archs only (--gt-only)")
    if run.timings:
        head.add_row("timings", ", ".join(f"{k} {v:.1f}s" for k, v in run.timings.items()))
    console.print(head)
    if run.status == "ok":
        _render_report(run, split)


def _comparison_table(cmp: Any, a: Any, b: Any, split: str, n: int) -> Table:
    d = cmp.diff
    how = "paired by seed and on the same archs" if cmp.paired_by_seed else "on the same archs"
    table = Table(title=f"{cmp.metric} on the {split} split ({n} GT archs), {how}")
    for col in ("", "value"):
        table.add_column(col)
    table.add_row(f"A: {_u(a.submission)} ({_u(a.label)}, {len(a.runs)} run{'s' if len(a.runs) != 1 else ''})", _fmt(cmp.value_a))
    table.add_row(f"B: {_u(b.submission)} ({_u(b.label)}, {len(b.runs)} run{'s' if len(b.runs) != 1 else ''})", _fmt(cmp.value_b))
    table.add_row("Δ = A − B", f"{_fmt(d.value)}  95% CI [{_fmt(d.ci_low)}, {_fmt(d.ci_high)}]")
    table.add_row("p-value (two-sided)", _fmt(cmp.p_value, 4))
    table.add_row("P(A better)", _fmt(cmp.prob_a_better, 3))
    table.add_row("smallest detectable |Δ|", f"{_fmt(cmp.detectable)}  (80% power at the 5% level)")
    table.add_row("noise in the CI", f"seeds {_fmt(math.sqrt(d.seed_var), 4)} SD + archs {_fmt(math.sqrt(d.arch_var), 4)} SD")
    table.add_row("verdict", f"[bold]{cmp.verdict}[/]")
    return table


def _noise_warnings(a: Any, b: Any) -> list[str]:
    from harness.verdicts import fix_command

    out = []
    for side in (a, b):
        if not side.training_noise and side.kind == "trainer":
            out.append(f"{_u(side.submission)} ({_u(side.label)}) is a single trainer run: training-seed noise is unaccounted for; "
                       f"score a seed group: {_u(fix_command(side))}")
    return out


@app.command()
def compare(
    run_a: Annotated[str, typer.Argument(help="Run id or group id (g…) of A.")],
    run_b: Annotated[str, typer.Argument(help="Run id or group id (g…) of B.")],
    store: StoreOpt = None,
    split: SplitOpt = "dev",
    metric: Annotated[Optional[str], typer.Option(help="Metric (default: the benchmark's primary).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Is A better than B? Δ with a CI over training seeds (groups) and GT archs, p, P(A better), detectable Δ."""
    from harness.benchmarks import get_benchmark
    from harness.verdicts import compare_sides, resolve

    _split_choice(split)
    results = _store(store, must_exist=True)
    a, b = resolve(results, run_a), resolve(results, run_b)
    if a.runs[0].benchmark != b.runs[0].benchmark:
        raise HarnessError(f"runs are on different benchmarks ({a.runs[0].benchmark} vs {b.runs[0].benchmark})")
    bench = get_benchmark(a.runs[0].benchmark)
    name = metric or bench.primary_metric
    cmp = compare_sides(results, a, b, bench, split, name)
    n = int(bench.ground_truth().split_indices(split).size)
    warnings = _noise_warnings(a, b)
    if as_json:
        _print_json({"a": {"id": a.label, "submission": a.submission, "runs": [r.run_id for r in a.runs]},
                     "b": {"id": b.label, "submission": b.submission, "runs": [r.run_id for r in b.runs]},
                     "split": split, "n_archs": n, "comparison": cmp.to_dict(), "warnings": warnings})
        return
    console.print(_comparison_table(cmp, a, b, split, n))
    for w in warnings:
        console.print(f"[yellow]{w}[/]", highlight=False)


@app.command()
def check(
    submission: Annotated[Path, typer.Argument(help="The trick: a trainer submission folder.")],
    baseline: Annotated[str, typer.Option("--baseline", help="Run id or group id (g…) to hold the trick against.")],
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
    from harness.verdicts import check_metric, compare_sides, matching_seeds, non_inferiority, resolve

    _split_choice(split)
    if not submission.is_dir():
        raise BadPathError(f"submission folder {submission} does not exist")
    if not (max_drop >= 0 and math.isfinite(max_drop)):
        raise UsageError("--max-drop must be a finite number >= 0")
    if not 0.5 < level < 1.0:
        raise UsageError("--level must be in (0.5, 1)")
    results = _store(store, must_exist=True)
    base = resolve(results, baseline)
    bench = get_benchmark(base.runs[0].benchmark)
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
    with err_console.status(f"training {sub.manifest.name} with seeds {seed_list} (GT archs only)…"):
        gid, _ = score_group(submission, results, seed_list, ScoreOptions(device=device, gt_only=True, progress=False))
    trick = resolve(results, gid)
    base = matching_seeds(trick, resolve(results, base.label))  # again: a group still being scored has grown
    cmp = compare_sides(results, trick, base, bench, split, name)
    gate = non_inferiority(cmp, max_drop, level=level)
    warnings = _noise_warnings(trick, base)
    text = _verdict_paragraph(gate, trick, base, split)
    if as_json:
        _print_json({"passed": gate.passed, "outcome": gate.outcome, "trick": {"id": trick.label, "runs": [r.run_id for r in trick.runs]},
                     "baseline": {"id": base.label, "runs": [r.run_id for r in base.runs]}, "split": split,
                     "verdict": gate.to_dict(), "text": text, "warnings": warnings})
    else:
        console.print(text, highlight=False)
        for w in warnings:
            console.print(f"[yellow]{w}[/]", highlight=False)
    raise typer.Exit(0 if gate.passed else 1)


def _verdict_paragraph(gate: Any, trick: Any, base: Any, split: str) -> str:
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


@app.command()
def export(
    store: StoreOpt = None,
    benchmark: Annotated[Optional[str], typer.Option(help="Only this benchmark.")] = None,
    split: SplitOpt = "dev",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="CSV file (default stdout).")] = None,
) -> None:
    """Export runs with their metrics as CSV."""
    _split_choice(split)
    results = _store(store, must_exist=True)
    runs = results.list_runs(benchmark=benchmark)
    names = sorted({k for r in runs for k in r.metrics.get("splits", {}).get(split, {}).get("metrics", {})})
    if out is not None and not out.parent.exists():
        raise BadPathError(f"folder {out.parent} does not exist")
    stream = open(out, "w", newline="") if out else sys.stdout  # noqa: SIM115
    from harness.submission.text import csv_cell

    try:
        writer = csv.writer(stream)
        writer.writerow(["run_id", "benchmark", "submission", "kind", "status", "created", "gt_hash", "error", "group_id", "seed", "gt_only", *names, *(f"{n}_ci_low" for n in names), *(f"{n}_ci_high" for n in names)])
        for r in runs:
            m = r.metrics.get("splits", {}).get(split, {}).get("metrics", {})
            writer.writerow([*map(csv_cell, (r.run_id, r.benchmark, r.submission, r.kind, r.status, r.created, r.gt_hash, r.error or "", r.group_id or "")), "" if r.seed is None else r.seed, int(r.gt_only), *(m.get(n, {}).get("value", "") for n in names), *(m.get(n, {}).get("ci_low", "") for n in names), *(m.get(n, {}).get("ci_high", "") for n in names)])
    finally:
        if out:
            stream.close()


@app.command()
def rescore(
    benchmark: Annotated[Optional[str], typer.Argument(help="Only this benchmark.")] = None,
    store: StoreOpt = None,
    all_runs: Annotated[bool, typer.Option("--all", help="Rescore every run, not only stale ones.")] = False,
) -> None:
    """Recompute metrics of runs scored against an older GT, from their stored predictions."""
    from harness.benchmarks import get_benchmark
    from harness.scoring import rescore_run

    results = _store(store, must_exist=True)
    names = [benchmark] if benchmark else sorted({r.benchmark for r in results.list_runs(status="ok")})
    done = 0
    for name in names:
        bench = get_benchmark(name)
        current = bench.ground_truth().content_hash
        runs = results.list_runs(benchmark=name, status="ok") if all_runs else results.stale_runs(name, current)
        for run in runs:
            rescore_run(results, run)
            done += 1
            console.print(f"rescored {_u(run.run_id)} ({_u(run.submission)} on {name})")
    console.print(f"{done} run(s) rescored")


@app.command("app")
def app_cmd(
    store: StoreOpt = None,
    mode: Annotated[str, typer.Option(help="public (dev split only) or host (all splits).")] = "public",
    port: Annotated[Optional[int], typer.Option(help="Port for the Streamlit server.")] = None,
) -> None:
    """Open the Streamlit leaderboard for the results store."""
    from leaderboard_app.launch import launch

    if mode not in ("public", "host"):
        raise UnknownNameError(f"unknown mode {mode!r}; use public or host")
    raise typer.Exit(launch(config.store_dir(store), mode, port))


@app.command()
def version() -> None:
    """Print the harness version."""
    console.print(__version__)


def main() -> None:
    """Entry point: user mistakes become one red line and a non-zero exit code, never a traceback.

    Click handles its own usage errors (standalone mode prints usage and exits 2); our library raises
    HarnessError subclasses, caught here.
    """
    try:
        app()
    except HarnessError as exc:
        err_console.print(f"[red]error:[/] {_u(exc)}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/]")
        sys.exit(130)


if __name__ == "__main__":
    main()
