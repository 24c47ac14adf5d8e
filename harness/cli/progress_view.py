"""Rich views of :class:`harness.progress.ProgressEvent` streams: the only place the harness draws a progress bar.

Each view is a context manager yielding a :data:`harness.progress.ProgressCallback`. On a terminal it draws rich
bars; in a log (nohup, CI) rich cannot redraw, so it prints a line now and then instead.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from harness.progress import ProgressCallback, ProgressEvent

#: seconds between two log lines of one stage when stderr is not a terminal
LOG_EVERY_S = 30.0
#: cells between two log lines of a GT build when stderr is not a terminal
GT_LOG_EVERY = 20
#: stages whose bar keeps counting up across seeds (the others start again with each seed of a group)
CUMULATIVE = ("seeds",)


@contextlib.contextmanager
def stage_bars(console: Console) -> Iterator[ProgressCallback]:
    """A bar per stage (percent and elapsed time; transient), as ``score`` shows training and evaluation."""
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        tasks: dict[str, int] = {}
        last_line: dict[str, float] = {}

        def show(event: ProgressEvent) -> None:
            stage, fraction, message = event.stage, event.fraction or 0.0, event.message
            if not console.is_terminal:  # a log (nohup, CI): rich cannot redraw, so a line every 30 s
                now = time.monotonic()
                if now - last_line.get(stage, 0.0) > LOG_EVERY_S or fraction >= 1.0:
                    last_line[stage] = now
                    console.print(f"{stage}: {100 * fraction:.0f}% {message}"[:120], highlight=False)
                return
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=1.0)
            elif stage not in CUMULATIVE and bar.tasks[tasks[stage]].completed > fraction + 1e-9:
                bar.reset(tasks[stage], total=1.0)  # the next seed of a group starts this stage again
            bar.update(tasks[stage], completed=fraction, description=f"{stage}: {message}"[:70])

        yield show


@contextlib.contextmanager
def counted_bar(console: Console, label: str) -> Iterator[ProgressCallback]:
    """One transient bar "label ━━ k/n elapsed" for a stage counted in units (``gt verify``'s cells)."""
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def show(event: ProgressEvent) -> None:
            bar.update(task, completed=event.done, total=event.total)

        yield show


@contextlib.contextmanager
def build_bar(console: Console) -> Iterator[ProgressCallback]:
    """``gt build``: the file's cells done of all, elapsed and remaining time; in a log, the builder's line every
    :data:`GT_LOG_EVERY` cells of this session (and at the end)."""
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TimeRemainingColumn(), console=console)
    plain_log = not console.is_terminal  # e.g. nohup: rich cannot redraw, log lines instead
    tasks: dict[str, int] = {}
    logged: dict[str, float] = {}
    with bar:
        def show(event: ProgressEvent) -> None:
            if event.stage not in tasks:  # the first event: what the file already holds
                tasks[event.stage] = bar.add_task(event.stage, total=event.total, completed=event.done)
                logged[event.stage] = event.done
                return
            bar.update(tasks[event.stage], completed=event.done, total=event.total)
            if plain_log and (event.done - logged[event.stage] >= GT_LOG_EVERY
                              or (event.total is not None and event.done >= event.total)):
                logged[event.stage] = event.done
                console.log(event.message)

        yield show
