"""The Python API from a plain script: ``harness.score_supernet`` in a script without a ``__main__`` guard runs
the script's top level once and returns a result (issue 32)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = """
with open({marker!r}, "a") as f:
    f.write("top level ran\\n")
import harness
from harness.benchmarks import get_benchmark
from harness.submission.reference import new_reference_supernet

net = new_reference_supernet(get_benchmark("tiny-w20").space)
run = harness.score_supernet(net, "tiny-w20", gt_only=True, n_boot=50)
print("TAU", run.metric("kendall_tau", "dev"))
"""


def test_score_supernet_from_unguarded_script(tmp_path: Path, tiny_env: dict[str, str]) -> None:
    script, marker = tmp_path / "unguarded.py", tmp_path / "marker.txt"
    script.write_text(textwrap.dedent(SCRIPT.format(marker=str(marker))))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env=tiny_env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    tau = [ln for ln in proc.stdout.splitlines() if ln.startswith("TAU ")]
    assert len(tau) == 1 and float(tau[0].split()[1]) == float(tau[0].split()[1])  # a number came back
    assert marker.read_text().count("top level ran") == 1
