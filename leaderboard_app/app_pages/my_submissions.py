"""My submissions: a team's own submissions (status, one-line errors, timings, remaining quota) and the phase
leaderboards participants may see. Every value comes from :mod:`harness.challenge.views`, which builds a
participant's rows without any hidden-split value until the host reveals the phase; the page only renders them.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from harness.errors import HarnessError
from leaderboard_app import settings
from leaderboard_app.challenge_ui import CHALLENGE_ENV, open_host, plain

st.title("My submissions")
try:
    host = open_host(read_only=True)
except HarnessError as exc:
    st.error(plain(str(exc)), icon=":material/error:")
    st.stop()
if host is None:
    st.info(f"This server hosts no challenge (the host sets ${CHALLENGE_ENV}).", icon=":material/info:")
    st.stop()

from harness.challenge import views  # noqa: E402

token = st.text_input("Team token", type="password", key="my_token")
if token:
    try:
        team = host.team_for_token(token)
    except HarnessError as exc:
        st.error(plain(str(exc)), icon=":material/error:")
    else:
        st.subheader(plain(f"Team {team}"))
        st.caption(plain(views.quota_line(host, team)))
        rows = views.participant_rows(host, team)
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
            st.download_button("Download (CSV)", views.to_csv(rows), file_name="my-submissions.csv", mime="text/csv")
        else:
            st.info("No submissions yet.", icon=":material/inbox:")

st.subheader("Phase leaderboards")
host_view = settings.app_mode()[0] == "host"
for phase in host.challenge.phases:
    rows = views.leaderboard(host, phase.name, host_view=host_view)
    st.markdown(f"**{plain(phase.name)}** · ranked on the {'public' if phase.split == 'dev' else 'hidden'} split")
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    elif not views.board_visible(host, phase, views.HOST if host_view else views.ANYONE):
        st.caption("Hidden until the host reveals it.")
    else:
        st.caption("No finished submissions yet.")
