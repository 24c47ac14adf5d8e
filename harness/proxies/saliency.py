"""Gradient-saliency proxies summed over conv and linear weights: synflow, grad_norm, snip, grasp, fisher.

Definitions (Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021, and their released code),
with ``L`` the mean cross-entropy of the network on the batch and sums over the weights ``W`` of every conv and
linear layer (:func:`harness.proxies.nets.weighted_layers`):

* ``grad_norm`` = Σ_layers ‖∂L/∂W‖₂ (one Frobenius norm per layer, summed);
* ``snip``      = Σ |W ⊙ ∂L/∂W| (Lee et al., ICLR 2019: the gradient of L with respect to a multiplicative mask
  at 1, which equals W ⊙ ∂L/∂W);
* ``grasp``     = Σ −W ⊙ (H g), g = ∂L/∂W, H the Hessian of L (Wang et al., ICLR 2020; the sign as in the
  released code, where accuracy correlates positively);
* ``fisher``    = Σ_layers Σ_k (½ mean_n (Σ_s a_nks ∂L/∂a_nks)²) · |W_k| over output channels k of each layer's
  output activation a (Theis et al. 2018, Turner et al. 2020); the channel value counts once per weight of that
  channel (|W_k| = weights per output channel), as the released code broadcasts it;
* ``synflow``   = Σ |W ⊙ ∂R/∂W| with R = Σ outputs of the network whose parameters are replaced by their absolute
  values, BN removed, fed one all-ones input, in float64 (Tanaka et al., NeurIPS 2020). Data-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.proxies.nets import weighted_layers
from harness.proxies._base import NET, Proxy

if TYPE_CHECKING:
    from torch import nn

    from harness.proxies.batch import ProxyBatch

PAPER = "Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021"


def _loss(net: nn.Module, batch: ProxyBatch):  # noqa: ANN202 - a scalar tensor
    import torch.nn.functional as F

    return F.cross_entropy(net(batch.x), batch.y)


def _total(values: list) -> float:  # noqa: ANN001 - tensors
    """Σ of per-layer tensors, accumulated in float64 in layer order (a fixed order: bit-reproducible)."""
    import torch

    out = torch.zeros((), dtype=torch.float64)
    for v in values:
        out = out + v.detach().double().sum()
    return float(out)


def synflow(net: nn.Module, batch: ProxyBatch) -> float:
    """Synaptic flow of ``net`` (already BN-free and float64, see the declaration): data-free."""
    import torch

    with torch.no_grad():
        for tensor in net.state_dict().values():
            if tensor.is_floating_point():
                tensor.abs_()
    net.zero_grad()
    ones = torch.ones((1, *batch.input_shape), dtype=torch.float64)
    net(ones).sum().backward()
    layers = weighted_layers(net)
    return _total([(m.weight * m.weight.grad).abs() for m in layers if m.weight.grad is not None])


def grasp(net: nn.Module, batch: ProxyBatch) -> float:
    import torch

    layers = weighted_layers(net)
    weights = [m.weight for m in layers]
    net.zero_grad()
    g = torch.autograd.grad(_loss(net, batch), weights, allow_unused=True)
    grad_f = torch.autograd.grad(_loss(net, batch), weights, create_graph=True, allow_unused=True)
    z = sum(((a.detach() * b).sum() for a, b in zip(g, grad_f, strict=True) if a is not None and b is not None),
            torch.zeros(()))
    if z.requires_grad:
        z.backward()  # each weight's .grad is now H g
    return _total([-m.weight.detach() * m.weight.grad for m in layers if m.weight.grad is not None])


@dataclass
class LossPass:
    """One backward of the loss: every conv/linear weight and its gradient, and each layer's Fisher channel terms."""

    weights: list
    grads: list
    fisher_terms: list


def loss_pass(net: nn.Module, batch: ProxyBatch) -> LossPass:
    """Forward and backward of L once, keeping each weighted layer's output gradient (for fisher)."""
    import torch

    layers = weighted_layers(net)
    acts: dict[int, list[torch.Tensor]] = {i: [] for i in range(len(layers))}

    def keep(i: int):  # noqa: ANN202 - a forward hook
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:  # noqa: ARG001
            output.retain_grad()
            acts[i].append(output)
        return hook

    handles = [m.register_forward_hook(keep(i)) for i, m in enumerate(layers)]
    try:
        net.zero_grad()
        _loss(net, batch).backward()
    finally:
        for h in handles:
            h.remove()
    terms = []
    for i, m in enumerate(layers):
        per_weight = m.weight[0].numel()  # weights per output channel
        for a in acts[i]:
            if a.grad is None:
                continue
            g = (a.detach() * a.grad).flatten(2).sum(2) if a.dim() > 2 else a.detach() * a.grad
            terms.append(g.pow(2).mean(0).mul(0.5).abs() * per_weight)
    used = [m for m in layers if m.weight.grad is not None]
    return LossPass([m.weight.detach() for m in used], [m.weight.grad for m in used], terms)


def grad_norm(p: LossPass) -> float:
    return _total([g.norm() for g in p.grads])


def snip(p: LossPass) -> float:
    return _total([(w * g).abs() for w, g in zip(p.weights, p.grads, strict=True)])


def fisher(p: LossPass) -> float:
    return _total(p.fisher_terms)


PROXIES: tuple[Proxy, ...] = (
    Proxy("synflow", "SynFlow", f"Tanaka et al., NeurIPS 2020; {PAPER}", NET, needs_data=False, fn=synflow,
          keep_bn=False, float64=True),
    Proxy("grad_norm", "grad norm", PAPER, NET, needs_data=True, fn=grad_norm, shared_pass=loss_pass),
    Proxy("snip", "SNIP", f"Lee et al., ICLR 2019; {PAPER}", NET, needs_data=True, fn=snip, shared_pass=loss_pass),
    Proxy("grasp", "GraSP", f"Wang et al., ICLR 2020; {PAPER}", NET, needs_data=True, fn=grasp),
    Proxy("fisher", "Fisher", f"Turner et al., ICLR 2020; {PAPER}", NET, needs_data=True, fn=fisher,
          shared_pass=loss_pass),
)
