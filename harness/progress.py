"""The one progress protocol of the library: every long step reports :class:`ProgressEvent` values to a
:data:`ProgressCallback`, and nothing in the library draws.

Why one protocol: scoring, evaluation, the GT builder, GT verification, the sandboxed trainer and seed groups all
report progress, and the CLI shows them in one rich display (rich allows one live display at a time), the challenge
worker forwards them, the Streamlit app has its own widgets. With one event type each consumer is written once;
the rich rendering lives in :mod:`harness.cli.progress_view` only.

Library entry points take ``progress``: a callback, or ``False``/``None`` (silent), or ``True`` (log lines through
:mod:`logging`, throttled: what a script without a terminal wants; never a bar).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

log = logging.getLogger("harness.progress")


@dataclass(frozen=True)
class ProgressEvent:
    """``done`` of ``total`` units of ``stage`` (``total`` 1.0 for a fraction; ``None`` when unknown yet).

    ``stage`` names the step ("train", "evaluate GT archs", "seeds", "GT tiny-w20", ...); a stage whose ``done``
    falls again has started over (the next seed of a group). ``message`` is one printable line for the user;
    strings from a submission are already made printable by the sandbox, but a renderer still escapes them.
    """

    stage: str
    done: float
    total: float | None = 1.0
    message: str = ""

    @property
    def fraction(self) -> float | None:
        """``done / total`` clipped to [0, 1]; ``None`` while the total is unknown."""
        if not self.total:
            return None
        return min(max(self.done / self.total, 0.0), 1.0)


ProgressCallback = Callable[[ProgressEvent], None]
#: what library entry points accept: a callback, True (log lines), False or None (silent)
ProgressArg = ProgressCallback | bool | None


def silent(event: ProgressEvent) -> None:  # noqa: ARG001
    """The no-op callback (the default where nobody listens)."""


class LogProgress:
    """Log lines through :mod:`logging`, at most one per stage every ``every`` seconds (and at each stage's end)."""

    def __init__(self, every: float = 15.0) -> None:
        self.every = every
        self._last: dict[str, float] = {}

    def __call__(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        frac = event.fraction
        if now - self._last.get(event.stage, 0.0) > self.every or (frac is not None and frac >= 1.0):
            self._last[event.stage] = now
            log.info("%s: %s", event.stage, event.message or (f"{100 * frac:.0f}%" if frac is not None else ""))


def resolve(progress: ProgressArg) -> ProgressCallback:
    """The callback for a ``progress`` argument: itself, :class:`LogProgress` for ``True``, :func:`silent` else."""
    if callable(progress):
        return progress
    return LogProgress() if progress else silent


def restage(progress: ProgressCallback, stage: str) -> ProgressCallback:
    """``progress`` with every event renamed to ``stage`` (the caller knows which pass this is, the callee not)."""
    return lambda event: progress(replace(event, stage=stage))


def fractions(progress: ProgressCallback | None, stage: str) -> Callable[[float, str], None] | None:
    """A ``(fraction, message)`` reporter for ``stage`` (the sandbox's wire format from ``ctx.progress``)."""
    if progress is None:
        return None
    return lambda fraction, message="": progress(ProgressEvent(stage, float(fraction), 1.0, str(message)))


class Counter:
    """``advance(n)`` for a stage counted in units (subnets, cells): one event per call, message ``done/total unit``."""

    def __init__(self, progress: ProgressCallback, stage: str, total: int, unit: str, done: int = 0) -> None:
        self.progress, self.stage, self.total, self.unit, self.done = progress, stage, int(total), unit, int(done)

    def advance(self, n: int = 1, message: str | None = None) -> None:
        self.done += int(n)
        text = message if message is not None else f"{self.done}/{self.total} {self.unit}"
        self.progress(ProgressEvent(self.stage, self.done, self.total, text))
