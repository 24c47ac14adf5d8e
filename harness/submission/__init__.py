"""Submissions: the manifest, loaders for the three kinds, and the sandboxed trainer runner.

Public API (what scoring calls):

* :func:`load_submission` (folder -> :class:`Submission`, with :class:`Manifest` and a content hash)
* :func:`read_predictions` (predictions kind -> one score per arch of the arch set)
* :func:`load_checkpoint` (checkpoint kind -> validated state dict, or a :class:`SubnetModuleHandle`)
* :func:`run_trainer` (trainer kind -> state dict of the reference supernet, or a :class:`SubnetModuleHandle`)
* :class:`TrainContext` (what ``train(ctx)`` receives inside the sandbox)

Names are resolved lazily: the sandbox child imports :mod:`harness.submission.landlock` before torch, so this
package must not import torch (or anything heavy) at import time.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Manifest": "harness.submission.manifest",
    "parse_manifest": "harness.submission.manifest",
    "KINDS": "harness.submission.manifest",
    "Submission": "harness.submission.folder",
    "load_submission": "harness.submission.folder",
    "content_hash": "harness.submission.folder",
    "read_predictions": "harness.submission.predictions",
    "write_predictions": "harness.submission.predictions",
    "load_checkpoint": "harness.submission.checkpoint",
    "safe_torch_load": "harness.submission.torch_file",
    "run_trainer": "harness.submission.sandbox",
    "SubnetModuleHandle": "harness.submission.handle",
    "TrainContext": "harness.submission.context",
    "TrainerOutput": "harness.submission.job",
    "new_reference_supernet": "harness.submission.reference",
    "validate_state_dict": "harness.submission.reference",
    "isolation_mode": "harness.submission.launcher",
    "bwrap_status": "harness.submission.launcher",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from harness.submission.checkpoint import load_checkpoint
    from harness.submission.torch_file import safe_torch_load
    from harness.submission.context import TrainContext
    from harness.submission.folder import Submission, content_hash, load_submission
    from harness.submission.handle import SubnetModuleHandle
    from harness.submission.job import TrainerOutput
    from harness.submission.launcher import bwrap_status, isolation_mode
    from harness.submission.manifest import KINDS, Manifest, parse_manifest
    from harness.submission.predictions import read_predictions, write_predictions
    from harness.submission.reference import new_reference_supernet, validate_state_dict
    from harness.submission.sandbox import run_trainer


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'harness.submission' has no attribute {name!r}")
    return getattr(import_module(module), name)
