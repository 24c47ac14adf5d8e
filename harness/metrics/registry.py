"""The one list of metrics: :data:`METRICS` (name -> :class:`~harness.metrics._base.Metric`), and evaluation by name.

Every consumer — ``compute_metrics``, the bootstrap, ``compare``, the CLI tables and the app's columns — reads this
list; a metric is added by declaring it in the file named by what it computes and listing that file's ``METRICS``
here. :data:`LEADERBOARD_COLUMNS` are the metrics the leaderboards show by default.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from harness.errors import UnknownNameError
from harness.metrics import complexity, correlation, topk
from harness.metrics._arrays import ArrayLike, validate
from harness.metrics._base import Metric, Prepared, Resample, point_value

METRICS: dict[str, Metric] = {m.name: m for m in (*correlation.METRICS, *topk.METRICS, *complexity.METRICS)}
"""All metrics by name, in display order."""

MetricSpec = Metric  # the former name of the declaration

LEADERBOARD_COLUMNS: tuple[str, ...] = ("kendall_tau", "spearman", "pearson", "p_at_top_5", "p_at_top_10", "top1_regret")
"""Default leaderboard columns (the CLI's table and the app's default selection)."""

HEADLINE: tuple[str, ...] = (*LEADERBOARD_COLUMNS, "sparse_kendall_tau", "complexity_bias", "ratio_params_tau")
"""The metrics a side-by-side comparison shows."""


def resolve_names(names: Iterable[str] | str | None) -> list[str]:
    """``names`` as a list of known metric names (all of them when None); UnknownNameError otherwise."""
    if names is None:
        return list(METRICS)
    if isinstance(names, str):
        names = [names]
    out = list(dict.fromkeys(names))
    unknown = [n for n in out if n not in METRICS]
    if unknown:
        raise UnknownNameError(f"unknown metric(s) {', '.join(map(repr, unknown))}; known: {', '.join(METRICS)}")
    return out


def needs_params(names: Iterable[str]) -> bool:
    return any(METRICS[n].needs_params for n in names)


def prepare(pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None, names: Sequence[str]) -> Prepared:
    p, t, c = validate(pred, truth, params, need_params=needs_params(names))
    return Prepared(p, t, c)


def point_values(prep: Prepared, names: Sequence[str]) -> dict[str, float]:
    """Point value of each metric in ``names`` on the arrays of ``prep``."""
    kernels = [k for name in names if METRICS[name].point is None for k in METRICS[name].pair_kernels]
    ctx = Resample(prep, np.ones((1, prep.n)), kernels)  # one shared context: tie groups built once
    return {name: point_value(METRICS[name], prep, ctx) for name in names}


def compute_metrics(
    pred: ArrayLike, truth: ArrayLike, params: ArrayLike | None = None, names: Iterable[str] | str | None = None
) -> dict[str, float]:
    """The metrics ``names`` (default: all of :data:`METRICS`, in that order) of ``pred`` against ``truth``.

    ``params`` may be None when no complexity metric is asked for. Raises ValueError on bad arrays (see
    :func:`harness.metrics._arrays.validate`) and :class:`~harness.errors.UnknownNameError` on unknown names.
    """
    names = resolve_names(names)
    return point_values(prepare(pred, truth, params, names), names)


def neutral_values(truth: ArrayLike, params: ArrayLike | None, names: Iterable[str] | str | None = None) -> dict[str, float | None]:
    """Each metric's neutral point on this GT: fixed numbers as declared, per-GT references (CB) computed; else None."""
    names = resolve_names(names)
    return {m: METRICS[m].neutral_value(truth, params) for m in names}


def params_baseline(params: ArrayLike, truth: ArrayLike, names: Iterable[str] | str | None = None) -> dict[str, float]:
    """Metrics of the #params proxy: ``compute_metrics(pred=params, truth, params, names)``.

    The reference every submission should beat: "bigger is better". Its complexity bias is 0 by construction
    (it never ranks a larger arch lower).
    """
    return compute_metrics(np.asarray(params, dtype=np.float64), truth, params, names)
