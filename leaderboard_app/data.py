"""Everything the pages read: the store (read-only), benchmarks and their GT, per-arch frames, cached.

Why one module: the public view's promise — nothing of the hidden test split reaches a participant — is kept
here and only here. Every function that returns results takes the :class:`AppContext`; run records are cut down
to the splits the mode may show before any page sees them, and per-arch GT values are only ever produced for a
split that :func:`require_split` allows. Pages never touch the GT object or the store themselves.

Caching: loaders are ``st.cache_data`` functions keyed by the store's fingerprint (run count, last change), so a
run that lands is picked up on the next rerun while an unchanged store costs one tiny query.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from harness.errors import HarnessError, StoreError, one_line
from harness.store import ResultStore, RunRecord
from harness.store.liveness import host_name, pid_alive
from leaderboard_app.settings import AppContext

MAX_CURVE_POINTS = 80


class HiddenSplitError(HarnessError):
    """A page asked for results of a GT split that the current mode does not show."""

    exit_code = 2


def require_split(ctx: AppContext, split: str) -> None:
    """The single gate for split access: public mode shows only the dev split."""
    if split not in ctx.splits:
        raise HiddenSplitError(f"the {split!r} split is hidden in the public view")


# ------------------------------------------------------------------------------------------ benchmarks
def get_benchmark(name: str) -> Any:
    """The benchmark object (name, description, primary_metric, archs(), ground_truth()) for ``name``.

    The one place the app looks a benchmark up, so tests can substitute a synthetic one.
    """
    from harness.benchmarks import get_benchmark as lookup

    return lookup(name)


@dataclass(frozen=True)
class BenchInfo:
    """What pages show about a benchmark; ``error`` says why the GT (or the benchmark) is unavailable."""

    name: str
    description: str = ""
    primary_metric: str | None = None
    gt_hash: str | None = None
    gt_sizes: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    version: int | None = None  # the spec's version now (None: the benchmark could not be read)


@st.cache_data(ttl=15, max_entries=64, show_spinner=False)
def _bench_info(name: str) -> BenchInfo:
    try:
        bench = get_benchmark(name)
    except Exception as exc:  # noqa: BLE001  (unknown name, bad spec: shown as a note, not a traceback)
        return BenchInfo(name=name, error=one_line(exc) or type(exc).__name__)
    info = {"name": name, "description": str(getattr(bench, "description", "") or ""), "primary_metric": getattr(bench, "primary_metric", None),
            "version": int(getattr(bench, "version", 1))}
    try:
        gt = bench.ground_truth()
        sizes = {s: int(gt.split_indices(s).size) for s in ("dev", "test") if s in gt.splits}
        return BenchInfo(**info, gt_hash=gt.content_hash, gt_sizes=sizes)
    except Exception as exc:  # noqa: BLE001
        return BenchInfo(**info, error=one_line(exc) or type(exc).__name__)


def bench_info(ctx: AppContext, name: str) -> BenchInfo:
    """Benchmark description, primary metric and current GT hash; GT sizes only of visible splits."""
    info = _bench_info(name)
    return BenchInfo(info.name, info.description, info.primary_metric, info.gt_hash,
                     {k: v for k, v in info.gt_sizes.items() if k in ctx.splits}, info.error, info.version)


# ------------------------------------------------------------------------------------------ the store
@dataclass(frozen=True)
class StoreState:
    """``kind``: "missing" (no store yet), "error" (unreadable) or "ok"; ``fingerprint`` keys the caches."""

    kind: str
    message: str = ""
    fingerprint: tuple[int, int] = (0, 0)


def open_store(root: Path) -> ResultStore:
    """The store, read-only (``mode=ro``): the app can never write or damage results."""
    return ResultStore(root, read_only=True)


def store_state(ctx: AppContext) -> StoreState:
    if not ResultStore.exists(ctx.store):
        return StoreState("missing", f"No results store at {ctx.store} yet.")
    try:
        return StoreState("ok", fingerprint=open_store(ctx.store).fingerprint())
    except (StoreError, OSError) as exc:
        return StoreState("error", one_line(exc) or type(exc).__name__)


@st.cache_data(max_entries=16, show_spinner=False)
def _load_runs(root: str, fingerprint: tuple[int, int]) -> list[RunRecord]:  # noqa: ARG001  (cache key)
    return open_store(Path(root)).list_runs()


def runs(ctx: AppContext, state: StoreState) -> list[RunRecord]:
    """All runs, earliest first, each cut down to the splits ``ctx`` may show."""
    if state.kind != "ok":
        return []
    return [r.without_splits(ctx.splits) for r in _load_runs(str(ctx.store), state.fingerprint)]


def display_status(run: RunRecord) -> str:
    """The status to show: a "running" run of this machine whose process is gone shows as "interrupted"."""
    if run.status == "running" and run.host == host_name() and not pid_alive(run.pid):
        return "interrupted"
    return run.status


# ------------------------------------------------------------------------------------------ per-arch data
@st.cache_data(max_entries=64, show_spinner=False)
def _arch_frame(root: str, run_id: str, predictions_hash: str, benchmark: str, gt_hash: str, split: str) -> pd.DataFrame:  # noqa: ARG001
    from harness.gt.align import split_scores

    archs, scores = open_store(Path(root)).load_predictions(run_id)
    gt = get_benchmark(benchmark).ground_truth()
    idx = gt.split_indices(split)
    try:  # the alignment `nas-harness compare` uses: by arch string, full and GT-only runs alike
        split_score = split_scores(archs, scores, gt, split)
    except HarnessError:
        raise StoreError(f"run {run_id} was scored on another arch set than the current {benchmark} GT; rescore it") from None
    frame = pd.DataFrame(
        {
            "arch": [gt.archs[i] for i in idx],
            "score": split_score,
            "gt_acc": gt.mean_acc[idx],
            "params": np.asarray(gt.params)[idx],
        }
    )
    frame["score_rank"] = frame["score"].rank(ascending=False, method="average")
    frame["gt_rank"] = frame["gt_acc"].rank(ascending=False, method="average")
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["ratio"] = np.where(frame["gt_acc"] > 0, frame["score"] / frame["gt_acc"], np.nan)
    return frame


def _gt_key(ctx: AppContext, run: RunRecord, split: str) -> tuple[str, str, str, str, str, str]:
    require_split(ctx, split)
    if run.status != "ok":
        raise StoreError(f"run {run.run_id} has status {run.status}; it has no predictions")
    info = _bench_info(run.benchmark)
    if info.error or not info.gt_hash:
        raise StoreError(f"no ground truth for {run.benchmark}: {info.error or 'unknown'}")
    return (str(ctx.store), run.run_id, run.predictions_hash or "", run.benchmark, info.gt_hash, split)


def arch_frame(ctx: AppContext, run: RunRecord, split: str) -> pd.DataFrame:
    """One row per GT arch of ``split``: arch, score, seed-mean GT accuracy, #params, both ranks, score/GT ratio."""
    return _arch_frame(*_gt_key(ctx, run, split))


@st.cache_data(max_entries=64, show_spinner=False)
def _regret_frame(key: tuple[str, ...]) -> pd.DataFrame:
    from harness.metrics import random_search_expectation, topk_regret_curve

    frame = _arch_frame(*key)
    n = len(frame)
    ks = np.unique(np.round(np.geomspace(1, n, min(n, MAX_CURVE_POINTS))).astype(np.int64))
    truth = frame["gt_acc"].to_numpy()
    best = float(truth.max())
    predicted = topk_regret_curve(frame["score"].to_numpy(), truth, ks)
    random = random_search_expectation(truth, ks)
    rows = [("predicted top-k", predicted), ("random search (expected)", random), ("best in split", np.full(ks.size, best))]
    return pd.concat([pd.DataFrame({"k": ks, "best GT accuracy": v, "curve": name}) for name, v in rows], ignore_index=True)


def regret_frame(ctx: AppContext, run: RunRecord, split: str) -> pd.DataFrame:
    """Best GT accuracy among the predicted top-k as k grows, with the random-search expectation (long format)."""
    return _regret_frame(_gt_key(ctx, run, split))


@st.cache_data(max_entries=64, show_spinner=False)
def _paired(key_a: tuple[str, ...], key_b: tuple[str, ...], metric: str, n_boot: int) -> dict[str, Any]:
    from harness.metrics import paired_bootstrap

    fa, fb = _arch_frame(*key_a), _arch_frame(*key_b)
    return paired_bootstrap(fa["score"].to_numpy(), fb["score"].to_numpy(), fa["gt_acc"].to_numpy(), fa["params"].to_numpy(), metric, n_boot=n_boot, seed=0)


def paired_comparison(ctx: AppContext, run_a: RunRecord, run_b: RunRecord, split: str, metric: str, n_boot: int = 2000) -> dict[str, Any]:
    """Paired bootstrap of ``metric`` between two runs on the same GT archs of ``split`` (harness.metrics).

    Both runs must be of one benchmark version, the current one (the per-arch frames use the current GT):
    :class:`~harness.errors.BenchmarkVersionError` otherwise, shown by the page as one line.
    """
    from harness.errors import BenchmarkVersionError

    if run_a.benchmark != run_b.benchmark:
        raise StoreError(f"runs are on different benchmarks ({run_a.benchmark} vs {run_b.benchmark})")
    if run_a.bench_version != run_b.bench_version:
        raise BenchmarkVersionError(f"run {run_a.run_id} is on {run_a.bench_label} and run {run_b.run_id} on "
                                    f"{run_b.version_label}: runs of different benchmark versions are never compared")
    current = _bench_info(run_a.benchmark).version
    if current is not None and run_a.bench_version != current:
        raise BenchmarkVersionError(f"runs {run_a.run_id} and {run_b.run_id} are on {run_a.bench_label} and the "
                                    f"benchmark is now v{current}: only runs of v{current} are compared on the current GT")
    result = _paired(_gt_key(ctx, run_a, split), _gt_key(ctx, run_b, split), metric, n_boot)
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in result.items()}


# ------------------------------------------------------------------------------------------ seed groups
GROUP_BOOT = 400


@st.cache_data(max_entries=64, show_spinner=False)
def _group_rows(root: str, fingerprint: tuple[int, int], benchmark: str, split: str, metric: str,  # noqa: ARG001
                version: int | None) -> list[dict[str, Any]]:
    from harness.verdicts import group_board, resolve, stored_summary

    store = open_store(Path(root))
    try:  # a retired benchmark or an unavailable GT: no group rows (the page says why elsewhere)
        bench = get_benchmark(benchmark)
        version = int(getattr(bench, "version", 1)) if version is None else version
        groups = sorted(store.groups(benchmark, version=version))
        if version != int(getattr(bench, "version", 1)):  # an older version: its stored values, not recomputed
            return [{**stored_summary(resolve(store, gid), split, metric).to_dict(), "version": version} for gid in groups]
        return group_board(store, bench, split, metric, [resolve(store, gid) for gid in groups], n_boot=GROUP_BOOT)
    except HarnessError:
        return []


def group_rows(ctx: AppContext, state: StoreState, benchmark: str, split: str, metric: str,
               version: int | None = None) -> list[dict[str, Any]]:
    """Each seed group of one version of ``benchmark`` (default: its current one): mean of its runs and a CI over
    training seeds and GT archs (harness.verdicts); an older version's groups from their stored values."""
    require_split(ctx, split)
    if state.kind != "ok":
        return []
    return _group_rows(str(ctx.store), state.fingerprint, benchmark, split, metric, version)


@st.cache_data(max_entries=64, show_spinner=False)
def _group_comparison(root: str, fingerprint: tuple[int, int], benchmark: str, a: str, b: str, split: str, metric: str) -> dict[str, Any]:  # noqa: ARG001
    from harness.verdicts import compare_sides, resolve

    store = open_store(Path(root))
    return compare_sides(store, resolve(store, a), resolve(store, b), get_benchmark(benchmark), split, metric).to_dict()


def group_comparison(ctx: AppContext, state: StoreState, benchmark: str, a: str, b: str, split: str, metric: str) -> dict[str, Any]:
    """A − B of two seed groups (or runs) with both noises: Δ, CI, p, P(A better), smallest detectable Δ."""
    require_split(ctx, split)
    if state.kind != "ok":
        raise StoreError("no results store")
    return _group_comparison(str(ctx.store), state.fingerprint, benchmark, a, b, split, metric)


def predictions_csv(ctx: AppContext, run: RunRecord) -> bytes:
    """All of a run's predictions (every arch of the arch set) as CSV: host view only.

    Why not public: it names every arch, hidden ones included, next to another team's scores.
    """
    require_split(ctx, "test")
    archs, scores = open_store(ctx.store).load_predictions(run.run_id)
    from harness.submission.text import csv_cell

    return pd.DataFrame({"arch": [csv_cell(a) for a in archs], "score": scores}).to_csv(index=False).encode()


# ------------------------------------------------------------------------------------------ proxy baselines
@st.cache_data(max_entries=64, show_spinner=False)
def _proxy_rows(root: str, benchmark: str, split: str, metrics: tuple[str, ...]) -> list[dict[str, Any]]:
    from harness.proxies.baselines import reference_rows

    try:
        return reference_rows(Path(root), get_benchmark(benchmark), split, metrics=metrics, compute=False, board=True)
    except HarnessError:
        return []


def proxy_rows(ctx: AppContext, benchmark: str, split: str, metrics: Sequence[str]) -> list[dict[str, Any]]:
    """The benchmark's zero-cost proxy baselines on ``split`` as cached in the store (``nas-harness baselines``
    fills the cache; a page never computes a proxy)."""
    require_split(ctx, split)
    return _proxy_rows(str(ctx.store), benchmark, split, tuple(metrics))
