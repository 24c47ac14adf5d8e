"""Leaderboard page: one ranked table per benchmark, references marked, CSV of exactly what is shown."""

from __future__ import annotations

import streamlit as st

from harness.metrics import METRICS
from leaderboard_app import data, tables, ui

PRIMARY = "the benchmark's primary metric"

st.title("Leaderboard")
loaded = ui.load()
ctx = loaded.ctx

controls = st.columns([1, 2, 2, 3])
with controls[0]:
    split = ui.split_choice(ctx, key="lb_split")
    if ctx.public:
        st.caption("GT split: **dev** (public)")
with controls[1]:
    sort_choice = st.selectbox("Rank by", [PRIMARY, *tables.sortable_metrics()], format_func=lambda m: m if m == PRIMARY else tables.label(m), key="lb_sort",
                               help="Ties are broken by the other metrics (Kendall τ, Spearman ρ, Pearson, …), then by the earlier run.")
with controls[2]:
    per_sub = st.radio("Runs", tables.PER_SUBMISSION, format_func={"best": "best per submission", "latest": "latest per submission", "all": "all runs"}.get,
                       horizontal=True, key="lb_per_sub")
with controls[3]:
    shown = st.multiselect("Metrics", list(METRICS), default=list(tables.DEFAULT_METRICS), format_func=tables.label, key="lb_metrics")

st.caption("Shaded rows are references, not submissions: the **GT noise ceiling** (the split-half agreement: two halves of "
           "the GT seeds scored against each other; not an upper bound, a perfect predictor of expected accuracy scores "
           "higher against the full seed mean), the **#params baseline** (rank by parameter count) and the benchmark's "
           "**zero-cost proxies** at initialisation, where the host computed them (`nas-harness baselines`). "
           "CI of a run: 95 % bootstrap interval over the GT archs; of a seed group: over training seeds and GT archs.")
benchmarks = loaded.benchmarks()
if not benchmarks:
    st.info(f"No run has completed yet. {ui.SCORE_HINT}", icon=":material/hourglass_empty:")

for bench in benchmarks:
    info = data.bench_info(ctx, bench)
    all_runs = loaded.ok_runs(bench)
    primary = ui.primary_of(ctx, bench, all_runs)
    sort_metric = primary if sort_choice == PRIMARY else sort_choice
    # one table per benchmark version: runs of different versions are never ranked together
    for version, runs in tables.by_version(all_runs, info.version):
        older = info.version is not None and version != info.version
        label = f"v{version}"
        proxies = [] if older else data.proxy_rows(ctx, bench, split, shown or [primary])
        frame = tables.leaderboard_frame(runs, split=split, sort_metric=sort_metric, metrics=shown or [primary],
                                         per_submission=per_sub, current_gt_hash=info.gt_hash, current_version=info.version,
                                         proxy_rows=proxies)
        st.subheader(f"{bench} {label}" + (f" (older version; the benchmark is now v{info.version})" if older else ""))
        if older:
            st.caption(f":orange[Runs of {label}, ranked among themselves only, with the values stored when they were scored "
                       "(another arch set, GT or protocol than the current version; group CIs over seeds only).]")
        groups = (data.group_rows(ctx, loaded.state, bench, split, sort_metric, version)
                  if sort_metric in tables.sortable_metrics() else [])
        if groups:
            st.markdown("**Seed groups** — each trainer scored with several training seeds; the CI includes the "
                        "training-seed variance as well as the sampling of GT archs (`nas-harness score DIR --seeds 5`). "
                        "*tied with leader*: not shown different from the best group after Holm's correction over all "
                        "pairs of this table.")
            st.dataframe(tables.group_frame(groups, sort_metric), hide_index=True, width="stretch", key=f"lb_groups_{bench}_{label}",
                         column_config={tables.label(sort_metric): st.column_config.NumberColumn(tables.label(sort_metric), format=f"%.{tables.digits(sort_metric)}f"),
                                        "run SD": st.column_config.NumberColumn("run SD", format="%.3f", help="SD of the metric between the group's runs")})
            st.markdown("**Runs**")
        facts = [f"ranked by **{tables.label(sort_metric)}** on the **{split}** split"]
        if split in info.gt_sizes and not older:
            facts.append(f"{info.gt_sizes[split]} GT archs")
        if info.description:
            facts.append(info.description)
        st.caption(" · ".join(facts))
        if info.error:
            st.caption(f":orange[GT unavailable here ({info.error}); stale-GT flags are not shown.]")
        config = {
            "rank": st.column_config.NumberColumn("#", format="%d", width="small", pinned=True),
            "submission": st.column_config.TextColumn("submission", pinned=True),
            "type": st.column_config.TextColumn("type", help=(
                "reference: the GT noise ceiling (split-half agreement: seed halves of the GT against each other; not an upper bound) "
                "and the #params baseline (bigger = better); baseline: a reference submission")),
            "version": st.column_config.TextColumn("version", help="the benchmark version the run was scored on"),
            "flags": st.column_config.TextColumn("flags", help="baseline submission; stale GT = scored against an older GT, run `nas-harness rescore`"),
            "GT archs": st.column_config.NumberColumn("GT archs", format="%d", help=f"archs of the {split} split the metrics use"),
            "run": st.column_config.TextColumn("run", help="run id (see the Submission page)"),
        }
        for m in shown or [primary]:
            spec = METRICS.get(m)
            config[tables.label(m)] = st.column_config.NumberColumn(tables.label(m), format=f"%.{tables.digits(m)}f", help=spec.description if spec else None)
            config[tables.ci_column(m)] = st.column_config.TextColumn(tables.ci_column(m), help="95 % bootstrap interval over archs")
        styled = frame.style.apply(lambda row: ["background-color: rgba(128,128,128,0.12); font-style: italic" if row["type"] == "reference" else "" for _ in row], axis=1) if not frame.empty else frame
        st.dataframe(styled, column_config=config, hide_index=True, width="stretch", placeholder="", key=f"lb_table_{bench}_{label}")
        st.download_button("Download CSV", tables.to_csv(frame), file_name=f"leaderboard-{bench}-{label}-{split}.csv", mime="text/csv",
                           on_click="ignore", icon=":material/download:", key=f"lb_csv_{bench}_{label}")

others = [r for r in loaded.runs if r.status != "ok"]
if others:
    with st.expander(f"{len(others)} run(s) not completed (failed or running)"):
        statuses = {r.run_id: data.display_status(r) for r in others}
        st.dataframe(
            [{"run": r.run_id, "benchmark": r.benchmark, "submission": r.submission, "status": statuses[r.run_id], "error": r.error or "", "created": r.created} for r in reversed(others)],
            hide_index=True, width="stretch",
            column_config={"error": st.column_config.TextColumn("error", width="large")},
        )
