"""Shared pieces of the challenge tests: a challenge.toml on the tiny benchmark and cheap submissions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

T0 = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday; phase "dev" is open for 7 days, then "final" for 2
DAY = 86400.0

CONFIG = """
name = "tinychal"
benchmark = "tiny-w20"
require_approval = {approval}

[scoring]
n_boot = 0
max_attempts = {max_attempts}
lease_seconds = {lease}
heartbeat_seconds = {beat}
full_sweep = {full_sweep}

[submissions]
kinds = {kinds}
max_upload_mb = 2

[limits]
{limits}

[ranking]
rule = "{rule}"
tie_break = ["public_score", "earlier"]

[[phases]]
name = "dev"
start = 2026-03-02T00:00:00Z
end = 2026-03-09T00:00:00Z
split = "dev"
visibility = "public"

[[phases]]
name = "final"
start = 2026-03-09T00:00:00Z
end = 2026-03-11T00:00:00Z
split = "test"
visibility = "hidden"
"""


def write_challenge(folder: Path, *, limits: str = "concurrent = 100", rule: str = "best_public", approval: bool = False,
                    lease: float = 60, beat: float = 5, max_attempts: int = 3,
                    kinds: str = '["predictions", "checkpoint", "trainer"]', full_sweep: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "challenge.toml").write_text(CONFIG.format(
        limits=limits, rule=rule, approval=str(approval).lower(), lease=lease, beat=beat, max_attempts=max_attempts, kinds=kinds,
        full_sweep=str(full_sweep).lower()))
    return folder


def predictions_folder(root: Path, name: str, quality: float, seed: int = 0, manifest_name: str | None = None) -> Path:
    """A predictions submission whose scores follow #params (the GT's signal) with noise ~ 1 - quality."""
    from harness.benchmarks import get_benchmark

    bench = get_benchmark("tiny-w20")
    archs = bench.archs()
    params = np.log(bench.space.params_many(archs))
    rng = np.random.default_rng(seed)
    scores = quality * (params - params.mean()) / params.std() + (1 - quality) * rng.normal(size=len(archs)) * 3
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "submission.toml").write_text(
        f'name = "{manifest_name or name}"\nbenchmark = "tiny-w20"\nkind = "predictions"\n')
    (folder / "predictions.csv").write_text("arch,score\n" + "".join(f'"{a}",{float(s)!r}\n' for a, s in zip(archs, scores)))
    return folder


def broken_checkpoint_folder(root: Path, name: str = "broken") -> Path:
    """A checkpoint submission that passes intake (the folder is well formed) and fails in the worker: its
    bytes are not a torch file. The submission's fault, found only when scored (predictions that do not cover
    the arch set are refused at intake instead)."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "submission.toml").write_text(f'name = "{name}"\nbenchmark = "tiny-w20"\nkind = "checkpoint"\n')
    (folder / "checkpoint.pt").write_bytes(b"not a torch checkpoint\n")
    return folder
