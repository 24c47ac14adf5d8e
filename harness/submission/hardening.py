"""Process hardening for the sandbox child: no_new_privs, no capabilities, and a seccomp filter on sockets.

Why, on top of Landlock and the audit hook: in the fallback (no bubblewrap) the child runs with the harness's
credentials, as root with every capability in a typical container; the audit hook can be neutered by native code
(``ctypes.pythonapi`` reaches libc), and Landlock stops TCP and abstract Unix sockets but not UDP, raw or
path-named Unix sockets. So, before any of the submission's code runs:

* ``PR_SET_NO_NEW_PRIVS``: nothing it executes can gain privileges (setuid binaries, file capabilities);
* every capability is dropped from the bounding, ambient, effective, permitted and inheritable sets, so a root
  child is a root without powers (no ``CAP_NET_RAW``, ``CAP_SYS_ADMIN``, ``CAP_DAC_OVERRIDE``, ...);
* a seccomp-BPF filter makes ``socket(2)`` (every address family: IP, UDP, raw, netlink, Unix by path) and
  ``io_uring_setup(2)`` (which can create sockets without ``socket(2)``) fail with ``EACCES``, and refuses system
  calls of another ABI (x32, i386 via ``int 0x80``) outright. ``socketpair(2)`` stays: it connects only the process
  to itself (Python's multiprocessing pipes use it).

All three are inherited by every child and cannot be undone. Standard library only (the child applies them before
importing torch). Architectures: x86_64 and aarch64; elsewhere :func:`harden` raises OSError and the fallback
refuses to run untrusted code unless the host opts in (see :mod:`harness.submission.job`, ``UNHARDENED_ENV``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import platform
import struct

_PR_SET_NO_NEW_PRIVS = 38
_PR_CAPBSET_DROP = 24
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_CAP_VERSION_3 = 0x20080522

# BPF opcodes
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_RET_K = 0x06
_SECCOMP_RET_ALLOW = 0x7FFF0000
_SECCOMP_RET_ERRNO = 0x00050000

#: (audit arch, socket, io_uring_setup, x32 bit or None) per machine
_ARCHES = {
    "x86_64": (0xC000003E, 41, 425, 0x40000000),
    "aarch64": (0xC00000B7, 198, 425, None),
    "arm64": (0xC00000B7, 198, 425, None),
}


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl.restype = ctypes.c_int
    libc.syscall.restype = ctypes.c_long
    return libc


def socket_filter(machine: str | None = None) -> list[tuple[int, int, int, int]]:
    """The BPF program (code, jt, jf, k) for ``machine`` (default: this one); OSError for unknown machines."""
    spec = _ARCHES.get(machine or platform.machine())
    if spec is None:
        raise OSError(errno.ENOSYS, f"no seccomp filter for the {machine or platform.machine()} architecture")
    arch, nr_socket, nr_uring, x32 = spec
    deny = _SECCOMP_RET_ERRNO | errno.EACCES
    prog: list[tuple[int, int, int, int]] = [(_LD_W_ABS, 0, 0, 4)]  # seccomp_data.arch
    body: list[tuple[int, int, int, int]] = [(_LD_W_ABS, 0, 0, 0)]  # seccomp_data.nr
    if x32 is not None:
        body.append((_JGE_K, 0, 0, x32))  # patched below: jt -> deny
    body += [(_JEQ_K, 0, 0, nr_socket), (_JEQ_K, 0, 0, nr_uring), (_RET_K, 0, 0, _SECCOMP_RET_ALLOW)]
    # layout: [arch load] [arch check] body... [deny]
    total = 2 + len(body) + 1
    deny_at = total - 1
    prog.append((_JEQ_K, 0, deny_at - 2, arch))  # wrong ABI: deny everything
    for i, (code, jt, jf, k) in enumerate(body):
        at = 2 + i
        if code in (_JEQ_K, _JGE_K):
            body[i] = (code, deny_at - at - 1, 0, k)
    prog += body
    prog.append((_RET_K, 0, 0, deny))
    return prog


def _drop_capabilities(libc: ctypes.CDLL) -> None:
    for cap in range(64):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            err = ctypes.get_errno()
            if err == errno.EINVAL:  # past the last capability this kernel knows
                break
            if err != errno.EPERM:  # EPERM: not ours to drop (no CAP_SETPCAP), nothing is held then
                raise OSError(err, f"cannot drop capability {cap} from the bounding set")
    libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = struct.pack("Ii", _CAP_VERSION_3, 0)
    data = bytes(24)  # two __user_cap_data_struct {effective, permitted, inheritable}, all zero
    hbuf = ctypes.create_string_buffer(header, len(header))
    dbuf = ctypes.create_string_buffer(data, len(data))
    if libc.capset(hbuf, dbuf) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "cannot clear the capability sets")


def harden() -> dict[str, int]:
    """Apply no_new_privs, drop capabilities, install the socket filter; raises OSError if any step fails."""
    libc = _libc()
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "cannot set no_new_privs")
    _drop_capabilities(libc)
    prog = socket_filter()
    filters = (_SockFilter * len(prog))(*(_SockFilter(*ins) for ins in prog))
    fprog = _SockFprog(len(prog), ctypes.cast(filters, ctypes.POINTER(_SockFilter)))
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "cannot install the seccomp socket filter")
    return {"no_new_privs": 1, "capabilities": 0, "seccomp": 1}
