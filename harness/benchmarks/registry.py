"""Benchmark specs and their lookup."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from harness import config
from harness.data.splits import DataSplits
from harness.errors import BadPathError, UnknownNameError
from harness.gt.gt_file import GroundTruth
from harness.spaces import SearchSpace, get_space

SPECS_DIR = Path(__file__).parent / "specs"
PACKAGE_DIR = Path(__file__).parent


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


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    space_name: str
    space_kwargs: dict[str, Any]
    primary_metric: str
    data: dict[str, Any]
    splits: dict[str, Any]
    archset: dict[str, Any]
    gt: dict[str, Any]
    protocol: Protocol = Protocol()
    budget: Budget = Budget()
    spec_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ parts
    @cached_property
    def space(self) -> SearchSpace:
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
        from harness.benchmarks.sources import load_data

        return load_data(self)

    def archs(self) -> list[str]:
        from harness.benchmarks.sources import load_archset

        return load_archset(self)

    def ground_truth(self) -> GroundTruth:
        from harness.benchmarks.sources import load_gt

        return load_gt(self)

    def gt_path(self) -> Path | None:
        """Where the GT file is (or will be built); None for GT read from other formats."""
        if self.gt.get("kind") != "hdf5":
            return None
        return self.resolve(self.gt["file"], user_data=bool(self.gt.get("user_data", False)))

    def gt_available(self) -> bool:
        try:
            self.ground_truth()
        except Exception:  # noqa: BLE001 - any failure means "not available" for listings
            return False
        return True


def _parse_spec(path: Path) -> Benchmark:
    with path.open("rb") as f:
        raw = tomllib.load(f)
    try:
        return Benchmark(
            name=raw["name"],
            description=raw.get("description", ""),
            space_name=raw["space"]["name"],
            space_kwargs={k: v for k, v in raw["space"].items() if k != "name"},
            primary_metric=raw.get("primary_metric", "kendall_tau"),
            data=raw.get("data", {}),
            splits=raw.get("splits", {}),
            archset=raw["archset"],
            gt=raw["gt"],
            protocol=Protocol(**raw.get("protocol", {})),
            budget=Budget(**raw.get("budget", {})),
            spec_path=path,
            extra=raw.get("extra", {}),
        )
    except (KeyError, TypeError) as exc:
        raise UnknownNameError(f"benchmark spec {path} is malformed: {exc}") from None


_CACHE: dict[tuple[str, ...], dict[str, Benchmark]] = {}


def spec_dirs() -> list[Path]:
    """The packaged specs plus any folders in ``$NAS_HARNESS_BENCHMARK_DIRS`` (os.pathsep-separated).

    Why extra folders: a challenge host defines private benchmarks (their own data, arch set and GT) without
    touching the package; tests use the same door for tiny benchmarks.
    """
    extra = [Path(p).expanduser() for p in os.environ.get(config.BENCHMARK_DIRS_ENV, "").split(os.pathsep) if p]
    return [SPECS_DIR, *extra]


def _all_specs() -> dict[str, Benchmark]:
    dirs = spec_dirs()
    key = tuple(str(d) for d in dirs)
    if key not in _CACHE:
        found: dict[str, Benchmark] = {}
        for folder in dirs:
            for path in sorted(folder.glob("*.toml")):
                bench = _parse_spec(path)
                found[bench.name] = bench
        _CACHE[key] = found
    return _CACHE[key]


def benchmark_names() -> list[str]:
    return sorted(_all_specs())


def list_benchmarks() -> list[Benchmark]:
    return [_all_specs()[n] for n in benchmark_names()]


def get_benchmark(name: str) -> Benchmark:
    try:
        return _all_specs()[name]
    except KeyError:
        raise UnknownNameError(f"unknown benchmark {name!r}; known: {', '.join(benchmark_names())}") from None


DEFAULT_BENCHMARK = "mnist1d-w20"
