"""Submission page: manifest, run history, failures and timings, and one run's plots against the GT."""

from __future__ import annotations

import streamlit as st

from harness.errors import HarnessError
from leaderboard_app import charts, data, tables, ui
from harness.submission.text import markdown_escape

st.title("Submission")
loaded = ui.load()
ctx = loaded.ctx

keys = ui.submission_order(loaded)
wanted = next((r for r in loaded.runs if r.run_id == st.query_params.get("run")), None)  # deep link: ?run=ID
start = keys.index((wanted.submission, wanted.benchmark)) if wanted else 0
pick = st.selectbox("Submission", keys, index=start, format_func=lambda k: f"{k[0]}  ({k[1]})", key="sub_pick")
submission, bench = pick
history = [r for r in loaded.runs if (r.submission, r.benchmark) == pick]
primary = ui.primary_of(ctx, bench, history)
split = ui.split_choice(ctx, key="sub_split")
newest_first = sorted(history, key=lambda r: (r.created_ns, r.run_id), reverse=True)
default = next((i for i, r in enumerate(newest_first) if r.status == "ok"), 0)
if wanted is not None and wanted in newest_first:
    default = newest_first.index(wanted)
run = st.selectbox("Run", newest_first, index=default, format_func=lambda r: ui.run_label(r, primary, split), key="sub_run")

status = data.display_status(run)
head = st.columns(4)
head[0].metric("status", status)
head[1].metric("kind", run.kind)
value = run.metric(primary, split)
head[2].metric(f"{tables.label(primary)} ({split})", "—" if value is None else f"{value:.3f}")
total = run.timings.get("total_s")
head[3].metric("total time", "—" if total is None else f"{total:.1f} s")
if run.is_baseline:
    st.caption(":blue-badge[baseline submission]")
if status == "failed" or status == "interrupted":
    st.error(f"Run {run.run_id} failed: {markdown_escape(run.error or 'the scoring process died')}", icon=":material/error:")
elif status == "running":
    st.info(f"Run {run.run_id} is still being scored (started {run.created}).", icon=":material/hourglass_top:")

with st.expander("Description and manifest", expanded=not run.manifest):
    if run.description:
        st.markdown(markdown_escape(run.description))  # a participant's text: shown, never rendered as markdown
    st.json(run.manifest or {}, expanded=True)
    st.caption(f"benchmark {markdown_escape(run.benchmark)} {run.version_label} · harness {run.harness_version} · submission hash `{run.submission_hash[:16]}` · GT hash `{run.gt_hash[:16]}`")

st.subheader("Run history")
statuses = {r.run_id: data.display_status(r) for r in history}
st.dataframe(tables.history_frame(history, split, primary, statuses), hide_index=True, width="stretch", placeholder="—",
             column_config={"error": st.column_config.TextColumn("error", width="large"),
                            "total time (s)": st.column_config.NumberColumn("total time (s)", format="%.1f")})
if run.timings:
    st.caption("Timings of the selected run: " + ", ".join(f"{k.removesuffix('_s')} {v:.1f} s" for k, v in run.timings.items() if isinstance(v, (int, float))))

def training_section(run) -> None:  # noqa: ANN001 - a RunRecord
    """How a trainer run trained (hyper-parameters, epochs, off budget), its ``ctx.log`` scalars as a chart and its
    output. The output and scalars are the host's view only: a participant's own log is shown by the challenge app."""
    import altair as alt
    import pandas as pd

    try:
        store = data.open_store(ctx.store)
        training = store.run_training(run.run_id)
        points = [] if ctx.public else store.run_scalars(run.run_id)
        log = "" if ctx.public else store.run_log(run.run_id)
    except HarnessError as exc:
        st.caption(f"Training record unavailable: {markdown_escape(exc)}")
        return
    if not (training or points or log):
        return
    st.subheader("Training")
    if training:
        hp = ", ".join(f"{k} = {v}" for k, v in (training.get("hparams") or {}).items()) or "none"
        epochs = training.get("epochs")
        st.markdown(markdown_escape(f"hyper-parameters: {hp} · epochs trained: {'not counted' if epochs is None else epochs} "
                                    f"(asked {training.get('epochs_asked')}, budget {training.get('budget_epochs')})"))
        if training.get("off_budget"):
            st.warning(f"Off budget: {markdown_escape(training.get('off_budget_why', ''))}. Never ranked beside budget runs.",
                       icon=":material/timer_off:")
    if points:
        frame = pd.DataFrame(points, columns=["step", "name", "value"])
        chart = alt.Chart(frame).mark_line(point=len(frame) < 200).encode(
            x="step:Q", y=alt.Y("value:Q", scale=alt.Scale(zero=False)), color="name:N", tooltip=["name", "step", "value"])
        st.altair_chart(chart, width="stretch")
        st.download_button("Download scalars (CSV)", tables.to_csv(frame), file_name=f"{run.run_id}-scalars.csv",
                           mime="text/csv", on_click="ignore", icon=":material/download:", key="sub_scalars_csv")
    if log:
        with st.expander("Trainer output (last 1 MB)"):
            st.code(log, language=None)  # stored inert; a code block renders text, never markdown or HTML
    elif ctx.public:
        st.caption("A trainer's output and scalars are shown to its own team in the challenge app.")


if run.kind == "trainer":
    training_section(run)

if run.status == "ok":
    st.subheader(f"Metrics on the {split} split")
    mf = tables.metrics_frame(run, split)
    if mf.empty:
        st.info(f"This run has no metrics for the {split} split.")
    else:
        st.dataframe(mf, hide_index=True, width="stretch", height=35 * (len(mf) + 1) + 3, column_config={
            "value": st.column_config.NumberColumn("value", format="%.4f"),
            "#params baseline": st.column_config.NumberColumn("#params baseline", format="%.4f", help="the same metric for #params as the score"),
            "noise ceiling": st.column_config.NumberColumn("noise ceiling", format="%.4f", help="the GT against itself (seed halves)"),
            "about": st.column_config.TextColumn("about", width="large"),
        })
    try:
        frame = data.arch_frame(ctx, run, split)
        curve = data.regret_frame(ctx, run, split)
    except HarnessError as exc:
        st.warning(f"Per-arch plots unavailable: {markdown_escape(exc)}", icon=":material/warning:")
    else:
        st.subheader(f"Against the GT ({len(frame)} archs of the {split} split)")
        row1, row2 = st.columns(2), st.columns(2)
        with row1[0]:
            st.altair_chart(charts.score_vs_gt(frame), width="stretch")
        with row1[1]:
            st.altair_chart(charts.rank_vs_rank(frame), width="stretch")
        with row2[0]:
            st.altair_chart(charts.complexity_view(frame), width="stretch")
            cb, rt = run.metric("complexity_bias", split), run.metric("ratio_params_tau", split)
            st.caption(f"CB = {'—' if cb is None else f'{cb:.3f}'} (0.5 = no bias) · τ(#params, ratio) = {'—' if rt is None else f'{rt:.3f}'}"
                       " (0 = no size-dependent degradation; meaningful when scores are accuracies).")
        with row2[1]:
            st.altair_chart(charts.regret_curve(curve), width="stretch")
            st.caption("Best standalone accuracy among the k archs the submission ranks highest, against picking k archs at random.")
        st.download_button(f"Download per-arch values ({split} split)", tables.to_csv(frame), file_name=f"{run.run_id}-{split}-archs.csv",
                           mime="text/csv", on_click="ignore", icon=":material/download:", key="sub_arch_csv")
    if not ctx.public:
        try:
            st.download_button("Download all predictions (host view)", data.predictions_csv(ctx, run), file_name=f"{run.run_id}-predictions.csv",
                               mime="text/csv", on_click="ignore", icon=":material/download:", key="sub_pred_csv")
        except HarnessError as exc:
            st.caption(f"Predictions unavailable: {markdown_escape(exc)}")
