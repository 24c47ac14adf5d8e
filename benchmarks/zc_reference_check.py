"""Our proxies against the authors' own implementation, on the same network and batch.

    .venv/bin/python benchmarks/zc_reference_check.py --foresight /path/to/zero-cost-nas [--archs 5]

``--foresight`` is a checkout of SamsungLabs/zero-cost-nas (its ``foresight`` package; not shipped, not needed by
the harness). Both sides score the same freshly initialised NAS-Bench-201 network (our standalone net; their
``find_measures`` makes its own copies of any module, removing BN with ``copynet`` for synflow) on the same random
batch; the script prints both values and their relative difference per proxy. Their ``jacob_cov`` uses
``np.linalg.eig``, ours ``eigvalsh`` (the matrix is symmetric), so it may differ in the last digits.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NAMES = ("synflow", "grad_norm", "snip", "grasp", "fisher", "jacob_cov")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--foresight", required=True, type=Path)
    parser.add_argument("--archs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=16)
    ns = parser.parse_args()
    sys.path.insert(0, str(ns.foresight))

    import copy

    import numpy as np
    import torch
    from foresight.pruners import predictive

    from harness.proxies import get_proxy
    from harness.proxies.batch import ProxyBatch
    from harness.proxies.compute import prepared, score_net
    from harness.proxies.nets import init_net
    from harness.spaces import get_space

    torch.set_num_threads(1)
    space = get_space("nb201")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(ns.batch, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (ns.batch,), generator=g)
    batch = ProxyBatch((3, 32, 32), x, y)
    archs = [space.archs()[i] for i in np.random.default_rng(1).choice(space.size, ns.archs, replace=False)]
    worst = {n: 0.0 for n in NAMES}
    for arch in archs:
        net = init_net(space, arch, 0)
        theirs = predictive.find_measures(copy.deepcopy(net), [(x, y)], ("random", 1, 10), torch.device("cpu"),
                                          measure_names=list(NAMES))
        for name in NAMES:
            ours = score_net(get_proxy(name), prepared(net, get_proxy(name)), batch)
            ref = float(theirs[name])
            rel = abs(ours - ref) / max(abs(ref), 1e-300)
            worst[name] = max(worst[name], rel)
            print(f"{arch[:40]:<40} {name:<10} ours {ours:.10g}  theirs {ref:.10g}  rel {rel:.1e}", flush=True)
    print("largest relative difference per proxy:", {k: f"{v:.1e}" for k, v in worst.items()})


if __name__ == "__main__":
    main()
