"""Team names a reader cannot confuse: one key folds case, separators, l/I/1, O/0 and rn/m; the store's
reference-row names are refused; the reserved prefixes apply as the refusal says ("names starting with ...")."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from challenge_helpers import T0, write_challenge
from harness.challenge import ChallengeError, open_challenge
from harness.challenge.clock import FakeClock
from harness.challenge.teams import name_key
from harness.submission.text import RESERVED_NAMES


@pytest.mark.parametrize("a, b", [("Team Red", "TeamRed"), ("Team Blue", "Team BIue"), ("spos", "s.p.o.s"),
                                  ("comet", "C0rnet"), ("Team 10", "team_lo"), ("Alpha", "ALPHA")])
def test_confusable_names_share_a_key(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)


def test_team_add_refuses_spoofs_and_reserved_names(tiny_env, tmp_path: Path) -> None:
    folder = write_challenge(tmp_path / "c")
    host = open_challenge(folder, clock=FakeClock(T0.timestamp() + 3600))
    for name in ("Team Red", "Team Blue", "comet"):
        host.add_team(name)
    refused = {
        "TeamRed": "taken", "team-red": "taken", "Team BIue": "taken", "Team B1ue": "taken", "C0rnet": "taken",
        "s.p.o.s": "taken",  # the harness's own reference submission
        "administrator": "reserved", "baseline2": "reserved", "Host team": "reserved", "H0st": "reserved",
        "Reference-1": "reserved",
        **{re.sub(r"[^A-Za-z0-9 ._-]", "", name).strip(): "reserved" for name in RESERVED_NAMES},
    }
    for name, words in refused.items():
        with pytest.raises(ChallengeError, match=words):
            host.add_team(name)
    assert sorted(n for n, _ in host.queue.teams(host.name)) == ["Team Blue", "Team Red", "comet"]
    assert host.team("team_blue") == "Team Blue" and host.team("TEAM B1UE") == "Team Blue"
    # through the CLI: one line, the challenge's exit code, nothing added
    for name in ("Noise ceiling", "TeamRed"):
        proc = subprocess.run([sys.executable, "-m", "harness.cli", "challenge", "team", "add", str(folder), name],
                              capture_output=True, text=True, env=tiny_env)
        assert proc.returncode == 7 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.startswith("error:") and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert len(host.queue.teams(host.name)) == 3
