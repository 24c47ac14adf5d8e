"""Supernet training speed: the 1-D width supernet's rows forward against torch's native layouts, side by side.

    python benchmarks/supernet_train_speed.py [--steps 40] [--rounds 3] [--threads 1]

SPOS steps (one uniformly drawn subnet per batch of 128 real training samples of the default benchmark, SGD +
Nesterov, the reference trainer's constants) through ``WidthSuperNet.forward`` (channels-last rows, the default of
the 1-D net) and ``WidthSuperNet._forward_native`` (oneDNN conv1d + torch batch norm, the former path), on copies of
the same initial weights and the same arch sequence, rounds alternating the order. Prints ms per step of each, the
ratio of the summed times (the figure to quote), and how far the two paths' losses drift apart over the steps.
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", default="mnist1d-w20")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import torch
    import torch.nn.functional as F

    from harness.benchmarks import get_benchmark
    from harness.gt.builder import cpu_model
    from harness.spaces.resnet20_width import CHOICES

    torch.set_num_threads(args.threads)
    bench = get_benchmark(args.bench)
    data = bench.load_data()
    torch.manual_seed(0)
    base = bench.space.new_supernet()
    rng = np.random.default_rng(0)
    archs = ["-".join(str(int(rng.choice(c))) for c in CHOICES) for _ in range(args.steps + 5)]
    batches = [rng.choice(len(data.train), 128, replace=False) for _ in archs]
    x_all = torch.as_tensor(data.train.x)
    y_all = torch.as_tensor(data.train.y).long()

    def run(path: str) -> tuple[float, list[float]]:
        net = copy.deepcopy(base)
        net.train()
        forward = net.forward if path == "rows" else (lambda x, a: net._forward_native(x, tuple(map(int, a.split("-")))))
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
        losses, t0 = [], 0.0
        for k, (arch, idx) in enumerate(zip(archs, batches, strict=True)):
            if k == 5:  # the first steps warm caches and allocators
                t0 = time.perf_counter()
            loss = F.cross_entropy(forward(x_all[idx], arch), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return time.perf_counter() - t0, losses

    print(f"{args.steps} timed SPOS steps per path per round, batch 128, {args.threads} thread(s), {cpu_model()} "
          f"({torch.backends.cpu.get_cpu_capability()}), torch {torch.__version__}")
    total = {"rows": 0.0, "native": 0.0}
    losses: dict[str, list[float]] = {}
    for r in range(args.rounds):
        for path in ("native", "rows") if r % 2 == 0 else ("rows", "native"):
            seconds, losses[path] = run(path)
            total[path] += seconds
            print(f"round {r + 1} {path:>6}: {1000 * seconds / args.steps:6.1f} ms/step")
    n = args.rounds * args.steps
    print(f"native {1000 * total['native'] / n:.1f} ms/step, rows {1000 * total['rows'] / n:.1f} ms/step: "
          f"rows {total['native'] / total['rows']:.2f}x faster")
    drift = np.abs(np.array(losses["rows"]) - np.array(losses["native"]))
    print(f"loss |rows - native| over the {len(drift)} steps: first {drift[0]:.1e}, max {drift.max():.1e} "
          f"(float summation order only; trajectories drift apart as any two fp32 runs of a chaotic SGD do)")


if __name__ == "__main__":
    main()
