"""Issue 14: payloads aimed at the harness process (parsers, renderers, trust), each through the real CLI.

For every case: one clean error line and a non-zero exit (or, for accepted strings, harmless rendering in
``leaderboard``, ``show`` and ``export``), no traceback, no escape character or GT value in any output, the GT and
the other runs byte-identical, and the CLI process's peak RSS under ``RSS_BOUND_MB`` (measured with ``wait4``; for
trainer cases the figure is the larger of the harness and its waited sandbox child, which has its own budget).
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from hostile.cases import manifest  # noqa: E402
from hostile.payloads import PAYLOADS, Payload, World, good_csv  # noqa: E402

CLI = [sys.executable, "-m", "harness.cli"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
#: the bound on the harness process's peak RSS for any case (MB); a clean predictions run measures ~0.34 GB
RSS_BOUND_MB = 1536
_DANGEROUS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


#: runs ``harness.cli`` as ``__main__`` (the real CLI) and, at exit, writes the process's own peak RSS (VmHWM: this
#: process only, not its sandbox children, and not inherited from the test process as ``wait4``'s figure would be)
_LAUNCH = (
    "import atexit, os, runpy, sys\n"
    "def _hwm():\n"
    "    kb = next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]\n"
    "    open(os.environ['NAS_TEST_HWM_FILE'], 'w').write(kb)\n"
    "atexit.register(_hwm)\n"
    "sys.argv = ['nas-harness', *sys.argv[1:]]\n"
    "runpy.run_module('harness.cli', run_name='__main__')\n"
)


def run_cli(args: list[str], env: dict[str, str], timeout: float = 300) -> tuple[int, str, str, float]:
    """Run the CLI; returns (exit code, stdout, stderr, the CLI process's peak RSS in MB)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        hwm = Path(tmp) / "hwm"
        done = subprocess.run([sys.executable, "-c", _LAUNCH, *args], env={**env, "NAS_TEST_HWM_FILE": str(hwm)},
                              capture_output=True, text=True, timeout=timeout, errors="replace")
        rss = int(hwm.read_text()) / 1024 if hwm.exists() else float("nan")
    return done.returncode, done.stdout, done.stderr, rss


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, tiny_bench_dir: Path):
    from harness.benchmarks import get_benchmark
    from harness.benchmarks.loaders import clear_cache

    root = tmp_path_factory.mktemp("payloads")
    env = dict(os.environ, NAS_HARNESS_BENCHMARK_DIRS=str(tiny_bench_dir), NAS_HARNESS_STORE=str(root / "store"), COLUMNS="400")
    os.environ["NAS_HARNESS_BENCHMARK_DIRS"] = str(tiny_bench_dir)
    clear_cache()
    from reference_nets.resnet20_width import WidthSuperNet

    bench = get_benchmark("tiny-w20")
    archs = bench.archs()
    w = World(gt_path=bench.gt_path(), run_h5=Path(), archs=archs, params=[bench.space.params(a) for a in archs],
              state=WidthSuperNet(1, 1, 10).state_dict())
    good = root / "good"
    good.mkdir()
    (good / "submission.toml").write_text(manifest("predictions", name="good-team"))
    (good / "predictions.csv").write_text(good_csv(w))
    rc, out, err, rss = run_cli(["score", str(good)], env)
    assert rc == 0, err
    runs = sorted((root / "store").rglob("*.h5"))
    w.run_h5 = runs[0]
    db = root / "store" / "runs.sqlite"
    with sqlite3.connect(db) as con:
        first = con.execute("SELECT * FROM runs").fetchall()
    gt = bench.ground_truth()
    gt_values = {repr(float(v)) for v in set(gt.acc.ravel().tolist()) | set(gt.mean_acc.ravel().tolist())}
    (ARTIFACTS).mkdir(exist_ok=True)
    table = ARTIFACTS / "hostile-payloads-rss.txt"
    with open(table, "a") as log:  # appended, so runs of a subset (-k) add to one table
        log.write(("" if log.tell() else "case\texit\tpeak RSS MB\n") + f"(clean predictions run)\t0\t{rss:.0f}\n")
    yield {"env": env, "root": root, "w": w, "db": db, "first": first, "gt_hash": sha(w.gt_path), "gt_values": gt_values,
           "runs": {p: sha(p) for p in runs}, "table": table}


def _untouched(world: dict) -> None:
    assert sha(world["w"].gt_path) == world["gt_hash"]
    for path, digest in world["runs"].items():
        assert sha(path) == digest
    with sqlite3.connect(world["db"]) as con:
        rows = con.execute("SELECT * FROM runs ORDER BY rowid LIMIT ?", (len(world["first"]),)).fetchall()
    assert rows == world["first"]


def _clean(text: str, world: dict) -> None:
    assert "Traceback" not in text, text
    bad = _DANGEROUS.search(text.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))
    assert not bad, repr(text[max(0, bad.start() - 200) : bad.end() + 50])
    assert not world["gt_values"] & set(re.split(r"[\s,()\[\]=]+", text)), "a GT value was printed"


@pytest.mark.parametrize("case", PAYLOADS, ids=[c.name for c in PAYLOADS])
def test_hostile_payload(case: Payload, world: dict, tmp_path: Path) -> None:
    folder = tmp_path / case.name
    case.build(folder, world["w"])
    rc, out, err, rss = run_cli(["score", str(folder), *case.args, "--budget-seconds", "60"], world["env"])
    with open(world["table"], "a") as log:
        log.write(f"{case.name}\t{rc}\t{rss:.0f}\n")
    _clean(out + err, world)
    _untouched(world)
    assert rss <= RSS_BOUND_MB, f"peak RSS {rss:.0f} MB"  # NaN (no figure) fails too
    if not case.ok:
        assert rc != 0, out + err
        if case.exit_code is not None:
            assert rc == case.exit_code, err
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, out + err
        assert any(word.lower() in errors[0].lower() for word in case.reason), errors[0]
        with sqlite3.connect(world["db"]) as con:
            status = con.execute("SELECT status FROM runs ORDER BY rowid DESC LIMIT 1").fetchone()[0]
        assert status == "failed"
        return
    assert rc == 0, err
    with sqlite3.connect(world["db"]) as con:
        con.row_factory = sqlite3.Row
        row = con.execute("SELECT * FROM runs ORDER BY rowid DESC LIMIT 1").fetchone()
    assert row["status"] == "ok" and row["is_baseline"] == 0  # a manifest cannot make itself a baseline
    board = run_cli(["leaderboard", "tiny-w20", "--all-runs"], world["env"])
    shown = run_cli(["show", row["run_id"]], world["env"])
    export = run_cli(["export"], world["env"])
    for rc2, out2, err2, _ in (board, shown, export):
        assert rc2 == 0, err2
        _clean(out2 + err2, world)
    name = row["submission"]
    if name.startswith("="):
        assert f"'{name}" in export[1] and f",{name}" not in export[1]  # formula guard
    else:
        assert name in board[1].replace("\n", "") or name[:20] in board[1]  # shown literally, not as markup
    line = next(ln for ln in board[1].splitlines() if row["run_id"] in ln)
    assert "baseline" not in line.split(row["run_id"])[1]


def test_markdown_escape_renders_plain() -> None:
    """What the app passes to st.markdown for a participant's description: no image, link or HTML survives."""
    from markdown_it import MarkdownIt

    from harness.submission.text import markdown_escape

    hostile = "![p](http://evil.example/pixel.png) [click](http://evil.example) <img src=x onerror=alert(1)> **bold** `x`"
    html = MarkdownIt("commonmark").render(markdown_escape(hostile))
    assert "<img" not in html and "<a " not in html and "<strong>" not in html and "<code>" not in html
    assert "evil.example" in html  # the text itself is still shown


def test_csv_cell_guards_formulas() -> None:
    from harness.submission.text import csv_cell

    assert [csv_cell(v) for v in ("=1+1", "+x", "-x", "@x", "\tx", "ok", 3.5)] == ["'=1+1", "'+x", "'-x", "'@x", "'\tx", "ok", 3.5]


def test_app_csv_download_guards_formulas() -> None:
    import pandas as pd

    from leaderboard_app.tables import to_csv

    text = to_csv(pd.DataFrame({"submission": ["=cmd|' /C calc'!A0", "fine"], "tau": [0.5, -0.1]})).decode()
    assert "'=cmd" in text and "\n=cmd" not in text and "-0.1" in text


# ------------------------------------------------------------------------------------ bad CLI input (item 7)
def test_device_checked_up_front(world: dict, tmp_path: Path) -> None:
    import torch

    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "submission.toml").write_text(manifest("predictions", name="device-check"))
    (folder / "predictions.csv").write_text(good_csv(world["w"]))
    with sqlite3.connect(world["db"]) as con:
        before = con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    devices = ["gpu", "cuda:x", "cuda:99"] + ([] if torch.cuda.is_available() else ["cuda"])
    for device in devices:
        rc, out, err, _ = run_cli(["score", str(folder), "--device", device], world["env"])
        assert rc == 2 and err.count("error:") == 1 and "Traceback" not in err, err
        assert "device" in err
    with sqlite3.connect(world["db"]) as con:
        assert con.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == before  # no run recorded


def test_read_commands_never_create_a_store(world: dict, tmp_path: Path) -> None:
    typo = tmp_path / "resluts"
    for args in (["leaderboard"], ["leaderboard", "tiny-w20"], ["show", "x"], ["export"], ["compare", "a", "b"]):
        rc, out, err, _ = run_cli([*args, "--store", str(typo)], world["env"])
        assert rc == 2 and "no results store" in err and "Traceback" not in err, (args, err)
    assert not typo.exists()


def test_unknown_run_and_trainer_file_messages(world: dict, tmp_path: Path) -> None:
    rc, out, err, _ = run_cli(["show", "no-such-run"], world["env"])
    assert rc == 2 and "no run" in err and err.count("error:") == 1
    trainer_py = tmp_path / "mine" / "trainer.py"
    trainer_py.parent.mkdir()
    trainer_py.write_text("def train(ctx):\n    return ctx.new_supernet()\n")
    rc, out, err, _ = run_cli(["score", str(trainer_py)], world["env"])
    assert rc == 2 and "is a file" in err and "submission folder" in err and str(trainer_py.parent) in err


def test_help_keeps_square_brackets(world: dict) -> None:
    rc, out, err, _ = run_cli(["score", "--help"], world["env"])
    assert rc == 0 and "[env NAS_HARNESS_STORE" in out and "cuda[:N]" in out
