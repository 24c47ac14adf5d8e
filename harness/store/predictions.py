"""One HDF5 file per completed run with all of its predictions, written atomically.

Layout: ``archs`` (fixed-length ASCII, gzip) and ``scores`` (float64), attributes ``run_id``, ``benchmark``,
``content_hash``. Why fixed-length compressed strings: 50,000 arch strings stored as variable-length HDF5
strings take ~2 MB per run and cannot be compressed; as ``S{n}`` with gzip they take a few hundred kB.

Atomicity: the file is written under a temporary name in the same folder, fsynced, renamed with
``os.replace`` and the folder fsynced, so a reader (or a crash) sees either no file or the complete one.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np

from harness.errors import StoreError

TMP_MARK = ".tmp-"


def content_hash(archs: Sequence[str], scores: np.ndarray) -> str:
    """sha256 over the arch strings (newline-joined) and the float64 scores: identifies a prediction set."""
    h = hashlib.sha256()
    h.update("\n".join(archs).encode())
    h.update(np.ascontiguousarray(scores, dtype=np.float64).tobytes())
    return h.hexdigest()


def check_predictions(archs: Sequence[str], scores: np.ndarray) -> np.ndarray:
    """Validate what a run is about to store; returns the scores as a float64 vector."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1:
        raise StoreError(f"predictions must be one score per arch (1-D), got shape {s.shape}")
    if len(archs) != s.size:
        raise StoreError(f"{len(archs)} arch strings but {s.size} scores; they must pair up")
    if s.size and not np.isfinite(s).all():
        raise StoreError(f"{int((~np.isfinite(s)).sum())} prediction(s) are NaN or infinite; nothing stored")
    for a in archs:
        if not isinstance(a, str) or not a.isascii():
            raise StoreError(f"arch {a!r} is not an ASCII string")
    return s


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, *, archs: Sequence[str], scores: np.ndarray, attrs: dict[str, str]) -> str:
    """Write the predictions file at ``path`` atomically; returns its content hash."""
    scores = check_predictions(archs, scores)
    digest = content_hash(archs, scores)
    tmp = path.with_name(f"{path.name}{TMP_MARK}{os.getpid()}")
    width = max((len(a) for a in archs), default=1) or 1
    try:
        with h5py.File(tmp, "w") as f:
            chunks = (min(max(len(archs), 1), 16384),)
            f.create_dataset(
                "archs", data=np.asarray(archs, dtype=f"S{width}"), compression="gzip", shuffle=True, chunks=chunks
            )
            f.create_dataset("scores", data=scores, compression="gzip", shuffle=True, chunks=chunks)
            for k, v in {**attrs, "content_hash": digest}.items():
                f.attrs[k] = v
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(f"could not write predictions file {path}: {exc.strerror or exc}") from None
    _fsync_dir(path.parent)
    return digest


def read(path: Path, expected_hash: str | None = None) -> tuple[list[str], np.ndarray]:
    """Read a predictions file; a missing, corrupt or altered file raises StoreError."""
    if not path.is_file():
        raise StoreError(f"predictions file {path} is missing")
    try:
        with h5py.File(path, "r", locking=False) as f:
            raw = f["archs"][...]
            scores = np.asarray(f["scores"][...], dtype=np.float64)
    except (OSError, KeyError) as exc:
        raise StoreError(f"predictions file {path} is unreadable: {exc}") from None
    archs = np.char.decode(raw, "ascii").tolist() if raw.size else []
    if expected_hash and content_hash(archs, scores) != expected_hash:
        raise StoreError(f"predictions file {path} does not match the hash recorded for its run")
    return archs, scores
