"""Arch-set and GT kinds read from files: ``hdf5`` (the harness's own layout) and ``cvpr21-json`` (the challenge's).

Arch-set kinds: ``hdf5`` (an ``archs`` dataset), ``cvpr21-json`` (the 50k challenge archs). GT kinds: ``hdf5`` (a GT
file of :mod:`harness.gt.gt_file`, what ``gt build`` writes) and ``cvpr21-json`` (the released 1000-arch GT).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from harness.benchmarks.loaders.kinds import BenchmarkLike, load_archset, register_kind
from harness.errors import BadPathError, DataError, GroundTruthError, InvalidArchError
from harness.gt.gt_file import GroundTruth, read_gt, released_gt, split_dev_test

#: the dev/test partition options every GT kind accepts
GT_SPLIT_OPTIONS: dict[str, Any] = {"test_fraction": float, "split_seed": int}


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


def _archset_h5(bench: BenchmarkLike) -> list[str]:
    return read_archset_h5(bench.resolve(bench.archset["file"], user_data=bool(bench.archset.get("user_data"))))


register_kind("archset", "hdf5", _archset_h5, options={"file": str, "user_data": bool, "size": int, "seed": int},
              required=("file",), doc="an HDF5 file with an `archs` string dataset (written by `python -m harness.gt.make_archset`)")


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


def _archset_cvpr21(bench: BenchmarkLike) -> list[str]:
    path = bench.resolve(bench.archset["file"], user_data=True)
    data = _read_json(path)
    space = bench.space
    try:
        return [space.canonical(data[k]["arch"]) for k in cvpr21_keys_in_order(data)]
    except (KeyError, TypeError, InvalidArchError) as exc:
        raise DataError(f"{path}: not the CVPR-2021 track-1 arch layout ({exc})") from None


register_kind("archset", "cvpr21-json", _archset_cvpr21, options={"file": str, "user_data": bool, "size": int},
              required=("file",), doc="the CVPR-2021 track-1 JSON (`{\"arch1\": {\"arch\": ...}}`), under the data directory")


# ----------------------------------------------------------------------------------------------- GT
def _gt_h5(bench: BenchmarkLike) -> GroundTruth:
    return read_gt(bench.resolve(bench.gt["file"], user_data=bool(bench.gt.get("user_data"))))


register_kind("gt", "hdf5", _gt_h5, options=GT_SPLIT_OPTIONS | {"file": str, "user_data": bool, "select_seed": int},
              required=("file",), doc="a GT file in the harness layout (:mod:`harness.gt.gt_file`); `gt build` writes it")


def _gt_cvpr21(bench: BenchmarkLike) -> GroundTruth:
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
    attrs = {"source": str(path), "recipe": "released by the challenge; provenance not documented"}
    return released_gt(space, archs, acc_arr, splits, np.asarray(index, dtype=np.int64), attrs)


register_kind("gt", "cvpr21-json", _gt_cvpr21, options=GT_SPLIT_OPTIONS | {"file": str, "user_data": bool},
              required=("file",), doc="the released CVPR-2021 GT JSON for a prefix of the arch set, under the data directory")

