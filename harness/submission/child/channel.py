"""The child's side of the job protocol: progress lines to the harness, and one-line failures.

Why its own module: every phase reports through the same pipe and fails the same way (a :class:`Failure` whose
message is the participant-facing line in ``result.json``), and :func:`describe` is the one place that turns a
submission's exception into that line. Standard library only: it is imported before the sandbox is confined.
"""

from __future__ import annotations

import json
import os
import traceback

from harness.errors import one_line

EXIT_FAILED = 3


def _report_fd() -> int:
    try:
        return int(os.environ.get("NAS_HARNESS_PROGRESS_FD", "-1"))
    except ValueError:
        return -1


def report(kind: str, **fields: object) -> None:
    """One JSON line to the harness (progress and status); silently dropped when the channel is gone."""
    fd = _report_fd()
    if fd < 0:
        return
    try:
        os.write(fd, (json.dumps({"t": kind, **fields}) + "\n").encode())
    except OSError:
        pass


class Failure(Exception):
    """A failure with a one-line, participant-facing message."""


def describe(exc: BaseException, sub_dir: str, memory_gb: float, *, subject: str = "the trainer", action: str = "raised") -> str:
    """One participant-facing line: ``<subject> <action> Type: message (file, line N)``.

    The location is the innermost frame in the submission's own files; out-of-memory and process-limit errors
    say so in words, since their exception text alone ("Errno 11") does not.
    """
    import errno

    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith(sub_dir.rstrip("/") + "/"):
            where = f" ({os.path.relpath(frame.filename, sub_dir)}, line {frame.lineno})"
            break
    if type(exc).__name__ == "SandboxPermissionError" and getattr(exc, "strerror", None):
        text = one_line(f"PermissionError: {exc.strerror}", 240)  # the sandbox's own words, without "[Errno 13]"
    else:
        text = one_line(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, 240)
    lowered = text.lower()
    if isinstance(exc, MemoryError) or "can't allocate memory" in lowered or "out of memory" in lowered:
        return f"{subject} ran out of memory (the budget allows {memory_gb:g} GB): {text}{where}"
    if isinstance(exc, BlockingIOError) and exc.errno == errno.EAGAIN and "fork" not in lowered:
        return f"{subject} hit the sandbox's process limit when creating a process ({text}){where}"
    return f"{subject} {action} {text}{where}"
