"""A benchmark spec: typed sections read from TOML, checked at load, and the :class:`Benchmark` they make.

Why typed: a spec is written by hand, and a key that is silently ignored (``colum = ...``) or a metric the harness
does not compute would change what a benchmark measures without anyone noticing. So every table is a dataclass
(:class:`SplitsSpec`, :class:`Protocol`, :class:`Budget`) or a loader kind's declared options
(:class:`KindSection` for ``[data]``, ``[archset]``, ``[gt]``, see :mod:`harness.benchmarks.loaders`), and a spec
with an unknown key, a wrong type, an unknown kind, space or primary metric is refused when it is read, with one
line naming the file and the key (:class:`~harness.errors.SpecError`).

``include = "NAME.base.toml"`` reads another file first (relative to the including one) and merges this file's
tables over it key by key; files named ``*.base.toml`` are fragments and never listed as benchmarks.
``version`` (a positive integer, 1 when absent) says which edition of the benchmark this is. Why: a benchmark
whose arch set, GT, data or protocol changes measures something else, so its runs are a new leaderboard; the
store records the version of every run and runs of two versions are never ranked or compared together (see
:mod:`harness.verdicts`). Bump it whenever a change would move scores; a GT rebuilt with the same recipe (same
version) is a *stale* GT instead, and ``nas-harness rescore`` recomputes the runs.
The format, key by key, is documented in ``docs/benchmark_spec.md``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import config
from harness.benchmarks.loaders import kinds
from harness.benchmarks.toml_schema import check_value, load_toml, positive_int, typed
from harness.errors import BadPathError, HarnessError, SpecError

if TYPE_CHECKING:
    from harness.data.splits import DataSplits
    from harness.gt.gt_file import GroundTruth
    from harness.spaces.base import SearchSpace

SPECS_DIR = Path(__file__).parent / "specs"
BASE_SUFFIX = ".base.toml"
MAX_INCLUDE_DEPTH = 4
DEFAULT_VERSION = 1  # every spec written before versions existed is version 1


@dataclass(frozen=True)
class Protocol:
    """The fixed inherited-weight evaluation protocol of a benchmark.

    ``calib_batches`` batches of ``calib_batch_size`` samples from the calib split recalibrate BN (exact average of
    the batch statistics, "precise BN"); accuracy is measured on the whole eval split in batches of
    ``eval_batch_size`` (the batch size does not change the result in eval mode; it only bounds memory).
    """

    calib_batch_size: int = 128
    calib_batches: int = 2
    eval_batch_size: int = 1024


@dataclass(frozen=True)
class Budget:
    """The default budget every trainer submission gets on this benchmark (so trainers compare fairly)."""

    epochs: int = 10
    seconds: float = 900.0
    memory_gb: float = 8.0
    #: wall-clock cap on one submission's evaluation (the GT archs and the rest of the arch set): past it the
    #: evaluation is stopped and fails as the submission's fault (weights can be made slow, e.g. subnormal floats)
    eval_seconds: float = 14400.0


class _Readable:
    """Mapping-style reads of a section (``section["key"]``, ``.get``, ``in``): loaders read options by name.
    A key whose value is None (not given, no default) reads as absent."""

    def _value(self, key: str) -> Any:
        raise NotImplementedError

    def __getitem__(self, key: str) -> Any:
        value = self._value(key)
        if value is None:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        value = self._value(key)
        return default if value is None else value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._value(key) is not None


@dataclass(frozen=True)
class SplitsSpec(_Readable):
    """``[splits]``: how the data is cut. Counts for generated data (mnist1d: ``train``, ``calib``, ``eval``,
    ``gt_test``), ``calib`` and ``eval_fraction`` for image datasets; ``seed`` draws the cut."""

    seed: int = 0
    train: int | None = None
    calib: int | None = None
    eval: int | None = None
    gt_test: int | None = None
    eval_fraction: float | None = None

    def _value(self, key: str) -> Any:
        return getattr(self, key, None) if key in self.__dataclass_fields__ else None


@dataclass(frozen=True)
class KindSection(_Readable):
    """``[data]``, ``[archset]`` or ``[gt]``: a loader ``kind`` and the options that kind declares (typed)."""

    kind: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def _value(self, key: str) -> Any:
        return self.kind if key == "kind" else self.options.get(key)

    def __iter__(self) -> Iterator[str]:
        return iter(("kind", *self.options))


@dataclass(frozen=True)
class SpaceSpec:
    """``[space]``: the registered space ``name`` and its geometry (keyword arguments of the space's factory)."""

    name: str
    geometry: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Benchmark:
    """A benchmark: space + data + splits + arch set + GT + evaluation protocol + primary metric."""

    name: str
    description: str
    space_spec: SpaceSpec
    primary_metric: str
    data: KindSection
    splits: SplitsSpec
    archset: KindSection
    gt: KindSection
    protocol: Protocol = Protocol()
    budget: Budget = Budget()
    spec_path: Path | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    version: int = DEFAULT_VERSION  # runs of different versions are never ranked or compared together

    @property
    def label(self) -> str:
        """``name vN``: how listings name the benchmark with its version."""
        return f"{self.name} v{self.version}"

    # ------------------------------------------------------------------ parts
    @property
    def space_name(self) -> str:
        return self.space_spec.name

    @property
    def space_kwargs(self) -> dict[str, Any]:
        return dict(self.space_spec.geometry)

    @cached_property
    def space(self) -> SearchSpace:
        from harness.spaces import get_space

        return get_space(self.space_name, **self.space_kwargs)

    def resolve(self, path: str, *, user_data: bool) -> Path:
        """A spec path: relative to the spec's folder for embedded files, to the user's data dir for supplied ones."""
        if not user_data:
            base = self.spec_path.parent if self.spec_path is not None else SPECS_DIR
            return (base / path).resolve()
        base = config.data_dir()
        if base is None:
            raise BadPathError(
                f"benchmark {self.name} reads user-supplied files: set {config.DATA_DIR_ENV} (or --data-dir) "
                f"to the folder that holds {path}"
            )
        return base / path

    def load_data(self) -> DataSplits:
        return kinds.load_data(self)

    def archs(self) -> list[str]:
        return kinds.load_archset(self)

    def ground_truth(self) -> GroundTruth:
        return kinds.load_gt(self)

    def gt_path(self) -> Path | None:
        """Where the GT file is (or will be built); None for GT read from other formats."""
        if self.gt.kind != "hdf5":
            return None
        return self.resolve(self.gt["file"], user_data=bool(self.gt.get("user_data", False)))

    def gt_available(self) -> bool:
        try:
            self.ground_truth()
        except Exception:  # noqa: BLE001 - any failure means "not available" for listings
            return False
        return True


# ------------------------------------------------------------------------------------------------ parsing
TOP_KEYS = ("include", "name", "version", "description", "primary_metric", "space", "data", "splits", "archset", "gt",
            "protocol", "budget", "extra")


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def read_table(path: Path, depth: int = 0) -> dict[str, Any]:
    """The spec's TOML with its ``include`` chain merged in (this file's keys win, tables merge key by key)."""
    raw = load_toml(path)
    include = raw.pop("include", None)
    if include is None:
        return raw
    if not isinstance(include, str):
        raise SpecError(f"{path}: key 'include' must be a string (a file name relative to the spec)")
    if depth >= MAX_INCLUDE_DEPTH:
        raise SpecError(f"{path}: includes nest deeper than {MAX_INCLUDE_DEPTH} files (a loop?)")
    base_path = (path.parent / include).resolve()
    if not base_path.is_file():
        raise SpecError(f"{path}: included file {include!r} does not exist")
    return _merge(read_table(base_path, depth + 1), raw)


def _kind_section(part: kinds.Part, raw: dict[str, Any], path: Path) -> KindSection:
    where = f"{path} [{part}]"
    table = raw.get(part)
    if table is None:
        raise SpecError(f"{path}: missing table [{part}]")
    if not isinstance(table, dict):
        raise SpecError(f"{where} must be a table")
    if "kind" not in table or not isinstance(table["kind"], str):
        raise SpecError(f"{where}: missing key 'kind' (a string naming a loader)")
    kind = kinds.kind_of(part, table["kind"], where)
    options = {}
    for key, value in table.items():
        if key == "kind":
            continue
        if key not in kind.options:
            known = ", ".join(["kind", *kind.options])
            raise SpecError(f"{where}: unknown key {key!r} for kind {kind.name!r} (known: {known})")
        options[key] = check_value(kind.options[key], value, where, key)
    missing = [k for k in kind.required if k not in options]
    if missing:
        raise SpecError(f"{where}: kind {kind.name!r} needs key {missing[0]!r}")
    return KindSection(kind.name, options)


def _space_spec(raw: dict[str, Any], path: Path) -> SpaceSpec:
    table = raw.get("space")
    if not isinstance(table, dict) or not isinstance(table.get("name"), str):
        raise SpecError(f"{path}: table [space] with a string 'name' is required")
    spec = SpaceSpec(table["name"], {k: v for k, v in table.items() if k != "name"})
    from harness.spaces import get_space

    try:
        get_space(spec.name, **spec.geometry)  # unknown names and geometry keys fail here, at load
    except HarnessError as exc:
        raise SpecError(f"{path} [space]: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{path} [space]: space {spec.name!r} does not take this geometry: {exc}") from None
    return spec


def _primary_metric(raw: dict[str, Any], path: Path) -> str:
    from harness.metrics.registry import METRICS

    name = raw.get("primary_metric", "kendall_tau")
    if name not in METRICS:
        raise SpecError(f"{path}: unknown primary_metric {name!r}; known: {', '.join(METRICS)}")
    return name


def parse_spec(path: Path) -> Benchmark:
    """The benchmark of the spec file at ``path`` (includes resolved), checked as the module docstring says."""
    raw = read_table(path)
    unknown = [k for k in raw if k not in TOP_KEYS]
    if unknown:
        raise SpecError(f"{path}: unknown key {unknown[0]!r} (known: {', '.join(TOP_KEYS)})")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise SpecError(f"{path}: missing key 'name' (a string)")
    description = check_value(str, raw.get("description", ""), str(path), "description")
    extra = check_value(dict[str, Any], raw.get("extra", {}), str(path), "extra")
    version = positive_int(raw.get("version", DEFAULT_VERSION), str(path), "version")
    return Benchmark(
        name=name,
        description=description,
        space_spec=_space_spec(raw, path),
        primary_metric=_primary_metric(raw, path),
        data=_kind_section("data", raw, path),
        splits=typed(SplitsSpec, raw.get("splits", {}), f"{path} [splits]"),
        archset=_kind_section("archset", raw, path),
        gt=_kind_section("gt", raw, path),
        protocol=typed(Protocol, raw.get("protocol", {}), f"{path} [protocol]"),
        budget=typed(Budget, raw.get("budget", {}), f"{path} [budget]"),
        spec_path=path,
        extra=extra,
        version=version,
    )


def spec_files(folder: Path) -> list[Path]:
    """The benchmark specs of ``folder``: ``*.toml`` except include-only fragments (``*.base.toml``)."""
    return [p for p in sorted(folder.glob("*.toml")) if not p.name.endswith(BASE_SUFFIX)]
