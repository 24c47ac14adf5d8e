"""The one progress protocol (harness/progress.py): library steps report ProgressEvent values and never draw;
the CLI's rich views (harness/cli/progress_view.py) are the only renderers."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import numpy as np
from rich.console import Console

from harness.progress import Counter, LogProgress, ProgressEvent, fractions, resolve, restage, silent

ROOT = Path(__file__).resolve().parents[1]
#: rich modules that draw (a console, a live display); rich.markup (escaping) is fine anywhere
DRAWING = ("rich.console", "rich.progress", "rich.live", "rich.status", "rich.table")
#: where drawing is allowed: the CLI packages (the Streamlit app draws with its own widgets)
RENDERERS = ("harness/cli/", "harness/challenge/cli.py")


def _rich_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        found += [n for n in names if n.startswith(DRAWING)]
    return found


def test_no_library_module_draws() -> None:
    offenders = {}
    for path in sorted((ROOT / "harness").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(RENDERERS):
            continue
        if found := _rich_imports(path):
            offenders[rel] = found
    assert offenders == {}, f"library modules that draw (report ProgressEvent values instead): {offenders}"


def test_resolve_and_adapters() -> None:
    seen: list[ProgressEvent] = []
    assert resolve(seen.append) == seen.append
    assert resolve(False) is silent and resolve(None) is silent and isinstance(resolve(True), LogProgress)
    restage(seen.append, "evaluate GT archs")(ProgressEvent("evaluating x (fast)", 3, 4, "3/4 subnets"))
    report = fractions(seen.append, "train")
    assert report is not None and fractions(None, "train") is None
    report(1.5, "epoch 2/2")
    Counter(seen.append, "cells", 2, "cells").advance()
    assert seen == [ProgressEvent("evaluate GT archs", 3, 4, "3/4 subnets"), ProgressEvent("train", 1.5, 1.0, "epoch 2/2"),
                    ProgressEvent("cells", 1, 2, "1/2 cells")]
    assert [e.fraction for e in seen] == [0.75, 1.0, 0.5] and ProgressEvent("x", 3, None).fraction is None


def test_evaluate_reports_counted_subnets() -> None:
    from harness.evaluation import evaluate
    from test_fast_evaluator import fake_bench, random_supernet

    bench = fake_bench(1, size=40, n_eval=40)
    archs = bench.space.sample_unique(np.random.default_rng(3), 5)
    seen: list[ProgressEvent] = []
    scores = evaluate(random_supernet(1, 1, 10, seed=11), bench, archs, evaluator="reference", progress=seen.append)
    assert np.array_equal(scores, evaluate(random_supernet(1, 1, 10, seed=11), bench, archs, evaluator="reference", progress=False))
    assert [e.done for e in seen] == [1, 2, 3, 4, 5] and {e.total for e in seen} == {5}
    assert seen[-1].message == "5/5 subnets" and seen[-1].fraction == 1.0


def test_the_cli_view_logs_lines_when_not_a_terminal() -> None:
    from harness.cli.progress_view import stage_bars

    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    with stage_bars(console) as show:
        show(ProgressEvent("train", 0.25, 1.0, "epoch 1/4"))
        show(ProgressEvent("train", 0.27, 1.0, "step"))  # within 30 s and the same 10 % step: not logged
        show(ProgressEvent("train", 0.5, 1.0, "epoch 2/4"))  # another 10 % step: logged
        show(ProgressEvent("train", 1.0, 1.0, "epoch 4/4"))  # a stage's end is always logged
    assert [line for line in out.getvalue().splitlines() if line] == ["train: 25% epoch 1/4", "train: 50% epoch 2/4",
                                                                      "train: 100% epoch 4/4"]


def test_line_throttle_every_tenth_or_30_seconds_and_heartbeat() -> None:
    from harness.cli.progress_view import line_view
    from harness.progress import LineThrottle

    now = [0.0]
    t = LineThrottle(clock=lambda: now[0])
    due = []
    for i in range(101):  # one event per 1 % and per second
        now[0] = float(i)
        due.append(t.due(ProgressEvent("s", i, 100)))
    logged = [i for i, d in enumerate(due) if d]
    assert logged == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    slow = LineThrottle(clock=lambda: now[0])
    now[0] = 0.0
    assert slow.due(ProgressEvent("u", 1, None))
    now[0] = 29.0
    assert not slow.due(ProgressEvent("u", 2, None))
    now[0] = 30.0
    assert slow.due(ProgressEvent("u", 3, None)) and slow.stale(59.0) == [] and slow.stale(60.0) == ["u"]
    assert slow.due(ProgressEvent("seeds", 3, 3)) and slow.due(ProgressEvent("seeds", 0, 3))  # started over

    out = io.StringIO()
    with line_view(Console(file=out, force_terminal=False, width=200), throttle=LineThrottle(every_s=0.2),
                   poll_s=0.05) as show:
        show(ProgressEvent("train", 0.3, 1.0, "[bold]epoch[/] 1"))
        import time

        time.sleep(0.5)
    lines = out.getvalue().splitlines()
    assert lines[0] == "train: 30% [bold]epoch[/] 1"  # no markup interpreted
    assert any("still running" in ln for ln in lines[1:])


def test_one_alignment_for_full_and_gt_only_runs() -> None:
    """harness.gt.align: what `compare`, the seed groups and the app's per-arch frame all read."""
    import pytest

    from harness.errors import HarnessError
    from harness.gt.align import split_scores
    from harness.gt.gt_file import GroundTruth

    gt = GroundTruth(archs=["c", "a", "b"], acc=np.zeros((3, 1)), params=np.zeros(3), flops=np.zeros(3),
                     splits={"dev": np.array([0, 2]), "test": np.array([1])}, attrs={"seeds": [0]})
    full = ["a", "b", "c", "d"]
    scores = np.array([1.0, 2.0, 3.0, 4.0])
    assert split_scores(full, scores, gt, "dev").tolist() == [3.0, 2.0]
    assert split_scores(["b", "c"], np.array([2.0, 3.0]), gt, "dev").tolist() == [3.0, 2.0]  # a GT-only run
    with pytest.raises(HarnessError, match="lack some GT archs"):
        split_scores(["a", "b"], np.array([1.0, 2.0]), gt, "dev")
