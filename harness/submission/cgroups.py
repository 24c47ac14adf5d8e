"""Best-effort cgroup limits for a sandboxed process tree: a process count cap and a memory cap.

Why: ``RLIMIT_NPROC`` does not apply to root (and containers often run as root), and ``RLIMIT_AS`` limits each
process separately. When the harness may create cgroups (root with a writable cgroup v1 ``pids``/``memory``
hierarchy, or a delegated cgroup v2 subtree), a per-run cgroup caps the whole tree and lets the harness kill every
process of the run at the end, including ones that left the process group with ``setsid``. When it may not, every
method is a no-op and the other layers (rlimits, process group, bubblewrap's PID namespace) remain.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _own_paths() -> dict[str, str]:
    """This process's cgroup path per v1 controller (key ``""`` for the v2 unified hierarchy)."""
    out: dict[str, str] = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for c in controllers.split(",") if controllers else [""]:
                out[c] = path
    except (OSError, ValueError):
        pass
    return out


STALE_AFTER_S = 3600.0


def _sweep_stale(parent: Path) -> None:
    """Remove empty run cgroups left by harness processes that were killed (older than an hour)."""
    try:
        entries = [p for p in parent.iterdir() if p.name.startswith("nas-harness-") and p.is_dir()]
    except OSError:
        return
    now = time.time()
    for p in entries:
        try:
            if now - p.stat().st_mtime > STALE_AFTER_S and not (p / "cgroup.procs").read_text().strip():
                p.rmdir()
        except OSError:
            continue


class RunCgroup:
    """A cgroup (one per controller hierarchy) for one sandboxed run; silently inactive when unavailable."""

    def __init__(self, name: str, *, max_pids: int | None, memory_bytes: int | None) -> None:
        self.dirs: list[Path] = []
        own = _own_paths()
        v1 = {"pids": max_pids, "memory": memory_bytes}
        for controller, limit in v1.items():
            base = CGROUP_ROOT / controller
            if limit is None or controller not in own or not (base / "cgroup.procs").exists():
                continue
            path = base / own[controller].lstrip("/") / name
            if self._make(path):
                key = "pids.max" if controller == "pids" else "memory.limit_in_bytes"
                self._write(path / key, str(int(limit)))
        if not self.dirs and "" in own:
            for root in (CGROUP_ROOT, CGROUP_ROOT / "unified"):
                if (root / "cgroup.controllers").exists():
                    path = root / own[""].lstrip("/") / name
                    if self._make(path):
                        if max_pids is not None:
                            self._write(path / "pids.max", str(int(max_pids)))
                        if memory_bytes is not None:
                            self._write(path / "memory.max", str(int(memory_bytes)))
                    break

    def _make(self, path: Path) -> bool:
        _sweep_stale(path.parent)
        try:
            path.mkdir()
        except OSError:
            return False
        self.dirs.append(path)
        return True

    @staticmethod
    def _write(path: Path, value: str) -> bool:
        try:
            path.write_text(value)
            return True
        except OSError:
            return False

    @property
    def active(self) -> bool:
        return bool(self.dirs)

    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a process writes its pid into to join the run's cgroups."""
        return [str(d / "cgroup.procs") for d in self.dirs]

    def wrap(self, cmd: list[str]) -> list[str]:
        """``cmd`` started through ``/bin/sh`` that first moves itself into the cgroups, then execs ``cmd``.

        Why: joining *before* exec means no process of the run (bwrap forks at once) starts outside the cgroup.
        """
        files = self.procs_files()
        if not files or not os.path.exists("/bin/sh"):
            return cmd
        script = 'while [ "$1" != "--" ]; do echo $$ > "$1" 2>/dev/null; shift; done; shift; exec "$@"'
        return ["/bin/sh", "-c", script, "nas-harness-cgroup", *files, "--", *cmd]

    def add(self, pid: int) -> None:
        for d in self.dirs:
            self._write(d / "cgroup.procs", str(pid))

    def pids(self) -> set[int]:
        found: set[int] = set()
        for d in self.dirs:
            try:
                found.update(int(p) for p in (d / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                pass
        return found

    def kill_all(self) -> None:
        """SIGKILL every process of the run (repeated: a process may fork while we kill)."""
        for _ in range(20):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.05)

    def remove(self) -> None:
        self.kill_all()
        for d in self.dirs:
            for _ in range(40):
                try:
                    d.rmdir()
                    break
                except OSError:
                    time.sleep(0.05)
        self.dirs = []
