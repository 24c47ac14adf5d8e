"""A Python audit hook (PEP 578) that applies the sandbox policy at the Python level, with clear messages.

Why, when bubblewrap and Landlock already enforce the policy in the kernel: the kernel answers a forbidden open
with a bare ``EACCES``/``ENOENT``; this hook refuses the same operations first with a message that names the
rule ("the sandbox does not allow reading ..."), and it covers what Landlock does not (UDP and Unix sockets,
process creation counts). It is NOT a security boundary on its own: CPython documents that audit hooks can be
bypassed by determined native code (which is why ``ctypes`` loading of new libraries is refused here too, and why
the kernel layers exist). Standard library only, like :mod:`harness.submission.landlock`.
"""

from __future__ import annotations

import errno
import mmap
import os
import struct
import sys
from collections.abc import Iterable

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_EXEC_EVENTS = {
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen", "os.startfile", "pty.spawn",
}
_NET_EVENTS = {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo", "socket.gethostbyname"}
_FORK_EVENTS = {"os.fork", "os.forkpty"}


class SandboxPermissionError(PermissionError):
    """Raised by the hook; a PermissionError so ordinary code handles it like any refused access."""


def _inside(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def install(
    *,
    read: Iterable[str],
    list_only: Iterable[str],
    write: Iterable[str],
    rw_files: Iterable[str],
    deny: Iterable[str],
    max_forks: int = 64,
    allow_dlopen_under: Iterable[str] = (),
) -> None:
    """Install the hook for this process (inherited by forks; it cannot be removed)."""
    read_roots = tuple(read) + tuple(rw_files)
    write_roots = tuple(write) + tuple(rw_files)
    list_roots = tuple(list_only)
    deny_roots = tuple(deny)
    dl_roots = tuple(allow_dlopen_under)
    # a fork counter shared by this process and every process it forks (anonymous shared memory)
    counter = mmap.mmap(-1, 8, flags=mmap.MAP_SHARED)
    counter.write(struct.pack("q", 0))

    def refuse(message: str) -> None:
        raise SandboxPermissionError(errno.EACCES, message)

    def check_path(raw: object, writing: bool, listing: bool = False) -> None:
        if isinstance(raw, int) or raw is None:
            return  # an already open descriptor: its path was checked when it was opened
        try:
            path = os.path.realpath(os.fsdecode(raw))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return
        if _inside(path, deny_roots):
            refuse(f"the sandbox does not allow access to {path}: it is hidden from submissions")
        if writing:
            if not _inside(path, write_roots):
                refuse(f"the sandbox does not allow writing {path}: only the scratch folder (the working directory) is writable")
        elif not (_inside(path, read_roots) or _inside(path, write_roots) or (listing and path in list_roots)):
            refuse(f"the sandbox does not allow reading {path}: it is outside the files a submission may see")

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and bool(flags & _WRITE_FLAGS)
            )
            check_path(path, writing)
        elif event in ("os.listdir", "os.scandir"):
            check_path(args[0] if args else ".", False, listing=True)
        elif event in ("os.remove", "os.rmdir", "os.mkdir", "os.rename", "os.chmod", "os.chown", "os.truncate", "os.link", "os.symlink", "shutil.rmtree", "os.utime"):
            for a in args[:2]:
                if isinstance(a, (str, bytes, os.PathLike)):
                    check_path(a, True)
        elif event in _EXEC_EVENTS:
            refuse("running other programs is not allowed in the sandbox")
        elif event in _NET_EVENTS:
            refuse("network access is not allowed in the sandbox")
        elif event == "socket.__new__":
            family = args[1] if len(args) > 1 else None
            import socket as _socket

            if family in (getattr(_socket, "AF_INET", -1), getattr(_socket, "AF_INET6", -1), getattr(_socket, "AF_PACKET", -1)):
                refuse("network access is not allowed in the sandbox")
        elif event in _FORK_EVENTS:
            counter.seek(0)
            count = struct.unpack("q", counter.read(8))[0] + 1
            counter.seek(0)
            counter.write(struct.pack("q", count))
            if count > max_forks:
                raise BlockingIOError(errno.EAGAIN, f"too many processes: the sandbox allows at most {max_forks} forks")
        elif event == "ctypes.dlopen":
            name = args[0] if args else None
            if name is None or not (isinstance(name, str) and os.path.isabs(name) and _inside(os.path.realpath(name), dl_roots)):
                refuse("loading native libraries with ctypes is not allowed in the sandbox")

    sys.addaudithook(hook)
