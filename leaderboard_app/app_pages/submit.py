"""Submit page: a team uploads its zipped submission folder with its token; it goes into the challenge's queue.

This is the app's only write, and it goes through the library's intake (size limit, zip checks, the same folder
checks as ``nas-harness score``, the challenge's kinds, phases and limits), never into the store directly.
"""

from __future__ import annotations

import streamlit as st

from harness.errors import HarnessError
from leaderboard_app.challenge_ui import CHALLENGE_ENV, open_host, plain

st.title("Submit")
try:
    host = open_host(read_only=True)  # rendering reads only; the upload below opens the intake's writer
except HarnessError as exc:
    st.error(plain(str(exc)), icon=":material/error:")
    st.stop()
if host is None:
    st.info(f"This server hosts no challenge (the host sets ${CHALLENGE_ENV}).", icon=":material/info:")
    st.stop()

c = host.challenge
phase = host.accepting_phase()
if phase is None:
    st.warning("No phase is open for submissions now.", icon=":material/schedule:")
else:
    st.caption(plain(f"{c.title}: phase {phase.name} is open until {phase.end:%Y-%m-%d %H:%M} UTC; "
                     f"accepted kinds: {', '.join(c.kinds)}; upload limit {c.max_upload_bytes / 1024**2:.0f} MB."))

with st.form("submit_form", clear_on_submit=False):
    token = st.text_input("Team token", type="password", key="submit_token")
    upload = st.file_uploader("Zipped submission folder (submission.toml + payload)", type=["zip"], key="submit_zip")
    sent = st.form_submit_button("Submit")

if sent:
    if not token or upload is None:
        st.error("Give your team token and a .zip of your submission folder.", icon=":material/error:")
    else:
        from harness.challenge.intake import submit_zip

        try:
            job = submit_zip(open_host(read_only=False), token, upload.getvalue())
        except HarnessError as exc:
            st.error(plain(str(exc)), icon=":material/error:")
        else:
            st.success(plain(f"Submission {job.job_id} of team {job.team} is {job.state} in phase {job.phase}. "
                             "Follow it on the My submissions page."), icon=":material/check_circle:")
