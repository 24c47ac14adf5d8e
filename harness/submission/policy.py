"""What a sandboxed submission may see: the file-system policy, computed once in the harness process.

Why a policy object shared by every layer: bubblewrap binds these paths, Landlock allows exactly these paths, and
the Python audit hook checks the same lists, so the three layers cannot disagree about what a trainer may read.
The rule is an allow-list: the Python environment, the harness and reference-net packages (minus the folders that
hold ground truth), the submission folder (read-only) and the run's scratch folder (the only writable place).
Denied paths inside an allowed tree (the packaged GT folder, the benchmark's GT file, the results store, the
user's data folder) are carved out of it.
"""

from __future__ import annotations

import os
import site
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

#: system trees every Python process needs to read (shared libraries, CPU topology)
SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/sys")
#: single /etc files the dynamic loader and the C library read; the rest of /etc stays hidden
ETC_FILES = (
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/passwd", "/etc/group",
    "/etc/nsswitch.conf", "/etc/os-release", "/etc/timezone",
)
DEV_READ = ("/dev/urandom", "/dev/random", "/dev/zero")
DEV_RW = ("/dev/null",)
PROC_READ = ("/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/sys/vm/overcommit_memory", "/proc/sys/kernel/random")


@dataclass(frozen=True)
class Policy:
    """Paths (absolute, real) a sandboxed process may use.

    ``read``: readable trees/files; ``list_only``: directories whose entries may be listed but not read (the
    ancestors of a carved-out path); ``write``: writable trees (the scratch folder); ``rw_files``: device files;
    ``deny``: paths that must stay invisible (kept for the audit hook's messages and the bwrap overlays);
    ``cuda``: whether GPU device files are needed.
    """

    read: list[str]
    list_only: list[str]
    write: list[str]
    rw_files: list[str]
    deny: list[str]
    submission: str
    scratch: str
    cuda: bool = False
    env_roots: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Policy:
        return cls(**data)


def _real(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(os.fspath(path))


def _unique(paths: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for p in paths:
        seen.setdefault(p, None)
    return list(seen)


def python_roots() -> list[str]:
    """The interpreter's prefixes and site-packages (venv and base), as real paths."""
    roots = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, os.path.dirname(_real(sys.executable))]
    try:
        roots += site.getsitepackages()
    except AttributeError:  # pragma: no cover - some embedded interpreters
        pass
    return _unique(_real(r) for r in roots if r and os.path.exists(r))


def package_roots() -> list[str]:
    """The harness and reference-net packages, and the plugin files of ``$NAS_HARNESS_PLUGINS`` (the child imports
    them to look its space up)."""
    import harness
    import reference_nets
    from harness.spaces.registry import plugin_paths

    return [_real(Path(harness.__file__).parent), _real(Path(reference_nets.__file__).parent),
            *(_real(p) for p in plugin_paths())]


def default_deny(extra: Iterable[str | os.PathLike[str]] = ()) -> list[str]:
    """Paths no submission may read: the packaged GT folder, the results store, the user's data folder, extras."""
    import harness
    from harness import config

    deny = [Path(harness.__file__).parent / "benchmarks" / "gt", config.store_dir()]
    data = config.data_dir()
    if data is not None:
        deny.append(data)
    deny += [Path(p) for p in os.environ.get(config.BENCHMARK_DIRS_ENV, "").split(os.pathsep) if p]
    deny += [Path(p) for p in extra]
    return _unique(_real(p) for p in deny)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def carve(roots: Iterable[str], deny: Iterable[str]) -> tuple[list[str], list[str]]:
    """Split allowed ``roots`` around ``deny``: (readable leaves, list-only ancestors).

    A root that contains a denied path is replaced by its children (recursively, only along the denied path), so
    the denied path and nothing else is left out; the root itself stays listable (names only).
    """
    deny = list(deny)
    read: list[str] = []
    list_only: list[str] = []

    def visit(path: str) -> None:
        inner = [d for d in deny if _inside(d, path)]
        if not inner:
            read.append(path)
            return
        if any(d == path for d in inner) or not os.path.isdir(path):
            return
        list_only.append(path)
        try:
            names = sorted(os.listdir(path))
        except OSError:
            return
        for name in names:
            visit(os.path.join(path, name))

    for root in roots:
        if os.path.exists(root):
            visit(root)
    return _unique(read), _unique(list_only)


def make_policy(
    submission: Path,
    scratch: Path,
    *,
    deny: Iterable[str | os.PathLike[str]] = (),
    extra_read: Iterable[str | os.PathLike[str]] = (),
    cuda: bool = False,
) -> Policy:
    """The policy for one sandboxed run of ``submission`` with ``scratch`` as its only writable folder."""
    denied = default_deny(deny)
    env_roots = python_roots()
    roots = [
        *env_roots,
        *package_roots(),
        _real(submission),
        *(_real(p) for p in extra_read),
        *(p for p in SYSTEM_READ if os.path.exists(p)),
        *(p for p in ETC_FILES if os.path.exists(p)),
        *(p for p in DEV_READ if os.path.exists(p)),
        *(p for p in PROC_READ if os.path.exists(p)),
    ]
    read, list_only = carve(_unique(roots), denied)
    rw_files = [p for p in DEV_RW if os.path.exists(p)]
    if cuda:
        rw_files += sorted(str(p) for p in Path("/dev").glob("nvidia*"))
    return Policy(
        read=read,
        list_only=list_only,
        write=[_real(scratch)],
        rw_files=rw_files,
        deny=denied,
        submission=_real(submission),
        scratch=_real(scratch),
        cuda=cuda,
        env_roots=env_roots,
    )
