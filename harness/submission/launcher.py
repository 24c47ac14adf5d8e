"""Start the sandbox child, supervise it under a wall-clock budget, and capture what it says and prints.

Two modes, chosen per run (``$NAS_HARNESS_SANDBOX`` = ``auto`` | ``bwrap`` | ``fallback``, default ``auto``):

* **bwrap** (when ``bwrap`` is installed and can create namespaces here): new user, PID, network, IPC, UTS and
  cgroup namespaces; no network at all; a file system made of read-only binds of the policy's paths only (the
  Python environment, the harness and reference-net packages minus their GT folder, the submission folder) and
  one writable bind, the scratch folder; a private ``/tmp``, ``/proc`` and ``/dev``; the root re-mounted
  read-only; all capabilities dropped; the sandbox dies with the harness.
* **fallback** (no usable bwrap, e.g. containers that deny user namespaces): a plain child process in its own
  session with a scrubbed environment and its scratch folder as working directory.

In both modes the child itself (:mod:`harness.submission.child`) then sets resource limits, applies Landlock when
the kernel has it (the same allow-list, kernel-enforced; in the fallback it is the file-system and TCP boundary),
and installs the audit hook before running any submission code. The launcher also puts the run in a cgroup when it
may (process and memory caps for the whole tree). Past the budget, or past the scratch quota, the whole process
group (and cgroup, and in fallback every process carrying the run's token) is killed with SIGKILL.

Output capture: the child's stdout/stderr go to ``scratch/output.log`` (inside the scratch quota, so a flood of
prints is bounded too); its last :data:`LOG_KEEP_BYTES` come back, every line made inert (:func:`log_text`), and
are stored with the run whether it succeeded or failed; the last few KB also go into error messages. Its
progress, status and ``ctx.log`` scalars arrive as JSON lines on a pipe, each line, the buffer and the number of
scalar points bounded, so a child flooding the channel cannot grow the harness's memory.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import IO

from harness import cancel
from harness.errors import HarnessError, one_line
from harness.submission.cgroups import RunCgroup
from harness.submission.job import MAX_PROCESSES, MAX_SCALAR_NAME, MAX_SCALAR_POINTS, ChildExit
from harness.submission.policy import Policy
from harness.submission.text import printable

CHILD_SCRIPT = Path(__file__).with_name("_child.py")
MODE_ENV = "NAS_HARNESS_SANDBOX"
MODES = ("auto", "bwrap", "fallback")
TOKEN_ENV = "NAS_HARNESS_SANDBOX_TOKEN"
MAX_MESSAGE_BYTES = 64 * 1024  # longest progress line kept from the child
LOG_TAIL_BYTES = 4000  # how much of the child's output comes back for error messages
LOG_KEEP_BYTES = 1 << 20  # how much of it is kept with the run (the last 1 MB)
MAX_LINE_CHARS = 4000  # longest line of a kept log (longer ones are cut)
#: what a sandbox may keep in its scratch folder (bytes, entries); checked every few seconds, killed past it
MAX_SCRATCH_BYTES = 4 * 1024**3
MAX_SCRATCH_ENTRIES = 100_000
SCRATCH_CHECK_S = 2.0
ProgressFn = Callable[[float, str], None]


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


# -------------------------------------------------------------------------------------------- command
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


def child_env(scratch: Path, token: str, fd: int, threads: int) -> dict[str, str]:
    """The child's whole environment: nothing of the harness's but the GPU selection."""
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


def child_command(job_path: Path, policy: Policy, env: dict[str, str], mode: str) -> list[str]:
    """``python -I -B _child.py JOB``, inside bwrap in the bwrap mode."""
    argv = [sys.executable, "-I", "-B", str(CHILD_SCRIPT), str(job_path.resolve())]
    return bwrap_command(policy, env) + argv if mode == "bwrap" else argv


# --------------------------------------------------------------------------------------------- launch
def launch(
    job_path: Path,
    *,
    policy: Policy,
    scratch: Path,
    seconds: float,
    memory_gb: float,
    mode: str,
    threads: int,
    progress: ProgressFn | None = None,
) -> ChildExit:
    """Run the child on ``job_path`` until it exits, or kill it past ``seconds`` or the scratch quota.

    Whatever happens, nothing of the run outlives this call (process group, cgroup, token-marked processes).
    Raises :class:`HarnessError` only when the child cannot be started at all.
    """
    token = secrets.token_hex(16)
    read_fd, write_fd = os.pipe()
    os.set_inheritable(write_fd, True)
    env = child_env(scratch.resolve(), token, write_fd, threads)
    cgroup = RunCgroup(f"nas-harness-{token[:12]}", max_pids=MAX_PROCESSES, memory_bytes=int(memory_gb * 1.25 * 1024**3))
    cmd = cgroup.wrap(child_command(job_path, policy, env, mode))
    channel = _Channel(read_fd, progress)
    # the child's stdout/stderr go into its scratch folder, so the scratch quota also bounds a flood of prints
    with open(scratch / "output.log", "w+b") as log:
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=scratch,
                pass_fds=(write_fd,), start_new_session=True, close_fds=True,
            )
        except OSError as exc:
            channel.close()
            cgroup.remove()
            raise HarnessError(f"the sandbox could not start: {exc}") from None
        finally:
            os.close(write_fd)
        cgroup.add(proc.pid)
        try:
            timed_out, over_quota = _supervise(proc, channel, scratch, deadline=started + seconds)
        finally:
            _end(proc, cgroup, mode, token)
            try:
                channel.drain()
            finally:
                channel.close()  # even when a progress callback raised (a cancel, harness.cancel)
        elapsed = time.monotonic() - started
        tail = _tail(log)
        kept = log_text(_tail_bytes(log, LOG_KEEP_BYTES), cut=log.tell() > LOG_KEEP_BYTES)
    return ChildExit(returncode=proc.returncode, seconds=elapsed, timed_out=timed_out, over_quota=over_quota,
                     landlock=channel.messages.landlock, log_tail=tail, log=kept, scalars=channel.messages.scalars)


def _supervise(proc: subprocess.Popen, channel: _Channel, scratch: Path, *, deadline: float) -> tuple[bool, str]:
    """Read the child's messages until it exits; ``(timed out, over-quota reason)`` when it had to be stopped."""
    next_scratch_check = time.monotonic() + SCRATCH_CHECK_S
    while True:
        channel.wait(max(0.0, min(0.25, deadline - time.monotonic())))
        if _exited(proc.pid):
            return False, ""
        cancel.check()  # a cancelled job (harness.cancel): the caller's finally kills the whole run at once
        if time.monotonic() > deadline:
            return True, ""
        if time.monotonic() > next_scratch_check:
            next_scratch_check = time.monotonic() + SCRATCH_CHECK_S
            over_quota = scratch_over_quota(scratch)
            if over_quota:
                return False, over_quota


def _end(proc: subprocess.Popen, cgroup: RunCgroup, mode: str, token: str) -> None:
    """Kill everything of the run (even after a clean exit: a daemon it left behind) and reap the child."""
    _kill_group(proc.pid)
    cgroup.remove()
    if mode == "fallback":
        _kill_by_token(token)
    proc.wait()


def _tail(log: IO[bytes]) -> str:
    return _tail_bytes(log, LOG_TAIL_BYTES).decode("utf-8", "replace")


def _tail_bytes(log: IO[bytes], n: int) -> bytes:
    """The last ``n`` bytes of ``log`` (leaves the position at its end)."""
    log.seek(0, os.SEEK_END)
    size = log.tell()
    log.seek(max(0, size - n))
    data = log.read()
    log.seek(0, os.SEEK_END)
    return data


def log_text(raw: bytes, *, cut: bool = False) -> str:
    """A trainer's output as inert text: decoded, every control or format character of each line made a visible
    escape (ANSI, OSC, bidi overrides), lines cut at :data:`MAX_LINE_CHARS`; ``cut``: the output was longer, so its
    first, partial line is dropped and a note says so. Every output escapes it again for its own medium."""
    text = raw.decode("utf-8", "replace")
    lines = text.split("\n")
    if cut and len(lines) > 1:
        lines = ["[… earlier output cut: the last 1 MB is kept]", *lines[1:]]
    if lines and lines[-1] == "":
        lines.pop()
    return "\n".join(printable(ln.rstrip("\r"), MAX_LINE_CHARS) for ln in lines)


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


def scratch_over_quota(scratch: Path) -> str:
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


# ---------------------------------------------------------------------------------------- messages
class _Channel:
    """The read end of the child's progress pipe: bytes split into lines, each line and the buffer bounded."""

    def __init__(self, fd: int, progress: ProgressFn | None) -> None:
        self.fd = fd
        self.eof = False
        self.buffer = b""
        self.messages = _Messages(progress)

    def wait(self, timeout: float) -> None:
        """Up to ``timeout`` seconds for the next chunk (just sleeps once the child closed its end)."""
        if self.eof:
            time.sleep(timeout)
        elif select.select([self.fd], [], [], timeout)[0]:
            self._read()

    def drain(self) -> None:
        """The last lines (e.g. the final progress) after the child ended; bounded."""
        for _ in range(64):
            if self.eof or not select.select([self.fd], [], [], 0)[0]:
                break
            self._read()

    def close(self) -> None:
        os.close(self.fd)

    def _read(self) -> None:
        chunk = os.read(self.fd, 65536)
        self.eof = not chunk
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        self.buffer = self.buffer[-MAX_MESSAGE_BYTES:]  # a child flooding the channel cannot grow our memory
        for line in lines[-1000:]:
            self.messages.handle(line[:MAX_MESSAGE_BYTES])


class _Messages:
    """Parses the child's JSON lines: progress goes to the callback (fraction always in [0, 1], status lines
    repeat the last fraction), the Landlock ABI the child applied is remembered for the outcome."""

    def __init__(self, progress: ProgressFn | None) -> None:
        self.progress = progress
        self.fraction = 0.0
        self.landlock = 0
        self.scalars: list[tuple[int, str, float]] = []

    def handle(self, line: bytes) -> None:
        try:
            msg = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            return
        if not isinstance(msg, dict):
            return
        if msg.get("t") == "scalars":
            self._scalars(msg)
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
            self.progress(self.fraction, printable(one_line(str(msg.get("m", ""))[:1000]), 120))

    def _scalars(self, msg: dict) -> None:
        """One ``ctx.log`` call: ``{"t": "scalars", "s": step, "v": {name: value}}``, checked again here (the
        child's side is the submission's to tamper with): integer step, short identifier names, finite floats."""
        step, values = msg.get("s"), msg.get("v")
        if isinstance(step, bool) or not isinstance(step, int) or not isinstance(values, dict) or abs(step) > 2**53:
            return
        for name, value in list(values.items())[:64]:
            if len(self.scalars) >= MAX_SCALAR_POINTS:
                return
            if (isinstance(name, str) and len(name) <= MAX_SCALAR_NAME and name.isidentifier() and isinstance(value, (int, float))
                    and not isinstance(value, bool) and math.isfinite(value)):
                self.scalars.append((step, name, float(value)))
