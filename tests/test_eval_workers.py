"""Worker processes of the fast evaluator: started as their own program, so an unguarded script runs once, and a
worker that fails ends the evaluation with one line."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# A script WITHOUT the `if __name__ == "__main__":` guard: spawn-started workers would re-run it; ours must not.
UNGUARDED = """
import sys
sys.path.insert(0, {tests!r})
with open({marker!r}, "a") as f:
    f.write("top level ran\\n")
import numpy as np
from harness.evaluation import FastOptions, evaluate
from test_fast_evaluator import fake_bench, random_supernet

bench = fake_bench(1, size=16, n_eval=8, bs=4)
archs = bench.space.sample_unique(np.random.default_rng(0), 6)
net = random_supernet(1, 1, 10)
two = evaluate(net.state_dict(), bench, archs, progress=False, options=FastOptions(workers=2, chunk_size=1))
one = evaluate(net.state_dict(), bench, archs, progress=False, options=FastOptions(workers=1, chunk_size=1))
print("SAME", bool(np.array_equal(np.asarray(two), np.asarray(one))), len(two))
"""


def test_unguarded_script_runs_once_with_worker_processes(tmp_path: Path) -> None:
    script, marker = tmp_path / "unguarded.py", tmp_path / "marker.txt"
    script.write_text(textwrap.dedent(UNGUARDED.format(tests=str(Path(__file__).parent), marker=str(marker))))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "SAME True 6" in proc.stdout  # 2 workers give the bits of 1
    assert marker.read_text().count("top level ran") == 1


def test_worker_that_fails_to_start_is_one_line() -> None:
    from harness.workerpool import WorkerPool, WorkerProcessError

    pool = WorkerPool("harness.no_such_module:factory", None, 2, what="test worker")
    with pytest.raises(WorkerProcessError, match="test worker failed: ModuleNotFoundError"):
        list(pool.run([1, 2, 3]))


def test_worker_that_dies_is_one_line() -> None:
    from harness.workerpool import WorkerPool, WorkerProcessError

    pool = WorkerPool("os:_exit", 9, 2, what="test worker")  # the factory itself ends the process
    with pytest.raises(WorkerProcessError, match=r"died while starting \(exit code 9"):
        list(pool.run([1, 2]))


def test_pool_returns_every_result() -> None:
    from harness.workerpool import WorkerPool

    pool = WorkerPool("operator:methodcaller", "bit_length", 2)  # run(task) = task.bit_length()
    assert sorted(pool.run([1, 2, 255, 1024])) == [1, 2, 8, 11]
