"""The one list of zero-cost proxies: :data:`PROXIES` (name -> :class:`Proxy`), looked up by :func:`get_proxy`.

Why a registry like the metrics' and the spaces': a proxy is declared once — its name, the paper it follows, what
it needs (a batch of training images, or nothing), how a network is prepared for it (BN kept or removed), which
direction is better — and the CLI, the Table-1 script, the store cache and the boards all read that declaration.
Nothing outside this package branches on a proxy's name.

Two kinds of proxy exist:

* ``net`` proxies score a freshly initialised standalone network of the arch (``fn(net, batch) -> float``);
* ``space`` proxies are closed forms the space already answers (``#params``, FLOPs: ``fn(space, arch) -> float``).

``direction`` is +1 when a larger value predicts a better arch and -1 when a smaller one does; a predictions file
holds ``direction * value`` so that higher is always better, as the predictions contract says.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.errors import UnknownNameError
from harness.proxies import activations, complexity, saliency
from harness.proxies._base import NET, SPACE, Proxy

__all__ = ["NET", "PROXIES", "SPACE", "Proxy", "describe", "get_proxy", "proxy_names", "register_proxy", "resolve_proxies"]

PROXIES: dict[str, Proxy] = {p.name: p for p in (*saliency.PROXIES, *activations.PROXIES, *complexity.PROXIES)}
"""All proxies by name, in display order (a plugin adds its own with :func:`register_proxy`)."""


def register_proxy(proxy: Proxy) -> Proxy:
    """Declare a proxy (a later declaration of the same name replaces the earlier one, as for spaces)."""
    if proxy.kind not in (NET, SPACE):
        raise ValueError(f"proxy {proxy.name}: kind must be {NET!r} or {SPACE!r}")
    if proxy.direction not in (1, -1):
        raise ValueError(f"proxy {proxy.name}: direction must be +1 or -1")
    PROXIES[proxy.name] = proxy
    return proxy


def proxy_names() -> list[str]:
    return list(PROXIES)


def get_proxy(name: str) -> Proxy:
    try:
        return PROXIES[name]
    except KeyError:
        raise UnknownNameError(f"unknown proxy {name!r}; known: {', '.join(PROXIES)}") from None


def resolve_proxies(names: Iterable[str] | str | None) -> list[Proxy]:
    """Proxies by name (all of them when None), each once, in the order given."""
    if names is None:
        return [get_proxy(n) for n in proxy_names()]
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    return [get_proxy(n) for n in dict.fromkeys(names)]


def describe(proxy: Proxy) -> dict[str, Any]:
    """A JSON-able description (provenance of a predictions file or a cached baseline)."""
    return {"name": proxy.name, "reference": proxy.reference, "data": proxy.data_label, "direction": proxy.direction,
            "keep_bn": proxy.keep_bn, "float64": proxy.float64}
