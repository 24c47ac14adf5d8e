"""Commands that read the results store: ``leaderboard``, ``show``, ``compare`` and ``export``."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from harness.cli.options import JsonOpt, SplitOpt, StoreOpt, open_store, output_folder_exists, split_choice
from harness.cli.render import (
    comparison_table,
    console,
    fmt,
    group_table,
    noise_warnings,
    print_json,
    print_warnings,
    render_report,
    run_json,
    u,
)
from harness.errors import HarnessError


def leaderboard(
    benchmark: Annotated[Optional[str], typer.Argument(help="Benchmark (default: every benchmark with runs).")] = None,
    store: StoreOpt = None,
    split: SplitOpt = "dev",
    all_runs: Annotated[bool, typer.Option("--all-runs", help="Every single run, not only the best per submission.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Ranked seed groups (mean, CI over seeds and archs) and single runs (marked), by the primary metric.

    One table per benchmark version (the current one first): runs of different versions are never ranked together.
    """
    from harness.benchmarks import get_benchmark
    from harness.scoring import current_gt_hash
    from harness.verdicts import board_versions, leaderboard_rows

    split_choice(split)
    results = open_store(store, must_exist=True)
    names = [benchmark] if benchmark else sorted({r.benchmark for r in results.list_runs(status="ok")})
    if benchmark:
        get_benchmark(benchmark)
    if not names:
        if as_json:
            print_json({"benchmarks": {}})
            return
        console.print("no scored runs yet: `nas-harness score submissions/NAME`")
        return
    out: dict[str, Any] = {}
    for name in names:
        bench = get_benchmark(name)
        current_gt = current_gt_hash(bench)
        older: list[dict[str, Any]] = []
        for version in board_versions(results, bench):
            entries = leaderboard_rows(results, bench, split, all_runs, version=version)
            proxies = proxy_reference_rows(results, bench, split) if version == bench.version else []
            if version == bench.version:
                out[name] = {"primary_metric": bench.primary_metric, "split": split, "version": version, "rows": entries,
                             "proxy_baselines": proxies}
            else:
                older.append({"version": version, "rows": entries})
            if not as_json and (version == bench.version or entries):
                console.print(leaderboard_table(results, bench, split, entries, current_gt, version, proxies))
        out[name]["older_versions"] = older
    if as_json:
        print_json({"benchmarks": out})


def proxy_reference_rows(results: Any, bench: Any, split: str) -> list[dict[str, Any]]:
    """The benchmark's zero-cost proxy baselines on ``split`` from the store's cache (``nas-harness baselines``
    fills it; a board never computes them), with every leaderboard column's metric."""
    from harness.metrics import LEADERBOARD_COLUMNS
    from harness.proxies.baselines import reference_rows

    metrics = tuple(dict.fromkeys((bench.primary_metric, *LEADERBOARD_COLUMNS)))
    try:
        return reference_rows(results.root, bench, split, metrics=metrics, compute=False, board=True)
    except HarnessError:
        return []


def leaderboard_table(results: Any, bench: Any, split: str, entries: list[dict[str, Any]], current_gt: str | None,
                      version: int | None = None, proxies: list[dict[str, Any]] | None = None) -> Table:
    """One benchmark version's rows, under the reference rows (split-half agreement, #params baseline, the cached
    zero-cost proxy baselines) of its best run of that version. An older version's table says so in its title:
    values as stored, not recomputed."""
    from harness.metrics import LEADERBOARD_COLUMNS, METRICS, split_half_of
    from harness.store.records import is_stale

    name, primary = bench.name, bench.primary_metric
    version = bench.version if version is None else version
    others = [k for k in LEADERBOARD_COLUMNS if k != primary]
    digits = {k: 4 if k in METRICS and METRICS[k].unit == "pp" else 3 for k in (primary, *others)}
    if version == bench.version:
        title = f"{name} v{version} — {split} split, ranked by {primary} (groups: mean of runs, CI over seeds and archs; 'tied': not shown different from the leader, Holm over all pairs)"
    else:
        title = (f"{name} v{version} (the benchmark is now v{bench.version}) — {split} split, ranked by {primary} "
                 f"among v{version} runs only; values as stored (group CI: seeds only)")
    table = Table(title=title)
    primary_label = METRICS[primary].label if primary in METRICS else primary
    for col in ("#", "submission", "kind", "runs", primary_label, "95% CI", "vs leader", "run SD", *(METRICS[k].label for k in others), "group / run", "note"):
        table.add_column(col, min_width=6 if col not in ("#", "note", "runs") else None, overflow="fold")
    rows = results.leaderboard(name, split=split, primary=primary, best_per_submission=True, version=version)
    payload = rows[0].metrics.get("splits", {}).get(split, {}) if rows else {}
    if payload:
        ceiling = split_half_of(payload)
        base = payload.get("baseline", {})
        # the reference rows have no CI, no verdict against the leader and no run SD: three empty cells
        table.add_row("", "[italic]split-half agreement (GT seeds)[/]", "reference", "", fmt(ceiling.get(primary), digits[primary]),
                      "", "", "", *(fmt(ceiling.get(k), digits[k]) for k in others), "", "")
        table.add_row("", "[italic]#params baseline[/]", "reference", "", fmt(base.get(primary, {}).get("value"), digits[primary]),
                      "", "", "", *(fmt(base.get(k, {}).get("value"), digits[k]) for k in others), "", "")
    for row in proxies or []:
        m = row["metrics"]
        table.add_row("", f"[italic]{u(row['title'])} (zero-cost proxy)[/]", "reference", "", fmt(m.get(primary), digits[primary]),
                      "", "", "", *(fmt(m.get(k), digits[k]) for k in others), "", "")
    for e in entries:
        note = []
        if e["is_baseline"]:
            note.append("baseline")
        if e["single_trainer_run"] or (e["type"] == "group" and e["n_runs"] < 2):
            note.append("[yellow]single run: no seed variance[/]")
        if e["gt_only"]:
            note.append("GT archs only")
        if is_stale(e["gt_hash"], current_gt, e.get("version"), bench.version):
            note.append("[red]stale GT: rescore[/]")
        m = e["metrics"]
        ci = f"[{fmt(e['ci_low'], 3)}, {fmt(e['ci_high'], 3)}]"
        table.add_row(str(e["rank"]), u(e["submission"]), u(e["kind"]), str(e["n_runs"]), fmt(e["value"], digits[primary]), ci,
                      vs_leader(e), fmt(e["sd"], 3),
                      *(fmt(m.get(k), digits[k]) for k in others), u(e["id"]), ", ".join(note))
    return table


def vs_leader(row: dict[str, Any]) -> str:
    """A board row's family-wise verdict against the best row (Holm over all pairs of the table)."""
    tied = row.get("tied_with_leader")
    if tied is None:
        return ""
    if row.get("p_vs_leader") == 1.0 and row.get("rank") == 1:
        return "leader"
    return "tied" if tied else f"behind (p {fmt(row.get('p_vs_leader_holm'), 3)}, Holm)"


def show(
    run_id: Annotated[str, typer.Argument(help="A run id or a group id (g…), or a unique prefix.")],
    store: StoreOpt = None,
    split: SplitOpt = "dev",
    log: Annotated[bool, typer.Option("--log", help="Also print the trainer's output (its last 1 MB, kept with the run).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """One run (manifest, status, timings, how it trained, metrics) or one seed group (its runs, the group interval
    of every metric)."""
    split_choice(split)
    results = open_store(store, must_exist=True)
    if results.is_group_id(run_id):
        from harness.benchmarks import get_benchmark
        from harness.verdicts import resolve, summarize

        from harness.verdicts import stored_summary

        side = resolve(results, run_id)
        bench = get_benchmark(side.runs[0].benchmark)
        current = side.version == bench.version  # an older version's group: its stored values, not recomputed
        summary = (summarize(results, side, bench, split, bench.primary_metric) if current
                   else stored_summary(side, split, bench.primary_metric))
        if as_json:
            print_json({"group": {**summary.to_dict(), "bench_version": side.version, "recomputed": current},
                        "runs": [run_json(r, split) for r in side.runs]})
            return
        note = "" if current else f" (the benchmark is now v{bench.version}: stored values, CI over seeds only)"
        console.print(group_table([summary], f"seed group {u(side.label)} on {u(side.benchmark)} v{side.version}"
                                             f" — {split} split, {summary.metric}{note}"))
        console.print(group_metrics_table(side.runs, split))
        return
    run = results.get_run(run_id)
    training = results.run_training(run.run_id)
    if as_json:
        out = run_json(run, split)
        out["training"] = training
        out["scalars"] = [list(p) for p in results.run_scalars(run.run_id)]
        if log:
            out["log"] = results.run_log(run.run_id)
        print_json(out)
        return
    head = Table(show_header=False, title=f"run {u(run.run_id)}")
    for key in ("benchmark", "submission", "kind", "status", "created", "finished", "group_id", "seed", "harness_version", "gt_hash", "submission_hash", "error"):
        value = getattr(run, key, None)
        if value not in (None, ""):
            head.add_row(key, u(str(value)[:100]))
        if key == "benchmark":
            head.add_row("benchmark version", run.version_label)
    if run.gt_only:
        head.add_row("evaluated", "GT archs only (--gt-only)")
    if run.timings:
        head.add_row("timings", ", ".join(f"{k} {v:.1f}s" for k, v in run.timings.items()))
    for key, value in training_rows(training, results.run_scalars(run.run_id)):
        head.add_row(key, value)
    console.print(head)
    if run.status == "ok":
        render_report(run, split)
    if log:
        text = results.run_log(run.run_id)
        console.rule("trainer output (last 1 MB)" if text else "no trainer output recorded")
        console.print(text, markup=False, highlight=False, emoji=False)  # stored inert; no markup read from it


def training_rows(training: dict[str, Any], scalars: list[tuple[int, str, float]]) -> list[tuple[str, str]]:
    """``show``'s lines about how a trainer run trained: hyper-parameters, epochs of the budget, scalars logged."""
    rows = []
    if training.get("hparams"):
        over = set(training.get("overrides") or {})
        rows.append(("hparams", ", ".join(f"{u(k)}={u(v)}" + (" (--set)" if k in over else "")
                                          for k, v in training["hparams"].items())))
    if training:
        epochs = training.get("epochs")
        counted = "not counted (the trainer neither used ctx.batches nor set ctx.epochs_trained)" if epochs is None else str(epochs)
        rows.append(("epochs", f"{counted} trained; asked {training.get('epochs_asked')}, budget {training.get('budget_epochs')}"))
        if training.get("off_budget"):
            rows.append(("off budget", f"[yellow]{u(training.get('off_budget_why', ''))}[/]: never ranked beside budget runs"))
    if scalars:
        names = sorted({n for _, n, _ in scalars})
        rows.append(("scalars", f"{len(scalars)} points of {', '.join(u(n) for n in names[:8])}"
                                f"{' …' if len(names) > 8 else ''} (export --scalars RUN)"))
    return rows


def group_metrics_table(runs: list[Any], split: str) -> Table:
    """Every metric of a group's runs: per-run values and their mean (``show GROUP``)."""
    from harness.metrics import METRICS

    names = [k for k in METRICS if any(r.metric(k, split) is not None for r in runs)]
    table = Table(title=f"all metrics, {split} split (per run and mean)")
    table.add_column("metric")
    for r in runs:
        table.add_column(f"seed {r.seed}" if r.seed is not None else u(r.run_id))
    table.add_column("mean")
    for k in names:
        vals = [r.metric(k, split) for r in runs]
        got = [v for v in vals if v is not None]
        table.add_row(METRICS[k].label, *(fmt(v, 4) for v in vals), fmt(sum(got) / len(got) if got else None, 4))
    return table


def compare(
    run_a: Annotated[str, typer.Argument(help="Run id or group id (g…) of A.")],
    run_b: Annotated[str, typer.Argument(help="Run id or group id (g…) of B, or an imported reference group's name (spos).")],
    store: StoreOpt = None,
    split: SplitOpt = "dev",
    metric: Annotated[Optional[str], typer.Option(help="Metric (default: the benchmark's primary).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Is A better than B? Δ with a CI over training seeds (groups) and GT archs, p, P(A better), detectable Δ."""
    from harness.benchmarks import get_benchmark
    from harness.reference_results import resolve_side
    from harness.verdicts import SPLITS_NOTE, check_same_version, compare_sides, require_current_version

    split_choice(split)
    results = open_store(store, must_exist=True)
    a, b = resolve_side(results, run_a), resolve_side(results, run_b)
    if a.runs[0].benchmark != b.runs[0].benchmark:
        raise HarnessError(f"runs are on different benchmarks ({a.runs[0].benchmark} vs {b.runs[0].benchmark})")
    check_same_version(a, b)  # before the benchmark is read: one line even when the spec moved on
    bench = get_benchmark(a.runs[0].benchmark)
    require_current_version(a, bench)
    name = metric or bench.primary_metric
    cmp = compare_sides(results, a, b, bench, split, name)
    n = int(bench.ground_truth().split_indices(split).size)
    warnings = noise_warnings(a, b)
    verdict = not warnings  # a single trainer run: its seed noise is missing, so no significance verdict
    if as_json:
        comparison = cmp.to_dict()
        if not verdict:
            comparison.update(verdict=None, p_value=None, prob_a_better=None)
        print_json({"a": {"id": a.label, "submission": a.submission, "runs": [r.run_id for r in a.runs]},
                    "b": {"id": b.label, "submission": b.submission, "runs": [r.run_id for r in b.runs]},
                    "benchmark": bench.name, "bench_version": bench.version,
                    "split": split, "n_archs": n, "comparison": comparison, "warnings": warnings,
                    "verdict_given": verdict, "note": SPLITS_NOTE})
        return
    console.print(comparison_table(cmp, a, b, split, n, bench.label, verdict=verdict))
    print_warnings(warnings)
    if not verdict:
        console.print("No significance verdict for a single trainer run: score each side as a seed group "
                      "(`nas-harness score DIR --seeds 5`) and compare the groups.", highlight=False)
    console.print(f"note: {SPLITS_NOTE}", highlight=False)


def export(
    store: StoreOpt = None,
    benchmark: Annotated[Optional[str], typer.Option(help="Only this benchmark.")] = None,
    split: Annotated[Optional[str], typer.Option(help="Only this split (dev or test); default: both, one row per run and split.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="CSV file (default stdout); with --tensorboard, the folder.")] = None,
    scalars: Annotated[Optional[str], typer.Option("--scalars", help="Instead: the ctx.log scalars of this run as CSV (run_id, step, name, value).")] = None,
    tensorboard: Annotated[bool, typer.Option("--tensorboard", help="With --scalars: write a TensorBoard event file into --out (a folder).")] = False,
) -> None:
    """Export runs with their metrics as CSV (both GT splits in one file, a ``split`` column), or one run's
    scalars (``--scalars RUN``) as CSV or a TensorBoard event file."""
    from harness.errors import UsageError
    from harness.submission.text import csv_cell

    results = open_store(store, must_exist=True)
    if tensorboard and scalars is None:
        raise UsageError("--tensorboard writes a run's scalars: give --scalars RUN and --out FOLDER")
    if scalars is not None:
        export_scalars(results, scalars, out, tensorboard)
        return
    splits = [split_choice(split)] if split is not None else ["dev", "test"]
    runs = results.list_runs(benchmark=benchmark)
    names = sorted({k for r in runs for sp in splits for k in r.metrics.get("splits", {}).get(sp, {}).get("metrics", {})})
    output_folder_exists(out)
    stream = open(out, "w", newline="") if out else sys.stdout  # noqa: SIM115
    try:
        writer = csv.writer(stream)
        writer.writerow(["run_id", "split", "benchmark", "bench_version", "submission", "kind", "status", "created", "gt_hash", "error", "group_id", "seed", "gt_only", *names, *(f"{n}_ci_low" for n in names), *(f"{n}_ci_high" for n in names)])
        for r in runs:
            for sp in splits:
                m = r.metrics.get("splits", {}).get(sp, {}).get("metrics", {})
                if r.status == "ok" and not m:
                    continue  # a split this run has no metrics for (a GT without it)
                writer.writerow([csv_cell(r.run_id), sp, csv_cell(r.benchmark), r.bench_version, *map(csv_cell, (r.submission, r.kind, r.status, r.created, r.gt_hash, r.error or "", r.group_id or "")), "" if r.seed is None else r.seed, int(r.gt_only), *(m.get(n, {}).get("value", "") for n in names), *(m.get(n, {}).get("ci_low", "") for n in names), *(m.get(n, {}).get("ci_high", "") for n in names)])
    finally:
        if out:
            stream.close()


def export_scalars(results: Any, run_id: str, out: Optional[Path], tensorboard: bool) -> None:
    """One run's ``ctx.log`` points as CSV (stdout or ``out``) or as a TensorBoard event file in folder ``out``."""
    from harness.errors import UsageError

    run = results.get_run(run_id)
    points = results.run_scalars(run.run_id)
    if tensorboard:
        from harness.store.tb_events import write_events

        if out is None:
            raise UsageError("--tensorboard needs --out FOLDER (the event file goes there)")
        if out.exists() and not out.is_dir():
            raise UsageError(f"--out {out} is a file; --tensorboard writes into a folder")
        path = write_events(out, points, run_id=run.run_id)
        console.print(f"{len(points)} scalar points of run {u(run.run_id)} written to {u(str(path))} "
                      f"(tensorboard --logdir {u(str(out))})", highlight=False)
        return
    output_folder_exists(out)
    stream = open(out, "w", newline="") if out else sys.stdout  # noqa: SIM115
    try:
        writer = csv.writer(stream)
        writer.writerow(["run_id", "step", "name", "value"])
        for step, name, value in points:
            writer.writerow([run.run_id, step, name, repr(value)])
    finally:
        if out:
            stream.close()
