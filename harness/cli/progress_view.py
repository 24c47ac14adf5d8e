"""Rich views of :class:`harness.progress.ProgressEvent` streams: the only place the harness draws a progress bar.

Each view is a context manager yielding a :data:`harness.progress.ProgressCallback`. On a terminal it draws rich
bars; in a log (nohup, CI, a pipe) rich cannot redraw, so every view becomes :func:`line_view` instead: a line per
stage at least every 10 % or 30 s (:class:`harness.progress.LineThrottle`), and a heartbeat line for a stage that
stays silent longer (a trainer that reports rarely). New commands get the same behaviour by using these views.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from harness.progress import LineThrottle, ProgressCallback, ProgressEvent, event_line

#: how often the heartbeat looks for stages without a line for 30 s (seconds)
HEARTBEAT_POLL_S = 5.0
#: stages whose bar keeps counting up across seeds (the others start again with each seed of a group)
CUMULATIVE = ("seeds",)


@contextlib.contextmanager
def line_view(console: Console, *, throttle: LineThrottle | None = None,
              poll_s: float = HEARTBEAT_POLL_S) -> Iterator[ProgressCallback]:
    """Plain lines for a log: each event that :class:`LineThrottle` lets through, and, for a running stage without
    a line for its ``every_s``, its last event again with the time since (so a CI log never goes quiet)."""
    throttle = throttle or LineThrottle()
    latest: dict[str, tuple[ProgressEvent, float]] = {}
    lock, stop = threading.Lock(), threading.Event()

    def emit(text: str) -> None:
        console.print(text, highlight=False, markup=False, soft_wrap=True)

    def show(event: ProgressEvent) -> None:
        with lock:
            latest[event.stage] = (event, time.monotonic())
            if throttle.due(event):
                emit(event_line(event))

    def heartbeat() -> None:
        while not stop.wait(poll_s):
            with lock:
                for stage in throttle.stale():
                    event, at = latest[stage]
                    throttle.touch(stage)
                    emit(f"{event_line(event, 120)} (still running; last report {time.monotonic() - at:.0f} s ago)")

    beat = threading.Thread(target=heartbeat, daemon=True)
    beat.start()
    try:
        yield show
    finally:
        stop.set()
        beat.join(timeout=poll_s + 1)


@contextlib.contextmanager
def stage_bars(console: Console) -> Iterator[ProgressCallback]:
    """A bar per stage (percent and elapsed time; transient), as ``score`` shows training and evaluation."""
    if not console.is_terminal:
        with line_view(console) as show:
            yield show
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def show(event: ProgressEvent) -> None:
            stage, fraction, message = event.stage, event.fraction or 0.0, event.message
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=1.0)
            elif stage not in CUMULATIVE and bar.tasks[tasks[stage]].completed > fraction + 1e-9:
                bar.reset(tasks[stage], total=1.0)  # the next seed of a group starts this stage again
            bar.update(tasks[stage], completed=fraction, description=f"{stage}: {message}"[:70])

        yield show


@contextlib.contextmanager
def counted_bar(console: Console, label: str) -> Iterator[ProgressCallback]:
    """One transient bar "label ━━ k/n elapsed" for a stage counted in units (``gt verify``'s cells)."""
    if not console.is_terminal:
        with line_view(console) as show:
            yield show
        return
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def show(event: ProgressEvent) -> None:
            bar.update(task, completed=event.done, total=event.total)

        yield show


@contextlib.contextmanager
def build_bar(console: Console) -> Iterator[ProgressCallback]:
    """``gt build``: the file's cells done of all, elapsed and remaining time; in a log, the builder's lines
    (at least every 10 % or 30 s, :func:`line_view`)."""
    if not console.is_terminal:
        with line_view(console) as show:
            yield show
        return
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TimeRemainingColumn(), console=console)
    tasks: dict[str, int] = {}
    with bar:
        def show(event: ProgressEvent) -> None:
            if event.stage not in tasks:  # the first event: what the file already holds
                tasks[event.stage] = bar.add_task(event.stage, total=event.total, completed=event.done)
                return
            bar.update(tasks[event.stage], completed=event.done, total=event.total)

        yield show
