"""A rich progress bar for long evaluations, or nothing.

Why its own module: the evaluators only call ``advance(n)``; whether a bar is drawn (terminal), a line is logged
now and then (not a terminal, e.g. under nohup or a CI log) or nothing happens is decided here once.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator

log = logging.getLogger("harness.evaluation")

Advance = Callable[[int], None]


@contextlib.contextmanager
def progress_bar(total: int, label: str, enabled: bool | Callable[[float, str], None] = True) -> Iterator[Advance]:
    """``enabled`` may be a callback ``(fraction, message)``: the caller draws the bar (the CLI shows training and
    evaluation in one rich display, and rich allows only one live display at a time)."""
    if not enabled or total == 0:
        yield lambda n: None
        return
    if callable(enabled):
        report = enabled
        done = [0]

        def advance_callback(n: int) -> None:
            done[0] += n
            report(done[0] / total, f"{done[0]}/{total} subnets")

        yield advance_callback
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        state = {"done": 0, "last": time.monotonic()}

        def advance_log(n: int) -> None:
            state["done"] += n
            now = time.monotonic()
            if now - state["last"] > 15 or state["done"] >= total:
                state["last"] = now
                log.info("%s: %d/%d subnets", label, state["done"], total)

        yield advance_log
        return
    columns = (TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TextColumn("subnets"), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)
