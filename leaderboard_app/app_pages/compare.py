"""Compare page: two runs on the same GT archs, side by side, with a paired-bootstrap verdict."""

from __future__ import annotations

import streamlit as st

from harness.errors import HarnessError
from harness.metrics import HEADLINE, METRICS
from leaderboard_app import charts, data, tables, ui
from harness.submission.text import markdown_escape

N_BOOT = 2000

st.title("Compare runs")
loaded = ui.load()
ctx = loaded.ctx
benchmarks = [b for b in loaded.benchmarks() if len(loaded.ok_runs(b)) >= 2]
if not benchmarks:
    st.info("Comparing needs two completed runs on the same benchmark.", icon=":material/compare_arrows:")
    st.stop()

top = st.columns([2, 1, 2])
bench = top[0].selectbox("Benchmark", benchmarks, key="cmp_bench")
with top[1]:
    split = ui.split_choice(ctx, key="cmp_split")
runs = loaded.ok_runs(bench)
primary = ui.primary_of(ctx, bench, runs)
metric = top[2].selectbox("Metric", list(METRICS), index=list(METRICS).index(primary) if primary in METRICS else 0, format_func=tables.label, key="cmp_metric")
groups = data.group_rows(ctx, loaded.state, bench, split, primary)
if len(groups) >= 2 and metric in tables.sortable_metrics():
    st.subheader("Seed groups")
    labels = {g["id"]: f"{g['submission']} · {g['id']} · {len(g['runs'])} runs" for g in groups}
    gpick = st.columns(2)
    ga = gpick[0].selectbox("Group A", list(labels), index=0, format_func=labels.get, key="cmp_ga")
    gb = gpick[1].selectbox("Group B", list(labels), index=1, format_func=labels.get, key="cmp_gb")
    if ga != gb:
        try:
            g = data.group_comparison(ctx, loaded.state, bench, ga, gb, split, metric)
        except HarnessError as exc:
            st.warning(f"Cannot compare the groups: {markdown_escape(exc)}", icon=":material/warning:")
        else:
            dv = g["diff"]
            how = "paired by seed and on the same GT archs" if g["paired_by_seed"] else "on the same GT archs"
            gmsg = (f"**{g['verdict']}** on {tables.label(metric)}: A − B = {dv['value']:.4f}, 95 % CI "
                    f"[{dv['ci_low']:.4f}, {dv['ci_high']:.4f}] (training seeds and GT archs, {how}), p = {g['p_value']:.3g}, "
                    f"P(A better) = {g['prob_a_better']:.2f}; this comparison detects |Δ| ≥ {g['detectable']:.4f} with 80 % power.")
            (st.success if g["verdict"] != "no significant difference" else st.info)(gmsg, icon=":material/balance:")
    st.subheader("Single runs")
    st.caption("The run comparison below resamples GT archs only: a trainer's training-seed noise is not in it.")

ranked = tables.choose_runs(runs, split=split, sort_metric=primary, per_submission="all")
pick = st.columns(2)
run_a = pick[0].selectbox("Run A", ranked, index=0, format_func=lambda r: ui.run_label(r, primary, split), key="cmp_a")
run_b = pick[1].selectbox("Run B", ranked, index=1, format_func=lambda r: ui.run_label(r, primary, split), key="cmp_b")
if run_a.run_id == run_b.run_id:
    st.warning("Pick two different runs.")
    st.stop()

try:
    result = data.paired_comparison(ctx, run_a, run_b, split, metric, n_boot=N_BOOT)
    frames = (data.arch_frame(ctx, run_a, split), data.arch_frame(ctx, run_b, split))
except HarnessError as exc:
    st.warning(f"Cannot compare on the GT archs: {markdown_escape(exc)}", icon=":material/warning:")
    st.stop()


def fmt(v: object, d: int = 4) -> str:
    return "—" if not isinstance(v, (int, float)) else f"{v:.{d}f}"


verdict = result.get("verdict", "")
text = {"a better": f"**A ({run_a.submission}) is better**", "b better": f"**B ({run_b.submission}) is better**"}.get(verdict, "**no significant difference**")
msg = (f"{text} on {tables.label(metric)} ({result.get('compared')}): A − B = {fmt(result.get('diff'))}, "
       f"95 % CI [{fmt(result.get('ci_low'))}, {fmt(result.get('ci_high'))}], p = {fmt(result.get('p_value'), 3)} "
       f"— paired bootstrap over the same {result.get('n')} GT archs of the {split} split, {result.get('n_boot')} resamples.")
(st.success if verdict in ("a better", "b better") else st.info)(msg, icon=":material/balance:")
if len({run_a.gt_hash, run_b.gt_hash}) > 1:
    st.caption(":orange[The two runs were scored against different GT versions; this comparison uses the current GT.]")

side = st.columns(2)
for col, name, run, frame in ((side[0], "A", run_a, frames[0]), (side[1], "B", run_b, frames[1])):
    with col:
        st.markdown(f"**{name}: {markdown_escape(run.submission)}** · `{run.run_id}` · {markdown_escape(run.kind)}")
        value = result.get("value_a" if name == "A" else "value_b")
        entry = (run.report(split).get("metrics") or {}).get(metric)
        st.metric(tables.label(metric), fmt(value, 3), help=f"95 % CI {tables.ci_text(entry, metric) or '—'}")
        st.altair_chart(charts.score_vs_gt(frame, title=f"{name}: score vs GT accuracy"), width="stretch")

rows = []
for m in HEADLINE:
    a, b = run_a.metric(m, split), run_b.metric(m, split)
    if a is None and b is None:
        continue
    rows.append({"metric": tables.label(m), "A": a, "A CI": tables.ci_text((run_a.report(split).get("metrics") or {}).get(m), m),
                 "B": b, "B CI": tables.ci_text((run_b.report(split).get("metrics") or {}).get(m), m),
                 "A − B": None if a is None or b is None else a - b, "better": tables.direction(m)})
st.subheader("All headline metrics")
st.dataframe(rows, hide_index=True, width="stretch", column_config={k: st.column_config.NumberColumn(k, format="%.4f") for k in ("A", "B", "A − B")})
