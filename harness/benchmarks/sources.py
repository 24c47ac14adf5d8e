"""Where a benchmark's data, arch set and GT come from, by ``kind``.

Why a registry of loaders: the embedded default benchmark, the CVPR-2021 files and NAS-Bench-201 CSVs are
different formats of the same three things; a new format is one function registered here, not a new code path.
Loaded objects are cached per benchmark and file modification time, so a GT that is rebuilt is re-read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from harness.data.splits import DataSplits, make_splits
from harness.errors import BadPathError, DataError, GroundTruthError, HarnessError, InvalidArchError
from harness.gt.gt_file import GroundTruth, content_hash, read_gt, split_dev_test

if TYPE_CHECKING:
    from harness.benchmarks.registry import Benchmark

DataLoader = Callable[["Benchmark"], DataSplits]
ArchsetLoader = Callable[["Benchmark"], list[str]]
GTLoader = Callable[["Benchmark"], GroundTruth]

DATA_LOADERS: dict[str, DataLoader] = {}
ARCHSET_LOADERS: dict[str, ArchsetLoader] = {}
GT_LOADERS: dict[str, GTLoader] = {}
_cache: dict[tuple[str, str, Any], Any] = {}


def _mtime(path: Path | None) -> float | None:
    try:
        return path.stat().st_mtime_ns if path is not None else None
    except OSError:
        return None


def _loader(table: dict[str, Callable[["Benchmark"], Any]], what: str, bench: "Benchmark", spec: dict[str, Any]):
    kind = spec.get("kind", "")
    if kind not in table:
        raise HarnessError(f"benchmark {bench.name}: unknown {what} kind {kind!r}")
    return table[kind]


def _cached(key: tuple[str, str, Any], make: Callable[[], Any]) -> Any:
    if key not in _cache:
        _cache[key] = make()
    return _cache[key]


def load_data(bench: "Benchmark") -> DataSplits:
    fn = _loader(DATA_LOADERS, "data", bench, bench.data)
    return _cached((str(bench.spec_path), "data", None), lambda: fn(bench))


def load_archset(bench: "Benchmark") -> list[str]:
    fn = _loader(ARCHSET_LOADERS, "archset", bench, bench.archset)
    path = bench.resolve(bench.archset["file"], user_data=bool(bench.archset.get("user_data"))) if "file" in bench.archset else None
    return _cached((str(bench.spec_path), "archset", _mtime(path)), lambda: fn(bench))


def load_gt(bench: "Benchmark") -> GroundTruth:
    fn = _loader(GT_LOADERS, "gt", bench, bench.gt)
    path = bench.resolve(bench.gt["file"], user_data=bool(bench.gt.get("user_data"))) if "file" in bench.gt else None
    return _cached((str(bench.spec_path), "gt", _mtime(path)), lambda: fn(bench))


def clear_cache() -> None:
    _cache.clear()


# --------------------------------------------------------------------------------------------- mnist1d
def _mnist1d_data(bench: "Benchmark") -> DataSplits:
    from harness.data.mnist1d_source import generate_mnist1d

    d = dict(bench.data)
    d.pop("kind")
    x, y = generate_mnist1d(d.pop("num_samples"), d.pop("seed"), **d.pop("generator", {}))
    s = bench.splits
    return make_splits(
        x, y, train=s["train"], eval=s["eval"], gt_test=s["gt_test"], calib=s["calib"], seed=s["seed"], num_classes=10
    )


DATA_LOADERS["mnist1d"] = _mnist1d_data


# ----------------------------------------------------------------------------------------- arch sets
def read_archset_h5(path: Path) -> list[str]:
    if not path.is_file():
        raise BadPathError(f"arch-set file {path} does not exist")
    try:
        with h5py.File(path, "r") as f:
            return [a.decode() if isinstance(a, bytes) else str(a) for a in f["archs"][...]]
    except (OSError, KeyError) as exc:
        raise DataError(f"arch-set file {path} is unreadable: {exc}") from None


def write_archset_h5(path: Path, archs: list[str], attrs: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with h5py.File(tmp, "w") as f:
        f.create_dataset("archs", data=np.asarray(archs, dtype=object), dtype=h5py.string_dtype(), compression="gzip", compression_opts=9)
        for k, v in attrs.items():
            f.attrs[k] = json.dumps(v) if isinstance(v, (dict, list)) else v
    tmp.replace(path)


def _archset_h5(bench: "Benchmark") -> list[str]:
    return read_archset_h5(bench.resolve(bench.archset["file"], user_data=bool(bench.archset.get("user_data"))))


ARCHSET_LOADERS["hdf5"] = _archset_h5


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise BadPathError(f"file {path} does not exist")
    try:
        with path.open() as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not readable JSON: {exc}") from None


def cvpr21_keys_in_order(data: dict[str, Any]) -> list[str]:
    """Keys ``arch1..archN`` sorted by their number (the challenge's order)."""
    try:
        return sorted(data, key=lambda k: int(str(k).removeprefix("arch")))
    except ValueError:
        raise DataError("CVPR-2021 files key their entries arch1, arch2, ...") from None


def _archset_cvpr21(bench: "Benchmark") -> list[str]:
    path = bench.resolve(bench.archset["file"], user_data=True)
    data = _read_json(path)
    space = bench.space
    try:
        return [space.canonical(data[k]["arch"]) for k in cvpr21_keys_in_order(data)]
    except (KeyError, TypeError, InvalidArchError) as exc:
        raise DataError(f"{path}: not the CVPR-2021 track-1 arch layout ({exc})") from None


ARCHSET_LOADERS["cvpr21-json"] = _archset_cvpr21


# ----------------------------------------------------------------------------------------------- GT
def _gt_h5(bench: "Benchmark") -> GroundTruth:
    return read_gt(bench.resolve(bench.gt["file"], user_data=bool(bench.gt.get("user_data"))))


GT_LOADERS["hdf5"] = _gt_h5


def _gt_cvpr21(bench: "Benchmark") -> GroundTruth:
    """The released CVPR-2021 GT: ``{"arch1": {"arch": ..., "acc": ...}}`` for a prefix of the arch set."""
    path = bench.resolve(bench.gt["file"], user_data=True)
    data = _read_json(path)
    keys = cvpr21_keys_in_order(data)
    archset = load_archset(bench)
    position = {a: i for i, a in enumerate(archset)}
    space = bench.space
    archs, acc, index = [], [], []
    for k in keys:
        try:
            arch = space.canonical(data[k]["arch"]) if "arch" in data[k] else archset[int(k.removeprefix("arch")) - 1]
            value = float(data[k]["acc"])
        except (KeyError, TypeError, ValueError, IndexError, InvalidArchError) as exc:
            raise GroundTruthError(f"{path}: entry {k} is not usable ({exc})") from None
        if arch not in position:
            raise GroundTruthError(f"{path}: {k} holds an arch that is not in the arch set")
        archs.append(arch)
        acc.append(value)
        index.append(position[arch])
    acc_arr = np.asarray(acc, dtype=np.float64)[:, None]
    splits = split_dev_test(len(archs), float(bench.gt.get("test_fraction", 0.5)), int(bench.gt.get("split_seed", 0)))
    return GroundTruth(
        archs=archs,
        acc=acc_arr,
        params=space.params_many(archs),
        flops=space.flops_many(archs),
        splits=splits,
        archset_index=np.asarray(index, dtype=np.int64),
        attrs={"source": str(path), "recipe": "released by the challenge; provenance not documented"},
        content_hash=content_hash(acc_arr, archs, splits),
    )


GT_LOADERS["cvpr21-json"] = _gt_cvpr21

import harness.benchmarks.nb201_sources  # noqa: F401,E402  (registers the cifar/imagenet16/nb201 kinds)
