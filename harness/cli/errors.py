"""How the CLI ends: the one place library errors become a red line and an exit code."""

from __future__ import annotations

import sys

import typer

from harness.cli.render import err_console, u
from harness.errors import HarnessError


def run(app: typer.Typer) -> None:
    """Run ``app``: user mistakes become one red line and a non-zero exit code, never a traceback.

    Click handles its own usage errors (standalone mode prints usage and exits 2); our library raises
    HarnessError subclasses (exit code per class), caught here; Ctrl-C exits 130.
    """
    try:
        app()
    except HarnessError as exc:
        err_console.print(f"[red]error:[/] {u(exc)}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[red]interrupted[/]")
        sys.exit(130)
