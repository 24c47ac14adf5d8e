"""Read an untrusted ``torch.save`` file within bounds: the zip, the pickle and the tensors it holds.

Why the checks before and after ``torch.load``: ``weights_only`` stops code, not memory. A ``torch.save`` file is a
zip whose members torch stores uncompressed, so before loading every member must be stored (a deflate member is
a zip bomb: 2.5 MB expanding to GiB), the members' declared sizes must fit in the file and in the bound the caller
gives (the benchmark's state-dict size), and the pickle itself must be small. After loading, before any tensor is
touched, every tensor must be dense (no stride 0: ``torch.zeros(1).expand(2**33)`` is 4 bytes on disk and 32 GiB
once anything reads it) and own exactly ``numel × itemsize`` bytes of storage. Together they bound what loading
a stranger's tensor file can cost the harness process to about the file's own size.
"""

from __future__ import annotations

import os
import pickle
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from harness.errors import SubmissionError, one_line
from harness.faults import participant_bytes
from harness.submission.text import printable

#: checkpoints larger than this are refused before reading (override: NAS_HARNESS_MAX_CHECKPOINT_MB)
MAX_CHECKPOINT_BYTES = 2 * 1024**3
WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "supernet", "net")
#: the pickle part of a torch.save file (names and structure, not tensor data); a state dict's is a few hundred KB
MAX_PICKLE_BYTES = 16 * 1024**2
#: how many reference state dicts a checkpoint may hold (a few-shot supernet holds one copy per split)
MAX_COPIES = 64
#: containers and tensors walked in a loaded checkpoint
MAX_OBJECTS = 200_000


def max_checkpoint_bytes() -> int:
    value = os.environ.get("NAS_HARNESS_MAX_CHECKPOINT_MB")
    return int(float(value) * 1024**2) if value else MAX_CHECKPOINT_BYTES


def check_zip(path: Path, what: str, *, max_data_bytes: int | None = None) -> None:
    """Refuse a torch.save zip whose members are compressed or declare more bytes than the file (or the bound) holds.

    Reads only the zip's central directory; raises a one-line :class:`SubmissionError`.
    """
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
    except zipfile.BadZipFile:
        with path.open("rb") as f:
            head = f.read(4)
        if head[:2] == b"\x80\x02" or head[:1] == b"\x80":
            raise SubmissionError(f"{what} is a plain pickle or torch's legacy (pre-1.6) format, so loading it was refused; "
                                  "re-save it with torch.save(model.state_dict(), path) on a current torch") from None
        raise SubmissionError(f"{what} is truncated or corrupt: it cannot be read (not a zip archive: failed finding central directory)") from None
    except (OSError, ValueError, NotImplementedError) as exc:
        raise SubmissionError(f"{what} is truncated or corrupt: it cannot be read ({one_line(printable(exc), 100)})") from None
    if len(members) > MAX_OBJECTS:
        raise SubmissionError(f"{what} holds {len(members):,} zip members; a state dict needs far fewer")
    compressed = [m.filename for m in members if m.compress_type != zipfile.ZIP_STORED]
    if compressed:
        raise SubmissionError(f"{what} holds {len(compressed)} compressed zip member(s) (e.g. {printable(compressed[0], 60)}); "
                              "torch.save never compresses, so compressed members are refused (zip-bomb guard)")
    declared = sum(int(m.file_size) for m in members)
    if declared > size:
        raise SubmissionError(f"{what} declares {declared:,} bytes in its zip members but the file has {size:,}; it is corrupt or forged")
    pickles = [m for m in members if m.filename.endswith(".pkl")]
    if any(m.file_size > MAX_PICKLE_BYTES for m in pickles):
        raise SubmissionError(f"{what} has a pickle of more than {MAX_PICKLE_BYTES // 1024**2} MB; save plain tensors with torch.save(model.state_dict(), path)")
    if max_data_bytes is not None and declared > max_data_bytes:
        raise SubmissionError(f"{what} holds {declared / 1024**2:.1f} MB of data, more than the benchmark's supernet needs "
                              f"({max_data_bytes / 1024**2:.1f} MB at most)")


def _dense(t: torch.Tensor) -> bool:
    """Strides that cover each element once, in some dimension order (no stride 0, no overlap, no gaps)."""
    expected = 1
    for n, stride in sorted(zip(t.shape, t.stride(), strict=True), key=lambda p: p[1]):
        if n == 1:
            continue
        if stride != expected:
            return False
        expected *= n
    return True


def check_tensors(obj: Any, what: str, *, max_bytes: int | None = None) -> None:
    """Every tensor in a loaded object: strided and dense, storage exactly ``numel × itemsize``, total bounded.

    Touches only metadata (shape, strides, storage size), never the data, so it is safe on a hostile file.
    """
    total = 0
    seen = 0
    stack = [("", obj)]
    while stack:
        name, item = stack.pop()
        seen += 1
        if seen > MAX_OBJECTS:
            raise SubmissionError(f"{what} holds more than {MAX_OBJECTS:,} objects; a state dict needs far fewer")
        if torch.is_tensor(item):
            label = printable(name or "a tensor", 60)
            if item.layout != torch.strided or item.is_quantized or item.is_nested:
                raise SubmissionError(f"{what}: {label} is a {item.layout} tensor; save dense tensors")
            if item.device.type != "cpu":
                continue  # map_location="cpu" makes every loaded tensor a CPU tensor; nothing else to check
            numel, itemsize = item.numel(), item.element_size()
            storage = item.untyped_storage().nbytes()
            if numel > 1 and not _dense(item):
                raise SubmissionError(f"{what}: {label} {tuple(item.shape)} has strides {tuple(item.stride())} that repeat "
                                      "elements (an expanded tensor); save contiguous tensors (.contiguous())")
            if storage != numel * itemsize:
                raise SubmissionError(f"{what}: {label} {tuple(item.shape)} uses {storage:,} bytes of storage for "
                                      f"{numel * itemsize:,} bytes of values; save each tensor on its own (.clone())")
            total += storage
        elif isinstance(item, Mapping):
            stack.extend((f"{name}.{k}" if name else str(k), v) for k, v in list(item.items())[: MAX_OBJECTS + 1])
        elif isinstance(item, (list, tuple)):
            stack.extend((f"{name}[{i}]", v) for i, v in enumerate(item[: MAX_OBJECTS + 1]))
    if max_bytes is not None and total > max_bytes:
        raise SubmissionError(f"{what} holds {total / 1024**2:.1f} MB of tensors, more than the benchmark's supernet needs "
                              f"({max_bytes / 1024**2:.1f} MB at most)")


def expected_state_bytes(space: Any) -> int:
    """The most tensor bytes a checkpoint for ``space`` may hold: ``MAX_COPIES`` reference state dicts, plus 1 MiB."""
    from harness.submission.reference import new_reference_supernet

    one = sum(t.numel() * t.element_size() for t in new_reference_supernet(space).state_dict().values())
    return MAX_COPIES * one + 1024**2


def safe_torch_load(path: Path, *, what: str | None = None, max_bytes: int | None = None,
                    max_data_bytes: int | None = None) -> Any:
    """``torch.load(path, weights_only=True)`` on CPU with one-line errors; never runs code from the file.

    The zip is checked before loading and every tensor after (see the module docstring); ``max_data_bytes``
    bounds the tensor data (e.g. :func:`expected_state_bytes`).
    """
    path = Path(path)
    what = what or f"checkpoint {path.name}"
    if not path.is_file():
        raise SubmissionError(f"{what} does not exist")
    limit = max_checkpoint_bytes() if max_bytes is None else max_bytes
    size = path.stat().st_size
    if size > limit:
        raise SubmissionError(f"{what} is too large ({size / 1024**2:.0f} MB; the size limit is {limit / 1024**2:.0f} MB)")
    if size == 0:
        raise SubmissionError(f"{what} is empty (truncated or corrupt)")
    with participant_bytes(what):  # a forged pickle raises anything (AssertionError, NotImplementedError, ...)
        check_zip(path, what, max_data_bytes=max_data_bytes)
        obj = _torch_load(path, what)
        check_tensors(obj, what, max_bytes=max_data_bytes)
    return obj


def _torch_load(path: Path, what: str) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        message = str(exc)
        if "Weights only load failed" in message:
            detail = next((line.strip() for line in message.splitlines() if "GLOBAL" in line), "")
            if detail:
                raise SubmissionError(
                    f"{what} carries Python code or objects, so loading it was refused (weights_only=True: {one_line(printable(detail, 200), 100)}); "
                    "save plain tensors with torch.save(model.state_dict(), path)"
                ) from None
            raise SubmissionError(
                f"{what} is not a plain torch.save file of tensors, so loading it was refused (weights_only=True); "
                "it is corrupt, truncated, or carries code"
            ) from None
        raise SubmissionError(f"{what} is truncated or corrupt ({one_line(printable(message, 200), 100)})") from None
    except (EOFError, RuntimeError, zipfile.BadZipFile, ValueError, OSError, MemoryError, OverflowError, IndexError, KeyError, TypeError) as exc:
        reason = one_line(printable(str(exc).split(".")[0], 200), 100) or type(exc).__name__
        raise SubmissionError(f"{what} is truncated or corrupt: it cannot be read ({reason})") from None


def unwrap_state_dict(obj: Any, what: str) -> dict[str, Any]:
    """The state dict inside a loaded checkpoint: the object itself or ``obj["state_dict"]`` (and kin).

    A ``module.`` prefix on every key (what DataParallel saves) is removed.
    """
    if isinstance(obj, Mapping):
        for key in WRAPPER_KEYS:
            inner = obj.get(key)
            if isinstance(inner, Mapping) and inner and all(torch.is_tensor(v) for v in inner.values()):
                obj = inner
                break
    if not isinstance(obj, Mapping) or not obj:
        raise SubmissionError(f"{what} holds a {type(obj).__name__}, not a state dict; save model.state_dict()")
    state = dict(obj)
    if all(isinstance(k, str) and k.startswith("module.") for k in state):
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state
