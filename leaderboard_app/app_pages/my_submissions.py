"""My submissions: a team's own submissions (status, one-line errors, timings, remaining quota), the choice of
its final entry (ranking rule ``selected``), and the phase boards participants may see. Every value comes from
:mod:`harness.challenge.views` (what a participant may see) and :mod:`harness.challenge.board` (the ranking
metric with its CI, the baseline rows, ties with the leader); the page only renders them.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from harness.errors import HarnessError
from leaderboard_app import settings
from leaderboard_app.challenge_ui import CHALLENGE_ENV, open_host, plain, team_heading

st.title("My submissions")
try:
    host = open_host(read_only=True)
except HarnessError as exc:
    st.error(plain(str(exc)), icon=":material/error:")
    st.stop()
if host is None:
    st.info(f"This server hosts no challenge (the host sets ${CHALLENGE_ENV}).", icon=":material/info:")
    st.stop()

from harness.challenge import board, views  # noqa: E402

token = st.text_input("Team token", type="password", key="my_token")
if token:
    try:
        team = host.team_for_token(token)
    except HarnessError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
    else:
        st.subheader(plain(team_heading(team)))
        st.caption(plain(views.quota_line(host, team)))
        rows = views.participant_rows(host, team)
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
            st.download_button("Download (CSV)", views.to_csv(rows), file_name="my-submissions.csv", mime="text/csv")
        else:
            st.info("No submissions yet.", icon=":material/inbox:")
        trainer_jobs = [r["submission"] for r in rows if r["kind"] == "trainer" and r["status"] in ("finished", "failed")]
        if trainer_jobs:
            with st.expander("Trainer output (the last 64 KB of your trainer's stdout/stderr)"):
                chosen = st.selectbox("Submission", trainer_jobs, key="log_job")
                log = views.trainer_log(host, team, chosen)
                if log:
                    st.code(log, language=None)
                    st.download_button("Download the trainer output", log, file_name=f"{chosen}-trainer.log",
                                       mime="text/plain", key="log_download")
                else:
                    st.caption("Nothing was recorded for this submission.")
        finished = [r["submission"] for r in rows if r["status"] == "finished"]
        if host.challenge.ranking_rule == "selected" and finished:
            with st.form("select_form"):
                choice = st.selectbox("Final entry of its phase", finished, key="select_job")
                if st.form_submit_button("Select as final entry"):
                    try:
                        open_host(read_only=False).select_own(token, choice)
                    except HarnessError as exc:
                        st.error(plain(str(exc)), icon=":material/error:")
                    else:
                        st.success(plain(f"submission {choice} is your team's selected entry"), icon=":material/check_circle:")

st.subheader("Phase leaderboards")
host_view = settings.app_mode()[0] == "host"
for phase in host.challenge.phases:
    rows = board.challenge_board(host, phase.name, host_view=host_view)
    st.markdown(f"**{plain(phase.name)}** · ranked on the {'public' if phase.split == 'dev' else 'hidden'} split")
    if rows:
        st.dataframe(pd.DataFrame(board.display_rows(rows)), hide_index=True, width="stretch")
        st.caption(plain(board.title_note(rows)))
    elif not views.board_visible(host, phase, views.HOST if host_view else views.ANYONE):
        st.caption("Hidden until the host reveals it.")
    else:
        st.caption("No finished submissions yet.")
