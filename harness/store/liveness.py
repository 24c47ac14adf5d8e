"""Is the process that started a run still alive?

Why more than ``os.kill(pid, 0)``: a killed scorer can leave a zombie (alive to ``kill``) until its parent
waits for it, and pids are reused, so a "running" row could be kept alive forever by an unrelated process.
On Linux the store also records the process start time from ``/proc/<pid>/stat`` and compares it.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def host_name() -> str:
    """The name of this machine, recorded with every run so that only its own runs are judged by pid."""
    return socket.gethostname()


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces; fields after it are plain.
    return text[text.rfind(")") + 2 :].split()


def process_start(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (Linux), or None where /proc does not say."""
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 20:
        return None
    try:
        return int(fields[19])  # field 22 of /proc/pid/stat; fields[0] is field 3 (state)
    except ValueError:
        return None


def pid_alive(pid: int | None, start: int | None = None) -> bool:
    """True when ``pid`` runs, is not a zombie and (when ``start`` is known) is the same process as recorded."""
    if pid is None or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    fields = _stat_fields(pid)
    if fields is None:
        return True  # no /proc: trust kill(0)
    if fields and fields[0] in ("Z", "X"):
        return False
    if start is not None:
        now = process_start(pid)
        if now is not None and now != start:
            return False  # the pid was reused by another process
    return True
