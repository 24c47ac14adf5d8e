"""Reference results shipped with the harness: the reference trainers' seed groups of a benchmark as a small file
(per run: its scores of the GT archs, its seed, timings), imported into any results store.

Why: comparing a new trainer with FairNAS or SPOS should not mean re-training them (minutes a seed); a fresh clone
runs ``nas-harness reference import`` and then ``nas-harness compare MY_GROUP fairnas``. Only predictions are
shipped with the metrics the harness computed from them at export; the import refuses a file made against another
GT (its archs or hash differ), so an imported row means exactly what a row scored here would (and
``nas-harness rescore --all`` recomputes the metrics from the scores; verdicts always recompute from the scores). Each file
names the CPU kind its runs were trained on: float rounding differs between CPU kinds and changes a trainer's
trajectory, so a comparison across kinds carries that difference too (docs/reference_results.md).

File layout (JSON, gzip-compressed): ``format``, ``version``, ``benchmark``, ``bench_version``, ``gt_hash``,
``archs`` (the GT archs, in GT order), ``cpu``, ``created``, ``harness_version``, and ``groups``: a list of
``{"submission", "description", "runs": [{"seed", "scores", "metrics", "timings", "created"}]}``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import HarnessError, UsageError

FORMAT = "nas-harness reference results"
FORMAT_VERSION = 1
#: where the shipped files live (one per benchmark version)
SHIPPED_DIR = Path(__file__).resolve().parent / "benchmarks" / "reference"
#: the ``source`` a run imported from a reference file carries in its manifest
SOURCE = "reference import"
#: the submission-hash prefix of an imported run: set by the host only (a submission's hash is a hex digest),
#: so a participant's manifest that claims ``source = "reference import"`` never passes for a reference group
HASH_PREFIX = "reference:"
MAX_FILE_BYTES = 64 * 1024**2


class ReferenceResultsError(HarnessError):
    """A reference-results file that cannot be read, or was made against another GT than the benchmark's."""

    exit_code = 6


def cpu_kind() -> str:
    """This machine's CPU model and widest SIMD level (what a trainer's float rounding depends on)."""
    model, flags = platform.processor() or platform.machine(), ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("", platform.machine()):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line
    except OSError:
        pass
    simd = "AVX-512" if " avx512f" in flags else "AVX2" if " avx2" in flags else ""
    return f"{model}{f' ({simd})' if simd else ''}"


def export_groups(store: Any, group_ids: list[str], out: Path, *, cpu: str | None = None) -> dict[str, Any]:
    """Write the seed groups ``group_ids`` of ``store`` (one benchmark, its current version and GT) to ``out``."""
    from harness.benchmarks import get_benchmark
    from harness.gt.align import split_scores

    sides = [store.group_runs(g) for g in group_ids]
    if not sides:
        raise UsageError("name at least one group to export")
    benches = {r.benchmark for runs in sides for r in runs}
    if len(benches) != 1:
        raise UsageError(f"the groups are on several benchmarks ({', '.join(sorted(benches))}); export one at a time")
    bench = get_benchmark(benches.pop())
    gt = bench.ground_truth()
    groups = []
    for gid, runs in zip(group_ids, sides):
        if any(r.gt_hash != gt.content_hash or r.bench_version != bench.version for r in runs):
            raise ReferenceResultsError(f"group {gid} was scored against another GT or version; rescore it first")
        entries = []
        for r in runs:
            archs, scores = store.load_predictions(r.run_id)
            entries.append({"seed": r.seed, "scores": [float(v) for v in split_scores(archs, scores, gt, "all")],
                            "metrics": r.metrics, "timings": r.timings, "created": r.created})
        groups.append({"submission": runs[0].submission, "description": runs[0].description, "runs": entries})
    payload = {"format": FORMAT, "version": FORMAT_VERSION, "benchmark": bench.name, "bench_version": bench.version,
               "gt_hash": gt.content_hash, "archs": [str(a) for a in gt.archs], "cpu": cpu or cpu_kind(),
               "created": datetime.now(UTC).strftime("%Y-%m-%d"), "harness_version": runs[0].harness_version,
               "groups": groups}
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(out, "wt", encoding="utf-8") as f:
        json.dump(payload, f, separators=(",", ":"))
    return payload


def read_file(path: Path) -> dict[str, Any]:
    """A reference-results file, its layout checked (one-line errors)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ReferenceResultsError(f"{path} is larger than {MAX_FILE_BYTES >> 20} MB; not a reference-results file")
        with gzip.open(path, "rt", encoding="utf-8") as f:
            data = json.loads(f.read(MAX_FILE_BYTES * 8))
    except (OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
        raise ReferenceResultsError(f"{path} is not a reference-results file (gzip-compressed JSON): {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != FORMAT_VERSION:
        raise ReferenceResultsError(f"{path} is not a version-{FORMAT_VERSION} {FORMAT} file")
    for key, kind in (("benchmark", str), ("bench_version", int), ("gt_hash", str), ("archs", list), ("groups", list)):
        if not isinstance(data.get(key), kind):
            raise ReferenceResultsError(f"{path}: field {key!r} is missing or malformed")
    return data


def shipped_files() -> list[Path]:
    return sorted(SHIPPED_DIR.glob("*.json.gz")) if SHIPPED_DIR.is_dir() else []


def import_file(store: Any, path: Path) -> list[tuple[str, str, int, bool]]:
    """Import every group of ``path`` into ``store``; returns (submission, group id, runs, newly imported) each.

    A group already imported from the same file content is not imported twice. A run's metrics are those stored
    in the file (computed at export against this very GT), else recomputed; a file made against another GT, arch
    set or version is refused.
    """
    from harness.benchmarks import get_benchmark
    from harness.scoring import gt_positions, metrics_payload

    data = read_file(path)
    bench = get_benchmark(data["benchmark"])
    gt = bench.ground_truth()
    if data["bench_version"] != bench.version or data["gt_hash"] != gt.content_hash or data["archs"] != [str(a) for a in gt.archs]:
        raise ReferenceResultsError(
            f"{path.name} holds results of {data['benchmark']} v{data['bench_version']} against GT {data['gt_hash'][:12]}; "
            f"this benchmark is v{bench.version} with GT {gt.content_hash[:12]}: they cannot be compared")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    full = bench.archs()
    first = gt_positions(gt)
    where = {a: i for i, a in enumerate(full)}
    order = np.asarray([where[a] for a in data["archs"]])  # GT order -> arch-set positions
    done = imported_groups(store)
    out = []
    for group in data["groups"]:
        name = str(group.get("submission", ""))
        key = f"{digest}:{name}"
        if key in done:
            out.append((name, done[key], len(store.group_runs(done[key])), False))
            continue
        gid = store.new_group_id()
        for run in group.get("runs", []):
            scores = np.asarray(run["scores"], dtype=np.float64)
            if scores.shape != (len(data["archs"]),) or not np.all(np.isfinite(scores)):
                raise ReferenceResultsError(f"{path.name}: a run of {name} has {scores.size} scores for {len(data['archs'])} GT archs")
            pred = np.full(len(full), np.nan)
            pred[order] = scores
            manifest = {"name": name, "benchmark": bench.name, "kind": "trainer", "source": SOURCE,
                        "reference_file": path.name, "reference_key": key, "cpu": str(data.get("cpu", "")),
                        "trained": str(run.get("created", ""))}
            run_id = store.create_run(
                benchmark=bench.name, submission=name, kind="trainer", submission_hash=f"{HASH_PREFIX}{digest}",
                harness_version=str(data.get("harness_version", "")), gt_hash=gt.content_hash, manifest=manifest,
                description=str(group.get("description", "")), group_id=gid, seed=int(run["seed"]), gt_only=True,
                bench_version=bench.version)
            metrics = run.get("metrics")
            if not (isinstance(metrics, dict) and isinstance(metrics.get("splits"), dict)):
                metrics = metrics_payload(bench, pred, gt, n_boot=1000, seed=int(run["seed"]))
            store.complete_run(run_id, archs=[full[i] for i in first], predictions=pred[first], metrics=metrics,
                               timings={k: float(v) for k, v in (run.get("timings") or {}).items()})
        out.append((name, gid, len(group.get("runs", [])), True))
    return out


def imported_groups(store: Any) -> dict[str, str]:
    """``reference_key`` -> group id of every group imported from a reference file."""
    found: dict[str, str] = {}
    for r in store.list_runs(status="ok"):
        key = r.manifest.get("reference_key") if _imported(r) else None
        if key and r.group_id:
            found.setdefault(str(key), r.group_id)
    return found


def reference_group(store: Any, name: str, benchmark: str | None = None) -> str | None:
    """The newest imported reference group of submission ``name`` (on ``benchmark`` when given), or None."""
    best: tuple[int, str] | None = None
    for r in store.list_runs(submission=name, status="ok"):
        if _imported(r) and r.group_id and (benchmark is None or r.benchmark == benchmark):
            if best is None or r.created_ns > best[0]:
                best = (r.created_ns, r.group_id)
    return None if best is None else best[1]


def _imported(run: Any) -> bool:
    """Whether ``run`` came from a reference file (the host-set hash prefix, not the manifest, decides)."""
    return run.submission_hash.startswith(HASH_PREFIX) and run.manifest.get("source") == SOURCE


def resolve_side(store: Any, key: str) -> Any:
    """:func:`harness.verdicts.resolve` for a run id, a group id, or the name of an imported reference group
    (``fairnas``: its newest import). An unknown key keeps the store's one-line error, with the hint."""
    from harness.errors import StoreError, UnknownRunError
    from harness.verdicts import resolve

    try:
        return resolve(store, key)
    except (UnknownRunError, StoreError) as exc:
        gid = reference_group(store, (key or "").strip())  # names may start with "g" too (gdas)
        if gid is None:
            raise type(exc)(f"{exc} (nor a reference group of that name: `nas-harness reference import` ships them)") from None
        return resolve(store, gid)
