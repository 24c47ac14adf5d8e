"""Worker processes started as their own program (``python -m harness.worker_main``), talking over pipes.

Why not ``multiprocessing`` spawn (or forkserver): both start the child by re-running the caller's main module
(``__mp_main__``), so a plain script without an ``if __name__ == "__main__":`` guard trains twice, a worker dies
while starting and nothing comes back; a notebook cell has no file to re-run at all. A worker here is a fresh
interpreter running :mod:`harness.worker_main`, which never looks at the caller's ``__main__``: it reads one setup
frame (a ``"module:function"`` factory and its argument) from stdin, builds a ``run(task)`` callable from it, then
answers one result frame per task frame. Frames are an 8-byte length and a pickle: the parent only unpickles what
its own workers (harness code, trusted) wrote.

Why fork is not used either: fork after OpenMP has started threads can deadlock.

Scheduling is dynamic (a worker takes the next task when it finishes one), so work spreads evenly; results come
back in completion order with their task, and whoever calls makes sure that order never changes a result.
"""

from __future__ import annotations

import os
import pickle
import queue as queue_mod
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any

from harness.errors import HarnessError

#: how long a worker may take from start to its first frame (importing torch on a loaded box takes tens of seconds)
START_TIMEOUT_S = 600.0
ENTRY_MODULE = "harness.worker_main"
_HEADER = struct.Struct("<Q")


class WorkerProcessError(HarnessError):
    """A worker process failed to start, died, or raised: the work it was given cannot complete."""

    exit_code = 7


# --------------------------------------------------------------------------------------------- frames
def write_frame(stream: IO[bytes], obj: Any, *, raw: bytes | None = None) -> None:
    """One frame: length, then the pickle of ``obj`` (or ``raw``, an already pickled payload)."""
    data = raw if raw is not None else pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any:
    """The next frame's object; raises EOFError when the other side closed the pipe."""
    head = _read_exact(stream, _HEADER.size)
    (n,) = _HEADER.unpack(head)
    return pickle.loads(_read_exact(stream, n))  # noqa: S301 - frames come from our own worker/parent only


def _read_exact(stream: IO[bytes], n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def resolve_target(target: str) -> Any:
    """``"package.module:function"`` -> the function (imported in the worker)."""
    import importlib

    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


# --------------------------------------------------------------------------------------------- parent
def worker_env() -> dict[str, str]:
    """The worker's environment: the caller's, with the caller's import path (a source checkout, a notebook's
    ``sys.path.insert``) so the worker finds the same harness and plugins; one torch thread per worker."""
    env = dict(os.environ)
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


class _Worker:
    """One worker process and the thread that feeds it tasks and collects its results."""

    def __init__(self, pool: WorkerPool, setup: bytes) -> None:
        self.pool = pool
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            # -P: the working directory is not put first on the path (a stray numpy.py there cannot shadow)
            [sys.executable, "-P", "-m", ENTRY_MODULE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
            env=pool.env, close_fds=True,
        )
        self.started = False
        self.thread = threading.Thread(target=self._serve, args=(setup,), daemon=True)
        self.thread.start()

    def _serve(self, setup: bytes) -> None:
        out = self.pool.results
        try:
            assert self.proc.stdin is not None and self.proc.stdout is not None
            write_frame(self.proc.stdin, None, raw=setup)
            kind, payload = read_frame(self.proc.stdout)  # ("started", pid) or ("error", text)
            if kind != "started":
                out.put(("error", payload))
                return
            self.started = True
            out.put(("started", payload))
            while not self.pool.stopping:
                try:
                    task = self.pool.tasks.get_nowait()
                except queue_mod.Empty:
                    break
                write_frame(self.proc.stdin, task)
                kind, payload = read_frame(self.proc.stdout)
                out.put((kind, payload))
                if kind != "ok":
                    return
            write_frame(self.proc.stdin, None)  # no more tasks: the worker exits
            out.put(("done", None))
        except (EOFError, OSError, pickle.UnpicklingError):
            self.proc.wait()
            out.put(("died", (self.started, self.proc.returncode, self.stderr_tail())))

    def stderr_tail(self) -> str:
        """The last line the worker wrote to stderr (what it died of), for the error message."""
        try:
            self.stderr.seek(0, os.SEEK_END)
            size = self.stderr.tell()
            self.stderr.seek(max(0, size - 4000))
            lines = [ln.strip() for ln in self.stderr.read().decode("utf-8", "replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        return lines[-1][:300] if lines else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        self.thread.join(timeout=5.0)
        self.stderr.close()


class WorkerPool:
    """``n`` worker processes, each running ``factory(setup)(task)`` for the tasks it takes.

    ``factory`` is a ``"module:function"`` string: the worker imports it (never the caller's script). ``setup`` is
    pickled once and sent to every worker. Use :meth:`run`; the processes end when it returns or is abandoned.
    """

    def __init__(self, factory: str, setup: Any, n: int, *, what: str = "worker") -> None:
        self.factory, self.n, self.what = factory, int(n), what
        self.setup = pickle.dumps((factory, setup), protocol=pickle.HIGHEST_PROTOCOL)
        self.env = worker_env()
        self.tasks: queue_mod.Queue[Any] = queue_mod.Queue()
        self.results: queue_mod.Queue[tuple[str, Any]] = queue_mod.Queue()
        self.stopping = False

    def run(self, tasks: Iterable[Any]) -> Iterator[Any]:
        """Each task's result, in completion order; raises :class:`WorkerProcessError` on the first failure."""
        for task in tasks:
            self.tasks.put(task)
        workers: list[_Worker] = []
        try:
            workers = [_Worker(self, self.setup) for _ in range(self.n)]
            ended, t_start = 0, time.monotonic()
            while ended < len(workers):
                try:
                    kind, payload = self.results.get(timeout=1.0)
                except queue_mod.Empty:
                    if not all(w.started for w in workers) and time.monotonic() - t_start > START_TIMEOUT_S:
                        raise WorkerProcessError(f"a {self.what} process did not start within {START_TIMEOUT_S:.0f} s") from None
                    continue
                if kind == "ok":
                    yield payload
                elif kind == "done":
                    ended += 1
                elif kind == "error":
                    raise WorkerProcessError(f"{self.what} failed: {payload}")
                elif kind == "died":
                    started, code, tail = payload
                    when = "evaluating" if started else "starting"
                    why = f"; last output: {tail}" if tail else ("; killed for memory?" if started else "")
                    raise WorkerProcessError(f"a {self.what} process died while {when} (exit code {code}{why})")
        finally:
            self.stopping = True
            for w in workers:
                w.stop()


# --------------------------------------------------------------------------------------------- worker
def worker_main() -> int:
    """The worker's side (run by ``python -m harness.worker_main``): setup frame, then a result per task frame.

    The frames go to a private copy of stdout; fd 1 itself is pointed at stderr, so a stray ``print`` (a library
    warning) can never corrupt the channel.
    """
    from harness.lifetime import die_with_parent

    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    die_with_parent()  # and stdin's EOF when the parent goes: either way no orphan keeps the cores busy
    try:
        factory, setup = read_frame(inp)
    except EOFError:
        return 0
    try:
        run = resolve_target(factory)(setup)
    except BaseException as exc:  # noqa: BLE001 - report any failure to the parent as one line
        write_frame(out, ("error", f"{type(exc).__name__}: {exc}"))
        return 1
    write_frame(out, ("started", os.getpid()))
    while True:
        try:
            task = read_frame(inp)
        except EOFError:
            return 0
        if task is None:
            return 0
        try:
            result = run(task)
        except BaseException as exc:  # noqa: BLE001
            write_frame(out, ("error", f"{type(exc).__name__}: {exc}"))
            return 1
        write_frame(out, ("ok", result))
