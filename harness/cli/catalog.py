"""``nas-harness benchmarks``, ``archs`` and ``version``: what the harness offers."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from harness.version import __version__
from harness.cli.options import output_folder_exists
from harness.cli.render import console, err_console, fmt, u
from harness.errors import HarnessError, UnknownNameError


def benchmarks() -> None:
    """List the benchmarks with their version, space, data, arch-set size, GT size and split-half agreement."""
    from harness.benchmarks import list_benchmarks
    from harness.gt.summary import split_half_tau

    table = Table(title="Benchmarks")
    for col in ("name", "version", "space", "data", "arch set", "GT archs × seeds", "split-half τ", "primary"):
        table.add_column(col, no_wrap=col == "name", overflow="fold")
    for bench in list_benchmarks():
        size = bench.archset.get("size", "?")
        try:
            gt = bench.ground_truth()
            done = int(gt.complete.sum())
            gt_text = gt.layout_text + ("" if done == len(gt.archs) else f", {done} complete")
            ceiling = split_half_tau(gt)
            ceiling_text = fmt(ceiling, 3) if ceiling is not None else "unknown (1 seed)"
        except HarnessError as exc:
            gt_text, ceiling_text = f"[yellow]not available[/]: {u(exc)}", "—"
        table.add_row(bench.name, f"v{bench.version}", bench.space_name, bench.data.get("kind", "?"), str(size), gt_text, ceiling_text, bench.primary_metric)
    console.print(table)


def archs(
    benchmark: str,
    fmt_: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """Export a benchmark's public arch set (CSV or JSON), with #params and FLOPs."""
    from harness.benchmarks import get_benchmark

    if fmt_ not in ("csv", "json"):
        raise UnknownNameError(f"unknown format {fmt_!r}; use csv or json")
    bench = get_benchmark(benchmark)
    arch_list = bench.archs()
    space = bench.space
    output_folder_exists(out)
    stream = open(out, "w", newline="") if out else sys.stdout  # noqa: SIM115
    try:
        if fmt_ == "csv":
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


def version() -> None:
    """Print the harness version."""
    console.print(__version__)
