"""``nas-harness gt build|trim|verify|show``: the standalone ground truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from harness.cli.options import row_range
from harness.cli.progress_view import build_bar, counted_bar
from harness.cli.render import console, err_console, fmt, u
from harness.errors import BadPathError, HarnessError


def gt_build(
    benchmark: str,
    n_archs: Annotated[int, typer.Option("--archs", help="Number of GT archs.")] = 500,
    seeds: Annotated[int, typer.Option("--seeds", help="Seeds per arch.")] = 3,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.")] = 2,
    out: Annotated[Optional[Path], typer.Option("--out", help="GT file (default: the benchmark's).")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Refuse to resume: fail if the file exists.")] = False,
    path: Annotated[Optional[str], typer.Option(
        "--path", help="Training path: sequential (one net at a time; the default) or stacked (the seeds of an arch together).")] = None,
) -> None:
    """Train the standalone ground truth (resumable: rerun the same command after an interruption).

    --seeds is the seed count of the rows this build adds; rows already in the file keep a larger count (ragged GT).
    """
    from harness.benchmarks import get_benchmark
    from harness.gt.builder import build_gt
    from harness.gt.paths import DEFAULT_PATH

    if n_archs < 1 or seeds < 1 or workers < 1:
        raise HarnessError("--archs, --seeds and --workers must be positive")
    bench = get_benchmark(benchmark)
    with build_bar(err_console) as progress:
        done = build_gt(bench, n_archs=n_archs, seeds=list(range(seeds)), workers=workers, out=out, resume=not fresh,
                        path=DEFAULT_PATH if path is None else path, progress=progress)
    console.print(f"ground truth complete: {done}")


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


def gt_verify(
    benchmark: str,
    cells: Annotated[int, typer.Option("--cells", help="How many finished cells to re-train.")] = 6,
    rows: Annotated[Optional[str], typer.Option("--rows", help="Only GT rows START:STOP (e.g. 0:140).")] = None,
    sample_seed: Annotated[int, typer.Option("--sample-seed", help="Seed of the cell sample.")] = 0,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.")] = 2,
    file: Annotated[Optional[Path], typer.Option("--file", help="GT file (default: the benchmark's).")] = None,
) -> None:
    """Re-train a sample of GT cells the way they were built: bit for bit on the build's CPU kind, statistically on another."""
    from harness.benchmarks import get_benchmark
    from harness.gt.verify import VERIFY_STAGE, verify_gt

    if workers < 1:
        raise HarnessError("--workers must be positive")
    row_span = row_range(rows) if rows is not None else None
    bench = get_benchmark(benchmark)
    with counted_bar(err_console, VERIFY_STAGE) as progress:
        result = verify_gt(bench, path=file, n_cells=cells, rows=row_span, sample_seed=sample_seed, workers=workers,
                           progress=progress)
    checks = result.checks
    table = Table(title=f"GT cells of {bench.name} re-trained here")
    for col in ("row", "arch", "seed", "path", "built on", "stored", "re-trained", "same"):
        table.add_column(col)
    for c in checks:
        table.add_row(str(c.row), c.arch, str(c.seed), f"{c.path}" + (f" ×{c.batch}" if c.batch > 1 else ""),
                      u(c.built_on) if c.built_on else "not recorded", f"{c.stored:.6f}", f"{c.retrained:.6f}",
                      "[green]yes[/]" if c.matches else "[red]no[/]")
    console.print(table)
    built_on = ", ".join(u(k) for k in result.build_cpus) or "not recorded"
    console.print(f"built on: {built_on}\nthis machine: {u(result.here_cpu)}", soft_wrap=True)
    console.print(f"{result.bit_identical} of {len(checks)} cells re-trained to the stored accuracy bit for bit")
    failed = False
    mine = result.bit_checked
    if mine:
        differ = sum(not c.matches for c in mine)
        console.print(f"built on this CPU kind: {len(mine) - differ} of {len(mine)} bit-identical (required)")
        if differ:
            err_console.print(f"[red]Error:[/] {differ} of {len(mine)} cells differ from the stored accuracies on the "
                              "CPU kind that built them: another code, recipe or file trained them (builds: "
                              "`nas-harness gt show`)", soft_wrap=True)
            failed = True
    if result.other_kind:
        ag = result.agreement
        ref = ag.get("seed_pair_mean_abs_diff")
        unknown = sum(c.built_on is None for c in result.other_kind)
        where = f"{len(result.other_kind)} cells" + (f", {unknown} with no build recorded" if unknown else "")
        kind = "another or an unrecorded CPU kind" if unknown else "another CPU kind"
        console.print(f"built on {kind} ({where}): bit identity is not expected "
                      f"(rounding differs from the first step), so the test is statistical: mean |re-trained − stored| "
                      f"{ag['mean_abs_diff']:.4f} against {fmt(ref, 4)} between two stored seeds of the same archs; "
                      f"p(spread) {fmt(ag.get('p_spread'), 3)}, p(shift) {fmt(ag.get('p_shift'), 3)} (fail below "
                      f"{ag['alpha']})", soft_wrap=True)
        if not ag.get("agrees"):
            err_console.print("[red]Error:[/] the re-trained cells differ from the stored ones more than seed noise "
                              f"explains{': ' + ag['why'] if ag.get('why') else ''} (another recipe, code or data?)",
                              soft_wrap=True)
            failed = True
        else:
            console.print("statistically consistent with the stored cells (same training, other rounding)")
    if failed:
        raise typer.Exit(1)


def gt_show(
    benchmark: str,
    file: Annotated[Optional[Path], typer.Option("--file", help="A GT file of this benchmark, e.g. a build in progress.")] = None,
) -> None:
    """Summary of a benchmark's GT: size, accuracy spread, split-half agreement, expected τ of an oracle, provenance.

    Statistics use the archs finished for every seed, so a build in progress can be watched with ``--file``.
    """
    from harness.benchmarks import get_benchmark
    from harness.gt.summary import gt_of, summarize_gt

    bench = get_benchmark(benchmark)
    console.print(summary_table(bench.name, summarize_gt(gt_of(bench, file))))


def summary_table(name: str, s: Any) -> Table:
    """The rows of ``gt show`` from a :class:`harness.gt.summary.GTSummary`."""
    table = Table(title=f"Ground truth of {name}", show_header=False)
    if s.ragged:
        parts = "  ".join(f"{count} × {k}" for count, k in s.seed_counts)
        table.add_row("archs complete", f"{s.n_complete} of {s.n_archs} (ragged: {parts} seeds)")
    else:
        table.add_row("archs complete", f"{s.n_complete} of {s.n_archs} × {s.n_seeds} seeds")
    table.add_row("splits", ", ".join(f"{k}: {v}" for k, v in s.split_sizes.items()))
    acc = s.accuracy
    if acc is not None:
        table.add_row("seed-mean accuracy", f"min {acc.min:.4f}  median {acc.median:.4f}  max {acc.max:.4f}  std {acc.std:.4f}")
        if s.seed_noise is not None:
            table.add_row("seed noise (mean std)", f"{s.seed_noise:.4f}"
                          + (f" (on the {s.n_full} archs with all {s.n_seeds} seeds)" if s.ragged else ""))
    if s.split_half is not None:
        nc = s.split_half
        table.add_row("split-half agreement", "  ".join(f"{k} {fmt(v, 3)}" for k, v in nc.items()) + f" ({s.n_seeds // 2} vs {s.n_seeds - s.n_seeds // 2} seeds; not an upper bound)" if any(v is not None for v in nc.values()) else "unknown (one seed column)")
        best = s.best_tau
        if best["tau"] is not None:
            truth = s.best_tau_truth
            if truth is not None and truth["tau"] is not None:
                table.add_row("expected τ of an oracle", f"{truth['tau']:.3f}{_ci(truth)} against this GT's truth (each arch's mean over its own "
                              f"seeds, {truth['n_seeds']:.1f} effective seeds): the ceiling of a score; {best['tau']:.3f} "
                              f"against a {s.n_seeds}-seed mean (the {s.n_full} full rows; {best['model']})")
            else:
                table.add_row("expected τ of an oracle", f"{best['tau']:.3f}{_ci(best)} (perfect predictor of expected accuracy vs the {s.n_seeds}-seed mean; {best['model']})")
        table.add_row("CB reference (size-blind)", f"{s.cb_reference:.3f} (C/(C+D) of GT vs #params: the CB of a predictor that ignores size)")
        proj = s.projection
        if proj is not None:
            table.add_row("single-seed Kendall τ", f"{proj['single_seed_tau']:.3f} (mean over seed pairs; latent r {proj['latent_r']:.3f})")
            table.add_row("measured ceiling τ", "  ".join(f"{k}+{k} seeds {v:.3f}" for k, v in proj["measured"].items()))
            fit = proj["rho_fit"]
            how = (f"Spearman–Brown calibrated on the measured curve, ρ_k = {fit['rho_inf']:.3f} + {fit['c']:.3f}/k"
                   if fit is not None else "Spearman–Brown from single seeds: optimistic when seed noise is heavy-tailed")
            table.add_row("projected ceiling τ", "  ".join(f"{k}+{k} seeds {v:.3f}" for k, v in s.projected.items()) + f"  ({how})")
        pw = s.power
        if pw is not None:
            table.add_row("detectable Δτ (dev)", f"{pw.detectable:.3f} at power 0.8, α 0.05 ({s.n_dev} archs, "
                          f"{pw.seeds:.1f} seeds each; predictors correlated ρ {pw.rho}, τ {pw.tau_a}); power for "
                          f"Δτ {s.power_at}: {pw.power_at[s.power_at]:.2f}  (benchmarks/gt_power.py)")
    if s.params_baseline is not None:
        table.add_row("#params baseline", "  ".join(f"{k} {fmt(v, 3)}" for k, v in s.params_baseline.items()))
    for key, value in s.provenance.items():
        table.add_row(key, json.dumps(value) if isinstance(value, (dict, list)) else str(value))
    for b in s.builds:
        table.add_row("build", f"{b.get('started', '?')}: {b.get('cells', '?')} cells · torch {b.get('torch', '?')} · "
                               f"{b.get('cpu', '?')} ({b.get('cpu_capability', '?')}) · {b.get('workers', '?')} workers · "
                               f"{b.get('path', 'sequential-v1')} path")
    if s.unrecorded_cells:
        table.add_row("build", f"{s.unrecorded_cells} cells trained before builds were recorded (environment unknown)")
    table.add_row("content hash", s.content_hash[:16])
    return table


def _ci(best: dict) -> str:
    """' [lo, hi]' of an oracle τ estimate, or nothing (older summaries, one seed)."""
    ci = best.get("tau_ci")
    return f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
