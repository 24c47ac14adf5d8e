"""Proxy baselines of a benchmark, computed once per benchmark version and cached in the results store.

Why cached in the store: a board shows the free baselines (#params, synflow, ...) beside every submission, and a
proxy over a benchmark's GT archs costs minutes to hours of CPU; it depends only on (benchmark version, proxy,
batch size, seed), so it is computed once and read from
``<store>/proxy_baselines/<benchmark>-v<version>/<proxy>-b<batch>-s<seed>.csv`` ever after (the resumable values
file of :mod:`harness.proxies.compute`: an interrupted computation continues where it stopped).

Which proxies a host shows is configuration, not code: ``$NAS_HARNESS_PROXY_BASELINES`` (comma-separated names;
default :data:`DEFAULT_BASELINES`; empty: none). Status "baseline" comes from here (the host), never from a
manifest.

API (for boards and scripts):

* :func:`configured_baselines` — the host's list;
* :func:`cached_gt_values` — one proxy's values on the GT archs (computing and caching them the first time);
* :func:`reference_rows` — one row per configured proxy with its metrics on a GT split, ready for a board.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.progress import ProgressArg
from harness.proxies.batch import DEFAULT_BATCH, data_free_batch, training_batch
from harness.proxies.compute import ValuesFile, compute_values, ranked_scores
from harness.proxies.registry import get_proxy

if TYPE_CHECKING:
    from harness.benchmarks.spec import Benchmark

BASELINES_ENV = "NAS_HARNESS_PROXY_BASELINES"
DEFAULT_BASELINES = ("params", "synflow")
CACHE_DIR = "proxy_baselines"


def configured_baselines(value: str | None = None) -> list[str]:
    """The proxies a host shows as baselines (validated: an unknown name fails loudly)."""
    raw = os.environ.get(BASELINES_ENV) if value is None else value
    names = list(DEFAULT_BASELINES) if raw is None else [n.strip() for n in raw.split(",") if n.strip()]
    return [get_proxy(n).name for n in dict.fromkeys(names)]


def cache_path(store_root: Path, bench: Benchmark, name: str, batch: int, seed: int) -> Path:
    proxy = get_proxy(name)
    size = batch if proxy.needs_data else 0
    version = getattr(bench, "version", 1)  # a plugin benchmark object may predate versions
    return Path(store_root) / CACHE_DIR / f"{bench.name}-v{version}" / f"{proxy.name}-b{size}-s{seed}.csv"


def cached_gt_values(store_root: Path, bench: Benchmark, name: str, *, batch: int = DEFAULT_BATCH, seed: int = 0,
                     progress: ProgressArg = None, compute: bool = True, workers: int = 1) -> np.ndarray | None:
    """Proxy ``name`` on ``bench``'s GT archs, in GT order (NaN where undefined); computed once, then read.

    ``compute=False`` only reads: None unless the cache holds every GT arch (what a page rendering a board wants:
    never hours of CPU on a request; a host fills the cache beforehand with ``compute=True``).
    """
    proxy = get_proxy(name)
    gt = bench.ground_truth()
    path = cache_path(store_root, bench, name, batch, seed)
    if not compute:
        if not path.is_file():
            return None
        rows = _read_any(path)
        if any(a not in rows for a in gt.archs):
            return None
        return np.asarray([rows[a] for a in gt.archs], dtype=np.float64)
    data = training_batch(bench, batch, seed) if proxy.needs_data else data_free_batch(bench)
    config = {"benchmark": bench.label, "seed": seed, "archs": "gt", **data.record()}
    return compute_values([proxy], bench.space, list(gt.archs), data, seed, workers=workers,
                          values_file=ValuesFile(path, [proxy.name], config), progress=progress)[:, 0]


def _read_any(path: Path) -> dict[str, float]:
    """arch -> value of a cache file, whatever settings wrote it (its name already fixes benchmark, batch, seed)."""
    import json

    from harness.proxies.compute import HEADER

    first = path.read_text().split("\n", 1)[0]
    config = json.loads(first[len(HEADER):]) if first.startswith(HEADER) else {}
    names = config.get("proxies") or []
    return {a: v[0] for a, v in ValuesFile(path, names, {k: v for k, v in config.items() if k != "proxies"}).read().items()}


def cached_split_scores(store_root: Path, bench: Benchmark, split: str, names: list[str] | None = None, *,
                        batch: int = DEFAULT_BATCH, seed: int = 0, progress: ProgressArg = None,
                        compute: bool = True, board: bool = False) -> list[tuple[Any, np.ndarray]]:
    """``(proxy, scores)`` per baseline proxy on ``split``'s GT archs: scores where higher is better, undefined values
    ranked last (:func:`ranked_scores`). With ``compute=False`` a proxy whose cache is not complete is left out.
    ``board``: for a board, which has its own #params row: the ``params`` proxy is left out."""
    gt = bench.ground_truth()
    idx = gt.split_indices(split)
    out = []
    for name in configured_baselines() if names is None else names:
        proxy = get_proxy(name)
        if board and proxy.name == "params":
            continue
        values = cached_gt_values(store_root, bench, name, batch=batch, seed=seed, progress=progress, compute=compute)
        if values is not None:
            out.append((proxy, ranked_scores(values[idx], proxy.direction)[0]))
    return out


def reference_rows(store_root: Path, bench: Benchmark, split: str = "dev", names: list[str] | None = None, *,
                   metrics: tuple[str, ...] = ("kendall_tau", "spearman"), batch: int = DEFAULT_BATCH, seed: int = 0,
                   progress: ProgressArg = None, compute: bool = True, board: bool = False) -> list[dict[str, Any]]:
    """One reference row per baseline proxy: ``{"name", "title", "reference", "data", "n_archs", "metrics"}``.

    Metrics are those of the proxy's scores (``direction * value``, undefined ones ranked last) against the GT's
    seed means on ``split``, as a submission's are (pass a board's own metric names, e.g. its ``ROW_METRICS``).
    With ``compute=False`` a proxy whose cache is not complete is left out instead of computed; ``board``: as in
    :func:`cached_split_scores`.
    """
    from harness.metrics import compute_metrics

    gt = bench.ground_truth()
    idx = gt.split_indices(split)
    rows = []
    for proxy, scores in cached_split_scores(store_root, bench, split, names, batch=batch, seed=seed,
                                             progress=progress, compute=compute, board=board):
        values_on = compute_metrics(scores, gt.seed_mean[idx], np.asarray(gt.params)[idx], list(metrics))
        rows.append({"name": proxy.name, "title": proxy.title, "reference": proxy.reference,
                     "data": proxy.data_label, "n_archs": int(len(idx)), "metrics": values_on})
    return rows
