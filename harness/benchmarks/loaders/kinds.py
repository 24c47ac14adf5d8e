"""The registry of loader kinds (``[data] kind``, ``[archset] kind``, ``[gt] kind``) and the cached loading.

Why a registry: the embedded default benchmark, the CVPR-2021 files and NAS-Bench-201 CSVs are different formats of
the same three things; a new format is one function registered here with the options its section accepts, not a
new code path. A spec names a kind; :mod:`harness.benchmarks.spec` checks at load time that the kind exists and
that the section holds only keys the kind accepts. Loaded objects are cached per benchmark and file modification
time, so a GT that is rebuilt is re-read.

Loaders see the benchmark through :class:`BenchmarkLike` (not the concrete class), so this package imports nothing
of :mod:`harness.benchmarks` and has no import cycle with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.data.splits import DataSplits
    from harness.gt.gt_file import GroundTruth
    from harness.spaces.base import SearchSpace

Part = Literal["data", "archset", "gt"]


class BenchmarkLike(Protocol):
    """What a loader reads of a benchmark (:class:`harness.benchmarks.spec.Benchmark` implements it)."""

    name: str
    spec_path: Path | None
    data: Any
    splits: Any
    archset: Any
    gt: Any
    protocol: Any

    @property
    def space(self) -> SearchSpace: ...

    def resolve(self, path: str, *, user_data: bool) -> Path: ...


@dataclass(frozen=True)
class Kind:
    """A loader kind: ``load(bench)``, the keys its section may hold beyond ``kind`` (name -> type), the keys it
    requires, and a one-line description for docs and errors."""

    name: str
    load: Callable[[Any], Any]
    options: Mapping[str, Any] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    doc: str = ""


KINDS: dict[Part, dict[str, Kind]] = {"data": {}, "archset": {}, "gt": {}}
_cache: dict[tuple[str, str, Any], Any] = {}


def register_kind(part: Part, name: str, load: Callable[[Any], Any], *, options: Mapping[str, Any] | None = None,
                  required: tuple[str, ...] = (), doc: str = "") -> None:
    """Declare a loader of ``part`` called ``name``; ``options`` are the section keys it accepts (with types)."""
    KINDS[part][name] = Kind(name, load, dict(options or {}), required, doc)


def kind_of(part: Part, name: str, where: str) -> Kind:
    try:
        return KINDS[part][name]
    except KeyError:
        from harness.errors import SpecError

        raise SpecError(f"{where}: unknown {part} kind {name!r}; known: {', '.join(sorted(KINDS[part]))}") from None


def _mtime(path: Path | None) -> float | None:
    try:
        return path.stat().st_mtime_ns if path is not None else None
    except OSError:
        return None


def _cached(key: tuple[str, str, Any], make: Callable[[], Any]) -> Any:
    if key not in _cache:
        _cache[key] = make()
    return _cache[key]


def _loader(part: Part, bench: BenchmarkLike) -> Callable[[Any], Any]:
    kind = getattr(bench, part).kind
    if kind not in KINDS[part]:
        raise HarnessError(f"benchmark {bench.name}: unknown {part} kind {kind!r}")
    return KINDS[part][kind].load


def _file(bench: BenchmarkLike, section: Any, default_user_data: bool = False) -> Path | None:
    if section.get("file") is None:
        return None
    return bench.resolve(section["file"], user_data=bool(section.get("user_data", default_user_data)))


def load_data(bench: BenchmarkLike) -> DataSplits:
    fn = _loader("data", bench)
    return _cached((str(bench.spec_path), "data", None), lambda: fn(bench))


def load_archset(bench: BenchmarkLike) -> list[str]:
    fn = _loader("archset", bench)
    return _cached((str(bench.spec_path), "archset", _mtime(_file(bench, bench.archset))), lambda: fn(bench))


def load_gt(bench: BenchmarkLike) -> GroundTruth:
    fn = _loader("gt", bench)
    return _cached((str(bench.spec_path), "gt", _mtime(_file(bench, bench.gt))), lambda: fn(bench))


def clear_cache() -> None:
    _cache.clear()
