"""Progress of a long evaluation as :class:`harness.progress.ProgressEvent` values ("k/n subnets"), or nothing.

Why its own module: the evaluators only call ``advance(n)``; what a report becomes (a bar drawn by the CLI, a log
line, nothing) is the caller's :data:`~harness.progress.ProgressCallback`. Nothing here draws.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from harness.progress import Counter, ProgressArg, resolve, silent

Advance = Callable[[int], None]


@contextlib.contextmanager
def progress_bar(total: int, label: str, enabled: ProgressArg = True) -> Iterator[Advance]:
    """An ``advance(n)`` that reports ``label``: done/total subnets to ``enabled`` (see :func:`harness.progress.resolve`)."""
    report = resolve(enabled)
    if report is silent or total == 0:
        yield lambda n: None
        return
    yield Counter(report, label, total, "subnets").advance
