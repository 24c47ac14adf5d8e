"""A challenge board as a verdict: each row's ranking metric with its 95 % CI, the host's baseline rows in place,
and which entries are statistically tied with the leader.

Why a layer over :func:`harness.challenge.views.leaderboard`: the views decide *what* a participant may see (one
entry per team by the ranking rule, nothing of a hidden phase before its reveal); this module only adds the
numbers that make the ranking readable as evidence, from the very runs those rows name. Every challenge board
(CLI ``leaderboard`` and its ``--json``, the app's My submissions, the host's CSV export) is built here.

The numbers. All rows' predictions on the phase's GT split are resampled on the *same* arch bootstrap
(:func:`harness.verdicts.groups.metric_replicates`): a row's CI is its arch-level t interval
(:func:`harness.verdicts.stats.group_interval`; one upload is one training run, so the interval holds no
training-seed variance, and the board says so), and the rows are compared pairwise on those shared resamples
(:func:`harness.verdicts.stats.compare_groups`, paired on archs). Whether a row differs from the leader is decided
for the whole board at once by :func:`tied_with_leader` (Holm over all pairs of rows), the one seam for the
multiple-comparison rule.

Baseline rows: the #params proxy (the GT archs' parameter counts as scores), the zero-cost proxies the host cached
for the benchmark (``nas-harness baselines``), and every run the host marked as a baseline in the challenge's store
(``is_baseline``: a host-scored reference, never a team's upload), placed where their value falls, without a rank.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.challenge import views
from harness.challenge.config import PUBLIC_SPLIT

if TYPE_CHECKING:
    from harness.challenge.host import Host

LEVEL = 0.95
BOARD_BOOT = 400  # arch resamples per board (a ranking display, not a gate: as `nas-harness leaderboard` rows)
PARAMS_BASELINE = "#params baseline"


def tied_with_leader(points: np.ndarray, reps: np.ndarray, metric: str, higher_is_better: bool, *, n_archs: int,
                     leader: int = 0, level: float = LEVEL) -> list[bool]:
    """Which rows are not shown different from row ``leader``, family-wise at ``1 - level`` over the whole board.

    ``points`` (k,) are the rows' metric values and ``reps`` (B, k) their values on arch resamples shared by all
    rows. The rule is the leaderboard's (:func:`harness.verdicts.family.family_verdicts`: Holm over all pairs of
    rows, paired on the shared arch resamples); the leader itself is tied.
    """
    from harness.verdicts.family import Evidence, family_verdicts

    k = int(np.asarray(points).size)
    rows = [Evidence(str(i), np.asarray(points[i:i + 1], dtype=np.float64), np.asarray(reps[:, i:i + 1]))
            for i in range(k)]
    result = family_verdicts(rows, metric, higher_is_better, level=level, n_archs=n_archs, leader=str(leader))
    return [bool(result.rows[str(i)].tied_with_leader) for i in range(k)]


def _direction(metric: str) -> bool:
    from harness.metrics import METRICS

    spec = METRICS.get(metric)
    return True if spec is None or spec.higher_is_better is None else bool(spec.higher_is_better)


def _host_baselines(host: Host, version: int | None) -> list[Any]:
    """Completed runs the host marked as baselines in the challenge's store (never a team's job)."""
    jobs = {j.run_id for j in host.queue.jobs(host.name) if j.run_id}
    return [r for r in host.store.list_runs(status="ok")
            if r.is_baseline and r.run_id not in jobs and r.benchmark == host.challenge.benchmark
            and (version is None or r.bench_version == version)]


def challenge_board(host: Host, phase_name: str, *, host_view: bool = False) -> list[dict[str, Any]]:
    """The board of a phase: entries (as :func:`views.leaderboard` picks and ranks them) with ``metric``,
    ``split``, ``value``, ``ci`` [low, high], ``tied_with_leader``, and the baseline rows in place.

    ``[]`` when the viewer may not see the phase's ranking (a hidden phase before its reveal) or it has no entry.
    """
    from harness.benchmarks import get_benchmark
    from harness.verdicts.groups import metric_replicates
    from harness.verdicts.stats import group_interval

    entries = views.leaderboard(host, phase_name, host_view=host_view)
    if not entries:
        return []
    phase = host.challenge.phase(phase_name)
    split = phase.split
    bench = get_benchmark(host.challenge.benchmark)
    metric = bench.primary_metric
    hib = _direction(metric)
    gt = bench.ground_truth()
    idx = gt.split_indices(split)
    truth, params = gt.mean_acc[idx], gt.params[idx]

    runs = [host.store.get_run(host.queue.get_job(e["submission"]).run_id) for e in entries]
    baselines = _host_baselines(host, bench.version)
    labelled: list[tuple[dict[str, Any], Any]] = [({**e, "type": "entry"}, r) for e, r in zip(entries, runs)]
    labelled += [({"rank": None, "team": r.submission, "type": "baseline", "submission": r.run_id, "kind": r.kind}, r)
                 for r in baselines]
    preds = [_split_preds(host, r, gt, split) for _, r in labelled]
    preds.append(np.asarray(params, dtype=np.float64))
    labelled.append(({"rank": None, "team": PARAMS_BASELINE, "type": "baseline", "submission": None, "kind": "proxy"}, None))
    for proxy, scores in _proxy_baselines(host, bench, split):
        preds.append(scores)
        labelled.append(({"rank": None, "team": f"{proxy.title} (zero-cost proxy)", "type": "baseline", "submission": None,
                          "kind": "proxy"}, None))

    points, reps = metric_replicates(preds, truth, params, metric, n_boot=BOARD_BOOT, seed=host.challenge.scoring.seed)
    n = int(idx.size)
    tied = tied_with_leader(points, reps, metric, hib, n_archs=n, leader=0)  # row 0: the rank-1 entry

    rows = []
    for k, (row, _run) in enumerate(labelled):
        iv = group_interval(points[k:k + 1], reps[:, k:k + 1], LEVEL, n_archs=n)
        rows.append({**row, "metric": metric, "split": split, "value": _num(iv.value),
                     "ci": [_num(iv.ci_low), _num(iv.ci_high)], "tied_with_leader": bool(tied[k])})
    keys = list(dict.fromkeys(k for r in rows for k in r))  # one column set for every row (tables, CSV)
    rows = [{k: r.get(k) for k in keys} for r in rows]
    entries_out = [r for r in rows if r["type"] == "entry"]
    for b in (r for r in rows if r["type"] == "baseline"):
        _insert_in_place(entries_out, b, hib)
    return entries_out


def _proxy_baselines(host: Host, bench: Any, split: str) -> list[tuple[Any, np.ndarray]]:
    """The zero-cost proxy baselines the host cached for this benchmark version (``nas-harness baselines BENCH
    --store CHALLENGE/store``; which ones: ``$NAS_HARNESS_PROXY_BASELINES``), #params aside (its row is always there).
    A board only reads the cache: it never computes a proxy on a request."""
    from harness.errors import HarnessError
    from harness.proxies.baselines import cached_split_scores

    try:
        return cached_split_scores(host.store.root, bench, split, compute=False, board=True)
    except HarnessError:
        return []


def _split_preds(host: Host, run: Any, gt: Any, split: str) -> np.ndarray:
    from harness.scoring import split_predictions

    archs, scores = host.store.load_predictions(run.run_id)
    return split_predictions(list(archs), np.asarray(scores), gt, split)


def _insert_in_place(rows: list[dict[str, Any]], row: dict[str, Any], higher_is_better: bool) -> None:
    """Put a baseline row before the first row it beats (ranked rows keep their order and ranks)."""
    v = row["value"]
    for i, r in enumerate(rows):
        if v is not None and r["value"] is not None and (v > r["value"] if higher_is_better else v < r["value"]):
            rows.insert(i, row)
            return
    rows.append(row)


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


def table_rows(board: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The board flat, for CSV (the export, the app's download): the CI as ``ci_low``/``ci_high``, every field kept."""
    out = []
    for r in board:
        row = {k: v for k, v in r.items() if k not in ("ci", "tied_with_leader")}
        row["ci_low"], row["ci_high"] = r["ci"]
        row["tied_with_leader"] = "yes" if r["tied_with_leader"] else "no"
        out.append(row)
    return out


def display_rows(board: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The board for a screen (CLI table, app): metric and split go to :func:`title_note`, the value and its CI in
    one column each, baseline rows without a rank."""
    out = []
    for r in board:
        metric = r["metric"]
        row: dict[str, Any] = {"rank": r["rank"], "team": r["team"], "submission": r["submission"], "kind": r["kind"],
                               "submissions": r.get("submissions")}
        if r["split"] != PUBLIC_SPLIT:
            row[f"{PUBLIC_SPLIT} score"] = r.get(f"{PUBLIC_SPLIT} score")
        low, high = r["ci"]
        row[metric] = r["value"]
        row["95% CI"] = "—" if low is None or high is None else f"[{low:.3f}, {high:.3f}]"
        row["tied_with_leader"] = "yes" if r["tied_with_leader"] else "no"
        out.append(row)
    return out


def title_note(board: list[dict[str, Any]]) -> str:
    """One line under a board: what the numbers are."""
    if not board:
        return ""
    r = board[0]
    return (f"ranked by {r['metric']} on the {r['split']} split; 95 % CI over the GT archs (one training run per entry:"
            f" no seed variance); tied_with_leader: not shown different from rank 1 (Holm over all pairs of rows, family-wise 5 %)")
