"""User-facing error types.

Why a class per failure: the CLI turns each into one red line and an exit code, so a user mistake never
shows a traceback, and tests can assert *which* failure happened rather than parsing messages.
"""

from __future__ import annotations

from typing import Any


def one_line(text: Any, limit: int | None = None) -> str:
    """``text`` as one line: every run of whitespace (newlines, tabs) becomes one space; past ``limit`` characters
    it is cut and ends in ``...``.

    Why here, once: every failure the harness shows or stores is one line (a red CLI line, a table cell, a job's
    error), whether it comes from a :class:`HarnessError`, a trainer's exception in the sandbox or a store reason.
    """
    flat = " ".join(str(text).split())
    if limit is None or len(flat) <= limit:
        return flat
    return flat[: max(0, limit - 3)] + "..."


class HarnessError(Exception):
    """Base class: a failure the user can act on. ``exit_code`` is what the CLI exits with."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # one line, always
        return one_line(self.message)


class InvalidArchError(HarnessError):
    """An arch string that does not belong to the search space."""

    exit_code = 2


class UnknownNameError(HarnessError):
    """A benchmark, space, kind, run or submission name that is not known."""

    exit_code = 2


class BadPathError(HarnessError):
    """A path that is missing or of the wrong type."""

    exit_code = 2


class DataError(HarnessError):
    """Data that is missing, corrupt or fails its checksum."""

    exit_code = 3


class GroundTruthError(HarnessError):
    """A ground-truth file that is missing, corrupt or inconsistent."""

    exit_code = 3


class ManifestError(HarnessError):
    """A submission.toml that is missing, malformed or names something unknown."""

    exit_code = 4


class SubmissionError(HarnessError):
    """A submission whose content is unusable (bad predictions, bad checkpoint, failing trainer)."""

    exit_code = 5


class BudgetExceededError(SubmissionError):
    """A trainer that ran past its wall-clock or memory budget."""


class EvaluationTimeoutError(BudgetExceededError):
    """A submission whose evaluation ran past the benchmark's wall-clock cap (``[budget] eval_seconds``).

    The submission's fault: its weights decide the cost (subnormal floats, a slow module of its own)."""


class SandboxViolationError(SubmissionError):
    """A trainer that tried something the sandbox forbids."""


class StoreError(HarnessError):
    """The results store could not be read or written."""

    exit_code = 6


class UnknownRunError(StoreError):
    """A run id (or prefix) that names no run, or more than one: a name the user typed, so exit 2 like
    :class:`UnknownNameError`; still a :class:`StoreError` for callers that catch those."""

    exit_code = 2


class DeviceError(HarnessError):
    """A ``--device`` that is not valid or not available on this machine (checked before any work starts)."""

    exit_code = 2


class UsageError(HarnessError):
    """Options that contradict each other or a value out of range (e.g. ``--seeds`` for a predictions file)."""

    exit_code = 2


class BenchmarkVersionError(UsageError):
    """Runs of different versions of one benchmark asked to be compared, gated or rescored together.

    Why an error and not a warning: a new version has another arch set, GT, data or protocol, so a difference
    between its runs and an older version's is not a verdict about the submissions. Exit 2 like other usage errors.
    """


class UnsupportedError(HarnessError):
    """An operation the chosen search space (or benchmark) does not support, e.g. few-shot splits of a cell space."""

    exit_code = 2


class SpecError(UnknownNameError):
    """A benchmark spec (TOML) that is malformed: an unknown key, a wrong type, an unknown metric or kind.

    A subclass of UnknownNameError (exit 2): a spec names things, and older callers caught that class."""


class PluginError(HarnessError):
    """A plugin named in ``$NAS_HARNESS_PLUGINS`` that is missing or fails to import (never skipped silently)."""

    exit_code = 2


class CancelledError(HarnessError):
    """Work stopped on request: a host's ``challenge cancel`` seen at a heartbeat, a lost lease, or a worker
    draining on SIGTERM. Neither the submission's fault nor the platform's: the job's state says what happened."""

    exit_code = 130
