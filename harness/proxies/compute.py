"""Proxy values of many archs: one seeded network per arch, every asked proxy on its own copy, resumable.

Why one initial network per arch shared by the proxies: the released zero-cost-nas code scores every measure of an
arch on copies of one initialised network, so proxies of one run are comparable arch by arch. Why a values file
written as it goes: a full NAS-Bench-201 pass is hours of CPU; a restarted run reads the file, skips the archs it
holds and appends the rest. The file's first line records what produced it (proxies, seed, batch); a file written
under another configuration is refused rather than mixed in.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.errors import UsageError
from harness.progress import ProgressArg, ProgressEvent, resolve
from harness.proxies.nets import bn_as_identity, init_net
from harness.proxies.registry import NET, Proxy

if TYPE_CHECKING:
    from torch import nn

    from harness.proxies.batch import ProxyBatch
    from harness.spaces.base import SearchSpace

HEADER = "# nas-harness proxy values "


def prepared(net: nn.Module, proxy: Proxy, *, in_place: bool = False) -> nn.Module:
    """A copy of ``net`` (or ``net`` itself) as ``proxy`` runs it (BN removed and float64 where it says so)."""
    out = net if in_place else copy.deepcopy(net)
    if not proxy.keep_bn:
        bn_as_identity(out)
    if proxy.float64:
        out.double()
    return out.train()


def score_net(proxy: Proxy, net: nn.Module, batch: ProxyBatch) -> float:
    """``proxy``'s value of ``net`` as prepared (:func:`prepared`), through its shared pass when it has one."""
    if proxy.shared_pass is not None:
        return float(proxy.fn(proxy.shared_pass(net, batch)))
    return float(proxy.fn(net, batch))


def _pass_key(proxy: Proxy) -> tuple | None:
    return None if proxy.shared_pass is None else (proxy.shared_pass, proxy.keep_bn, proxy.float64)


def arch_values(proxies: Sequence[Proxy], space: SearchSpace, arch: str, batch: ProxyBatch, seed: int) -> list[float]:
    """The value of each proxy for ``arch`` (NaN where a proxy is undefined for this network).

    A shared pass (one backward for grad_norm, snip and fisher) runs once for all proxies naming it; the last
    proxy that runs the network uses it itself instead of a copy (nothing scores it afterwards).
    """
    runners: list[int] = []
    seen: set[tuple] = set()
    for i, p in enumerate(proxies):
        key = _pass_key(p)
        if p.kind == NET and (key is None or key not in seen):
            runners.append(i)
        if key is not None:
            seen.add(key)
    net = init_net(space, arch, seed) if runners else None
    passes: dict[tuple, Any] = {}
    out = []
    for i, p in enumerate(proxies):
        if p.kind != NET:
            out.append(float(p.fn(space, arch)))
            continue
        key = _pass_key(p)
        if key is None:
            out.append(score_net(p, prepared(net, p, in_place=i == runners[-1]), batch))
            continue
        if key not in passes:
            passes[key] = p.shared_pass(prepared(net, p, in_place=i == runners[-1]), batch)
        out.append(float(p.fn(passes[key])))
    return out


class ValuesFile:
    """``arch,<proxy>,...`` rows behind a one-line JSON header; floats written with ``repr`` (exact round trip)."""

    def __init__(self, path: Path, names: Sequence[str], config: dict[str, Any]) -> None:
        self.path = Path(path)
        self.names = list(names)
        self.config = json.loads(json.dumps({"proxies": self.names, **config}, sort_keys=True))

    def read(self) -> dict[str, list[float]]:
        """The rows already written (empty when the file does not exist); UsageError if it was made otherwise."""
        if not self.path.exists():
            return {}
        lines = self.path.read_text().splitlines()
        if not lines or not lines[0].startswith(HEADER):
            raise UsageError(f"{self.path} is not a proxy values file; remove it or choose another output")
        try:
            found = json.loads(lines[0][len(HEADER):])
        except ValueError:
            raise UsageError(f"{self.path}: unreadable header; remove it to start over") from None
        if found != self.config:
            diff = sorted(k for k in set(found) | set(self.config) if found.get(k) != self.config.get(k))
            raise UsageError(f"{self.path} was written with other settings ({', '.join(diff)}); remove it or "
                             "choose another output")
        rows: dict[str, list[float]] = {}
        for line in lines[2:]:
            parts = line.rsplit(",", len(self.names))
            if len(parts) != len(self.names) + 1:
                continue  # a line cut short by an interruption: computed again
            try:
                rows[parts[0]] = [float(v) for v in parts[1:]]
            except ValueError:
                continue
        return rows

    def start(self) -> None:
        if self.path.exists():
            with self.path.open("rb+") as f:  # a line cut by an interruption must not swallow the next one
                f.seek(0, 2)
                if f.tell() and (f.seek(-1, 2), f.read(1))[1] != b"\n":
                    f.write(b"\n")
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(HEADER + json.dumps(self.config, sort_keys=True) + "\narch," + ",".join(self.names) + "\n")

    def append(self, rows: list[tuple[str, list[float]]]) -> None:
        for arch, _ in rows:
            if "," in arch or "\n" in arch or "\r" in arch:
                raise ValueError(f"arch {arch[:60]!r}: a values file cannot hold an arch string with a comma or newline")
        with self.path.open("a") as f:
            for arch, values in rows:
                f.write(arch + "," + ",".join(repr(float(v)) for v in values) + "\n")


def compute_values(
    proxies: Sequence[Proxy],
    space: SearchSpace,
    archs: Sequence[str],
    batch: ProxyBatch,
    seed: int,
    *,
    values_file: ValuesFile | None = None,
    progress: ProgressArg = None,
    flush_every: int = 20,
    threads: int | None = 1,
    workers: int = 1,
) -> np.ndarray:
    """An (n_archs, n_proxies) float64 array of proxy values (NaN where undefined), resuming ``values_file``.

    ``threads``: torch's intra-op threads while computing (restored afterwards; None leaves them). Why 1 by
    default: the networks and batches are small, and on a shared 2-core machine two OpenMP threads per forward
    were measured ~20x slower than one (grad_norm, ResNet20-1D, batch 8: 3.6 s vs 0.16 s an arch under load).
    ``workers`` > 1 spreads the archs over that many processes (one thread each); a value depends only on (arch,
    seed), so the result is the same as with one.
    """
    import torch

    if workers < 1:
        raise UsageError(f"workers must be 1 or more, got {workers}")
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        done = values_file.read() if values_file is not None else {}
        todo = [a for a in dict.fromkeys(archs) if a not in done]
        if values_file is not None:
            values_file.start()
        stage = "proxy " + ",".join(p.name for p in proxies)
        report = resolve(progress)
        n_total = len(done) + len(todo)
        pending: list[tuple[str, list[float]]] = []
        for arch, values in _results(proxies, space, todo, batch, seed, workers):
            done[arch] = values
            pending.append((arch, values))
            if values_file is not None and len(pending) >= flush_every:
                values_file.append(pending)
                pending = []
            if len(done) % 10 == 0 or len(done) == n_total:
                report(ProgressEvent(stage, len(done), n_total, f"{len(done)}/{n_total} archs"))
        if values_file is not None and pending:
            values_file.append(pending)
        return np.asarray([done[a] for a in archs], dtype=np.float64).reshape(len(archs), len(proxies))
    finally:
        torch.set_num_threads(before)


CHUNK = 8  # archs per task handed to a worker process


def chunk_runner(setup: tuple) -> Callable[[list[str]], list[tuple[str, list[float]]]]:
    """A proxy worker's ``run(archs)`` (:class:`harness.workerpool.WorkerPool`: a process of its own, one thread)."""
    import torch

    proxies, space, batch, seed = setup
    torch.set_num_threads(1)
    return lambda archs: [(a, arch_values(proxies, space, a, batch, seed)) for a in archs]


def _results(proxies: Sequence[Proxy], space: SearchSpace, todo: list[str], batch: ProxyBatch, seed: int,
             workers: int) -> Iterator[tuple[str, list[float]]]:
    """(arch, values) for every arch of ``todo``: in order here, or in completion order from ``workers`` worker
    processes started as their own program (never a re-import of the caller's script)."""
    if workers == 1 or len(todo) <= CHUNK:
        for arch in todo:
            yield arch, arch_values(proxies, space, arch, batch, seed)
        return
    from harness.workerpool import WorkerPool

    pool = WorkerPool("harness.proxies.compute:chunk_runner", (list(proxies), space, batch, seed), workers,
                      what="proxy worker")
    for rows in pool.run(todo[i:i + CHUNK] for i in range(0, len(todo), CHUNK)):
        yield from rows


def ranked_scores(values: np.ndarray, direction: int) -> tuple[np.ndarray, int]:
    """Scores where higher is better (``direction * value``), undefined values (NaN) set below every defined one.

    Returns the scores and how many were undefined. The floor is min − 1 over the defined scores (−1 if none is
    defined): a predictions file must hold finite numbers, and an arch whose proxy is undefined (e.g. jacob_cov of
    a network whose output ignores its input) is ranked last rather than dropped.
    """
    scores = direction * np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(scores)
    floor = (float(np.min(scores[~bad])) - 1.0) if (~bad).any() else -1.0
    if not math.isfinite(floor):
        floor = -1.0
    scores[bad] = floor
    return scores, int(bad.sum())
