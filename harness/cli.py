"""The ``nas-harness`` command line: parse, call the library, render with rich. Nothing else lives here."""

from __future__ import annotations

import csv
import json
import os
import time
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from harness import __version__, config
from harness.errors import BadPathError, GroundTruthError, HarnessError, UnknownNameError

app = typer.Typer(
    help="Evaluation harness and leaderboard for weight-sharing NAS supernets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
gt_app = typer.Typer(help="Standalone ground truth: build and inspect.", no_args_is_help=True)
app.add_typer(gt_app, name="gt")

console = Console()
if not console.is_terminal and "COLUMNS" not in os.environ:
    console = Console(width=160)  # piped or logged: wide tables stay readable instead of folding at 80 columns
err_console = Console(stderr=True)

StoreOpt = Annotated[Optional[Path], typer.Option("--store", help="Results store folder [env NAS_HARNESS_STORE; default ./results].")]
SplitOpt = Annotated[str, typer.Option("--split", help="GT split: dev (public) or test (hidden).")]


@app.callback()
def _root(
    data_dir: Annotated[
        Optional[Path], typer.Option("--data-dir", help="Folder with user-supplied data [env NAS_HARNESS_DATA].")
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
    """List the benchmarks with their space, data, arch-set size, GT size and noise ceiling."""
    from harness.benchmarks import list_benchmarks
    from harness.metrics import noise_ceiling

    table = Table(title="Benchmarks")
    for col in ("name", "space", "data", "arch set", "GT archs × seeds", "noise ceiling (τ)", "primary"):
        table.add_column(col, no_wrap=col == "name", overflow="fold")
    for bench in list_benchmarks():
        size = bench.archset.get("size", "?")
        try:
            gt = bench.ground_truth()
            gt_text = f"{int(gt.complete.sum())} × {gt.n_seeds}"
            ceiling = noise_ceiling(gt.acc[gt.full], gt.params[gt.full], names=["kendall_tau"]).get("kendall_tau")
            ceiling_text = _fmt(ceiling, 3) if ceiling is not None else "unknown (1 seed)"
        except HarnessError as exc:
            gt_text, ceiling_text = f"[yellow]not available[/]: {exc}", "—"
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
    """Summary of a benchmark's GT: size, accuracy spread, noise ceiling, provenance (no per-arch values).

    Statistics use the archs finished for every seed, so a build in progress can be watched with ``--file``.
    """
    import numpy as np

    from harness.benchmarks import get_benchmark
    from harness.gt.gt_file import read_gt
    from harness.metrics import noise_ceiling, params_baseline, projected_kendall_ceiling

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
        nc = noise_ceiling(gt.acc[full], gt.params[full], names=["kendall_tau", "spearman", "pearson"])
        table.add_row("noise ceiling", "  ".join(f"{k} {_fmt(v, 3)}" for k, v in nc.items()) if any(v is not None for v in nc.values()) else "unknown (one seed column)")
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
def _render_report(run: Any, split: str) -> None:
    from harness.metrics import METRICS

    payload = run.metrics.get("splits", {}).get(split)
    if payload is None:
        console.print(f"[yellow]no {split} metrics for run {run.run_id}[/]")
        return
    primary = run.metrics.get("primary_metric", "kendall_tau")
    table = Table(title=f"{run.submission} on {run.benchmark} — {split} split (n={payload['n']}), run {run.run_id}")
    for col in ("metric", "value", "95% CI", "#params baseline", "noise ceiling"):
        table.add_column(col, justify="right" if col != "metric" else "left")
    for name, m in payload["metrics"].items():
        spec = METRICS.get(name)
        label = spec.label if spec is not None else name
        if name == primary:
            label = f"[bold]{label} (primary)[/]"
        base = payload.get("baseline", {}).get(name, {})
        ceiling = payload.get("noise_ceiling", {}).get(name)
        table.add_row(
            label,
            _fmt(m.get("value")),
            f"[{_fmt(m.get('ci_low'), 3)}, {_fmt(m.get('ci_high'), 3)}]",
            _fmt(base.get("value") if isinstance(base, dict) else base),
            _fmt(ceiling),
        )
    console.print(table)


@app.command()
def score(
    submission: Annotated[Path, typer.Argument(help="Submission folder with submission.toml.")],
    store: StoreOpt = None,
    evaluator: Annotated[str, typer.Option(help="fast or reference (the plain per-subnet loop).")] = "fast",
    device: Annotated[str, typer.Option(help="cpu or cuda[:N].")] = "cpu",
    seed: Annotated[int, typer.Option(help="Seed given to trainers and the bootstrap.")] = 0,
    budget_seconds: Annotated[Optional[float], typer.Option(help="Override the trainer wall-clock budget.")] = None,
    split: SplitOpt = "dev",
) -> None:
    """Score a submission (trainer, checkpoint or predictions) on its benchmark and record the run."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from harness.scoring import ScoreOptions, score_submission

    if evaluator not in ("fast", "reference"):
        raise UnknownNameError(f"unknown evaluator {evaluator!r}; use fast or reference")
    _split_choice(split)
    if not submission.is_dir():
        raise BadPathError(f"submission folder {submission} does not exist")
    results = _store(store)
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
            bar.update(tasks[stage], completed=min(max(fraction, 0.0), 1.0), description=f"{stage}: {message}"[:70])

        run = score_submission(submission, results, ScoreOptions(evaluator=evaluator, device=device, seed=seed, budget_seconds=budget_seconds, on_progress=on_progress))
    _render_report(run, split)
    if run.kind == "trainer":
        from harness.submission import isolation_mode

        console.print(f"sandbox: {isolation_mode()} (see README, 'Running untrusted submissions')")
    timings = ", ".join(f"{k} {v:.1f}s" for k, v in run.timings.items())
    console.print(f"[green]run {run.run_id} recorded[/] ({timings})")


# --------------------------------------------------------------------------------------- leaderboard
@app.command()
def leaderboard(
    benchmark: Annotated[Optional[str], typer.Argument(help="Benchmark (default: every benchmark with runs).")] = None,
    store: StoreOpt = None,
    split: SplitOpt = "dev",
    all_runs: Annotated[bool, typer.Option("--all-runs", help="Every run, not only the best per submission.")] = False,
) -> None:
    """Ranked runs: primary metric, then tie-breaks, then the earlier run."""
    from harness.benchmarks import get_benchmark

    _split_choice(split)
    results = _store(store)
    names = [benchmark] if benchmark else sorted({r.benchmark for r in results.list_runs(status="ok")})
    if benchmark:
        get_benchmark(benchmark)
    if not names:
        console.print("no scored runs yet: `nas-harness score submissions/NAME`")
        return
    for name in names:
        bench = get_benchmark(name)
        try:
            current_gt = bench.ground_truth().content_hash
        except HarnessError:
            current_gt = None
        rows = results.leaderboard(name, split=split, primary=bench.primary_metric, best_per_submission=not all_runs)
        table = Table(title=f"{name} — {split} split, ranked by {bench.primary_metric}")
        for col in ("#", "submission", "kind", "Kendall τ", "Spearman ρ", "Pearson", "P@top5%", "top-1 regret", "run", "note"):
            table.add_column(col, min_width=6 if col not in ("#", "note") else None, overflow="fold")
        reference_added = False
        for i, run in enumerate(rows, 1):
            payload = run.metrics.get("splits", {}).get(split, {})
            m = payload.get("metrics", {})
            if not reference_added and payload:
                ceiling = payload.get("noise_ceiling", {})
                base = payload.get("baseline", {})
                table.add_row("", "[italic]noise ceiling (GT seeds)[/]", "reference", _fmt(ceiling.get("kendall_tau"), 3), _fmt(ceiling.get("spearman"), 3), _fmt(ceiling.get("pearson"), 3), _fmt(ceiling.get("p_at_top_5"), 3), _fmt(ceiling.get("top1_regret"), 4), "", "")
                table.add_row("", "[italic]#params baseline[/]", "reference", *(_fmt(base.get(k, {}).get("value"), 3) for k in ("kendall_tau", "spearman", "pearson", "p_at_top_5")), _fmt(base.get("top1_regret", {}).get("value"), 4), "", "")
                reference_added = True
            note = []
            if run.is_baseline:
                note.append("baseline")
            if current_gt is not None and run.gt_hash != current_gt:
                note.append("[red]stale GT: rescore[/]")
            table.add_row(str(i), run.submission, run.kind, *(_fmt(m.get(k, {}).get("value"), 3) for k in ("kendall_tau", "spearman", "pearson", "p_at_top_5")), _fmt(m.get("top1_regret", {}).get("value"), 4), run.run_id, ", ".join(note))
        console.print(table)


@app.command()
def show(run_id: str, store: StoreOpt = None, split: SplitOpt = "dev") -> None:
    """One run: manifest, status, timings, metrics with CIs beside the baseline and noise ceiling."""
    _split_choice(split)
    run = _store(store, must_exist=True).get_run(run_id)
    head = Table(show_header=False, title=f"run {run.run_id}")
    for key in ("benchmark", "submission", "kind", "status", "created", "finished", "harness_version", "gt_hash", "submission_hash", "error"):
        value = getattr(run, key, None)
        if value not in (None, ""):
            head.add_row(key, str(value)[:100])
    if run.timings:
        head.add_row("timings", ", ".join(f"{k} {v:.1f}s" for k, v in run.timings.items()))
    console.print(head)
    if run.status == "ok":
        _render_report(run, split)


@app.command()
def compare(
    run_a: str,
    run_b: str,
    store: StoreOpt = None,
    split: SplitOpt = "dev",
    metric: Annotated[Optional[str], typer.Option(help="Metric (default: the benchmark's primary).")] = None,
) -> None:
    """Paired bootstrap on the same GT archs: is the difference between two runs real?"""
    import numpy as np

    from harness.benchmarks import get_benchmark
    from harness.metrics import METRICS, paired_bootstrap

    _split_choice(split)
    results = _store(store, must_exist=True)
    a, b = results.get_run(run_a), results.get_run(run_b)
    if a.benchmark != b.benchmark:
        raise HarnessError(f"runs are on different benchmarks ({a.benchmark} vs {b.benchmark})")
    for run in (a, b):
        if run.status != "ok":
            raise HarnessError(f"run {run.run_id} has status {run.status}; only completed runs can be compared")
    bench = get_benchmark(a.benchmark)
    name = metric or bench.primary_metric
    if name not in METRICS:
        raise UnknownNameError(f"unknown metric {name!r}; known: {', '.join(METRICS)}")
    gt = bench.ground_truth()
    idx = gt.split_indices(split)
    pos = gt.archset_index[idx]
    pa = np.asarray(results.load_predictions(a.run_id)[1])[pos]
    pb = np.asarray(results.load_predictions(b.run_id)[1])[pos]
    res = paired_bootstrap(pa, pb, gt.mean_acc[idx], gt.params[idx], name)
    table = Table(title=f"{name} on the {split} split ({idx.size} GT archs), paired bootstrap")
    for col in ("", "value"):
        table.add_column(col)
    table.add_row(f"A: {a.submission} ({a.run_id})", _fmt(res.get("value_a")))
    table.add_row(f"B: {b.submission} ({b.run_id})", _fmt(res.get("value_b")))
    table.add_row("A − B", f"{_fmt(res.get('diff'))}  95% CI [{_fmt(res.get('ci_low'))}, {_fmt(res.get('ci_high'))}]")
    table.add_row("p-value", _fmt(res.get("p_value"), 4))
    table.add_row("verdict", f"[bold]{res.get('verdict')}[/]")
    console.print(table)


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
    try:
        writer = csv.writer(stream)
        writer.writerow(["run_id", "benchmark", "submission", "kind", "status", "created", "gt_hash", "error", *names, *(f"{n}_ci_low" for n in names), *(f"{n}_ci_high" for n in names)])
        for r in runs:
            m = r.metrics.get("splits", {}).get(split, {}).get("metrics", {})
            writer.writerow([r.run_id, r.benchmark, r.submission, r.kind, r.status, r.created, r.gt_hash, r.error or "", *(m.get(n, {}).get("value", "") for n in names), *(m.get(n, {}).get("ci_low", "") for n in names), *(m.get(n, {}).get("ci_high", "") for n in names)])
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
            console.print(f"rescored {run.run_id} ({run.submission} on {name})")
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
        err_console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/]")
        sys.exit(130)


if __name__ == "__main__":
    main()
