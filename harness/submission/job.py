"""A sandbox job as data: what the harness asks the child for (the job file, its limits) and what it gets back.

Why a phase of its own: the job is the whole contract between the harness and the confined child
(:mod:`harness.submission.child`). It is written as JSON into the scratch folder before the child starts and
answered by ``scratch/out/result.json``; everything in between is the launcher's business
(:mod:`harness.submission.launcher`). The answer comes out of the sandbox, so it is read as untrusted data:
bounded in size, its error text flattened and escaped, and a missing or malformed record is a failure, never a
success.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import BudgetExceededError, SubmissionError, one_line
from harness.submission.text import printable

if TYPE_CHECKING:  # the job only passes the policy on (its JSON); the context imports this module's limits
    from harness.submission.policy import Policy

#: comma-separated child layers to switch off ("landlock", "audit", "seccomp"): for tests that prove each layer alone holds
DISABLE_ENV = "NAS_HARNESS_SANDBOX_DISABLE"
#: host opt-in: run the fallback even where no_new_privs/capability drop/seccomp cannot be applied
UNHARDENED_ENV = "NAS_HARNESS_FALLBACK_UNHARDENED"
MAX_PROCESSES = 256  # tasks (processes + threads) a sandbox may add; cgroup and RLIMIT_NPROC
MAX_FORKS = 64  # Python-level fork() calls a sandbox may make (audit hook)
MAX_FILE_BYTES = 2 * 1024**3
#: the largest result record read back (the child writes a few fields)
MAX_RESULT_BYTES = 1 << 20
#: most ``ctx.log`` scalar points one run keeps, and the longest scalar name (the context and the launcher both hold to them)
MAX_SCALAR_POINTS = 100_000
MAX_SCALAR_NAME = 64
JOB_FILE = "job.json"
RESULT_FILE = "result.json"


@dataclass
class JobOutcome:
    """What a finished sandbox job left: its result record, its output folder and how it ran."""

    result: dict[str, Any]
    out_dir: Path
    seconds: float
    mode: str
    landlock: int
    log_tail: str


@dataclass
class TrainerOutput:
    """What a trainer printed and logged, kept with its run whether it succeeded or not.

    ``log``: the last 1 MB of its stdout/stderr, every line made inert (:func:`harness.submission.launcher.log_text`);
    ``scalars``: its ``ctx.log`` points as ``(step, name, value)``; ``epochs``: the epochs it trained as its context
    counted them (None: unknown, e.g. it failed first). Filled in by :func:`harness.submission.isolation.run_job`.
    """

    log: str = ""
    scalars: list[tuple[int, str, float]] = field(default_factory=list)
    epochs: int | None = None


@dataclass(frozen=True)
class ChildExit:
    """How the child process ended, as the launcher saw it (the job's verdict is drawn from this and the result)."""

    returncode: int
    seconds: float
    timed_out: bool
    over_quota: str  # why the scratch folder was over its quota, or ""
    landlock: int  # the Landlock ABI the child reported it applied (0: none)
    log_tail: str  # the last few KB of the child's stdout/stderr
    log: str = ""  # the last 1 MB of it, made inert (kept with the run)
    scalars: list[tuple[int, str, float]] = field(default_factory=list)  # its ctx.log points


# --------------------------------------------------------------------------------------------- scratch
def make_scratch(prefix: str) -> Path:
    """A private scratch folder (mode 0700)."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def remove_tree(path: Path) -> None:
    """Remove a scratch folder; entries that vanish meanwhile (a child still cleaning up) are not an error."""

    def onerror(func, p, exc_info):  # noqa: ANN001 - shutil callback
        if isinstance(exc_info[1], OSError) and exc_info[1].errno == errno.ENOENT:
            return

    shutil.rmtree(path, onerror=onerror)


def prepare_scratch(scratch: Path) -> Path:
    """An empty ``out/`` (what the child writes back) and a ``tmp/`` in ``scratch``; returns ``out/``.

    Why empty: a file left by an earlier run in the same scratch folder must never pass for this run's output.
    """
    out_dir = scratch / "out"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    (scratch / "tmp").mkdir(exist_ok=True)
    return out_dir


# --------------------------------------------------------------------------------------------- asking
def disabled_layers() -> set[str]:
    """The child layers a test switched off with ``$NAS_HARNESS_SANDBOX_DISABLE``."""
    return {x.strip() for x in os.environ.get(DISABLE_ENV, "").split(",") if x.strip()}


def resource_limits(*, seconds: float, memory_gb: float, threads: int, cuda: bool) -> dict[str, int | None]:
    """The rlimits the child sets on itself before anything else (see ``child.confinement.apply_rlimits``).

    The address-space cap is off on CUDA (the driver maps far more virtual memory than it uses); the cgroup's
    memory cap still holds there. CPU time allows every thread the whole wall budget, plus a minute to start.
    """
    return {
        "address_space": None if cuda else int(memory_gb * 1024**3),
        "file_size": MAX_FILE_BYTES,
        "cpu_seconds": int(seconds * max(1, threads) + 60),
        "open_files": 4096,
        "extra_processes": MAX_PROCESSES,
    }


def full_job(job: dict[str, Any], *, policy: Policy, scratch: Path, seconds: float, memory_gb: float, mode: str) -> dict[str, Any]:
    """The phase's job (``phase``, ``submission``, ``space``, ...) plus what every job carries: the scratch folder,
    the path policy, the kill time, which confinement layers to apply and the resource limits."""
    disabled = disabled_layers()
    threads = int(job.get("threads", 1))
    return {
        **job,
        "scratch": str(scratch.resolve()),
        "policy": policy.to_json(),
        "max_forks": MAX_FORKS,
        "kill_at": time.time() + seconds,
        "landlock": "landlock" not in disabled,
        "audit": "audit" not in disabled,
        "seccomp": "seccomp" not in disabled,
        # the fallback has no namespaces: without the hardening layer it must not run a stranger's code,
        # unless the host explicitly accepts that (documented in the README)
        "require_seccomp": mode == "fallback" and os.environ.get(UNHARDENED_ENV, "") != "1",
        "limits": resource_limits(seconds=seconds, memory_gb=memory_gb, threads=threads,
                                  cuda=str(job.get("device", "cpu")).startswith("cuda")),
    }


def write_job(scratch: Path, job: dict[str, Any]) -> Path:
    """The job file the child is started with."""
    path = scratch / JOB_FILE
    path.write_text(json.dumps(job))
    return path


# --------------------------------------------------------------------------------------------- answer
def read_result(path: Path) -> dict[str, Any] | None:
    """The child's result record, or None when it is missing, too large or not a JSON object."""
    try:
        if path.stat().st_size > MAX_RESULT_BYTES:
            return None
        data = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def job_outcome(child: ChildExit, out_dir: Path, *, mode: str, what: str, seconds: float, memory_gb: float) -> JobOutcome:
    """The job's outcome, or the one-line error that says why there is none.

    Raises :class:`BudgetExceededError` (killed past the time budget or the scratch quota) or
    :class:`SubmissionError` (the child reported a failure, or died, or exited without a valid result).
    """
    if child.timed_out:
        raise BudgetExceededError(f"the {what} ran past its time budget of {seconds:g} s and was killed")
    if child.over_quota:
        raise BudgetExceededError(f"the {what} was killed: {child.over_quota}")
    result = read_result(out_dir / RESULT_FILE)
    if result is not None and result.get("ok") is False and isinstance(result.get("error"), str):
        raise SubmissionError(printable(one_line(result["error"][:4000]), 400))
    if child.returncode != 0 or result is None or result.get("ok") is not True:
        raise SubmissionError(describe_exit(child.returncode, mode, what, memory_gb, child.log_tail))
    return JobOutcome(result=result, out_dir=out_dir, seconds=child.seconds, mode=mode, landlock=child.landlock,
                      log_tail=child.log_tail)


def recorded_epochs(result: dict[str, Any] | None) -> int | None:
    """The epochs a child's result record says the trainer trained (untrusted: an int in a sane range, or None)."""
    value = (result or {}).get("epochs")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1_000_000:
        return None
    return value


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def describe_exit(rc: int, mode: str, what: str, memory_gb: float, tail: str) -> str:
    """Why a child that left no result ended, in words (bwrap reports a signal death as exit code 128 + signal)."""
    signum = -rc if rc < 0 else (rc - 128 if mode == "bwrap" and rc > 128 else 0)
    if signum:
        name = signal_name(signum)
        if signum == signal.SIGKILL:
            return f"the {what} was killed ({name}), most likely for using more memory than its budget of {memory_gb:g} GB"
        if signum == signal.SIGXCPU:
            return f"the {what} ran past its CPU-time limit and was killed ({name})"
        if signum == signal.SIGXFSZ:
            return f"the {what} wrote a file larger than the sandbox allows ({name})"
        return f"the {what} process died from {name}"
    last = [ln.strip() for ln in tail.splitlines() if ln.strip()]
    hint = f" (last output: {printable(last[-1], 160)})" if last and rc not in (0,) else ""
    if rc == 0:
        return f"the {what} process exited (code 0) before it finished its work"
    return f"the {what} process exited with code {rc} before it finished its work{hint}"
