"""Load a checkpoint submission safely.

Why ``weights_only=True`` always: a ``torch.save`` file is a pickle, and unpickling a stranger's pickle runs any
code it names. The restricted unpickler accepts tensors and plain containers only, so a checkpoint carrying code
is refused before anything runs. A submission that needs its own module ships ``supernet.py`` with
``build_supernet(space) -> nn.Module``; that code is only ever run inside the sandbox (see
:class:`harness.submission.handle.SubnetModuleHandle`), never in the harness process.
"""

from __future__ import annotations

import os
import pickle
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from harness.errors import SubmissionError
from harness.submission.reference import check_finite, validate_state_dict

if TYPE_CHECKING:
    from harness.benchmarks import Benchmark
    from harness.submission.handle import SubnetModuleHandle

#: checkpoints larger than this are refused before reading (override: NAS_HARNESS_MAX_CHECKPOINT_MB)
MAX_CHECKPOINT_BYTES = 2 * 1024**3
MODULE_FILE = "supernet.py"
WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "supernet", "net")


def max_checkpoint_bytes() -> int:
    value = os.environ.get("NAS_HARNESS_MAX_CHECKPOINT_MB")
    return int(float(value) * 1024**2) if value else MAX_CHECKPOINT_BYTES


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def safe_torch_load(path: Path, *, what: str | None = None, max_bytes: int | None = None) -> Any:
    """``torch.load(path, weights_only=True)`` on CPU with one-line errors; never runs code from the file."""
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
                    f"{what} carries Python code or objects, so loading it was refused (weights_only=True: {_one_line(detail, 100)}); "
                    "save plain tensors with torch.save(model.state_dict(), path)"
                ) from None
            raise SubmissionError(
                f"{what} is not a plain torch.save file of tensors, so loading it was refused (weights_only=True); "
                "it is corrupt, truncated, or carries code"
            ) from None
        raise SubmissionError(f"{what} is truncated or corrupt ({_one_line(message, 100)})") from None
    except (EOFError, RuntimeError, zipfile.BadZipFile, ValueError, OSError, MemoryError) as exc:
        reason = _one_line(str(exc).split(".")[0], 100) or type(exc).__name__
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


def load_checkpoint(path: Path, bench: Benchmark) -> dict[str, torch.Tensor] | SubnetModuleHandle:
    """A checkpoint submission's weights, validated.

    * Without ``supernet.py`` beside it: a state dict of the benchmark's reference supernet (keys, shapes and
      finiteness checked against a fresh one); returned as ``dict[str, Tensor]``, ready for ``load_state_dict``.
    * With ``supernet.py`` (defining ``build_supernet(space)``): a :class:`SubnetModuleHandle`; the module is built
      and the weights are loaded into it only inside the sandbox, where its subnets are also checked for the
      #params the space says.
    """
    path = Path(path)
    what = f"checkpoint {path.name}"
    state = unwrap_state_dict(safe_torch_load(path, what=what), what)
    module_file = path.parent / MODULE_FILE
    if module_file.is_file():
        from harness.submission.handle import SubnetModuleHandle

        not_tensors = [k for k, v in state.items() if not torch.is_tensor(v)]
        if not_tensors:
            raise SubmissionError(f"{what}: {len(not_tensors)} entries are not tensors (e.g. {not_tensors[0]})")
        check_finite(state, what)
        return SubnetModuleHandle.for_checkpoint(path.parent, path, bench)
    return validate_state_dict(state, bench.space, what)
