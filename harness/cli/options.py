"""Options shared by several commands and the checks of what the user typed (before any work starts)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from harness import config
from harness.errors import BadPathError, DeviceError, HarnessError, UnknownNameError

StoreOpt = Annotated[Optional[Path], typer.Option("--store", help="Results store folder \\[env NAS_HARNESS_STORE; default ./results].")]
SplitOpt = Annotated[str, typer.Option("--split", help="GT split: dev (public, exploratory) or test (hidden, confirmatory).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of tables (for scripts).")]


def open_store(path: Path | None, *, must_exist: bool = False) -> Any:
    """The results store of ``--store`` (or its default), with dead runs reaped; BadPathError if it must exist."""
    from harness.store import ResultStore

    root = config.store_dir(path)
    if must_exist and not (root / "runs.sqlite").exists():
        raise BadPathError(f"no results store at {root}: score a submission first or pass --store")
    store = ResultStore(root)
    store.reap()
    return store


def split_choice(split: str) -> str:
    if split not in ("dev", "test"):
        raise UnknownNameError(f"unknown split {split!r}; use dev or test")
    return split


def check_device(device: str) -> None:
    """``cpu`` or an available ``cuda[:N]``, checked before a run is recorded or a sandbox starts."""
    if device == "cpu":
        return
    match = re.fullmatch(r"cuda(?::(\d+))?", device)
    if match is None:
        raise DeviceError(f"unknown device {device!r}; use cpu or cuda[:N]")
    import torch

    if not torch.cuda.is_available():
        raise DeviceError(f"device {device!r} asked for, but this machine has no CUDA device (torch {torch.__version__}); use --device cpu")
    index = int(match.group(1) or 0)
    if index >= torch.cuda.device_count():
        raise DeviceError(f"device {device!r} asked for, but this machine has {torch.cuda.device_count()} CUDA device(s)")


def row_range(text: str) -> tuple[int, int]:
    """``--rows START:STOP``."""
    try:
        start, stop = (int(part) for part in text.split(":"))
    except ValueError:
        raise HarnessError(f"--rows must look like START:STOP (e.g. 0:140), got {text!r}") from None
    return start, stop


def output_folder_exists(out: Path | None) -> None:
    """``--out`` must name a file in an existing folder (checked before anything is written)."""
    if out is not None and not out.parent.exists():
        raise BadPathError(f"folder {out.parent} does not exist")
