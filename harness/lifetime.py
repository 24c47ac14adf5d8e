"""Helper processes die with the process that started them: one mechanism for the evaluation workers and the
sandbox child.

Why: a ``kill -9`` of ``nas-harness score`` gives the harness no chance to clean up, and an orphaned worker or
trainer would keep two cores busy for minutes (the fault tests found exactly that). On Linux the kernel can send a
signal to a process when its parent dies (``PR_SET_PDEATHSIG``); elsewhere callers fall back to polling
:func:`parent_changed`.
"""

from __future__ import annotations

import os
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent() -> bool:
    """Ask the kernel to SIGKILL this process when its parent dies. True when armed (Linux), False otherwise.

    Call it early: before an audit hook that refuses ``ctypes`` library loads. After arming, check
    :func:`parent_changed` once: a parent that died before the call is not covered.
    """
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux (no libc.so.6 or no prctl)
        return False


def parent_changed(parent: int) -> bool:
    """Whether the parent is no longer ``parent`` (it died and this process was re-parented)."""
    return os.getppid() != parent
