"""Inherited-weight evaluation throughput: the fast evaluator against the plain per-subnet reference loop.

Both run side by side in one process on the same supernet, the same archs and the same protocol (precise-BN
recalibration on the calibration batches, accuracy on the eval split), so the ratio is measured, not assumed.

* ``--bench mnist1d-w20`` (default): the embedded default benchmark, real data, a supernet trained for a few
  SPOS steps (the evaluator's speed does not depend on the weights, its correctness is checked on them).
* ``--bench synthetic-2d``: the 2-D space, 32×32×3 random inputs, ``--classes`` classes, ``--n-eval`` eval
  images and 2×128 calibration images: the CVPR-2021 track-1 shape, for timing on a GPU without CIFAR.

The reference loop is timed on ``--ref-archs`` archs drawn from the arch set (the full 50k would take hours);
the fast evaluator on ``--archs`` archs (default: the whole arch set). Printed: subnets/s of each, the speed ratio
per subnet, the projected reference time for all archs, and the agreement on the common archs (max |Δacc|,
identical ranking). Usage::

    python benchmarks/eval_throughput.py                      # CPU, default benchmark, all 50k
    python benchmarks/eval_throughput.py --device cuda --bench synthetic-2d --classes 100 --n-eval 10000
"""

from __future__ import annotations

import argparse
import time
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F


def _trained_supernet(space, x: torch.Tensor, y: torch.Tensor, steps: int, seed: int = 0):
    from reference_nets.resnet20_width import WidthSuperNet

    torch.manual_seed(seed)
    net = WidthSuperNet(dims=space.dims, in_channels=space.in_channels, num_classes=space.num_classes)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(seed)
    net.train()
    for s in range(steps):
        idx = torch.from_numpy(rng.integers(0, len(x), 128))
        loss = F.cross_entropy(net(x[idx], space.sample(rng, 1)[0]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net


def _default_bench(args: argparse.Namespace):
    from harness.benchmarks import get_benchmark

    bench = get_benchmark(args.bench)
    data = bench.load_data()
    net = _trained_supernet(bench.space, data.train.x, data.train.y, args.train_steps)
    return bench, net, bench.archs()


def _synthetic_bench(args: argparse.Namespace):
    """A stand-in benchmark with the CVPR-2021 track-1 tensor shapes (random data, timing only)."""
    from harness.spaces.resnet20_width import ResNet20WidthSpace

    space = ResNet20WidthSpace(dims=2, in_channels=3, num_classes=args.classes)
    g = torch.Generator().manual_seed(0)
    calib = torch.randn(256, 3, 32, 32, generator=g)
    ex = torch.randn(args.n_eval, 3, 32, 32, generator=g)
    ey = torch.randint(0, args.classes, (args.n_eval,), generator=g)
    data = SimpleNamespace(calib=SimpleNamespace(x=calib), eval=SimpleNamespace(x=ex, y=ey))
    protocol = SimpleNamespace(calib_batch_size=128, calib_batches=2, eval_batch_size=1000)
    bench = SimpleNamespace(name="synthetic-2d", space=space, protocol=protocol, load_data=lambda: data)
    net = _trained_supernet(space, calib, torch.randint(0, args.classes, (256,), generator=g), args.train_steps)
    rng = np.random.default_rng(20210611)
    return bench, net, space.sample(rng, args.archs or 50_000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", default="mnist1d-w20", help="a benchmark name, or synthetic-2d")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--archs", type=int, default=0, help="archs for the fast evaluator (0: the whole arch set)")
    parser.add_argument("--ref-archs", type=int, default=200, help="archs for the reference loop")
    parser.add_argument("--train-steps", type=int, default=200)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--n-eval", type=int, default=10_000)
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--breakdown", action="store_true",
                        help="also profile one chunk of the fast evaluator (1 thread) and print where its time goes")
    args = parser.parse_args()

    from harness.evaluation import FastOptions, evaluate_with_info

    bench, net, archs = _synthetic_bench(args) if args.bench == "synthetic-2d" else _default_bench(args)
    archs = list(archs)[: args.archs] if args.archs else list(archs)
    rng = np.random.default_rng(1)
    ref_archs = [archs[i] for i in rng.choice(len(archs), min(args.ref_archs, len(archs)), replace=False)]
    device = torch.device(args.device)
    opts = FastOptions(dtype=args.dtype)
    print(f"machine: {torch.get_num_threads()} torch threads, device {device}, torch {torch.__version__}")

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    fast = evaluate_with_info(net, bench, archs, evaluator="fast", device=device, progress=True, options=opts)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t_fast = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")

    t0 = time.perf_counter()
    ref = evaluate_with_info(net, bench, ref_archs, evaluator="reference", device=device, progress=True)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t_ref = time.perf_counter() - t0

    fast_rate, ref_rate = len(archs) / t_fast, len(ref_archs) / t_ref
    where = {a: i for i, a in enumerate(archs)}
    common = np.array([fast.scores[where[a]] for a in ref_archs])
    diff = float(np.abs(common - ref.scores).max())
    same_rank = bool(np.array_equal(np.argsort(-common, kind="stable"), np.argsort(-ref.scores, kind="stable")))
    print(f"fast evaluator : {len(archs):>6} subnets in {t_fast:8.1f} s = {fast_rate:9.1f} subnets/s "
          f"({fast.info.get('n_distinct')} distinct, workers {fast.info.get('workers', '-')}, chunk {fast.info.get('chunk_size')})")
    print(f"reference loop : {len(ref_archs):>6} subnets in {t_ref:8.1f} s = {ref_rate:9.1f} subnets/s "
          f"(all {len(archs)}: {len(archs) / ref_rate / 60:.1f} min projected)")
    print(f"ratio fast/reference per subnet: {fast_rate / ref_rate:.1f}x")
    print(f"agreement on {len(ref_archs)} common archs: max |Δacc| = {diff:.2e}, identical ranking: {same_rank}")
    if device.type == "cuda":
        print(f"peak GPU memory {peak:.2f} GiB")
    if args.breakdown:
        _breakdown(net, bench, archs, device, opts, fast_rate)


def _breakdown(net, bench, archs, device, opts, fast_rate: float) -> None:
    """Profile one chunk (the middle one of the run, one thread) and print each op class's share of its time,
    with the rate the run would reach if everything but the convolutions were free (the conv-bound ceiling)."""
    from torch.profiler import ProfilerActivity, profile

    from harness.evaluation.fast import ChunkEvaluator, unique_widths
    from harness.evaluation.protocol import eval_data_for

    widths, _ = unique_widths(archs, bench.space.parse)
    data = eval_data_for(bench, device)
    torch.set_num_threads(1)
    ev = ChunkEvaluator(net.state_dict(), bench.space.dims, widths, data, device=device, opts=opts)
    middle = ev.n_chunks // 2
    ev.run(max(0, middle - 1))  # warm: buffers and weight slices exist, as in a worker's steady state
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        ev.run(middle)
    classes = {"convolution": ("convolution",), "gather (index_select)": ("index_select",),
               "BN apply + ReLU + residual add": ("addcmul", "clamp_min", "relu", "add_"),
               "BN statistics": ("sum", "sub", "pow", "mean", "div", "rsqrt", "var")}
    totals = dict.fromkeys(classes, 0.0)
    other = 0.0
    for e in prof.key_averages():
        for name, keys in classes.items():
            if any(k in e.key for k in keys):
                totals[name] += e.self_cpu_time_total
                break
        else:
            other += e.self_cpu_time_total
    whole = sum(totals.values()) + other
    print(f"one chunk ({ev.sched.chunk_size} subnets), 1 thread: where the time goes")
    for name, t in [*totals.items(), ("other", other)]:
        print(f"  {name:32s} {100 * t / whole:5.1f} %")
    conv_share = totals["convolution"] / whole
    print(f"conv-bound ceiling (everything but the convolutions free): {fast_rate / conv_share:.0f} subnets/s, "
          f"all {len(archs)} in {len(archs) * conv_share / fast_rate / 60:.1f} min")


if __name__ == "__main__":
    main()
