"""A proxy as a predictions submission: ``submission.toml`` + ``predictions.csv`` that ``nas-harness score`` reads
as it is, plus ``proxy_values.csv`` (the raw per-arch values, written as they are computed: the resume file).

Which archs are computed (``archs``):

* ``all`` — every arch of the benchmark's arch set (the predictions contract);
* ``gt``  — only the archs the GT holds (quick; what the metrics read). The file still lists the whole arch set,
  since a predictions file must; the archs not computed get the floor score (below every computed one) and the
  manifest says how many. Every metric is computed on the GT archs only, so none of them reads a floor value.

The manifest's ``[proxy]`` table records the proxy, its reference, the seed, the batch (size, split, index and
content hashes) and the counts above: a predictions folder says what produced it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from harness.errors import BadPathError, UnknownNameError, UsageError
from harness.progress import ProgressArg
from harness.proxies.batch import data_free_batch, training_batch
from harness.proxies.compute import ValuesFile, compute_values, ranked_scores
from harness.proxies.registry import describe, get_proxy

if TYPE_CHECKING:
    from harness.benchmarks.spec import Benchmark

ARCH_SCOPES = ("all", "gt")
PREDICTIONS = "predictions.csv"
VALUES = "proxy_values.csv"


@dataclass(frozen=True)
class ProxyRun:
    """What :func:`write_proxy_submission` wrote."""

    folder: Path
    n_archs: int
    n_computed: int
    n_undefined: int


def _toml_str(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid TOML basic string


def scope_archs(bench: Benchmark, scope: str) -> tuple[list[str], list[str]]:
    """(the arch set, the archs to compute) for ``scope``."""
    if scope not in ARCH_SCOPES:
        raise UnknownNameError(f"unknown arch scope {scope!r}; use {' or '.join(ARCH_SCOPES)}")
    archs = bench.archs()
    if scope == "all":
        return archs, archs
    gt = bench.ground_truth()
    return archs, [archs[i] for i in np.asarray(gt.archset_index)]


def write_proxy_submission(
    name: str, bench: Benchmark, folder: Path, *, scope: str = "all", batch_size: int = 64, seed: int = 0,
    progress: ProgressArg = None, workers: int = 1,
) -> ProxyRun:
    """Compute proxy ``name`` on ``bench`` and write the submission folder (resuming its values file)."""
    proxy = get_proxy(name)
    if seed < 0:
        raise UsageError(f"--seed must be 0 or more, got {seed}")
    if folder.exists() and not folder.is_dir():
        raise BadPathError(f"{folder} is a file; -o names a folder to write the submission into")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / VALUES).is_file():
        raise BadPathError(f"{folder} holds other files and no {VALUES} of an earlier proxy run; write into a new "
                           "or empty folder (nothing there is overwritten)")
    archs, todo = scope_archs(bench, scope)
    batch = training_batch(bench, batch_size, seed) if proxy.needs_data else data_free_batch(bench)
    folder.mkdir(parents=True, exist_ok=True)
    config = {"benchmark": bench.label, "seed": seed, "archs": scope, **batch.record()}
    values = compute_values([proxy], bench.space, todo, batch, seed,
                            values_file=ValuesFile(folder / VALUES, [proxy.name], config), progress=progress,
                            workers=workers)[:, 0]
    scores, n_undefined = ranked_scores(values, proxy.direction)
    full = np.full(len(archs), np.nan)
    position = {a: i for i, a in enumerate(archs)}
    full[[position[a] for a in todo]] = scores
    floor = float(np.min(scores)) - 1.0 if len(scores) else -1.0
    n_floor = int(np.isnan(full).sum())
    full[np.isnan(full)] = floor

    from harness.submission import write_predictions

    write_predictions(folder / PREDICTIONS, archs, full)
    record = {**describe(proxy), **config, "n_archs": len(archs), "n_computed": len(todo),
              "n_undefined": n_undefined, "n_floor": n_floor}
    described = (f"Zero-cost proxy {proxy.title} ({proxy.reference}) of freshly initialised standalone networks, "
                 f"seed {seed}, {'a ' + str(batch.size) + '-image training batch' if proxy.needs_data else 'data-free'}"
                 f"; score = {'+' if proxy.direction > 0 else '-'}value. {len(todo)} of {len(archs)} archs computed"
                 + (f"; the other {n_floor} carry the floor score {floor!r}" if n_floor else "")
                 + (f"; {n_undefined} undefined (NaN) ranked last" if n_undefined else "") + ".")
    lines = [f"name = {_toml_str(proxy.name + '_proxy')}", 'authors = ["nas-harness proxy"]',
             f"benchmark = {_toml_str(bench.name)}", 'kind = "predictions"', f"file = {_toml_str(PREDICTIONS)}",
             "baseline = true", f"description = {_toml_str(described)}", "", "[proxy]"]
    for key, value in record.items():
        lines.append(f"{key} = {json.dumps(value)}")
    (folder / "submission.toml").write_text("\n".join(lines) + "\n")
    return ProxyRun(folder, len(archs), len(todo), n_undefined)
