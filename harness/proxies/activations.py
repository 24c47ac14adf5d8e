"""Activation-pattern proxies: jacob_cov (Mellor et al. 2020, v1) and nwot (NASWOT, Mellor et al., ICML 2021).

* ``jacob_cov``: J = the gradient of the summed outputs with respect to each input of the batch (one row per
  sample, flattened); C = the correlation matrix of the rows; score = −Σ_i (log(λ_i + k) + 1/(λ_i + k)) over C's
  eigenvalues, k = 1e-5 (the released code of Abdelfattah et al.). Undefined (NaN) when a row is constant, e.g.
  when no path carries the input to the output.
* ``nwot``: for every ReLU, the binary code c of its input (> 0) per sample; K = Σ_ReLUs (c cᵀ + (1−c)(1−c)ᵀ)
  (the Hamming-similarity kernel, summed over ReLUs as the released NASWOT code does); score = log|det K|.

Why ReLUs are caught with a torch function mode, not module hooks: spaces write ReLU both as ``nn.ReLU`` modules
(NAS-Bench-201) and as ``F.relu`` calls (the ResNet20 width space); the mode sees both the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from harness.proxies._base import NET, Proxy
from harness.proxies.saliency import PAPER

if TYPE_CHECKING:
    from torch import nn

    from harness.proxies.batch import ProxyBatch

JACOB_K = 1e-5


def jacob_score(jacobian: np.ndarray) -> float:
    """The jacob_cov score of an (N, D) Jacobian (float64), NaN when its correlation matrix is undefined."""
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(jacobian)
    if not np.all(np.isfinite(corr)):
        return float("nan")
    v = np.linalg.eigvalsh(corr)
    return float(-np.sum(np.log(v + JACOB_K) + 1.0 / (v + JACOB_K)))


def jacob_cov(net: nn.Module, batch: ProxyBatch) -> float:
    import torch

    x = batch.x.clone().requires_grad_(True)
    y = net(x)
    y.backward(torch.ones_like(y))
    if x.grad is None:
        return float("nan")
    return jacob_score(x.grad.detach().reshape(x.shape[0], -1).double().numpy())


def hamming_kernel(codes: list[np.ndarray]) -> np.ndarray:
    """K = Σ (c cᵀ + (1−c)(1−c)ᵀ) over the (N, D_i) binary code matrices, exactly, in float64.

    Computed as 2 c cᵀ + D − r_i − r_j (r = ones per row): one matrix product instead of two, in float32, which
    is exact while D < 2²⁴ (a sum of 0/1 products); checked below.
    """
    n = codes[0].shape[0]
    k = np.zeros((n, n), dtype=np.float64)
    for c in codes:
        d = c.shape[1]
        if d >= 1 << 24:
            raise ValueError("nwot: a ReLU with 2**24 or more units per sample cannot be counted exactly in float32")
        cf = c.astype(np.float32)
        r = cf.sum(1, dtype=np.float64)
        k += 2.0 * (cf @ cf.T).astype(np.float64) + d - r[:, None] - r[None, :]
    return k


def nwot(net: nn.Module, batch: ProxyBatch) -> float:
    import torch
    import torch.nn.functional as F
    from torch.overrides import TorchFunctionMode

    codes: list[np.ndarray] = []
    relus = {F.relu, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_}

    class Record(TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
            if func in relus and args and isinstance(args[0], torch.Tensor):
                x = args[0]
                codes.append((x.detach() > 0).reshape(x.shape[0], -1).numpy())
            return func(*args, **(kwargs or {}))

    with torch.no_grad(), Record():
        net(batch.x)
    if not codes:
        return float("nan")
    sign, logdet = np.linalg.slogdet(hamming_kernel(codes))
    return float(logdet) if sign != 0 else float("nan")


PROXIES: tuple[Proxy, ...] = (
    Proxy("jacob_cov", "Jacobian covariance", f"Mellor et al., arXiv:2006.04647v1; {PAPER}", NET, needs_data=True,
          fn=jacob_cov),
    Proxy("nwot", "NASWOT", "Mellor et al., Neural Architecture Search without Training, ICML 2021", NET,
          needs_data=True, fn=nwot),
)
