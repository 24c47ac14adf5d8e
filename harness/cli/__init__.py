"""The ``nas-harness`` command line: parse, call the library, render with rich. Nothing else lives here.

Layout: :mod:`.root` wires the commands of :mod:`.catalog` (benchmarks, archs, version), :mod:`.gt` (gt build,
trim, verify, show), :mod:`.score` (score, rescore), :mod:`.check`, :mod:`.read` (leaderboard, show, compare,
export), :mod:`.serve` (app) and :mod:`harness.challenge.cli` (challenge, submit, worker); :mod:`.options` holds
shared options and input checks, :mod:`.render` the consoles and shared tables, :mod:`.progress_view` the rich
views of :mod:`harness.progress` events, :mod:`.errors` how a command ends (error line, exit code).
"""

from __future__ import annotations

from harness.cli.errors import run
from harness.cli.root import app, gt_app

__all__ = ["app", "gt_app", "main"]


def main() -> None:
    """Console entry point (``nas-harness``, ``python -m harness.cli``)."""
    run(app)
