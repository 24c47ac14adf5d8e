"""Worker processes of the fast evaluator: a worker that dies while starting fails the evaluation with one line."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

# A script WITHOUT the `if __name__ == "__main__":` guard: every spawned worker re-runs it while starting and dies
# (multiprocessing refuses to start processes from a process that is still bootstrapping).
UNGUARDED = """
import sys
sys.path.insert(0, {tests!r})
import numpy as np
from harness.errors import HarnessError
from harness.evaluation import FastOptions, evaluate
from test_fast_evaluator import fake_bench, random_supernet

bench = fake_bench(1, size=16, n_eval=8, bs=4)
archs = bench.space.sample_unique(np.random.default_rng(0), 4)
try:
    evaluate(random_supernet(1, 1, 10).state_dict(), bench, archs, progress=False, options=FastOptions(workers=2, chunk_size=1))
except HarnessError as exc:
    print("ERROR:", type(exc).__name__, exc)
    sys.exit(exc.exit_code)
print("no error")
"""


def test_worker_dying_at_start_fails_with_one_line(tmp_path: Path) -> None:
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(UNGUARDED.format(tests=str(Path(__file__).parent))))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("ERROR:")]
    assert proc.returncode == 7, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert len(lines) == 1 and "EvaluationWorkerError" in lines[0]
    assert "died while starting" in lines[0] and "__main__" in lines[0]
