"""Streamlit leaderboard for a nas-harness results store: ``streamlit run leaderboard_app/app.py``.

Reads the store named by ``$NAS_HARNESS_STORE`` (default ./results) read-only; public or host view from
``$NAS_HARNESS_APP_MODE`` or ``.streamlit/secrets.toml`` (never from the URL). ``nas-harness app`` starts it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

try:
    import leaderboard_app  # noqa: F401
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamlit as st

from leaderboard_app import ui

st.set_page_config(page_title="NAS supernet leaderboard", page_icon=":material/leaderboard:", layout="wide")
ctx = ui.sidebar()
# With a challenge hosted, the general pages (every run of the store) are the host's: a participant sees their own
# team's submissions and the boards of public or revealed phases, which the challenge pages show (one rule:
# harness.challenge.views). ui.load() refuses them in the public view too, should one be reached anyway.
participant_only = bool(os.environ.get("NAS_HARNESS_CHALLENGE")) and ctx.public
pages = [] if participant_only else [
    st.Page("app_pages/leaderboard.py", title="Leaderboard", icon=":material/leaderboard:", default=True),
    st.Page("app_pages/submission.py", title="Submission", icon=":material/description:"),
    st.Page("app_pages/compare.py", title="Compare runs", icon=":material/compare_arrows:"),
]
if os.environ.get("NAS_HARNESS_CHALLENGE"):  # a hosted challenge: intake and each team's own view
    pages += [st.Page("app_pages/my_submissions.py", title="My submissions", icon=":material/inbox:", default=participant_only),
              st.Page("app_pages/submit.py", title="Submit", icon=":material/upload:")]
st.navigation(pages).run()
