"""Altair charts of one run against the GT (altair ships with Streamlit: no extra dependency).

Each function takes the per-arch frame from :func:`leaderboard_app.data.arch_frame` (columns arch, score,
gt_acc, params, score_rank, gt_rank, ratio) and returns a chart; tooltips name the arch.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

TOOLTIP = [
    alt.Tooltip("arch:N"),
    alt.Tooltip("score:Q", format=".4f"),
    alt.Tooltip("gt_acc:Q", title="GT accuracy", format=".4f"),
    alt.Tooltip("params:Q", title="#params", format=","),
]
POINT = {"opacity": 0.55, "size": 28, "filled": True}


def score_vs_gt(frame: pd.DataFrame, title: str = "") -> alt.Chart:
    """Inherited-weight score against standalone GT accuracy, with a least-squares trend line."""
    base = alt.Chart(frame, title=title or "score vs standalone GT accuracy")
    points = base.mark_point(**POINT).encode(
        x=alt.X("gt_acc:Q", title="standalone GT accuracy (seed mean)", scale=alt.Scale(zero=False)),
        y=alt.Y("score:Q", title="supernet score", scale=alt.Scale(zero=False)),
        tooltip=TOOLTIP,
    )
    trend = base.transform_regression("gt_acc", "score").mark_line(color="#d62728").encode(x="gt_acc:Q", y="score:Q")
    return (points + trend).properties(height=360)


def rank_vs_rank(frame: pd.DataFrame) -> alt.Chart:
    """Predicted rank against true rank (1 = best); a perfect predictor lies on the diagonal."""
    n = max(len(frame), 1)
    diag = alt.Chart(pd.DataFrame({"a": [1, n], "b": [1, n]})).mark_line(color="gray", strokeDash=[4, 4]).encode(x="a:Q", y="b:Q")
    points = alt.Chart(frame, title="rank vs rank (1 = best)").mark_point(**POINT).encode(
        x=alt.X("gt_rank:Q", title="true rank (GT)"),
        y=alt.Y("score_rank:Q", title="predicted rank (score)"),
        tooltip=[*TOOLTIP, alt.Tooltip("gt_rank:Q", title="true rank"), alt.Tooltip("score_rank:Q", title="predicted rank")],
    )
    return (diag + points).properties(height=360)


def complexity_view(frame: pd.DataFrame) -> alt.Chart:
    """Score / GT accuracy against #params (log axis): a falling trend means bias against large subnets."""
    data = frame[frame["ratio"].notna()]
    base = alt.Chart(data, title="complexity bias: score ÷ GT accuracy vs #params")
    points = base.mark_point(**POINT).encode(
        x=alt.X("params:Q", title="#params", scale=alt.Scale(type="log")),
        y=alt.Y("ratio:Q", title="score ÷ GT accuracy", scale=alt.Scale(zero=False)),
        tooltip=[*TOOLTIP, alt.Tooltip("ratio:Q", format=".4f")],
    )
    trend = base.transform_regression("params", "ratio", method="log").mark_line(color="#d62728").encode(x="params:Q", y="ratio:Q")
    return (points + trend).properties(height=360)


def regret_curve(curve: pd.DataFrame) -> alt.Chart:
    """Best GT accuracy among the predicted top-k vs k, against random search and the best in the split."""
    return (
        alt.Chart(curve, title="best GT accuracy among the top-k")
        .mark_line(point=True)
        .encode(
            x=alt.X("k:Q", title="k (archs picked)", scale=alt.Scale(type="log")),
            y=alt.Y("best GT accuracy:Q", scale=alt.Scale(zero=False)),
            color=alt.Color("curve:N", legend=alt.Legend(orient="top", title=None)),
            strokeDash=alt.StrokeDash("curve:N", legend=None),
            tooltip=["curve:N", "k:Q", alt.Tooltip("best GT accuracy:Q", format=".4f")],
        )
        .properties(height=360)
    )
