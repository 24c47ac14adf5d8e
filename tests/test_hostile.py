"""Issue 6: hostile and broken submissions, each scored through the real CLI against a tiny benchmark.

For every case: the run ends with status failed and a one-line reason, the GT and every other run are untouched,
the harness process survives (it exits with a code and a message), and no per-arch GT value is printed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from hostile.cases import ALL_CASES, Case, manifest  # noqa: E402

CLI = [sys.executable, "-m", "harness.cli"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class CodePayload:
    """Unpickling this would run a shell command; weights_only loading must refuse it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: D105
        return (os.system, (f"touch {self.marker}",))


def _checkpoint_bytes(obj: object) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, tiny_bench_dir: Path):
    """One store with a good baseline run, and the values hostile cases are filled with."""
    from harness.benchmarks.loaders import clear_cache

    root = tmp_path_factory.mktemp("hostile")
    env = dict(os.environ, NAS_HARNESS_BENCHMARK_DIRS=str(tiny_bench_dir), NAS_HARNESS_STORE=str(root / "store"))
    os.environ["NAS_HARNESS_BENCHMARK_DIRS"] = str(tiny_bench_dir)
    clear_cache()
    from harness.benchmarks import get_benchmark
    from reference_nets.resnet20_width import WidthSuperNet

    bench = get_benchmark("tiny-w20")
    archs = bench.archs()
    gt = bench.ground_truth()
    space = bench.space

    good = root / "good"
    good.mkdir()
    (good / "submission.toml").write_text(manifest("predictions", name="good-baseline"))
    (good / "predictions.csv").write_text("arch,score\n" + "".join(f"{a},{space.params(a)}\n" for a in archs))
    done = subprocess.run([*CLI, "score", str(good)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    received: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(1.0)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                received.append(conn.recv(100))
                conn.close()
            except (TimeoutError, OSError):
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()

    state = WidthSuperNet(1, 1, 10).state_dict()
    wrong = dict(state)
    wrong["fc.weight"] = torch.zeros(10, 12)
    missing = {k: v for k, v in state.items() if not k.startswith("blocks.8")}
    full = _checkpoint_bytes(state)
    marker = root / "pickle-ran-code"
    rows = [f"{a},{i}" for i, a in enumerate(archs)]
    fills = {
        "gt_path": str(bench.gt_path()),
        "store_db": str(root / "store" / "runs.sqlite"),
        "port": str(listener.getsockname()[1]),
        "outside": str(root / "outside-scratch.txt"),
        "csv_missing": "arch,score\n" + "\n".join(rows[:-5]) + "\n",
        "csv_duplicate": "arch,score\n" + "\n".join(rows + rows[:3]) + "\n",
        "csv_unknown": "arch,score\n" + "\n".join(rows[:-1] + ["4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4,1" if archs[-1] != "4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4-4" else "8-8-8-8-8-8-8-8-8-8-8-8-8-8-8-8-8-8-8-8,1"]) + "\n",
        "csv_nan": "arch,score\n" + "\n".join(rows[:-1] + [f"{archs[-1]},nan"]) + "\n",
        "json_inf": json.dumps({a: (float(i) if i else 1e400) for i, a in enumerate(archs)}).replace("Infinity", "Infinity"),
        "pickle_with_code": _checkpoint_bytes(CodePayload(marker)),
        "wrong_shapes": _checkpoint_bytes(wrong),
        "missing_keys": _checkpoint_bytes(missing),
        "truncated": full[: len(full) // 3],
    }
    db = root / "store" / "runs.sqlite"
    with sqlite3.connect(db) as con:
        baseline_row = con.execute("SELECT * FROM runs").fetchall()
    predictions = sorted((root / "store").rglob("*.h5"))
    yield {
        "env": env,
        "root": root,
        "fills": fills,
        "marker": marker,
        "received": received,
        "gt": gt,
        "gt_hash": sha(bench.gt_path()),
        "baseline_row": baseline_row,
        "prediction_hashes": {p: sha(p) for p in predictions},
        "db": db,
    }
    stop.set()
    listener.close()


def _write_case(case: Case, folder: Path, fills: dict[str, object]) -> None:
    folder.mkdir(parents=True)
    text = manifest(case.kind) if case.manifest is None else case.manifest
    if text:
        (folder / "submission.toml").write_text(text)
    for name, content in case.files.items():
        if content == "{junk_1gb}":
            continue  # written below, sparse
        if isinstance(content, str) and content.startswith("{") and content.endswith("}") and content[1:-1] in fills:
            content = fills[content[1:-1]]  # type: ignore[assignment]
        elif isinstance(content, str):
            content = content.format(**{k: v for k, v in fills.items() if isinstance(v, str)}) if "{" in content else content
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    if "predictions.csv" in case.files and case.files["predictions.csv"] == "{junk_1gb}":
        with open(folder / "predictions.csv", "wb") as f:
            f.write(b"\x00\xffjunk" * 1000)
            f.truncate(1 << 30)  # 1 GiB, sparse: the size check must reject it before reading


def _gt_values(gt) -> set[str]:
    values = set()
    for v in np.unique(gt.acc[np.isfinite(gt.acc)]):
        values.add(repr(float(v)))
        values.add(f"{v:.6f}")
    for v in np.unique(gt.mean_acc[np.isfinite(gt.mean_acc)]):
        values.add(repr(float(v)))
    return {v for v in values if len(v) >= 6}


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_hostile_submission_fails_cleanly(case: Case, world: dict, tmp_path: Path) -> None:
    folder = tmp_path / case.name
    _write_case(case, folder, world["fills"])
    cmd = [*CLI, "score", str(folder)]
    if case.budget_seconds is not None:
        cmd += ["--budget-seconds", str(case.budget_seconds)]
    done = subprocess.run(cmd, env=world["env"], capture_output=True, text=True, timeout=240)
    out = done.stdout + done.stderr

    # the harness survived and said why, in one line, without a traceback
    assert done.returncode != 0, out
    assert "Traceback" not in out, out
    error_lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, out
    assert any(word.lower() in error_lines[0].lower() for word in case.reason), error_lines[0]
    ARTIFACTS.mkdir(exist_ok=True)  # the observed outcome of every case, for the issue note and the README
    with open(ARTIFACTS / "hostile-outcomes.txt", "a") as log:
        log.write(f"{case.name}\texit {done.returncode}\t{error_lines[0]}\n")

    # the run is recorded as failed with that reason
    with sqlite3.connect(world["db"]) as con:
        con.row_factory = sqlite3.Row
        rows = con.execute("SELECT * FROM runs ORDER BY rowid DESC LIMIT 1").fetchall()
    assert rows and rows[0]["status"] == "failed", [dict(r) for r in rows]
    assert rows[0]["error"] and "\n" not in rows[0]["error"]

    # nothing leaked, nothing lost
    assert not _gt_values(world["gt"]) & set(out.replace(",", " ").split()), "a GT value was printed"
    assert sha(Path(world["fills"]["gt_path"])) == world["gt_hash"]
    with sqlite3.connect(world["db"]) as con:
        first = con.execute("SELECT * FROM runs ORDER BY rowid LIMIT 1").fetchall()
    assert first == world["baseline_row"]
    for path, digest in world["prediction_hashes"].items():
        assert sha(path) == digest
    assert not world["marker"].exists(), "unpickling ran the payload's code"
    assert not Path(world["fills"]["outside"]).exists(), "the trainer wrote outside its scratch folder"
    assert b"leak" not in b"".join(world["received"]), "the trainer reached the network"
