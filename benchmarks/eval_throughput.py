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
import os
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


def _machine() -> str:
    """CPU model and vector extensions (the agreement bound is per CPU kind), cores, load: printed with every run."""
    model, flags = "unknown CPU", set()
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name") and model == "unknown CPU":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{model} ({isa}), {os.cpu_count()} cores, load average {load:.1f}"


def _agreement(name: str, a: np.ndarray, b: np.ndarray, n_eval: int) -> str:
    diff = np.abs(a - b)
    same_rank = bool(np.array_equal(np.argsort(-a, kind="stable"), np.argsort(-b, kind="stable")))
    return (f"agreement {name} on {len(a)} common archs: max |Δacc| = {diff.max():.2e} ({round(diff.max() * n_eval)} of "
            f"{n_eval} samples), archs differing {int((diff > 0).sum())}, identical ranking: {same_rank}")


def _metric_gap(bench, ref_archs: list[str], preds: dict[str, np.ndarray]) -> str | None:
    """Largest |Δ| of any reported metric between the paths, on the GT archs the reference loop ran."""
    from harness.metrics import compute_metrics

    if not getattr(bench, "gt_available", lambda: False)():
        return None
    gt = bench.ground_truth()
    where = {a: i for i, a in enumerate(gt.archs)}
    rows = [where[a] for a in ref_archs if a in where]
    if len(rows) < 20:
        return None
    truth, params = gt.seed_mean[rows], gt.params[rows]  # ragged GT (v2): each arch's mean over its own seeds
    mine = [k for k, a in enumerate(ref_archs) if a in where]
    values = {k: compute_metrics(p[mine], truth, params) for k, p in preds.items()}
    ref = values["reference"]
    parts = []
    for k in ("new fast", "old fast"):
        gaps = {m: abs(values[k][m] - ref[m]) for m in ref if np.isfinite(ref[m]) and np.isfinite(values[k][m])}
        worst = max(gaps, key=gaps.get)
        parts.append(f"{k} vs reference max |Δmetric| = {gaps[worst]:.1e} ({worst})")
    primary = bench.primary_metric
    head = f"{primary} by reference {ref[primary]:.4f}" if primary in ref else "all metrics"
    return f"metrics on {len(rows)} GT archs ({head}): " + "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", default="mnist1d-w20", help="a benchmark name, or synthetic-2d")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--archs", type=int, default=0, help="archs for the fast evaluator (0: the whole arch set)")
    parser.add_argument("--ref-archs", type=int, default=200, help="archs for the reference loop (GT archs first)")
    parser.add_argument("--train-steps", type=int, default=200)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--n-eval", type=int, default=10_000)
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--rounds", type=int, default=2, help="A B rounds: the archs are split in this many parts, "
                        "each timed by the old then the new fast path (load drifts hit both alike)")
    parser.add_argument("--no-old", action="store_true", help="skip the old (grouped) fast path")
    parser.add_argument("--breakdown", action="store_true",
                        help="also profile one chunk of each fast path (1 thread) and print where its time goes")
    parser.add_argument("--diagnose", action="store_true",
                        help="for archs where the new fast path and the reference loop disagree: logit margins and BN statistics")
    parser.add_argument("--chunk", type=int, default=0,
                        help="only time one chunk of this many distinct subnets per strategy (1 thread, one process, A B A B)")
    args = parser.parse_args()

    from harness.evaluation import FastOptions, evaluate_with_info

    bench, net, all_archs = _synthetic_bench(args) if args.bench == "synthetic-2d" else _default_bench(args)
    if args.chunk:
        _chunk_ab(net, bench, list(all_archs)[: args.archs or None], torch.device(args.device), args.chunk, args.rounds)
        return
    all_archs = list(all_archs)
    archs = all_archs[: args.archs] if args.archs else all_archs
    gt_archs = bench.ground_truth().archs if getattr(bench, "gt_available", lambda: False)() else []
    ref_archs = list(dict.fromkeys(gt_archs))[: args.ref_archs]
    if len(ref_archs) < args.ref_archs:
        rng = np.random.default_rng(1)
        rest = [a for a in archs if a not in set(ref_archs)]
        ref_archs += [rest[i] for i in rng.choice(len(rest), min(args.ref_archs - len(ref_archs), len(rest)), replace=False)]
    archs = list(dict.fromkeys([*ref_archs, *archs]))  # the reference archs are always among the fast ones
    device = torch.device(args.device)
    print(f"machine: {_machine()}; torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}")

    strategies = {"new fast": "walk", "old fast": "grouped"}
    if args.no_old:
        del strategies["old fast"]
    parts = np.array_split(np.arange(len(archs)), max(1, args.rounds))
    seconds = dict.fromkeys(strategies, 0.0)
    scores = {k: np.zeros(len(archs)) for k in strategies}
    info: dict = {}
    peak = float("nan")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for part in parts:
        for name in reversed(list(strategies)):  # old, then new: A B A B
            opts = FastOptions(dtype=args.dtype, strategy=strategies[name])
            t0 = time.perf_counter()
            res = evaluate_with_info(net, bench, [archs[i] for i in part], evaluator="fast", device=device, progress=True, options=opts)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            seconds[name] += time.perf_counter() - t0
            scores[name][part] = res.scores
            info[name] = res.info
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**30

    t0 = time.perf_counter()
    ref = evaluate_with_info(net, bench, ref_archs, evaluator="reference", device=device, progress=True)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t_ref = time.perf_counter() - t0
    ref_rate = len(ref_archs) / t_ref
    n_eval = bench.load_data().eval.x.shape[0]
    full = len(all_archs)
    for name in strategies:
        rate = len(archs) / seconds[name]
        print(f"{name:14s} : {len(archs):>6} subnets in {seconds[name]:8.1f} s = {rate:9.1f} subnets/s "
              f"(strategy {strategies[name]}, workers {info[name].get('workers', '-')}, chunk {info[name].get('chunk_size')}; "
              f"all {full} projected {full / rate / 60:.1f} min)")
    print(f"reference loop : {len(ref_archs):>6} subnets in {t_ref:8.1f} s = {ref_rate:9.1f} subnets/s "
          f"(all {full}: {full / ref_rate / 60:.1f} min projected)")
    new_rate = len(archs) / seconds["new fast"]
    if "old fast" in strategies:
        print(f"ratio new fast/old fast: {seconds['old fast'] / seconds['new fast']:.2f}x (same archs, same weights, {args.rounds} A B rounds)")
    print(f"ratio new fast/reference per subnet: {new_rate / ref_rate:.1f}x")
    where = {a: i for i, a in enumerate(archs)}
    common = np.array([where[a] for a in ref_archs])
    preds = {"reference": ref.scores, **{k: v[common] for k, v in scores.items()}}
    for name in strategies:
        print(_agreement(f"{name} vs reference", preds[name], ref.scores, n_eval))
    if "old fast" in strategies:
        print(_agreement("new fast vs old fast", scores["new fast"], scores["old fast"], n_eval).replace("common archs", "archs"))
    gap = _metric_gap(bench, ref_archs, preds) if "old fast" in strategies else None
    if gap:
        print(gap)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (cores shared: ratios are side by side, absolute rates are not idle figures)")
    if device.type == "cuda":
        print(f"peak GPU memory {peak:.2f} GiB")
    if args.diagnose:
        _diagnose(net, bench, archs, ref_archs, preds, device)
    if args.breakdown:
        for name, strategy in strategies.items():
            _breakdown(net, bench, archs, device, FastOptions(dtype=args.dtype, strategy=strategy), len(archs) / seconds[name], name)


def _chunk_ab(net, bench, archs: list[str], device: torch.device, n: int, rounds: int) -> None:
    """The cheapest side-by-side figure: the same chunk (the first ``n`` distinct subnets after the first chunk) by
    both strategies in one process, 1 thread, alternating; plus whether their correct counts are identical."""
    from harness.evaluation.fast import ChunkEvaluator, FastOptions, unique_widths
    from harness.evaluation.protocol import eval_data_for

    torch.set_num_threads(1)
    print(f"machine: {_machine()}; torch {torch.__version__}, 1 thread, device {device}")
    widths, _ = unique_widths(archs, bench.space.parse)
    data = eval_data_for(bench, device)
    evs = {s: ChunkEvaluator(net.state_dict(), bench.space.dims, widths, data, device=device, opts=FastOptions(strategy=s, chunk_size=n))
           for s in ("grouped", "walk")}
    first = {s: ev.run(0)[1] for s, ev in evs.items()}  # warm-up (buffers, weight slices), and the agreement
    print(f"chunk of {n} subnets: identical correct counts grouped vs walk: {np.array_equal(first['grouped'], first['walk'])}")
    spent = dict.fromkeys(evs, 0.0)
    for r in range(rounds):
        for s, ev in evs.items():
            t0 = time.perf_counter()
            ev.run(min(1 + r, ev.n_chunks - 1))
            spent[s] += time.perf_counter() - t0
    print(f"grouped {spent['grouped']:.1f} s, walk {spent['walk']:.1f} s over {rounds} rounds: "
          f"ratio walk/grouped speed {spent['grouped'] / spent['walk']:.2f}x (load average now {os.getloadavg()[0]:.1f})")


def _diagnose(net, bench, archs: list[str], ref_archs: list[str], preds: dict, device: torch.device) -> None:
    """Why the new fast path and the reference loop disagree on an arch: the reference's top-1 margin (top-1 minus
    top-2 logit) of every sample whose prediction flips, against the typical margin, and the largest relative
    difference of the eval-mode BN scale (gamma / sqrt(var + eps)) between the two paths."""
    import copy

    from harness.evaluation.bn_calibration import bn_layers, end_calibration, start_calibration
    from harness.evaluation.fast import ChunkEvaluator, FastOptions, unique_widths
    from harness.evaluation.protocol import eval_data_for

    data = eval_data_for(bench, device)
    bad = np.flatnonzero(preds["new fast"] != preds["reference"])
    print(f"diagnose: {len(bad)} archs where the new fast path and the reference loop differ")
    if not len(bad):
        return
    widths, inverse = unique_widths(archs, bench.space.parse)
    ev = ChunkEvaluator(net.state_dict(), bench.space.dims, widths, data, device=device, opts=FastOptions(strategy="walk"))
    row_of = {a: int(inverse[i]) for i, a in enumerate(archs)}
    work = copy.deepcopy(net).to(device)
    layers = bn_layers(work)
    cache: dict[int, torch.Tensor] = {}
    for k in bad[:20]:
        arch = ref_archs[k]
        row = row_of[arch]
        ci = row // ev.sched.chunk_size
        if ci not in cache:
            cache[ci] = ev.logits(ci)[1]
        fast_logits = cache[ci][row - ci * ev.sched.chunk_size]
        with torch.no_grad():
            start_calibration(work, layers)
            for xb in data.calib_batches():
                work(xb, arch)
            end_calibration(layers)
            ref_logits = work(data.eval_x, arch).cpu()
        top2 = ref_logits.topk(2, dim=1).values
        margin = top2[:, 0] - top2[:, 1]
        flips = torch.nonzero(ref_logits.argmax(1) != fast_logits.argmax(1)).flatten()
        single = ChunkEvaluator(net.state_dict(), bench.space.dims, np.asarray([widths[row]]), data, device=device,
                                opts=FastOptions(strategy="walk"))
        _, _, stats = single.logits(0)
        print(f"  {arch}: |Δacc| {abs(preds['new fast'][k] - preds['reference'][k]):.3f}, {len(flips)} flipped samples, "
              f"max |Δlogit| {float((ref_logits - fast_logits).abs().max()):.1e}, reference margins of the flipped "
              f"{[float(f'{float(margin[i]):.1e}') for i in flips[:8]]} vs median margin {float(margin.median()):.2f}; "
              f"BN scale max rel. diff {_bn_scale_gap(work, stats, bench.space.parse(arch)):.1e}")


def _bn_scale_gap(module, stats: dict, widths: tuple[int, ...]) -> float:
    """Largest relative difference of the eval-mode BN scale between the reference module (after its calibration)
    and the walk's statistics of the same single subnet."""
    from harness.spaces.resnet20_width import has_projection

    named = dict(module.named_modules())
    worst = 0.0
    for key, (scale_e, _) in stats.items():
        if key == ("stem",):
            name, m = "stem_bn", widths[0]
        else:
            j, _, which = key
            name = f"blocks.{j}." + {"bn1": "bn1", "bn2": "bn2", "sbn": "shortcut_bn"}[which]
            m = widths[2 * j + 1] if which == "bn1" else widths[2 * j + 2]
            if which == "sbn" and not has_projection(j, widths[2 * j], widths[2 * j + 2]):
                continue
        bn = named[name]
        ref_scale = (bn.weight[:m] / torch.sqrt(bn.running_var[:m] + bn.eps)).detach().cpu()
        got = scale_e.flatten()[:m].cpu()
        worst = max(worst, float(((got - ref_scale).abs() / ref_scale.abs().clamp_min(1e-30)).max()))
    return worst


def _breakdown(net, bench, archs, device, opts, fast_rate: float, label: str = "fast") -> None:
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
    classes = {"convolution (oneDNN, or BLAS products)": ("convolution", "aten::mm", "addmm"), "gather (index_select)": ("index_select",),
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
    print(f"{label} ({ev.sched.strategy}): one chunk ({ev.sched.chunk_size} subnets), 1 thread: where the time goes")
    for name, t in [*totals.items(), ("other", other)]:
        print(f"  {name:32s} {100 * t / whole:5.1f} %")
    conv_share = totals["convolution (oneDNN, or BLAS products)"] / whole
    print(f"conv-bound ceiling (everything but the convolutions free): {fast_rate / conv_share:.0f} subnets/s, "
          f"all {len(archs)} in {len(archs) * conv_share / fast_rate / 60:.1f} min")


if __name__ == "__main__":
    main()
