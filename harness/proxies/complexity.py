"""``params`` and ``flops``: the size baselines, answered exactly by the space (no network, no data).

They sit in the same registry as the network proxies so that every consumer (the ``proxy`` command, the cached
baselines of a board, the Table-1 script) treats "bigger is better" as one more zero-cost proxy.
"""

from __future__ import annotations

from harness.proxies._base import SPACE, Proxy
from harness.spaces.base import SearchSpace


def params(space: SearchSpace, arch: str) -> float:
    return float(space.params(arch))


def flops(space: SearchSpace, arch: str) -> float:
    return float(space.flops(arch))


PROXIES: tuple[Proxy, ...] = (
    Proxy("params", "#params", "trainable parameters of the standalone network (the space's exact count)", SPACE,
          needs_data=False, fn=params),
    Proxy("flops", "FLOPs", "multiply-accumulates of one forward pass (the space's exact count)", SPACE,
          needs_data=False, fn=flops),
)
