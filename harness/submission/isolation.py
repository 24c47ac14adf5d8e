"""Run one sandbox job (train or evaluate) in an isolated child process, under a wall-clock budget.

Two modes, chosen per run (``$NAS_HARNESS_SANDBOX`` = ``auto`` | ``bwrap`` | ``fallback``, default ``auto``):

* **bwrap** (when ``bwrap`` is installed and can create namespaces here): new user, PID, network, IPC, UTS and
  cgroup namespaces; no network at all; a file system made of read-only binds of the policy's paths only (the
  Python environment, the harness and reference-net packages minus their GT folder, the submission folder) and
  one writable bind, the scratch folder; a private ``/tmp``, ``/proc`` and ``/dev``; the root re-mounted
  read-only; all capabilities dropped; the sandbox dies with the harness.
* **fallback** (no usable bwrap, e.g. containers that deny user namespaces): a plain child process in its own
  session with a scrubbed environment and its scratch folder as working directory.

In both modes the child itself (``_child.py``) then sets resource limits, applies Landlock when the kernel has it
(the same allow-list, kernel-enforced; in the fallback it is the file-system and TCP boundary), and installs the
audit hook before running any submission code. The harness also puts the run in a cgroup when it may (process
and memory caps for the whole tree). Past the budget the whole process group (and cgroup, and in fallback every
process carrying the run's token) is killed with SIGKILL.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.errors import BudgetExceededError, HarnessError, SubmissionError
from harness.submission.cgroups import RunCgroup
from harness.submission.policy import Policy
from harness.submission.text import printable

CHILD_SCRIPT = Path(__file__).with_name("_child.py")
MODE_ENV = "NAS_HARNESS_SANDBOX"
MODES = ("auto", "bwrap", "fallback")
TOKEN_ENV = "NAS_HARNESS_SANDBOX_TOKEN"
#: comma-separated child layers to switch off ("landlock", "audit"): for tests that prove each layer alone holds
DISABLE_ENV = "NAS_HARNESS_SANDBOX_DISABLE"
#: host opt-in: run the fallback even where no_new_privs/capability drop/seccomp cannot be applied
UNHARDENED_ENV = "NAS_HARNESS_FALLBACK_UNHARDENED"
MAX_PROCESSES = 256  # tasks (processes + threads) a sandbox may add; cgroup and RLIMIT_NPROC
MAX_FORKS = 64  # Python-level fork() calls a sandbox may make (audit hook)
MAX_FILE_BYTES = 2 * 1024**3
MAX_MESSAGE_BYTES = 64 * 1024  # longest progress line kept from the child
#: what a sandbox may keep in its scratch folder (bytes, entries); checked every few seconds, killed past it
MAX_SCRATCH_BYTES = 4 * 1024**3
MAX_SCRATCH_ENTRIES = 100_000
SCRATCH_CHECK_S = 2.0
ProgressFn = Callable[[float, str], None]


@dataclass
class JobOutcome:
    """What a finished sandbox job left: its result record, its output folder and how it ran."""

    result: dict[str, Any]
    out_dir: Path
    seconds: float
    mode: str
    landlock: int
    log_tail: str


# --------------------------------------------------------------------------------------------- modes
@lru_cache(maxsize=1)
def bwrap_status() -> tuple[bool, str]:
    """(usable, why not): bwrap is installed *and* can create the namespaces we need on this machine."""
    path = shutil.which("bwrap")
    if path is None:
        return False, "bwrap is not installed"
    try:
        done = subprocess.run(
            [path, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"],
            capture_output=True, text=True, timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"bwrap does not run: {exc}"
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
        return False, f"bwrap cannot create namespaces here: {lines[-1] if lines else done.returncode}"
    return True, ""


def isolation_mode(requested: str | None = None) -> str:
    """``"bwrap"`` or ``"fallback"`` for this run."""
    mode = (requested or os.environ.get(MODE_ENV) or "auto").strip().lower()
    if mode not in MODES:
        raise HarnessError(f"{MODE_ENV}={mode!r} is not one of {', '.join(MODES)}")
    usable, why = bwrap_status()
    if mode == "bwrap" and not usable:
        raise HarnessError(f"the bwrap sandbox was requested but {why}")
    if mode == "auto":
        return "bwrap" if usable else "fallback"
    return mode


# -------------------------------------------------------------------------------------------- bwrap
def _bind(args: list[str], path: str, flag: str = "--ro-bind") -> None:
    if os.path.islink(path):
        args += ["--symlink", os.readlink(path), path]
    elif os.path.exists(path):
        args += [flag, path, path]


def bwrap_command(policy: Policy, env: dict[str, str]) -> list[str]:
    """The bwrap prefix for ``policy``: binds at the same paths, GT overlays, no network, no capabilities."""
    args = [
        shutil.which("bwrap") or "bwrap",
        "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
        "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
    ]
    if os.geteuid() == 0:
        args += ["--cap-drop", "ALL"]
    visible = [p for p in policy.read if not p.startswith(("/proc/", "/dev/")) and p not in ("/proc", "/dev")]
    # carved-out leaves are bound one by one; denied paths are simply never bound
    for path in sorted(set(visible), key=lambda p: (p.count("/"), p)):
        _bind(args, path)
    for path in policy.rw_files:
        if path.startswith("/dev/nvidia"):
            args += ["--dev-bind", path, path]
    # the root (a tmpfs bwrap builds) becomes read-only; the scratch folder and the private /tmp stay writable
    args += ["--remount-ro", "/", "--bind", policy.scratch, policy.scratch, "--chdir", policy.scratch]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return args


# ---------------------------------------------------------------------------------------- processes
def _exited(pid: int) -> bool:
    """Whether ``pid`` has exited, without reaping it (so its process-group id cannot be reused yet)."""
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return info is not None and info.si_pid == pid


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_by_token(token: str) -> None:
    """SIGKILL every process whose environment carries the run's token (catches ``setsid`` escapes)."""
    needle = f"{TOKEN_ENV}={token}".encode()
    me = os.getpid()
    for _ in range(3):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == me:
                continue
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if needle in f.read():
                        os.kill(int(entry), signal.SIGKILL)
                        found = True
            except OSError:
                continue
        if not found:
            return
        time.sleep(0.05)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def child_env(scratch: Path, token: str, fd: int, threads: int) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(scratch),
        "TMPDIR": str(scratch / "tmp"),
        "LANG": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "NAS_HARNESS_PROGRESS_FD": str(fd),
        TOKEN_ENV: token,
    }
    for key in ("CUDA_VISIBLE_DEVICES", "CUBLAS_WORKSPACE_CONFIG"):
        if key in os.environ:
            env[key] = os.environ[key]
    from harness.spaces.registry import sandbox_env

    env.update(sandbox_env())  # spaces from plugins: the child looks its space up by name too
    return env


def run_job(
    job: dict[str, Any],
    *,
    policy: Policy,
    scratch: Path,
    seconds: float,
    memory_gb: float,
    mode: str,
    what: str,
    progress: ProgressFn | None = None,
) -> JobOutcome:
    """Run ``job`` in the sandbox; returns its outcome or raises a one-line SubmissionError/BudgetExceededError."""
    scratch = Path(scratch)
    out_dir = scratch / "out"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    (scratch / "tmp").mkdir(exist_ok=True)
    token = secrets.token_hex(16)
    disabled = {x.strip() for x in os.environ.get(DISABLE_ENV, "").split(",") if x.strip()}
    threads = int(job.get("threads", 1))
    cuda = str(job.get("device", "cpu")).startswith("cuda")
    job = {
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
        "limits": {
            "address_space": None if cuda else int(memory_gb * 1024**3),
            "file_size": MAX_FILE_BYTES,
            "cpu_seconds": int(seconds * max(1, threads) + 60),
            "open_files": 4096,
            "extra_processes": MAX_PROCESSES,
        },
    }
    job_path = scratch / "job.json"
    job_path.write_text(json.dumps(job))

    read_fd, write_fd = os.pipe()
    os.set_inheritable(write_fd, True)
    env = child_env(scratch.resolve(), token, write_fd, threads)
    argv = [sys.executable, "-I", "-B", str(CHILD_SCRIPT), str(job_path.resolve())]
    cmd = bwrap_command(policy, env) + argv if mode == "bwrap" else argv
    cgroup = RunCgroup(f"nas-harness-{token[:12]}", max_pids=MAX_PROCESSES, memory_bytes=int(memory_gb * 1.25 * 1024**3))
    cmd = cgroup.wrap(cmd)
    # the child's stdout/stderr go into its scratch folder, so the scratch quota also bounds a flood of prints
    log = open(scratch / "output.log", "w+b")  # noqa: SIM115 - closed below
    started = time.monotonic()
    timed_out = False
    messages = _Messages(progress)
    buffer = b""
    try:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=scratch,
            pass_fds=(write_fd,), start_new_session=True, close_fds=True,
        )
    except OSError as exc:
        os.close(read_fd)
        os.close(write_fd)
        cgroup.remove()
        log.close()
        raise HarnessError(f"the sandbox could not start: {exc}") from None
    os.close(write_fd)
    cgroup.add(proc.pid)
    deadline = started + seconds
    eof = False
    next_scratch_check = started + SCRATCH_CHECK_S
    over_quota = ""

    def consume(chunk: bytes) -> None:
        nonlocal buffer
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        buffer = buffer[-MAX_MESSAGE_BYTES:]  # a child flooding the channel cannot grow our memory
        for line in lines[-1000:]:
            messages.handle(line[:MAX_MESSAGE_BYTES])

    try:
        while True:
            wait = max(0.0, min(0.25, deadline - time.monotonic()))
            ready = select.select([read_fd], [], [], wait)[0] if not eof else time.sleep(wait)
            if ready:
                chunk = os.read(read_fd, 65536)
                eof = not chunk
                consume(chunk)
            if _exited(proc.pid):
                break
            if time.monotonic() > deadline:
                timed_out = True
                break
            if time.monotonic() > next_scratch_check:
                next_scratch_check = time.monotonic() + SCRATCH_CHECK_S
                over_quota = _scratch_over_quota(scratch)
                if over_quota:
                    break
    finally:
        _kill_group(proc.pid)
        cgroup.remove()
        if mode == "fallback":
            _kill_by_token(token)
        proc.wait()
        for _ in range(64):  # the last lines (e.g. the final progress) after exit; bounded
            if eof or not select.select([read_fd], [], [], 0)[0]:
                break
            chunk = os.read(read_fd, 65536)
            eof = not chunk
            consume(chunk)
        os.close(read_fd)
    elapsed = time.monotonic() - started
    log.seek(0, os.SEEK_END)
    size = log.tell()
    log.seek(max(0, size - 4000))
    tail = log.read().decode("utf-8", "replace")
    log.close()

    if timed_out:
        raise BudgetExceededError(f"the {what} ran past its time budget of {seconds:g} s and was killed")
    if over_quota:
        raise BudgetExceededError(f"the {what} was killed: {over_quota}")
    result = _read_result(out_dir / "result.json")
    rc = proc.returncode
    if result is not None and result.get("ok") is False and isinstance(result.get("error"), str):
        raise SubmissionError(printable(" ".join(result["error"][:4000].split()), 400))
    if rc != 0 or result is None or result.get("ok") is not True:
        raise SubmissionError(_describe_exit(rc, mode, what, memory_gb, tail))
    return JobOutcome(result=result, out_dir=out_dir, seconds=elapsed, mode=mode, landlock=messages.landlock, log_tail=tail)


def _scratch_over_quota(scratch: Path) -> str:
    """Why the scratch folder is over its quota (bytes or entries), or "" when it is not."""
    total = entries = 0
    stack = [str(scratch)]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    entries += 1
                    if entries > MAX_SCRATCH_ENTRIES:
                        return f"it created more than {MAX_SCRATCH_ENTRIES:,} files in its scratch folder"
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        else:
                            total += entry.stat(follow_symlinks=False).st_blocks * 512
                    except OSError:
                        continue
        except OSError:
            continue
        if total > MAX_SCRATCH_BYTES:
            return f"it wrote more than {MAX_SCRATCH_BYTES / 1024**3:g} GB into its scratch folder"
    return ""


class _Messages:
    """Parses the child's JSON lines: progress goes to the callback (fraction always in [0, 1], status lines
    repeat the last fraction), the Landlock ABI the child applied is remembered for the outcome."""

    def __init__(self, progress: ProgressFn | None) -> None:
        self.progress = progress
        self.fraction = 0.0
        self.landlock = 0

    def handle(self, line: bytes) -> None:
        try:
            msg = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            return
        if not isinstance(msg, dict):
            return
        if msg.get("t") == "status" and isinstance(msg.get("landlock"), int):
            self.landlock = int(msg["landlock"])
        if msg.get("t") == "progress":
            try:
                value = float(msg.get("f", self.fraction))
            except (TypeError, ValueError):
                value = self.fraction
            if value == value:  # not NaN
                self.fraction = min(max(value, 0.0), 1.0)
        if self.progress is not None and msg.get("t") in ("progress", "status"):
            self.progress(self.fraction, printable(" ".join(str(msg.get("m", ""))[:1000].split()), 120))


def _read_result(path: Path) -> dict[str, Any] | None:
    try:
        if path.stat().st_size > 1 << 20:
            return None
        data = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _describe_exit(rc: int, mode: str, what: str, memory_gb: float, tail: str) -> str:
    signum = -rc if rc < 0 else (rc - 128 if mode == "bwrap" and rc > 128 else 0)
    if signum:
        name = _signal_name(signum)
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


def make_scratch(prefix: str) -> Path:
    """A private scratch folder (mode 0700)."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def remove_tree(path: Path) -> None:
    def onerror(func, p, exc_info):  # noqa: ANN001 - shutil callback
        if isinstance(exc_info[1], OSError) and exc_info[1].errno == errno.ENOENT:
            return

    shutil.rmtree(path, onerror=onerror)
