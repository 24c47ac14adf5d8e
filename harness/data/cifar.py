"""CIFAR-10 / CIFAR-100 "python version" readers (the pickled batches of https://www.cs.toronto.edu/~kriz/cifar.html).

Layout the readers expect, under the data directory (``--data-dir`` / ``$NAS_HARNESS_DATA``) or given directly:

* CIFAR-10:  ``cifar-10-batches-py/`` with ``data_batch_1`` … ``data_batch_5``, ``test_batch``, ``batches.meta``
* CIFAR-100: ``cifar-100-python/`` with ``train``, ``test``, ``meta``

(what ``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz`` extract to). Each batch is a pickled dict with
``data`` (uint8, N × 3072: the R, G, B planes of a 32×32 image) and ``labels`` (CIFAR-10) or ``fine_labels``
(CIFAR-100). Images come back as uint8 arrays (N, 3, 32, 32), labels as int64, in file order.

Why md5 checks by default: a truncated or altered batch still unpickles into plausible images, and a benchmark run
on it would silently differ from everyone else's. The canonical md5s are torchvision's. A deliberately cut copy
(a smoke-test subset) is read with ``verify=False`` or ``NAS_HARNESS_VERIFY_CHECKSUMS=0``; its shape and labels are
still checked.

Why a restricted unpickler: a data file is user-supplied, and plain ``pickle.load`` runs whatever code a file names.
Data batches only ever hold dicts, lists, strings, numbers and numpy arrays, so every other global is refused.

The ImageNet16-120 reader (:mod:`harness.data.imagenet16`) reuses the same batch format and helpers.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness import config
from harness.errors import DataError

#: set to 0 / false / no to skip md5 verification of data files (for user-cut subsets)
VERIFY_ENV = "NAS_HARNESS_VERIFY_CHECKSUMS"


@dataclass(frozen=True)
class ImageArrays:
    """Images and labels of one part of a dataset: ``x`` uint8 (N, 3, H, W), ``y`` int64 (N,)."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True)
class PickleDataset:
    """What a pickled-batch dataset looks like on disk, and how to normalise it (NAS-Bench-201's constants)."""

    name: str
    folder: str
    train_files: tuple[tuple[str, str], ...]  # (file name, canonical md5)
    test_files: tuple[tuple[str, str], ...]
    meta_file: tuple[str, str] | None
    label_key: str
    num_classes: int
    image_size: int
    archive: str
    mean: tuple[float, float, float]  # per-channel, in [0, 1] units
    std: tuple[float, float, float]

    @property
    def all_files(self) -> tuple[tuple[str, str], ...]:
        meta = (self.meta_file,) if self.meta_file else ()
        return (*self.train_files, *self.test_files, *meta)


CIFAR10 = PickleDataset(
    name="CIFAR-10",
    folder="cifar-10-batches-py",
    train_files=(
        ("data_batch_1", "c99cafc152244af753f735de768cd75f"),
        ("data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"),
        ("data_batch_3", "54ebc095f3ab1f0389bbae665268c751"),
        ("data_batch_4", "634d18415352ddfa80567beed471001a"),
        ("data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"),
    ),
    test_files=(("test_batch", "40351d587109b95175f43aff81a1287e"),),
    meta_file=("batches.meta", "5ff9c542aee3614f3951f8cda6e48888"),
    label_key="labels",
    num_classes=10,
    image_size=32,
    archive="cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html",
    mean=(125.3 / 255, 123.0 / 255, 113.9 / 255),
    std=(63.0 / 255, 62.1 / 255, 66.7 / 255),
)

CIFAR100 = PickleDataset(
    name="CIFAR-100",
    folder="cifar-100-python",
    train_files=(("train", "16019d7e3df5f24257cddd939b257f8d"),),
    test_files=(("test", "f0ef6b0ae62326f3e7ffdfab6717acfc"),),
    meta_file=("meta", "7973b15100ade9c7d40fb424638fde48"),
    label_key="fine_labels",
    num_classes=100,
    image_size=32,
    archive="cifar-100-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html",
    mean=(129.3 / 255, 124.1 / 255, 112.4 / 255),
    std=(68.2 / 255, 65.4 / 255, 70.4 / 255),
)

DATASETS = {"cifar10": CIFAR10, "cifar100": CIFAR100}


# -------------------------------------------------------------------------------------------- helpers
def verify_default() -> bool:
    """Whether checksums are verified when the caller does not say (``$NAS_HARNESS_VERIFY_CHECKSUMS``, default on)."""
    return os.environ.get(VERIFY_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def md5_of(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()  # noqa: S324 - a checksum against published values, not security
    with path.open("rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def locate(ds: PickleDataset, root: str | os.PathLike[str] | None) -> Path:
    """The folder holding ``ds``'s files: ``root/<folder>`` if it exists, else ``root`` itself.

    ``root`` None means the user's data directory; missing data raises a DataError that says what to put where.
    """
    base = config.data_dir() if root is None else Path(root).expanduser()
    names = ", ".join(name for name, _ in ds.all_files)
    if base is None:
        raise DataError(
            f"{ds.name} needs a data directory: set {config.DATA_DIR_ENV} (or --data-dir) to a folder holding "
            f"{ds.folder}/ with {names} (extracted from {ds.archive})"
        )
    folder = base / ds.folder if (base / ds.folder).is_dir() else base
    missing = [name for name, _ in ds.all_files if not (folder / name).is_file()]
    if len(missing) == len(ds.all_files):
        target = base if base.name == ds.folder else base / ds.folder
        raise DataError(f"{ds.name} not found: put {names} (extracted from {ds.archive}) in {target}/")
    if missing:
        raise DataError(
            f"{ds.name} is incomplete in {folder}: missing {', '.join(missing)} "
            f"(the full set is {names}, extracted from {ds.archive})"
        )
    return folder


def verify_files(ds: PickleDataset, folder: Path, files: Sequence[tuple[str, str]]) -> None:
    """Check each file's md5 against its canonical value; the DataError names the first file that fails."""
    for name, expected in files:
        got = md5_of(folder / name)
        if got != expected:
            raise DataError(
                f"{ds.name} file {folder / name} fails its md5 check (got {got}, expected {expected}): it is "
                f"incomplete or modified; extract it again from {ds.archive.split(' from ')[0]}, or set "
                f"{VERIFY_ENV}=0 (verify=False) to read a deliberately cut copy"
            )


_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),
}


class _DataUnpickler(pickle.Unpickler):
    """Loads only plain containers and numpy arrays (see the module docstring)."""

    def find_class(self, module: str, name: str):  # noqa: ANN201
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module == "numpy.core.multiarray":  # numpy ≥ 2 moved it; old pickles still name the old path
            module = "numpy._core.multiarray" if hasattr(np, "_core") else module
        return super().find_class(module, name)


def load_batch(path: Path, what: str) -> dict:
    """Unpickle one batch file (Python-2 or 3 pickles; latin1 as torchvision does) into a dict with str keys."""
    try:
        with path.open("rb") as f:
            entry = _DataUnpickler(f, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError) as exc:
        raise DataError(f"{what} file {path} is not a readable data batch: {exc}") from None
    if not isinstance(entry, dict):
        raise DataError(f"{what} file {path} holds a {type(entry).__name__}, not a batch dict")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in entry.items()}


def batch_arrays(entry: dict, path: Path, what: str, label_key: str, image_size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(x uint8 (N, 3, S, S), y int64 (N,))`` of one batch dict, with shape and label checks."""
    if "data" not in entry or label_key not in entry:
        raise DataError(f"{what} file {path} lacks the 'data' or '{label_key}' entry")
    data = np.asarray(entry["data"])
    labels = np.asarray(entry[label_key], dtype=np.int64)
    pixels = 3 * image_size * image_size
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != pixels:
        raise DataError(f"{what} file {path}: 'data' is {data.dtype} {data.shape}, expected uint8 (N, {pixels})")
    if labels.ndim != 1 or labels.shape[0] != data.shape[0]:
        raise DataError(f"{what} file {path}: {labels.shape[0]} labels for {data.shape[0]} images")
    return data.reshape(-1, 3, image_size, image_size), labels


def read_part(ds: PickleDataset, folder: Path, files: Sequence[tuple[str, str]], per_file: int | None = None) -> ImageArrays:
    """Concatenate the batches ``files`` of ``ds`` from ``folder``, checking the label range.

    ``per_file`` keeps the first that many images of every file: why per file rather than a total is that the
    complete files and a copy cut to their first rows then give the same images (see the ``-mini`` benchmarks).
    """
    xs, ys = [], []
    for name, _ in files:
        path = folder / name
        x, y = batch_arrays(load_batch(path, ds.name), path, ds.name, ds.label_key, ds.image_size)
        if per_file is not None:
            if len(x) < per_file:
                raise DataError(f"{ds.name} file {path} holds {len(x)} images; this benchmark reads the first {per_file}")
            x, y = x[:per_file], y[:per_file]
        if y.size and (y.min() < 0 or y.max() >= ds.num_classes):
            raise DataError(f"{ds.name} file {path}: labels outside 0..{ds.num_classes - 1}")
        xs.append(x)
        ys.append(y)
    return ImageArrays(np.ascontiguousarray(np.concatenate(xs)), np.concatenate(ys))


# --------------------------------------------------------------------------------------------- public
def read_cifar(
    dataset: str, root: str | os.PathLike[str] | None = None, *, verify: bool | None = None,
    per_file: int | None = None,
) -> tuple[ImageArrays, ImageArrays]:
    """``(train, test)`` of ``dataset`` ("cifar10" or "cifar100") from ``root`` (default: the data directory).

    ``verify`` None follows ``$NAS_HARNESS_VERIFY_CHECKSUMS`` (on unless set to 0); ``per_file`` keeps the first
    that many images of every file (:func:`read_part`).
    """
    try:
        ds = DATASETS[dataset]
    except KeyError:
        raise DataError(f"unknown CIFAR dataset {dataset!r}; use {' or '.join(DATASETS)}") from None
    folder = locate(ds, root)
    if verify_default() if verify is None else verify:
        verify_files(ds, folder, ds.all_files)
    return read_part(ds, folder, ds.train_files, per_file), read_part(ds, folder, ds.test_files, per_file)


Root = str | os.PathLike[str] | None


def read_cifar10(root: Root = None, *, verify: bool | None = None) -> tuple[ImageArrays, ImageArrays]:
    return read_cifar("cifar10", root, verify=verify)


def read_cifar100(root: Root = None, *, verify: bool | None = None) -> tuple[ImageArrays, ImageArrays]:
    return read_cifar("cifar100", root, verify=verify)


def write_batch(path: str | os.PathLike[str], x: np.ndarray, y: np.ndarray, label_key: str, **extra: object) -> None:
    """Write images (N, 3, S, S) uint8 and labels as one batch in the same pickle format (for tests and subsets)."""
    data = np.ascontiguousarray(x, dtype=np.uint8).reshape(len(x), -1)
    entry = {"batch_label": "written by nas-harness", label_key: [int(v) for v in y], "data": data, **extra}
    with open(path, "wb") as f:
        pickle.dump(entry, f, protocol=2)
