"""Budget study: how the run-level spread of a reference trainer's Kendall τ depends on the training budget.

    python benchmarks/budget_study.py --trainers spos,calr_ms --epochs 10,20,40 --seeds 0-4 \
        [--train-samples 6000] [--lr-scale 1] [--eval-extra 0] [--calib-batches 2] [--workers 2] \
        [--out budget_study.jsonl] [--state-dir DIR]

For every (trainer, epochs, training-set size, LR scale) and every seed, trains the reference trainer of
``submissions/`` in a worker process (one torch thread, seeded as the sandbox seeds a run, no sandbox: the weights
are what matters — so only for the shipped, trusted trainers, never a participant's code), evaluates the supernet on the GT archs of ``--split`` with the protocol's fast evaluator and
computes that split's metrics as ``score`` does. Each finished run is appended to ``--out`` at once, so a stopped
study resumes where it stopped (runs already in the file are not repeated). Prints, per budget, the mean and the
run-level SD (ddof 1) of τ over the seeds with a 90 % chi-square interval for the SD, and the mean training time.

``--train-samples`` takes the first N samples of the benchmark's training split (at most its size: a larger split
is a new benchmark version with more generated data); ``--lr-scale`` multiplies the trainer's module-level ``LR``.

Two levers are on the evaluation side, to tell training noise from measurement noise: ``--eval-extra N`` appends N
freshly generated MNIST-1D samples (another generator seed, so disjoint from every split) to the eval split, and
``--calib-batches K`` recalibrates BN on K batches (the first K × batch samples of the training split, of which the
benchmark's calib split is the prefix). With ``--state-dir`` each trained supernet is kept, so evaluation variants
of one budget reuse the same trained weights (paired: only the measurement changes).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from pathlib import Path

import numpy as np

SUBMISSIONS = Path(__file__).resolve().parents[1] / "submissions"


#: evaluation settings of a job, with the benchmark's own protocol as the default (older records lack them)
EVAL_DEFAULTS = {"eval_extra": 0, "calib_batches": None}
EXTRA_EVAL_SEED = 977  # the generator seed of --eval-extra samples (the benchmark's data uses its own seed)


def config_key(job: dict) -> tuple:
    evals = tuple(job.get(k, v) for k, v in EVAL_DEFAULTS.items())
    return (job["trainer"], job["epochs"], job["train_samples"], job["lr_scale"], job["split"], job["bench"], *evals)


def _trained(job: dict, bench, state_dir: str | None):  # noqa: ANN001, ANN202 - Benchmark, state dict
    """The trained supernet's state dict and its training seconds (from ``state_dir`` when trained before)."""
    import torch

    path = None
    if state_dir:
        name = f"{job['trainer']}-e{job['epochs']}-n{job['train_samples']}-lr{job['lr_scale']:g}-s{job['seed']}.pt"
        path = Path(state_dir) / name
        if path.exists():
            saved = torch.load(path, weights_only=True)
            return saved["state"], float(saved["train_s"])
    state, seconds = _train(job, bench)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"state": state, "train_s": seconds}, path)
    return state, seconds


def _eval_data(job: dict, bench):  # noqa: ANN001, ANN202 - Benchmark, EvalData
    """The protocol's eval data, with ``eval_extra`` generated samples and ``calib_batches`` batches."""
    import torch

    from harness.data.mnist1d_source import generate_mnist1d
    from harness.evaluation.protocol import make_eval_data

    data, p = bench.load_data(), bench.protocol
    x, y = torch.as_tensor(data.eval.x), torch.as_tensor(data.eval.y)
    if job.get("eval_extra", 0):
        ex, ey = generate_mnist1d(int(job["eval_extra"]), EXTRA_EVAL_SEED)
        x, y = torch.cat([x, torch.as_tensor(ex)]), torch.cat([y, torch.as_tensor(ey)])
    batches = job.get("calib_batches") or p.calib_batches
    calib = torch.as_tensor(data.train.x if batches != p.calib_batches else data.calib.x)
    return make_eval_data(calib, x, y, calib_batch_size=p.calib_batch_size, calib_batches=batches,
                          eval_batch_size=p.eval_batch_size)


def _train(job: dict, bench):  # noqa: ANN001, ANN202 - Benchmark, state dict
    import importlib.util
    from dataclasses import replace

    import torch

    from harness.submission.child.train import seed_everything
    from harness.submission.context import TrainContext

    seed_everything(job["seed"], 1)
    spec = importlib.util.spec_from_file_location(f"trainer_{job['trainer']}", SUBMISSIONS / job["trainer"] / "trainer.py")
    trainer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(trainer)
    if job["lr_scale"] != 1.0:
        trainer.LR = trainer.LR * job["lr_scale"]
    data = bench.load_data()
    n = job["train_samples"]
    ctx = TrainContext(space=bench.space, train_x=torch.as_tensor(data.train.x[:n]),
                       train_y=torch.as_tensor(data.train.y[:n]), num_classes=bench.space.num_classes,
                       budget=replace(bench.budget, epochs=job["epochs"]), device="cpu", seed=job["seed"],
                       deadline=time.time() + 24 * 3600, _new_supernet=bench.space.new_supernet)
    t0 = time.perf_counter()
    net = trainer.train(ctx)
    return {k: v.detach().clone() for k, v in net.state_dict().items()}, time.perf_counter() - t0


def run_one(job: dict) -> dict:
    """Train (or load) one seed of one budget and score it on the split (runs in a worker process)."""
    from unittest import mock

    from harness.benchmarks import get_benchmark
    from harness.evaluation import FastOptions, evaluate
    from harness.scoring import split_metrics

    bench = get_benchmark(job["bench"])
    state, train_s = _trained(job, bench, job.get("state_dir"))
    gt = bench.ground_truth()
    archs = list(bench.archs())
    rows = gt.split_indices(job["split"])
    t0 = time.perf_counter()
    with mock.patch("harness.evaluation.api.eval_data_for", lambda b, device="cpu": _eval_data(job, b).to(device)):
        acc = evaluate(state, bench, [archs[gt.archset_index[i]] for i in rows], progress=False,
                       options=FastOptions(workers=1))
    pred = np.zeros(len(archs))
    pred[gt.archset_index[rows]] = acc
    metrics = split_metrics(pred, gt, n_boot=0)[job["split"]]["metrics"]
    record = {k: v for k, v in job.items() if k != "state_dir"}
    return {**record, "train_s": round(train_s, 2), "eval_s": round(time.perf_counter() - t0, 2),
            "kendall_tau": metrics["kendall_tau"]["value"], "spearman": metrics["spearman"]["value"],
            "mean_acc": float(np.mean(acc))}


def sd_interval(values: np.ndarray, level: float = 0.90) -> tuple[float, float]:
    """Chi-square interval of a normal SD from n values (how little 5 seeds pin an SD down)."""
    from scipy import stats

    n = len(values)
    s2 = float(np.var(values, ddof=1))
    lo, hi = stats.chi2.ppf([(1 + level) / 2, (1 - level) / 2], n - 1)
    return (np.sqrt((n - 1) * s2 / lo), np.sqrt((n - 1) * s2 / hi))


def summarise(records: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        groups.setdefault(config_key(r), []).append(r)
    rows = []
    for key, runs in sorted(groups.items()):
        tau = np.array([r["kendall_tau"] for r in runs])
        row = {"trainer": key[0], "epochs": key[1], "train_samples": key[2], "lr_scale": key[3], "split": key[4],
               "eval_extra": key[6], "calib_batches": key[7], "seeds": len(runs), "tau_mean": float(tau.mean()), "train_s": float(np.mean([r["train_s"] for r in runs]))}
        if len(runs) >= 2:
            lo, hi = sd_interval(tau)
            row |= {"tau_sd": float(tau.std(ddof=1)), "sd_lo": float(lo), "sd_hi": float(hi)}
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", default="mnist1d-w20")
    ap.add_argument("--trainers", default="spos")
    ap.add_argument("--epochs", default="10,20,40")
    ap.add_argument("--seeds", default="0-4", help="as score --seeds: a count (5), a list (0,1,2) or a range (5-9)")
    ap.add_argument("--train-samples", default="", help="comma list; default: the whole training split")
    ap.add_argument("--lr-scale", default="1")
    ap.add_argument("--eval-extra", default="0", help="comma list of generated samples added to the eval split")
    ap.add_argument("--calib-batches", default="", help="comma list of BN calibration batch counts (default: the protocol's)")
    ap.add_argument("--state-dir", default=None, help="keep trained supernets here; evaluation variants reuse them")
    ap.add_argument("--split", default="dev")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="budget_study.jsonl")
    args = ap.parse_args()

    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from harness.benchmarks import get_benchmark
    from harness.gt.builder import cpu_model
    from harness.errors import HarnessError
    from harness.scoring import parse_seeds

    try:
        seeds = parse_seeds(args.seeds)
    except HarnessError as exc:
        raise SystemExit(f"error: {exc}") from None
    bench = get_benchmark(args.bench)
    data = bench.load_data()
    full = len(data.train)
    sizes = [int(s) for s in args.train_samples.split(",")] if args.train_samples else [full]
    if max(sizes) > full:
        raise SystemExit(f"--train-samples: the training split has {full} samples")
    out = Path(args.out)
    done = [json.loads(line) for line in out.read_text().splitlines() if line.strip()] if out.exists() else []
    seen = {(*config_key(r), r["seed"]) for r in done}
    calibs = [int(c) for c in args.calib_batches.split(",")] if args.calib_batches else [None]
    jobs = [{"bench": args.bench, "trainer": t, "epochs": int(e), "train_samples": n, "lr_scale": float(s),
             "split": args.split, "eval_extra": int(x), "calib_batches": c, "seed": seed, "state_dir": args.state_dir}
            for t in args.trainers.split(",") for e in args.epochs.split(",") for n in sizes
            for s in args.lr_scale.split(",") for x in args.eval_extra.split(",") for c in calibs
            for seed in seeds]
    todo = [j for j in jobs if (*config_key(j), j["seed"]) not in seen]
    todo.sort(key=lambda j: -j["epochs"])  # longest first: the pool ends with short jobs, both cores stay busy
    console = Console(width=None if Console().is_terminal else 150)
    console.print(f"{len(todo)} runs to train ({len(jobs) - len(todo)} already in {out}), {args.workers} workers, "
                  f"{cpu_model()}")
    if todo:
        with mp.get_context("spawn").Pool(args.workers) as pool, Progress(console=console) as bar:
            task = bar.add_task("budget study", total=len(todo))
            for rec in pool.imap_unordered(run_one, todo):
                with out.open("a") as fh:
                    fh.write(json.dumps(rec) + "\n")
                done.append(rec)
                bar.advance(task)
                console.print(f"{rec['trainer']} {rec['epochs']} ep n={rec['train_samples']} lr×{rec['lr_scale']} "
                              f"eval+{rec['eval_extra']} calib {rec['calib_batches'] or 'protocol'} seed {rec['seed']}: "
                              f"τ {rec['kendall_tau']:.3f} ({rec['train_s']:.0f} s training, {rec['eval_s']:.0f} s eval)")
    wanted = {config_key(j) for j in jobs}
    rows = summarise([r for r in done if config_key(r) in wanted])
    table = Table(title=f"run-level spread of {args.split} Kendall τ ({args.bench})")
    for col in ("trainer", "epochs", "train n", "LR ×", "eval n", "calib", "seeds", "mean τ", "SD", "SD 90 % CI",
                "train s"):
        table.add_column(col, justify="right")
    for r in rows:
        sd = f"{r['tau_sd']:.3f}" if "tau_sd" in r else "–"
        ci = f"[{r['sd_lo']:.3f}, {r['sd_hi']:.3f}]" if "tau_sd" in r else "–"
        calib = "protocol" if r["calib_batches"] is None else f"{r['calib_batches']}×{bench.protocol.calib_batch_size}"
        table.add_row(r["trainer"], str(r["epochs"]), str(r["train_samples"]), f"{r['lr_scale']:g}",
                      str(len(data.eval) + r["eval_extra"]), calib, str(r["seeds"]),
                      f"{r['tau_mean']:.3f}", sd, ci, f"{r['train_s']:.0f}")
    console.print(table)


if __name__ == "__main__":
    main()
