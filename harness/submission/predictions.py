"""Read a predictions file (one score per arch of the arch set, higher is better) in any accepted format.

Formats:

* CSV: rows ``arch,score`` (a header row is optional; with a header the columns may be named ``arch`` and one of
  ``score``, ``acc``, ``accuracy``, ``prediction``, and other columns are ignored).
* JSON: ``{arch: score}``, a list of ``{"arch": ..., "score": ...}`` (``acc`` also accepted), or the CVPR-2021
  track-1 layout ``{"arch1": {"arch": "...", "acc": ...}, ...}``; in that layout an entry without ``"arch"``
  means the N-th arch of the arch set (``archN``, 1-based), as the challenge numbered them.
* HDF5: datasets ``archs`` (strings) and ``scores`` (numbers) of equal length.

Why the strict checks: a silently dropped or duplicated row would change every rank correlation without anyone
noticing, so each problem (missing, duplicate, unknown, non-finite) is refused with its count and the first few
offenders, in one line a participant can act on. The size limit is checked before a byte is read.

Why parsed here and not in the sandbox: the harness needs only the numbers, so the parse is made unable to reach
anything but the file and unable to allocate more than the file holds, which a sandbox round trip (seconds, and a
second copy of the arch set) would not improve on for CSV and JSON. HDF5 is the format that can *name* other
files and declare data it does not hold, so before any data is read every object is checked: ``archs`` and
``scores`` must be hard links in the file itself (soft and external links, which h5py would follow, are refused
unresolved), plain (no virtual dataset, no external storage), 1-D of a plain type, and their declared size (and
chunk size) must fit in the file's real size, so a compressed or never-written fill-value dataset cannot expand in
memory. CSV/JSON are bounded by bytes per arch of the arch set, and JSON integers by digits. What is left is a bug
in the HDF5 C library's parser on a crafted file: prefer CSV where that matters.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import InvalidArchError, SubmissionError
from harness.faults import participant_bytes
from harness.spaces import SearchSpace
from harness.submission.text import printable

#: files larger than this are refused before reading (override: NAS_HARNESS_MAX_PREDICTIONS_MB or ``max_bytes``)
MAX_PREDICTIONS_BYTES = 256 * 1024**2
SCORE_COLUMNS = ("score", "acc", "accuracy", "prediction", "pred", "value")
ARCH_COLUMNS = ("arch", "architecture", "arch_str", "genotype")
_CVPR_KEY = re.compile(r"^arch(\d+)$")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
SHOW = 3  # offenders named in a message
#: CSV/JSON text bound, per arch of the arch set (an NB201 CVPR-layout row is ~140 bytes), plus a fixed slack
BYTES_PER_ARCH = 512
SLACK_BYTES = 1024**2
#: longest integer literal accepted in JSON (int(10**400) would overflow float conversion)
MAX_INT_DIGITS = 40
#: longest arch string kept from a predictions file (longer ones are unknown archs)
MAX_ARCH_CHARS = 1000


def max_predictions_bytes() -> int:
    value = os.environ.get("NAS_HARNESS_MAX_PREDICTIONS_MB")
    return int(float(value) * 1024**2) if value else MAX_PREDICTIONS_BYTES


# ------------------------------------------------------------------------------------------- parsing
Entry = tuple[str | int, Any]  # (arch string, or 0-based arch-set index) and the raw score


def _fail(path: Path, why: str) -> SubmissionError:
    return SubmissionError(f"predictions file {path.name} {why}")


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _fail(path, "is not UTF-8 text, so it cannot be parsed as CSV or JSON") from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_csv(path: Path, text: str) -> list[Entry]:
    first_line = text.lstrip().split("\n", 1)[0]
    delimiter = next((d for d in (",", "\t", ";") if d in first_line), ",")
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if r and any(c.strip() for c in r)]
    if not rows:
        raise _fail(path, "is empty")
    arch_col, score_col, offset = 0, 1, 1
    first = [c.strip().lower() for c in rows[0]]
    if len(first) >= 2 and not _is_number(first[1]):
        # a header row: find the columns by name, else take the first two
        arch_col = next((first.index(n) for n in ARCH_COLUMNS if n in first), 0)
        score_col = next((first.index(n) for n in SCORE_COLUMNS if n in first), 1)
        rows, offset = rows[1:], 2
    entries: list[Entry] = []
    for line_no, row in enumerate(rows, start=offset):
        if len(row) <= max(arch_col, score_col):
            raise _fail(path, f"has a row ({line_no}) with {len(row)} column(s); expected arch,score")
        entries.append((row[arch_col].strip(), row[score_col].strip()))
    return entries


def _score_of(obj: Any) -> Any:
    if isinstance(obj, dict):
        for key in SCORE_COLUMNS:
            if key in obj:
                return obj[key]
        raise KeyError("score")
    return obj


class _JSONTooLong(ValueError):
    """An integer literal longer than MAX_INT_DIGITS (raised from json's parse_int)."""


class _JSONDuplicateKey(ValueError):
    """An object with the same key twice (``json`` would keep the last silently; CSV refuses duplicates too)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _JSONDuplicateKey(key)
        seen[key] = value
    return seen


def _parse_json(path: Path, text: str) -> list[Entry]:
    def bounded_int(literal: str) -> int | float:
        if len(literal.lstrip("-")) > MAX_INT_DIGITS:
            raise _JSONTooLong(len(literal))
        return int(literal)

    try:
        data = json.loads(text, parse_int=bounded_int, object_pairs_hook=_unique_keys)
    except _JSONTooLong as exc:
        raise _fail(path, f"holds an integer of {exc.args[0]} digits (at most {MAX_INT_DIGITS}); write scores as floats") from None
    except _JSONDuplicateKey as exc:
        raise _fail(path, f"holds the key {printable(exc.args[0], 80)!r} twice in one object; each arch needs exactly one score") from None
    except json.JSONDecodeError as exc:
        raise _fail(path, f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise _fail(path, "is not valid JSON (nested too deeply)") from None
    entries: list[Entry] = []
    if isinstance(data, dict):
        cvpr = bool(data) and all(isinstance(k, str) and _CVPR_KEY.match(k) for k in data)
        for key, value in data.items():
            try:
                if cvpr:
                    index = int(_CVPR_KEY.match(key).group(1)) - 1  # type: ignore[union-attr]
                    arch: str | int = value["arch"] if isinstance(value, dict) and "arch" in value else index
                    entries.append((arch, _score_of(value)))
                else:
                    entries.append((key, _score_of(value)))
            except (KeyError, TypeError):
                raise _fail(path, f"has no score for entry {printable(key, 60)!r} (expected a number, or an object with 'acc' or 'score')") from None
        return entries
    if isinstance(data, list):
        for i, item in enumerate(data):
            if not isinstance(item, dict) or not any(k in item for k in ARCH_COLUMNS):
                raise _fail(path, f"holds list item {i} that is not an object with 'arch' and 'score'")
            arch_key = next(k for k in ARCH_COLUMNS if k in item)
            try:
                entries.append((item[arch_key], _score_of(item)))
            except KeyError:
                raise _fail(path, f"holds list item {i} without 'score' (or 'acc')") from None
        return entries
    raise _fail(path, "is JSON of an unknown layout: use {arch: score}, a list of {arch, score}, or the CVPR-2021 layout")


def _hdf5_dataset(f: Any, name: str, path: Path, budget: int) -> Any:
    """The dataset ``name`` of ``f`` after checking (without reading data) that reading it stays inside the file."""
    import h5py

    link = f.get(name, getlink=True)
    if link is None:
        raise _fail(path, "lacks the HDF5 datasets 'archs' and 'scores'")
    if not isinstance(link, h5py.HardLink):
        kind = "an external link" if isinstance(link, h5py.ExternalLink) else "a soft link"
        raise _fail(path, f"makes '{name}' {kind}; predictions must be plain datasets inside the file")
    obj = f[name]
    if not isinstance(obj, h5py.Dataset):
        raise _fail(path, f"holds '{name}' as a group, not a dataset")
    dcpl = obj.id.get_create_plist()
    if dcpl.get_layout() == h5py.h5d.VIRTUAL or obj.is_virtual:
        raise _fail(path, f"makes '{name}' a virtual dataset (data mapped from other files); write the values themselves")
    if dcpl.get_external_count() > 0:
        raise _fail(path, f"stores '{name}' in external files; write the values into the file itself")
    if obj.ndim != 1:
        raise _fail(path, f"has '{name}' of shape {obj.shape}; it must be 1-D")
    stored_item = obj.id.get_type().get_size()  # bytes per element as stored (16 for a variable-length string)
    declared = int(obj.shape[0]) * max(int(stored_item), 1)
    chunk = dcpl.get_chunk() if dcpl.get_layout() == h5py.h5d.CHUNKED else None
    chunk_bytes = int(np.prod(chunk)) * max(int(stored_item), 1) if chunk else 0
    if max(declared, chunk_bytes) > budget:
        raise _fail(path, f"declares '{name}' of {max(declared, chunk_bytes):,} bytes, more than the file holds "
                          f"({budget - SLACK_BYTES:,} bytes); compressed or never-written data is refused")
    return obj


def _parse_hdf5(path: Path, size: int) -> list[Entry]:
    import h5py

    budget = size + SLACK_BYTES  # what a dataset may expand to in memory: the file itself, plus 1 MiB of slack
    try:
        with h5py.File(path, "r") as f:
            archs_ds = _hdf5_dataset(f, "archs", path, budget)
            scores_ds = _hdf5_dataset(f, "scores", path, budget)
            if archs_ds.shape != scores_ds.shape:
                raise _fail(path, f"has 'archs' {archs_ds.shape} and 'scores' {scores_ds.shape}; they must be 1-D of the same length")
            if scores_ds.dtype.kind not in "iuf":
                raise _fail(path, f"has 'scores' of type {printable(scores_ds.dtype, 40)}; they must be numbers")
            if h5py.check_string_dtype(archs_ds.dtype) is None and archs_ds.dtype.kind != "S":
                raise _fail(path, f"has 'archs' of type {printable(archs_ds.dtype, 40)}; they must be strings")
            archs = archs_ds[...]
            scores = scores_ds[...].astype(np.float64)
    except SubmissionError:
        raise
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as exc:
        raise _fail(path, f"is not a readable HDF5 file ({printable(' '.join(str(exc).split()), 120)})") from None
    names = [(a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a))[:MAX_ARCH_CHARS] for a in archs]
    return list(zip(names, scores.tolist(), strict=True))


def _detect(path: Path, head: bytes) -> str:
    suffix = path.suffix.lower()
    if suffix in (".h5", ".hdf5", ".hdf"):
        return "hdf5"
    if suffix == ".json":
        return "json"
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    if head.startswith(_HDF5_SIGNATURE):
        return "hdf5"
    return "json" if head.lstrip()[:1] in (b"{", b"[") else "csv"


def parse_predictions_file(path: Path, *, max_bytes: int | None = None, n_archs: int | None = None) -> list[Entry]:
    """The raw (arch, score) entries of a predictions file, unvalidated; size-checked before reading.

    ``n_archs`` (the arch set's size) tightens the byte limit to ``BYTES_PER_ARCH`` per arch plus 1 MiB, which
    bounds the memory a CSV/JSON parse can take.
    """
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"predictions file {path} does not exist")
    limit = max_predictions_bytes() if max_bytes is None else max_bytes
    if n_archs is not None:
        limit = min(limit, BYTES_PER_ARCH * int(n_archs) + SLACK_BYTES)
    size = path.stat().st_size
    if size > limit:
        raise _fail(path, f"is too large ({size / 1024**2:.0f} MB; the size limit is {limit / 1024**2:.0f} MB)")
    with path.open("rb") as f:
        head = f.read(16)
    fmt = _detect(path, head)
    if fmt == "hdf5":
        return _parse_hdf5(path, size)
    text = _decode(path, path.read_bytes())
    return _parse_json(path, text) if fmt == "json" else _parse_csv(path, text)


# ----------------------------------------------------------------------------------------- validation
def _first(items: Iterable[Any], n: int = SHOW) -> str:
    shown = []
    for item in items:
        if len(shown) == n:
            shown.append("...")
            break
        shown.append(printable(item, 80))
    return ", ".join(shown)


def _to_float(value: Any) -> float | None:
    """A finite or non-finite float, or None when the value is not a number at all."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        try:
            return float(value)
        except OverflowError:
            return math.inf
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def align_predictions(entries: Sequence[Entry], archs: Sequence[str], space: SearchSpace, *, source: str) -> np.ndarray:
    """Scores aligned to ``archs``; every problem is collected and reported in one line."""
    position = {a: i for i, a in enumerate(archs)}
    scores = np.full(len(archs), np.nan, dtype=np.float64)
    seen = np.zeros(len(archs), dtype=bool)
    unknown: list[str] = []
    duplicate: list[str] = []
    not_number: list[str] = []
    non_finite: list[str] = []
    for raw_arch, raw_score in entries:
        if isinstance(raw_arch, int):  # CVPR layout by number
            if not 0 <= raw_arch < len(archs):
                unknown.append(f"arch{raw_arch + 1}")
                continue
            index = raw_arch
        else:
            if not isinstance(raw_arch, str) or len(raw_arch) > MAX_ARCH_CHARS:
                unknown.append(printable(raw_arch, 80))
                continue
            try:
                canon = space.canonical(raw_arch)
            except (InvalidArchError, ValueError, TypeError):
                unknown.append(str(raw_arch))
                continue
            index = position.get(canon, -1)
            if index < 0:
                unknown.append(canon)
                continue
        if seen[index]:
            duplicate.append(archs[index])
            continue
        seen[index] = True
        value = _to_float(raw_score)
        if value is None:
            not_number.append(f"{archs[index]}={printable(repr(raw_score), 40)}")
            continue
        if not math.isfinite(value):
            non_finite.append(f"{archs[index]}={value}")
        scores[index] = value
    missing = [archs[i] for i in np.flatnonzero(~seen)]

    problems = []
    if unknown:
        problems.append(f"{len(unknown)} unknown arch(s), not in the benchmark's arch set or invalid ({_first(unknown)})")
    if duplicate:
        problems.append(f"{len(duplicate)} duplicate arch(s) ({_first(duplicate)})")
    if not_number:
        problems.append(f"{len(not_number)} score(s) that are not numbers ({_first(not_number)})")
    if non_finite:
        problems.append(f"{len(non_finite)} non-finite score(s) NaN/inf ({_first(non_finite)})")
    if missing:
        problems.append(f"{len(missing)} of the {len(archs)} archs of the arch set missing ({_first(missing)})")
    if problems:
        raise SubmissionError(f"predictions file {source}: " + "; ".join(problems))
    return scores


def read_predictions(path: Path, archs: list[str], space: SearchSpace, *, max_bytes: int | None = None) -> np.ndarray:
    """One float64 score per arch of ``archs`` (the benchmark's arch set, canonical strings), in that order.

    Raises :class:`SubmissionError` (one line) for a file that is too large, unparseable, or that has missing,
    duplicate, unknown or non-finite entries.
    """
    path = Path(path)
    with participant_bytes(f"predictions file {path.name}"):
        entries = parse_predictions_file(path, max_bytes=max_bytes, n_archs=len(archs))
        return align_predictions(entries, archs, space, source=path.name)


def write_predictions(path: Path, archs: Sequence[str], scores: Sequence[float] | np.ndarray) -> None:
    """Write predictions in the format given by the suffix (.csv, .json, .h5): what reference baselines use."""
    path = Path(path)
    values = np.asarray(scores, dtype=np.float64)
    if values.shape != (len(archs),):
        raise ValueError("one score per arch")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["arch", "score"])
            w.writerows((a, repr(float(s))) for a, s in zip(archs, values, strict=True))
    elif suffix == ".json":
        path.write_text(json.dumps({a: float(s) for a, s in zip(archs, values, strict=True)}, indent=0) + "\n")
    elif suffix in (".h5", ".hdf5"):
        import h5py

        with h5py.File(path, "w") as f:
            f.create_dataset("archs", data=np.asarray(archs, dtype=object), dtype=h5py.string_dtype())
            f.create_dataset("scores", data=values)
    else:
        raise ValueError(f"unknown predictions format {suffix!r}")
