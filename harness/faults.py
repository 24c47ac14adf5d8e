"""Whose fault a failure is: the one classifier ``score``, the local worker and the Ray path all use.

Why one place: a challenge counts a submission's own failures against its team's quota and retries the platform's
without counting them. If a participant's bytes can make the harness raise something that is classed as the
platform's (a meta-device tensor's ``NotImplementedError``, an ``AssertionError`` inside ``torch.load`` on a forged
pickle), every upload is retried ``max_attempts`` times for free and never counted, and ``score`` prints a
traceback. So the rule is by *stage*, not by exception type: whatever is raised while reading, validating,
loading or evaluating participant bytes (their files, their pickles, their trainer's output) is the submission's
fault, whatever its type, and becomes one :class:`SubmissionError` line (no traceback, no host path). Only what a
participant cannot cause is the platform's: the host's disk failing (``ENOSPC``, ``EIO``, ...), a worker or node
dying, the store busy, a harness error raised outside those stages. A harness bug that only shows on a
participant's bytes is indistinguishable from hostile bytes, so it is the submission's (the host sees the exception
type in the one line, and reproduces it with ``nas-harness score`` on the reference submissions, which must pass).
"""

from __future__ import annotations

import contextlib
import errno
import re
from collections.abc import Iterator

from harness.errors import HarnessError, InvalidArchError, ManifestError, SubmissionError, one_line
from harness.submission.text import printable

SUBMISSION = "submission"
PLATFORM = "platform"
#: HarnessError classes that are the submission's fault wherever they are raised
SUBMISSION_FAULTS: tuple[type[HarnessError], ...] = (ManifestError, SubmissionError, InvalidArchError)
#: OSError numbers that say the host (its disk, its memory for files) failed, not the bytes being read
HOST_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.ENFILE, errno.EMFILE})
_ABS_PATH = re.compile(r"(?<![\w.])/(?:[^\s/'\"]+/)*[^\s/'\"]*")


def scrub_paths(text: str) -> str:
    """``text`` with every absolute path replaced by ``<path>``: a participant's error line names no host folder."""
    return _ABS_PATH.sub("<path>", text)


def fault_of(exc: BaseException) -> str:
    """:data:`SUBMISSION` or :data:`PLATFORM` for an exception that reached a worker or ``score``.

    Participant stages convert everything they raise into :class:`SubmissionError` (:func:`participant_bytes`), so
    here only the class decides: a submission fault class is the submission's; anything else the platform's.
    """
    return SUBMISSION if isinstance(exc, SUBMISSION_FAULTS) else PLATFORM


def is_host_failure(exc: BaseException) -> bool:
    """An exception the host's machine caused, even inside a participant stage (disk full, I/O error)."""
    return isinstance(exc, OSError) and exc.errno in HOST_ERRNOS


def describe(exc: BaseException, limit: int = 160) -> str:
    """One escaped line naming the exception's type and its first words, host paths removed."""
    text = one_line(scrub_paths(str(exc).split("\n")[0]))
    text = printable(text, limit)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


@contextlib.contextmanager
def participant_bytes(what: str) -> Iterator[None]:
    """A stage that reads, loads or evaluates participant bytes: whatever it raises is the submission's fault.

    HarnessErrors pass unchanged (their class already says whose fault they are); any other exception becomes a
    one-line :class:`SubmissionError` "``what`` cannot be used (Type: first words)", except host failures
    (:func:`is_host_failure`) and ``BaseException``s that are not ``Exception`` (Ctrl-C, exit), which propagate.
    """
    try:
        yield
    except HarnessError:
        raise
    except Exception as exc:  # noqa: BLE001  (the point: every type, from torch, pickle, numpy, h5py, ...)
        if is_host_failure(exc):
            raise
        raise SubmissionError(f"{what} cannot be used ({describe(exc)})") from None
