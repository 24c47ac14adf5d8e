"""``nas-harness proxy NAME BENCHMARK -o DIR``: a zero-cost proxy written as a predictions submission folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.options import StoreOpt, open_store
from harness.cli.progress_view import counted_bar
from harness.cli.render import console, err_console, fmt, u


def proxy(
    name: Annotated[str, typer.Argument(help="Proxy: synflow, grad_norm, snip, grasp, fisher, jacob_cov, nwot, params, flops.")],
    benchmark: Annotated[str, typer.Argument(help="Benchmark name (see `nas-harness benchmarks`).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Submission folder to write (resumed if it holds a partial run).")],
    archs: Annotated[str, typer.Option("--archs", help="all: the whole arch set; gt: the GT archs only (the rest get the floor score).")] = "all",
    batch: Annotated[int, typer.Option("--batch", help="Training images in the proxy's batch (data-free proxies ignore it).")] = 64,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the networks' initialisation and of the batch draw.")] = 0,
    workers: Annotated[int, typer.Option("--workers", help="Processes (one torch thread each); the values do not depend on it.")] = 1,
) -> None:
    """Score every arch with a zero-cost proxy at initialisation and write a predictions folder for `score`."""
    from harness.benchmarks import get_benchmark
    from harness.proxies import get_proxy
    from harness.proxies.predictions import write_proxy_submission

    p = get_proxy(name)
    bench = get_benchmark(benchmark)
    with counted_bar(err_console, f"{p.name} on {bench.name}") as progress:
        done = write_proxy_submission(p.name, bench, out, scope=archs, batch_size=batch, seed=seed, progress=progress,
                                      workers=workers)
    extra = f", {done.n_undefined} undefined (ranked last)" if done.n_undefined else ""
    console.print(f"[green]wrote {u(str(done.folder))}[/]: {p.name} on {done.n_computed} of {done.n_archs} archs{extra}; "
                  f"score it with: nas-harness score {u(str(done.folder))}")


def baselines(
    benchmark: Annotated[str, typer.Argument(help="Benchmark name (see `nas-harness benchmarks`).")],
    store: StoreOpt = None,
    proxies: Annotated[str | None, typer.Option("--proxies", help="Comma-separated proxies (default: $NAS_HARNESS_PROXY_BASELINES, else params,synflow).")] = None,
    batch: Annotated[int, typer.Option("--batch", help="Training images in a data proxy's batch.")] = 64,
    workers: Annotated[int, typer.Option("--workers", help="Processes (one torch thread each); the values do not depend on it.")] = 1,
) -> None:
    """Compute the benchmark's zero-cost proxy baselines once (GT archs, cached in the store) for every board.

    Boards (``leaderboard``, the app, challenge boards) only read this cache, never compute on a request: a host
    runs this once per benchmark version, resumable.
    """
    from harness.benchmarks import get_benchmark
    from harness.proxies.baselines import cached_gt_values, configured_baselines, reference_rows

    bench = get_benchmark(benchmark)
    names = configured_baselines(proxies)
    results = open_store(store)
    for name in names:
        with counted_bar(err_console, f"{name} on {bench.name} (GT archs)") as progress:
            cached_gt_values(results.root, bench, name, batch=batch, progress=progress, workers=workers)
    for split in ("dev", "test"):
        for row in reference_rows(results.root, bench, split, names, metrics=(bench.primary_metric,), batch=batch,
                                  compute=False):
            console.print(f"{split}: {u(row['title'])} {bench.primary_metric} {fmt(row['metrics'].get(bench.primary_metric), 3)}"
                          f" on {row['n_archs']} GT archs", highlight=False)
