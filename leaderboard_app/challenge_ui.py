"""The challenge pages' shared pieces: which challenge the server hosts, and plain-text output.

Why the challenge comes only from ``$NAS_HARNESS_CHALLENGE``: as with the app mode, whoever runs the server
decides it; a URL or widget could point the app at any folder. Why plain text: errors and names reach the page
from participants (a manifest, a zip member name), and ``st.error`` renders Markdown, so they are escaped.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from harness.errors import one_line

CHALLENGE_ENV = "NAS_HARNESS_CHALLENGE"
_MD = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def challenge_folder() -> Path | None:
    value = os.environ.get(CHALLENGE_ENV, "").strip()
    return Path(value).expanduser() if value else None


def plain(text: str) -> str:
    """Markdown-escaped one line: shown literally, never as a link, image or HTML."""
    return _MD.sub(r"\\\1", one_line(text))


def open_host(*, read_only: bool):
    """The hosted challenge (read-only for every view; read-write only for the intake's insert)."""
    from harness.challenge import open_challenge

    folder = challenge_folder()
    if folder is None:
        return None
    return open_challenge(folder, read_only=read_only)


def team_heading(team: str) -> str:
    """"Team Alpha" for a team named Alpha, but "Team Green" (not "Team Team Green") for one named so."""
    return team if team.split(" ")[0].casefold() == "team" else f"Team {team}"
