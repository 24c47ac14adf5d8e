"""Precise-BN recalibration of a module's BatchNorm layers, and a deterministic-kernels context.

Why: inherited weights come with BN statistics of whatever mix of subnets the supernet was trained on, which do
not describe any single subnet. The protocol therefore throws them away for every subnet and recomputes them on
a fixed calibration set as the *exact* average of the per-batch statistics (torch's ``momentum=None``:
cumulative moving average, "precise BN", Wu & Johnson 2021), with BN layers in train mode and nothing else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


def is_bn_layer(module: nn.Module) -> bool:
    """A BatchNorm layer whose running statistics can be recalibrated (nn.BatchNorm*d or a look-alike).

    Look-alikes (e.g. ``SlicedBatchNorm`` of the reference supernets) have ``running_mean``/``running_var``
    buffers, a ``momentum`` attribute and ``reset_running_stats()``. Layers that track no running statistics
    always normalise with batch statistics, so there is nothing to calibrate in them.
    """
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return module.track_running_stats and module.running_mean is not None
    return (
        hasattr(module, "reset_running_stats")
        and hasattr(module, "momentum")
        and isinstance(getattr(module, "running_mean", None), torch.Tensor)
        and isinstance(getattr(module, "running_var", None), torch.Tensor)
    )


def bn_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if is_bn_layer(m)]


def start_calibration(model: nn.Module, layers: list[nn.Module]) -> None:
    """Model in eval mode except the BN layers, whose statistics are reset and averaged cumulatively from here on."""
    model.eval()
    for m in layers:
        m.reset_running_stats()
        m.momentum = None
        m.train()


def end_calibration(layers: list[nn.Module]) -> None:
    for m in layers:
        m.eval()


@contextlib.contextmanager
def deterministic_kernels(device: torch.device | str, *, allow_tf32: bool = False) -> Iterator[None]:
    """Pin kernel choice for the duration: same model + same device gives the same bits.

    On CUDA, cuDNN autotuning may pick a different algorithm on every run and TF32 changes fp32 results; both are
    switched off (TF32 only when the caller asks for reduced precision). On CPU nothing needs pinning.
    """
    if torch.device(device).type != "cuda":
        yield
        return
    cudnn = torch.backends.cudnn
    saved = (cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    cudnn.benchmark, cudnn.deterministic = False, True
    cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = allow_tf32
    try:
        yield
    finally:
        cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
