"""The plain per-subnet reference loop: the oracle every faster evaluator is checked against.

Why keep it naive: it must work for *any* module with ``forward(x, arch)`` (the width supernet, the
NAS-Bench-201 supernet, a submission's own module) and be obviously right. For each arch: reset every BN layer,
run the calibration batches in order with BN in train mode and cumulative averaging (precise BN), switch to
eval mode, count correct top-1 predictions on the eval split. No gradients; nothing random.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from harness.errors import SubmissionError
from harness.evaluation.bn_calibration import bn_layers, end_calibration, start_calibration
from harness.evaluation.protocol import EvalData

ProgressFn = Callable[[int], None]


def _forward(model: nn.Module, x: torch.Tensor, arch: str) -> torch.Tensor:
    """``model(x, arch)`` with a submission's own failure turned into one line naming the arch."""
    try:
        return model(x, arch)
    except SubmissionError:
        raise
    except Exception as exc:  # noqa: BLE001 - a submission's module may fail in any way
        raise SubmissionError(f"model forward failed for arch {arch}: {type(exc).__name__}: {exc}") from None


@torch.no_grad()
def evaluate_arch(model: nn.Module, layers: list[nn.Module], arch: str, data: EvalData) -> int:
    """Number of correct eval predictions of ``arch`` after precise-BN recalibration (``model`` is modified)."""
    start_calibration(model, layers)
    for xb in data.calib_batches():
        _forward(model, xb, arch)
    end_calibration(layers)
    correct = 0
    for xb, yb in data.eval_batches():
        out = _forward(model, xb, arch)
        if out.dim() != 2 or out.shape[0] != xb.shape[0]:
            raise SubmissionError(f"model output for arch {arch} has shape {tuple(out.shape)}; expected ({xb.shape[0]}, classes)")
        if not torch.isfinite(out).all():
            raise SubmissionError(f"model output for arch {arch} is not finite (NaN or inf)")
        correct += int((out.argmax(dim=1) == yb).sum())
    return correct


def reference_correct(
    model: nn.Module,
    archs: Sequence[str],
    data: EvalData,
    *,
    device: torch.device | str = "cpu",
    on_done: ProgressFn | None = None,
) -> np.ndarray:
    """Correct-prediction counts (int64), one per arch, in order. Works on a copy: ``model`` is left untouched."""
    work = copy.deepcopy(model).to(device)
    layers = bn_layers(work)
    counts = np.zeros(len(archs), dtype=np.int64)
    for i, arch in enumerate(archs):
        counts[i] = evaluate_arch(work, layers, arch, data)
        if on_done is not None:
            on_done(1)
    return counts
