"""Streamlit leaderboard for a nas-harness results store (read-only). Entry point: ``leaderboard_app/app.py``."""
