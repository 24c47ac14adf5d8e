"""The declaration of one zero-cost proxy (:class:`Proxy`); the list of them is :mod:`harness.proxies.registry`.

Why a separate module: the files that declare proxies import this, and the registry imports those files, so the
declaration type lives below both (no import cycle).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

NET = "net"
SPACE = "space"


@dataclass(frozen=True)
class Proxy:
    """One zero-cost proxy, declared once."""

    name: str
    title: str
    reference: str
    kind: str  # NET or SPACE
    needs_data: bool  # a batch of the benchmark's training split (else data-free)
    fn: Callable[..., float]
    direction: int = 1  # +1: larger predicts better; -1: smaller predicts better
    keep_bn: bool = True  # False: every BatchNorm acts as the identity (synflow's convention in the paper's code)
    float64: bool = False  # the network is run in float64 (synflow: products of many weights overflow float32)
    #: a pass of the network that several proxies read (one backward serves grad_norm, snip and fisher); when set,
    #: the value is ``fn(shared_pass(net, batch))`` and the pass runs once per arch for all proxies that name it
    shared_pass: Callable[..., Any] | None = None

    @property
    def data_label(self) -> str:
        return "batch" if self.needs_data else "data-free"
