"""Zero-cost proxies: a registered family (synflow, grad_norm, snip, grasp, fisher, jacob_cov, nwot, params, flops)
scored on freshly initialised standalone networks of any registered space.

* :mod:`.registry` — :class:`Proxy` declarations, :func:`get_proxy`, :func:`proxy_names`;
* :mod:`.saliency`, :mod:`.activations`, :mod:`.complexity` — the definitions, with their references;
* :mod:`.nets` — how a network is prepared (layers scored, BN removal, per-arch seeded init);
* :mod:`.batch` — the fixed, recorded batch of the benchmark's training split;
* :mod:`.compute` — values of many archs, resumable;
* :mod:`.predictions` — a predictions submission folder that ``nas-harness score`` accepts;
* :mod:`.baselines` — proxy baselines computed once per benchmark version and cached in the results store.

Definitions and measured figures: ``docs/proxies.md``.
"""

from __future__ import annotations

from harness.proxies.registry import PROXIES, Proxy, get_proxy, proxy_names, register_proxy, resolve_proxies

__all__ = ["PROXIES", "Proxy", "get_proxy", "proxy_names", "register_proxy", "resolve_proxies"]
