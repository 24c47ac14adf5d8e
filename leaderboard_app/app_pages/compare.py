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
    st.warning(f"Cannot compare on the GT archs: {exc}", icon=":material/warning:")
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
