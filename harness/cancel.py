"""Cancellation that reaches running work: a scope a worker opens around one job, checked where the work waits.

Why a context variable and not an argument: the work a challenge job does runs through ``score_submission`` ->
``run_trainer`` -> the sandbox launcher (or the Ray executor's wait loop), layers that know nothing of queues or
leases. The worker opens a :func:`scope` around the job on the thread that runs it; the heartbeat thread sets
the scope's event when the store says the job was cancelled (or its lease lost, or the worker drains); the
launcher's supervision loop, the evaluation's progress callback and the Ray wait loop call :func:`check` (or
:func:`requested`) and stop within their polling period. Outside any scope nothing is ever cancelled, so
``nas-harness score`` is unchanged.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from harness.errors import CancelledError


@dataclass
class CancelToken:
    """A job's stop request: ``reason`` says why (``"cancelled"``, ``"lease lost"``, ``"handback"``)."""

    event: threading.Event = field(default_factory=threading.Event)
    reason: str = ""

    def cancel(self, reason: str) -> None:
        if not self.event.is_set():
            self.reason = reason
            self.event.set()

    @property
    def cancelled(self) -> bool:
        return self.event.is_set()


_current: ContextVar[CancelToken | None] = ContextVar("nas_harness_cancel", default=None)


@contextlib.contextmanager
def scope(token: CancelToken) -> Iterator[CancelToken]:
    """Make ``token`` the current thread's (context's) cancel token for the duration of the block."""
    reset = _current.set(token)
    try:
        yield token
    finally:
        _current.reset(reset)


def current() -> CancelToken | None:
    return _current.get()


def requested() -> bool:
    """Whether the current work was asked to stop (always False outside a :func:`scope`)."""
    token = _current.get()
    return token is not None and token.cancelled


def check() -> None:
    """Raise :class:`CancelledError` when the current work was asked to stop."""
    token = _current.get()
    if token is not None and token.cancelled:
        raise CancelledError(f"stopped: {token.reason or 'cancelled'}")
