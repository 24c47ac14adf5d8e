"""Rendering shared by the commands: the two consoles, number formatting, ``--json`` output and the tables of a
run's metrics, a seed group and a comparison.

Every participant string goes through :func:`u` (rich markup escaped) before it reaches a renderable.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.submission.text import rich_escape as u  # every participant string into a rich renderable

console = Console()
if not console.is_terminal and "COLUMNS" not in os.environ:
    console = Console(width=160)  # piped or logged: wide tables stay readable instead of folding at 80 columns
err_console = Console(stderr=True)


def fmt(value: Any, digits: int = 4) -> str:
    """A table cell: ``—`` for a missing value, floats to ``digits`` places."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def print_json(obj: Any) -> None:
    """One JSON object on stdout (the store's encoder: NaN and infinities become null)."""
    from harness.store.result_store import _dumps

    sys.stdout.write(_dumps(obj) + "\n")
    sys.stdout.flush()


def run_json(run: Any, split: str | None = None) -> dict[str, Any]:
    """A run as scripts get it: identity, status, group, timings and the metrics of the split(s) asked."""
    splits = run.metrics.get("splits", {}) or {}
    return {
        "run_id": run.run_id, "benchmark": run.benchmark, "bench_version": run.bench_version,
        "submission": run.submission, "kind": run.kind,
        "status": run.status, "error": run.error, "created": run.created, "finished": run.finished,
        "group_id": run.group_id, "seed": run.seed, "gt_only": run.gt_only,
        "single_trainer_run": run.is_single_trainer_run, "gt_hash": run.gt_hash, "timings": run.timings,
        "primary_metric": run.metrics.get("primary_metric"),
        "splits": {k: v for k, v in splits.items() if split is None or k == split},
    }


def render_payload(title: str, metrics: dict[str, Any], split: str) -> None:
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
            reference = f"near {fmt(nu, 3)}" if nu is not None else "n/a"
        else:
            reference = fmt(split_half.get(name))
        table.add_row(
            label,
            fmt(m.get("value")),
            f"[{fmt(m.get('ci_low'), 3)}, {fmt(m.get('ci_high'), 3)}]",
            fmt(base.get("value") if isinstance(base, dict) else base),
            reference,
        )
    console.print(table)
    best = best_tau_of(payload)
    if best is not None:
        ci = (payload.get("best_achievable") or {}).get("kendall_tau_ci")
        shown = f"{best:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
        console.print(f"expected Kendall τ of an oracle on this split (a perfect predictor of expected accuracy, scored "
                      f"against the GT seed mean; an estimate, not a ceiling): {shown}")


def render_report(run: Any, split: str) -> None:
    """A stored run's metric table with its GT-only and single-trainer-run notes."""
    what = f"{u(run.submission)} on {u(run.bench_label)}, run {u(run.run_id)}"
    render_payload(what, run.metrics, split)
    if run.gt_only:
        console.print("[yellow]GT archs only[/] (--gt-only): the rest of the arch set was not evaluated")
    if run.is_single_trainer_run:
        console.print("[yellow]single trainer run[/]: the CI is over archs only, training-seed variance is not in it "
                      "(score with --seeds 5 for a seed group)")


def group_table(summaries: list[Any], title: str) -> Table:
    """Seed groups (:class:`harness.verdicts.GroupSummary`): mean, interval over seeds and archs, per-run values."""
    table = Table(title=title)
    for col in ("submission", "group / run", "runs", "mean", "95% CI (seeds + archs)", "run-level SD", "per-run values"):
        table.add_column(col, overflow="fold")
    for g in summaries:
        iv = g.interval
        mark = "" if g.side.training_noise else " [yellow](single run: archs-only CI)[/]"
        table.add_row(u(g.side.submission), u(g.side.label) + mark, str(len(g.side.runs)), fmt(iv.value, 3),
                      f"[{fmt(iv.ci_low, 3)}, {fmt(iv.ci_high, 3)}]", fmt(g.sd, 3),
                      " ".join(f"{v:.3f}" for v in g.values))
    return table


def comparison_table(cmp: Any, a: Any, b: Any, split: str, n: int, bench_label: str | None = None,
                     verdict: bool = True) -> Table:
    """A − B (:class:`harness.verdicts.Comparison`) with its interval, p, power and verdict; ``bench_label``
    (``name vN``) names the benchmark version both sides are on. ``verdict=False`` (a side is a single trainer
    run): the difference and its arch-only interval, but no p-value and no verdict."""
    d = cmp.diff
    how = "paired by seed and on the same archs" if cmp.paired_by_seed else "on the same archs"
    where = f"{u(bench_label)}, " if bench_label else ""
    table = Table(title=f"{cmp.metric} on {where}the {split} split ({n} GT archs), {how}")
    for col in ("", "value"):
        table.add_column(col)
    table.add_row(f"A: {u(a.submission)} ({u(a.label)}, {len(a.runs)} run{'s' if len(a.runs) != 1 else ''})", fmt(cmp.value_a))
    table.add_row(f"B: {u(b.submission)} ({u(b.label)}, {len(b.runs)} run{'s' if len(b.runs) != 1 else ''})", fmt(cmp.value_b))
    table.add_row("Δ = A − B", f"{fmt(d.value)}  95% CI [{fmt(d.ci_low)}, {fmt(d.ci_high)}]")
    if not verdict:
        table.add_row("verdict", "[bold]none[/]: a single trainer run's CI lacks its training-seed noise")
        return table
    table.add_row("p-value (two-sided)", fmt(cmp.p_value, 4))
    table.add_row("P(A better)", fmt(cmp.prob_a_better, 3))
    table.add_row("smallest detectable |Δ|", f"{fmt(cmp.detectable)}  (80% power at the 5% level)")
    table.add_row("noise in the CI", f"seeds {fmt(math.sqrt(d.seed_var), 4)} SD + archs {fmt(math.sqrt(d.arch_var), 4)} SD")
    table.add_row("verdict", f"[bold]{cmp.verdict}[/]")
    return table


def noise_warnings(a: Any, b: Any) -> list[str]:
    """One line per side that is a single trainer run (its training-seed noise is not in the interval)."""
    from harness.verdicts import fix_command

    out = []
    for side in (a, b):
        if not side.training_noise and side.kind == "trainer":
            out.append(f"{u(side.submission)} ({u(side.label)}) is a single trainer run: training-seed noise is unaccounted for; "
                       f"score a seed group: {u(fix_command(side))}")
    return out


def print_warnings(warnings: list[str]) -> None:
    for w in warnings:
        console.print(f"[yellow]{w}[/]", highlight=False)
