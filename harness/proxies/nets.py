"""How a network is prepared for a proxy: the layers proxies sum over, BN removal, seeded initialisation.

Conventions follow the released code of Abdelfattah et al. (ICLR 2021, ``SamsungLabs/zero-cost-nas``):

* a proxy sums a per-weight (or per-channel) quantity over the weights of every convolution and linear layer
  (``nn.Conv1d/2d/3d``, ``nn.Linear``); biases and BN parameters are not scored;
* the network is in training mode (BN normalises with the statistics of the batch itself);
* a proxy declared with ``keep_bn=False`` (synflow) runs a copy whose BatchNorms act as the identity, as their
  ``copynet(bn=False)`` does.

Why the initialisation is seeded per arch (not one stream over all archs, as their script does): a value then
depends only on (arch, seed), so a run can resume, skip archs or run in any order and give the same numbers.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import nn

    from harness.spaces.base import SearchSpace


def weighted_layers(net: nn.Module) -> list[nn.Module]:
    """Convolutions and linear layers of ``net`` in module order: what every net proxy sums over."""
    from torch import nn

    return [m for m in net.modules() if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear))]


def bn_as_identity(net: nn.Module) -> nn.Module:
    """``net`` with every BatchNorm replaced by ``nn.Identity`` (in place; returns ``net``)."""
    from torch import nn

    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, nn.Identity())
    return net


def arch_seed(seed: int, arch: str) -> int:
    """The torch seed of ``arch``'s initial weights under run seed ``seed`` (stable across processes)."""
    digest = hashlib.sha256(f"{int(seed)}\x00{arch}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def init_net(space: SearchSpace, arch: str, seed: int) -> nn.Module:
    """The standalone network of ``arch``, initialised from :func:`arch_seed`, in training mode."""
    import torch

    state = torch.random.get_rng_state()
    try:
        torch.manual_seed(arch_seed(seed, arch))
        net = space.new_standalone(arch)
    finally:
        torch.random.set_rng_state(state)
    return net.train()
