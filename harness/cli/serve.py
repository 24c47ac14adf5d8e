"""``nas-harness app``: the Streamlit leaderboard (its own rendering lives in ``leaderboard_app/``)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from harness import config
from harness.cli.options import StoreOpt
from harness.errors import UnknownNameError


def app_cmd(
    store: StoreOpt = None,
    mode: Annotated[Optional[str], typer.Option(
        help="public (dev split only) or host (all splits) [default: $NAS_HARNESS_APP_MODE, else public].")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port for the Streamlit server.")] = None,
) -> None:
    """Open the Streamlit leaderboard for the results store."""
    from leaderboard_app.launch import launch, resolve_mode

    mode = resolve_mode(mode)
    if mode not in ("public", "host"):
        raise UnknownNameError(f"unknown mode {mode!r}; use public or host")
    raise typer.Exit(launch(config.store_dir(store), mode, port))
