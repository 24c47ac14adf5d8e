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
Forward = Callable[[nn.Module, torch.Tensor, str], torch.Tensor]


def _forward(model: nn.Module, x: torch.Tensor, arch: str) -> torch.Tensor:
    """``model(x, arch)`` with a submission's own failure turned into one line naming the arch."""
    try:
        return model(x, arch)
    except SubmissionError:
        raise
    except Exception as exc:  # noqa: BLE001 - a submission's module may fail in any way
        raise SubmissionError(f"model forward failed for arch {arch}: {type(exc).__name__}: {exc}") from None


@torch.no_grad()
def predict_arch(
    model: nn.Module,
    layers: list[nn.Module],
    arch: str,
    calib_batches: Sequence[torch.Tensor],
    eval_x: torch.Tensor,
    eval_batch_size: int,
    *,
    forward: Forward = _forward,
    subject: str = "model",
    fail: Callable[[str], Exception] = SubmissionError,
) -> torch.Tensor:
    """Predicted class (int64, on the model's device) of every row of ``eval_x`` for ``arch``, after precise-BN
    recalibration on ``calib_batches`` in order (``model`` is modified).

    The one per-arch loop of the protocol: the harness's reference loop and the sandbox's evaluation of a
    submission's own module both call it, so the two cannot drift apart. ``forward`` is how the model is called
    (the reference loop turns a failure into one line; the sandbox lets it through to say where in the
    submission's files it failed); an output that is not ``(batch, classes)`` or not finite raises
    ``fail("<subject> output for arch ...")``. ``eval_batch_size`` bounds memory only (eval mode).
    """
    start_calibration(model, layers)
    for xb in calib_batches:
        forward(model, xb, arch)
    end_calibration(layers)
    batch = max(1, int(eval_batch_size))
    pred = []
    for s in range(0, int(eval_x.shape[0]), batch):
        xb = eval_x[s : s + batch]
        out = forward(model, xb, arch)
        if not torch.is_tensor(out) or out.dim() != 2 or out.shape[0] != xb.shape[0]:
            shape = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
            raise fail(f"{subject} output for arch {arch} has shape {shape}; expected ({xb.shape[0]}, classes)")
        if not torch.isfinite(out).all():
            raise fail(f"{subject} output for arch {arch} is not finite (NaN or inf)")
        pred.append(out.argmax(dim=1))
    return torch.cat(pred) if pred else torch.zeros(0, dtype=torch.long)


def evaluate_arch(model: nn.Module, layers: list[nn.Module], arch: str, data: EvalData) -> int:
    """Number of correct eval predictions of ``arch`` after precise-BN recalibration (``model`` is modified)."""
    pred = predict_arch(model, layers, arch, data.calib_batches(), data.eval_x, data.eval_batch_size)
    return int((pred == data.eval_y).sum())


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
