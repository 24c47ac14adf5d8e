"""The app's pages, run by ``st.navigation`` from ``leaderboard_app/app.py`` (a package only so wheels ship them)."""
