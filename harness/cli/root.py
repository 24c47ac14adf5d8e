"""The ``nas-harness`` typer app: every command wired here, in the order ``--help`` lists them.

Why the wiring is in one place: the command modules define plain functions (one module per command group) and
import nothing from each other, so the package has no import cycle and this file is its table of contents.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from harness import config
from harness.challenge import cli as challenge_cli  # challenge hosting: its own command group
from harness.cli import catalog, check, gt, proxy, read, reference, score, serve

app = typer.Typer(
    help="Evaluation harness and leaderboard for weight-sharing NAS supernets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
gt_app = typer.Typer(help="Standalone ground truth: build and inspect.", no_args_is_help=True)
reference_app = typer.Typer(help="Reference trainers' seed groups shipped as files: import, export.", no_args_is_help=True)


@app.callback()
def _root(
    data_dir: Annotated[
        Optional[Path], typer.Option("--data-dir", help="Folder with user-supplied data \\[env NAS_HARNESS_DATA].")
    ] = None,
) -> None:
    if data_dir is not None:
        os.environ[config.DATA_DIR_ENV] = str(data_dir)


app.add_typer(gt_app, name="gt")
app.add_typer(reference_app, name="reference")
reference_app.command("import")(reference.reference_import)
reference_app.command("export")(reference.reference_export)
app.add_typer(challenge_cli.challenge_app, name="challenge")
app.command("submit")(challenge_cli.submit)
app.command("worker")(challenge_cli.worker)
app.command()(catalog.benchmarks)
app.command()(catalog.archs)
gt_app.command("build")(gt.gt_build)
gt_app.command("trim")(gt.gt_trim)
gt_app.command("verify")(gt.gt_verify)
gt_app.command("show")(gt.gt_show)
app.command()(score.score)
app.command()(read.leaderboard)
app.command()(read.show)
app.command()(read.compare)
app.command()(check.check)
app.command()(proxy.proxy)
app.command()(proxy.baselines)
app.command()(read.export)
app.command()(score.rescore)
app.command("app")(serve.app_cmd)
app.command()(catalog.version)
