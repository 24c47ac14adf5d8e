"""The child confines itself: resource limits, a watchdog, Landlock and the hardening layer, the audit hook.

Why in the child and in this order (see the package docstring): limits and the kernel layers are applied before
torch or any submission code is imported, so nothing the submission runs was ever unconfined; the audit hook comes
last, just before the submission's code, because importing torch and the harness would trip its rules. Standard
library only until :func:`confine` imports the (stdlib-only) Landlock and hardening modules.
"""

from __future__ import annotations

import os
import time

from harness.submission.child.channel import EXIT_FAILED, Failure


def apply_rlimits(limits: dict[str, float | int | None]) -> None:
    """The job's resource limits on this process (inherited by everything it starts); no core dumps."""
    import resource

    def cap(which: int, value: float | int | None) -> None:
        if value is None:
            return
        soft, hard = resource.getrlimit(which)
        value = int(value)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        try:
            resource.setrlimit(which, (value, value if hard == resource.RLIM_INFINITY else hard))
        except (ValueError, OSError):
            pass

    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_AS, limits.get("address_space"))
    cap(resource.RLIMIT_FSIZE, limits.get("file_size"))
    cap(resource.RLIMIT_CPU, limits.get("cpu_seconds"))
    cap(resource.RLIMIT_NOFILE, limits.get("open_files"))
    nproc = limits.get("extra_processes")
    if nproc is not None:
        cap(resource.RLIMIT_NPROC, _user_tasks() + int(nproc))


def _user_tasks() -> int:
    """Tasks (processes and threads) of this real uid: RLIMIT_NPROC counts them all."""
    uid, count = os.getuid(), 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.stat(f"/proc/{pid}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{pid}/task"))
            except OSError:
                continue
    return count


def start_watchdog(kill_at: float | None) -> None:
    """End this process if the harness goes away (or past the kill time).

    Why: bwrap's ``--die-with-parent`` covers the bwrap mode; in the fallback nothing else would stop a trainer
    whose harness was killed (e.g. ``kill -9`` of ``nas-harness score``). The kernel's parent-death signal
    (:mod:`harness.lifetime`, armed here before the audit hook forbids ``ctypes``) is the main mechanism; a daemon
    thread enforces the kill time and, where that signal is unavailable, polls the parent.
    """
    import threading

    from harness.lifetime import die_with_parent, parent_changed

    parent = os.getppid()
    die_with_parent()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if parent_changed(parent) or (kill_at is not None and time.time() > kill_at + 5.0):
                os._exit(EXIT_FAILED)

    threading.Thread(target=watch, name="nas-harness-watchdog", daemon=True).start()


def confine(job: dict) -> dict[str, object]:
    """Landlock (when asked and available); returns what was applied, for the harness's log."""
    from harness.submission import landlock

    policy = job["policy"]
    applied: dict[str, object] = {"landlock": 0}
    if job.get("landlock", True):
        try:
            applied["landlock"] = landlock.restrict(
                read=[*policy["read"], f"/proc/{os.getpid()}"],
                list_only=[*policy["list_only"], "/proc"],
                write=policy["write"],
                read_write_files=policy["rw_files"],
            )
        except OSError as exc:
            if job.get("require_landlock"):
                raise Failure(f"the sandbox could not be set up (Landlock: {exc})") from None
    if job.get("seccomp", True):
        from harness.submission import hardening

        try:
            applied.update(hardening.harden())
        except OSError as exc:
            if job.get("require_seccomp"):
                raise Failure(
                    f"the fallback sandbox could not drop privileges or filter sockets ({exc}); install bubblewrap, "
                    "or let the host opt in with NAS_HARNESS_FALLBACK_UNHARDENED=1"
                ) from None
    return applied


def audit_args(job: dict) -> dict[str, object]:
    """The audit hook's allow-list: the job's path policy, this process's /proc entries, the fork cap."""
    policy = job["policy"]
    return {
        "read": [*policy["read"], f"/proc/{os.getpid()}", "/proc/self", "/proc/thread-self"],
        "list_only": [*policy["list_only"], "/proc"],
        "write": policy["write"],
        "rw_files": policy["rw_files"],
        "deny": policy["deny"],
        "max_forks": int(job.get("max_forks", 64)),
        "allow_dlopen_under": policy["env_roots"],
    }


def install_audit(job: dict) -> None:
    """The audit hook, unless a test switched it off: call it after torch and the harness are imported and just
    before the submission's code."""
    if job.get("audit", True):
        from harness.submission import audit

        audit.install(**audit_args(job))
