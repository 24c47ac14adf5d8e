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


#: a line at least this often while a stage runs (seconds) ...
LINE_EVERY_S = 30.0
#: ... and at every such step of its fraction (10 %), whichever comes first
LINE_EVERY_FRACTION = 0.1


class LineThrottle:
    """Which events of a stream deserve a line where nothing can redraw (a log file, CI, a pipe).

    Why one rule for every consumer: ``score``, ``check``, seed groups, ``gt build``, the workers and the proxies
    all print lines when stderr is not a terminal, and a CI log should look the same for each: a stage's first
    event, then a line each time its fraction crosses another :data:`LINE_EVERY_FRACTION` step or
    :data:`LINE_EVERY_S` passed since the stage's last line, and its end. A stage whose fraction falls has
    started over (the next seed) and is followed afresh. Stages of unknown size are throttled by time alone.
    """

    def __init__(self, every_s: float = LINE_EVERY_S, every_fraction: float = LINE_EVERY_FRACTION,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s, self.every_fraction, self.clock = float(every_s), float(every_fraction), clock
        self._last: dict[str, tuple[float, int, float]] = {}  # stage -> (time, fraction step, fraction) of its last line

    def due(self, event: ProgressEvent) -> bool:
        """Whether ``event`` gets a line (and, if so, remember it as the stage's last line)."""
        now, frac = self.clock(), event.fraction
        step = -1 if frac is None else int(frac / self.every_fraction + 1e-9)
        last = self._last.get(event.stage)
        due = (last is None or now - last[0] >= self.every_s or step > last[1]
               or (frac is not None and frac < last[2] - 1e-9)  # started over
               or (frac is not None and frac >= 1.0 and last[2] < 1.0))
        if due:
            self._last[event.stage] = (now, step, -1.0 if frac is None else frac)
        return due

    def stale(self, now: float | None = None) -> list[str]:
        """Stages whose last line is :attr:`every_s` old and that have not ended (a heartbeat repeats them)."""
        now = self.clock() if now is None else now
        return [s for s, (t, _, f) in self._last.items() if now - t >= self.every_s and f < 1.0]

    def touch(self, stage: str) -> None:
        """A line of ``stage`` was printed now (a heartbeat's repeat)."""
        if stage in self._last:
            t, step, frac = self._last[stage]
            self._last[stage] = (self.clock(), step, frac)


def event_line(event: ProgressEvent, width: int = 160) -> str:
    """One plain line for ``event``: ``stage: 40% message`` (no percent while the total is unknown)."""
    frac = event.fraction
    pct = f" {100 * frac:.0f}%" if frac is not None else ""
    return f"{event.stage}:{pct} {event.message}".rstrip()[:width]


class LogProgress:
    """Log lines through :mod:`logging`, throttled by :class:`LineThrottle` (what a script without a terminal wants)."""

    def __init__(self, every: float = LINE_EVERY_S) -> None:
        self.throttle = LineThrottle(every_s=every)

    def __call__(self, event: ProgressEvent) -> None:
        if self.throttle.due(event):
            log.info("%s", event_line(event))


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
