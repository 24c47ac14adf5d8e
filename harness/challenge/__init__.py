"""Hosting an internal NAS challenge: phases, teams, limits, a durable submission queue, workers, Ray scale-out.

Public API::

    parse_challenge(folder) -> Challenge            challenge.toml, validated (one-line ChallengeError)
    init_challenge(folder, name=, benchmark=)       a commented two-phase template
    open_challenge(folder, clock=) -> Host          the challenge + its store's queue + a clock (injectable)
    Host.add_team(name) -> token (printed once; only its hash is stored)
    intake.submit_folder / submit_zip               checked, limited, enqueued (the app's only write)
    worker.run_worker(host, once=, concurrency=, gpus=)
    views.participant_rows / views.host_rows / views.leaderboard (one entry per team by the ranking rule)
    board.challenge_board(host, phase)              those entries with metric, 95 % CI, baselines, tied_with_leader
    ray_exec.ray_executor(address)                  jobs as Ray tasks that return predictions only
"""

from harness.challenge.config import Challenge, ChallengeError, Limits, Phase, init_challenge, parse_challenge
from harness.challenge.host import Host, open_challenge

__all__ = ["Challenge", "ChallengeError", "Host", "Limits", "Phase", "init_challenge", "open_challenge", "parse_challenge"]
