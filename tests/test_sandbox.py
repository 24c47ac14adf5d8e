"""The trainer sandbox: a tiny trainer returns weights, and broken or hostile trainers fail with one line.

Each test runs a real child process on the tiny benchmark with a tiny budget. Isolation tests run in every mode
this machine supports (bwrap when usable, the fallback always), and once more with the child's Landlock and audit
layers switched off, to show that each kernel layer holds on its own where it is claimed to.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.benchmarks.registry import Budget
from harness.errors import BudgetExceededError, HarnessError, SubmissionError
from harness.submission import job as sandbox_job
from harness.submission import launcher
from harness.submission.landlock import abi_version

BWRAP_OK, BWRAP_WHY = launcher.bwrap_status()
MODES = ["fallback"] + (["bwrap"] if BWRAP_OK else [])
LANDLOCK = abi_version() > 0
MANIFEST = 'name = "{name}"\nauthors = ["tester"]\nbenchmark = "tiny-w20"\nkind = "trainer"\n'


def make_trainer(root: Path, source: str, name: str = "t") -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "submission.toml").write_text(MANIFEST.format(name=name))
    (folder / "trainer.py").write_text(source)
    return folder


def run(folder: Path, *, seconds: float = 90, memory_gb: float = 4, mode: str | None = None, **kw):
    from harness.benchmarks import get_benchmark
    from harness.submission import load_submission, run_trainer

    return run_trainer(load_submission(folder), get_benchmark("tiny-w20"), budget=Budget(1, seconds, memory_gb),
                       isolation=mode, **{"threads": 1, **kw})


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text
    return text


RETURN_FRESH = "def train(ctx):\n    return ctx.new_supernet()\n"


# ----------------------------------------------------------------------------------------------- success
@pytest.mark.parametrize("mode", MODES)
def test_tiny_trainer_returns_weights_and_progress(tiny_env, tmp_path: Path, mode: str) -> None:
    source = """
import os, torch
def train(ctx):
    assert sorted(os.listdir("in")) == ["train.pt"], os.listdir("in")  # only the training split is handed over
    assert ctx.train_x.shape[0] == 600 and ctx.num_classes == 10 and ctx.budget.epochs == 1
    net = ctx.new_supernet()
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    for step, (x, y) in enumerate(ctx.batches(100)):
        arch = ctx.space.sample(ctx.rng, 1)[0]
        loss = torch.nn.functional.cross_entropy(net(x, arch), y)
        opt.zero_grad(); loss.backward(); opt.step()
        ctx.progress((step + 1) / ctx.steps_per_epoch(100), f"step {step}")
    assert ctx.time_left() > 0
    return net
"""
    folder = make_trainer(tmp_path, source)
    seen: list[tuple[float, str]] = []
    state = run(folder, mode=mode, progress=lambda e: seen.append((e.done, e.message)))
    from reference_nets.resnet20_width import WidthSuperNet

    ref = WidthSuperNet(1, 1, 10)
    ref.load_state_dict(state, strict=True)
    assert not torch.equal(state["stem.weight"], WidthSuperNet(1, 1, 10).state_dict()["stem.weight"])
    assert any(f == 1.0 for f, _ in seen), seen
    assert any(m.startswith("step") for _, m in seen)


def test_fallback_runs_when_bwrap_is_missing(tiny_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launcher.shutil, "which", lambda name: None)
    launcher.bwrap_status.cache_clear()
    try:
        assert launcher.bwrap_status() == (False, "bwrap is not installed")
        assert launcher.isolation_mode("auto") == "fallback"
        with pytest.raises(HarnessError, match="bwrap"):
            launcher.isolation_mode("bwrap")
        state = run(make_trainer(tmp_path, RETURN_FRESH))
        assert "fc.weight" in state
    finally:
        launcher.bwrap_status.cache_clear()


def test_fallback_runs_when_bwrap_cannot_create_namespaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(launcher.shutil, "which", lambda name: str(fake))
    launcher.bwrap_status.cache_clear()
    try:
        usable, why = launcher.bwrap_status()
        assert not usable and "namespace" in why
        assert launcher.isolation_mode(None) == "fallback"
    finally:
        launcher.bwrap_status.cache_clear()


# ----------------------------------------------------------------------------------------------- failures
def test_trainer_past_budget_is_killed(tiny_env, tmp_path: Path) -> None:
    folder = make_trainer(tmp_path, "import time\ndef train(ctx):\n    while True:\n        time.sleep(0.2)\n")
    t0 = time.monotonic()
    with pytest.raises(BudgetExceededError) as info:
        run(folder, seconds=6)
    assert time.monotonic() - t0 < 20
    assert "time budget of 6 s" in one_line(info.value)


def test_crashing_trainer_reports_the_last_line(tiny_env, tmp_path: Path) -> None:
    folder = make_trainer(tmp_path, "def helper():\n    raise RuntimeError('boom at step 7')\n\ndef train(ctx):\n    helper()\n")
    with pytest.raises(SubmissionError) as info:
        run(folder)
    msg = one_line(info.value)
    assert "RuntimeError: boom at step 7" in msg and "trainer.py, line 2" in msg


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("import os\ndef train(ctx):\n    os._exit(3)\n", ("exited with code 3",)),
        ("import definitely_not_installed_pkg\ndef train(ctx):\n    pass\n", ("failed to import", "definitely_not_installed_pkg")),
        ("def fit(ctx):\n    pass\n", ("no train(ctx)",)),
        ("def train(ctx):\n    return 42\n", ("returned int",)),
        ("import sys\ndef train(ctx):\n    sys.exit(2)\n", ("sys.exit(2)",)),
        ("import torch\ndef train(ctx):\n    net = ctx.new_supernet()\n    with torch.no_grad():\n        net.fc.weight.fill_(float('nan'))\n    return net\n",
         ("non-finite", "fc.weight")),
    ],
    ids=["exit-midway", "missing-package", "no-train", "not-a-module", "sys-exit", "nan-weights"],
)
def test_broken_trainers_fail_with_one_line(tiny_env, tmp_path: Path, source: str, words: tuple[str, ...]) -> None:
    with pytest.raises(SubmissionError) as info:
        run(make_trainer(tmp_path, source))
    msg = one_line(info.value)
    assert all(w in msg for w in words), msg


def test_memory_hog_fails_on_its_budget(tiny_env, tmp_path: Path) -> None:
    source = "def train(ctx):\n    hog = []\n    while True:\n        hog.append(bytearray(256 * 1024 * 1024))\n"
    with pytest.raises(SubmissionError) as info:
        run(make_trainer(tmp_path, source), memory_gb=3, seconds=60)
    assert "memory" in one_line(info.value)


def _our_processes(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(int(pid))
            except OSError:
                pass
    return found


@pytest.mark.parametrize("mode", MODES)
def test_fork_bomb_is_stopped_and_cleaned_up(tiny_env, tmp_path: Path, mode: str) -> None:
    source = (
        "import os, time\ndef train(ctx):\n    for _ in range(1500):\n        if os.fork() == 0:\n"
        "            os.setsid()\n            time.sleep(300)\n            os._exit(0)\n    return ctx.new_supernet()\n"
    )
    scratch = tmp_path / "scratch-forks"
    scratch.mkdir()
    with pytest.raises(SubmissionError) as info:
        run(make_trainer(tmp_path, source), seconds=30, mode=mode, scratch=scratch)
    assert "process" in one_line(info.value) or "fork" in str(info.value)
    time.sleep(0.3)
    assert _our_processes(str(scratch)) == [], "forked children survived the run"


# ------------------------------------------------------------------------------------------- isolation
LAYER_SETS = [pytest.param("", id="all-layers"), pytest.param("audit", id="kernel-only")]


def _isolation_params() -> list:
    params = []
    for mode in MODES:
        for layers in LAYER_SETS:
            if mode == "fallback" and layers.values[0] == "audit" and not LANDLOCK:
                continue  # without Landlock the fallback's file policy is the audit hook alone (documented)
            params.append(pytest.param(mode, layers.values[0], id=f"{mode}-{layers.id}"))
    return params


@pytest.mark.parametrize(("mode", "disabled"), _isolation_params())
def test_trainer_cannot_read_or_write_outside_scratch_or_reach_the_network(
    tiny_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str, disabled: str
) -> None:
    monkeypatch.setenv(sandbox_job.DISABLE_ENV, disabled)
    secret = tmp_path / "fake-gt.h5"
    secret.write_text("0.123456789 secret accuracy")
    outside = tmp_path / "outside.txt"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.5)
    received: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                received.append(conn.recv(100))
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    source = f"""
import socket
def attempt(fn):
    try:
        fn()
    except OSError as exc:
        return type(exc).__name__
    return "ALLOWED"

def train(ctx):
    results = [
        attempt(lambda: open({str(secret)!r}).read()),
        attempt(lambda: open({str(outside)!r}, "w").write("pwned")),
        attempt(lambda: socket.create_connection(("127.0.0.1", {listener.getsockname()[1]}), timeout=3).sendall(b"leak")),
    ]
    open("scratch-is-writable.txt", "w").write("ok")
    if "ALLOWED" in results:
        raise RuntimeError("escaped: " + ",".join(results))
    return ctx.new_supernet()
"""
    try:
        state = run(make_trainer(tmp_path, source), mode=mode)
    finally:
        stop.set()
        listener.close()
        thread.join(2)
    assert "stem.weight" in state
    assert not outside.exists()
    assert received == []


def test_reading_the_gt_file_fails_with_a_clear_line(tiny_env, tmp_path: Path) -> None:
    from harness.benchmarks import get_benchmark

    gt = get_benchmark("tiny-w20").gt_path()
    source = f"def train(ctx):\n    open({str(gt)!r}, 'rb').read()\n"
    with pytest.raises(SubmissionError) as info:
        run(make_trainer(tmp_path, source))
    assert "hidden from submissions" in one_line(info.value) or "Permission" in str(info.value)


# --------------------------------------------------------------------------------------- custom modules
HONEST_MODULE = """
import torch
from torch import nn

class Routed(nn.Module):
    '''Two copies of the supernet, routed by the first width (a tiny version of weight splitting).'''
    def __init__(self, make):
        super().__init__()
        self.copies = nn.ModuleList([make(), make()])
    def forward(self, x, arch):
        first = int(arch.split("-")[0])
        return self.copies[0 if first <= 8 else 1](x, arch)

def train(ctx):
    return Routed(ctx.new_supernet)
"""

WIDER_MODULE = """
from torch import nn
from reference_nets.resnet20_width import as_widths

class Wider(nn.Module):
    def __init__(self, base):
        super().__init__()
        self.base = base
    def forward(self, x, arch):
        w = [min(c + 4, m) if c <= 8 else c for c, m in zip(as_widths(arch), (16,) * 7 + (32,) * 6 + (64,) * 7)]
        return self.base(x, "-".join(map(str, w)))

def train(ctx):
    return Wider(ctx.new_supernet())
"""


def test_custom_module_comes_back_as_a_handle_and_evaluates_in_the_sandbox(tiny_env, tmp_path: Path) -> None:
    from harness.benchmarks import get_benchmark
    from harness.submission import SubnetModuleHandle

    bench = get_benchmark("tiny-w20")
    handle = run(make_trainer(tmp_path, HONEST_MODULE))
    assert isinstance(handle, SubnetModuleHandle)
    assert any(k.startswith("copies.1.") for k in handle.state_dict())
    archs = bench.archs()[:4]
    acc = handle.evaluate(bench, archs, seconds=120)
    assert acc.shape == (4,) and ((acc >= 0) & (acc <= 1)).all()
    handle.close()
    assert handle.workdir is not None and not handle.workdir.exists()


def test_module_with_wider_subnets_is_refused(tiny_env, tmp_path: Path) -> None:
    with pytest.raises(SubmissionError) as info:
        run(make_trainer(tmp_path, WIDER_MODULE))
    assert "parameters" in one_line(info.value) and "the space counts" in str(info.value)


LOCAL_CLASS = """
from torch import nn

def make(space_or_ctx_factory):
    class Local(nn.Module):  # defined inside a function: cannot be pickled
        def __init__(self, base):
            super().__init__()
            self.base = base
        def forward(self, x, arch):
            return self.base(x, arch)
    return Local(space_or_ctx_factory())

def train(ctx):
    return make(ctx.new_supernet)
"""


def test_unpicklable_module_needs_build_supernet(tiny_env, tmp_path: Path) -> None:
    from harness.benchmarks import get_benchmark
    from harness.submission import SubnetModuleHandle

    with pytest.raises(SubmissionError) as info:
        run(make_trainer(tmp_path, LOCAL_CLASS, "no-build"))
    assert "build_supernet(space)" in one_line(info.value)

    rebuildable = LOCAL_CLASS + (
        "\nfrom reference_nets.resnet20_width import WidthSuperNet\n\n"
        "def build_supernet(space):\n    return make(lambda: WidthSuperNet(1, space.in_channels, space.num_classes))\n"
    )
    handle = run(make_trainer(tmp_path, rebuildable, "with-build"))
    assert isinstance(handle, SubnetModuleHandle) and handle.module["kind"] == "build"
    bench = get_benchmark("tiny-w20")
    acc = handle.evaluate(bench, bench.archs()[:2], seconds=120)
    assert acc.shape == (2,)


def test_scratch_quota(tiny_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launcher, "MAX_SCRATCH_BYTES", 20 * 1024**2)
    monkeypatch.setattr(launcher, "SCRATCH_CHECK_S", 0.5)
    source = "import time\ndef train(ctx):\n    open('big.bin', 'wb').write(b'x' * 40 * 1024 * 1024)\n    time.sleep(60)\n"
    with pytest.raises(BudgetExceededError) as info:
        run(make_trainer(tmp_path, source), seconds=60)
    assert "scratch folder" in one_line(info.value)


@pytest.mark.parametrize("mode", MODES)
def test_sandbox_dies_with_a_killed_harness(tiny_env, tmp_path: Path, mode: str) -> None:
    """kill -9 of the harness process: the trainer does not live on (bwrap: --die-with-parent; fallback: watchdog)."""
    import signal
    import subprocess
    import sys

    folder = make_trainer(tmp_path, "import time\ndef train(ctx):\n    time.sleep(120)\n")
    scratch = tmp_path / "scratch-orphan"
    scratch.mkdir()
    script = (
        "import sys; sys.path.insert(0, %r)\n"
        "from test_sandbox import run\n"
        "from pathlib import Path\n"
        "run(Path(%r), seconds=120, mode=%r, scratch=Path(%r))\n"
    ) % (str(Path(__file__).parent), str(folder), mode, str(scratch))
    harness = subprocess.Popen([sys.executable, "-c", script], env=tiny_env, start_new_session=True)
    deadline = time.monotonic() + 60
    while not _our_processes(str(scratch)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _our_processes(str(scratch)), "the sandbox did not start"
    time.sleep(1.0)
    harness.send_signal(signal.SIGKILL)
    harness.wait()
    deadline = time.monotonic() + 15
    while _our_processes(str(scratch)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _our_processes(str(scratch)) == []


# ------------------------------------------------------------------------------------ reference trainers
@pytest.mark.parametrize("name", ["spos", "fairnas", "sandwich_kd", "calr_ms", "progressive"])
def test_reference_trainers_train_on_the_tiny_benchmark(tiny_env, tmp_path: Path, name: str) -> None:
    """Each shipped trainer runs in the sandbox (1 epoch on the tiny benchmark: a handful of steps), changes the
    weights, and its supernet evaluates to finite accuracies on a few archs."""
    import shutil

    from harness.benchmarks import get_benchmark
    from harness.evaluation import evaluate
    from reference_nets.resnet20_width import WidthSuperNet

    repo = Path(__file__).resolve().parents[1]
    folder = tmp_path / name
    shutil.copytree(repo / "submissions" / name, folder)
    manifest = folder / "submission.toml"
    manifest.write_text(manifest.read_text().replace('benchmark = "mnist1d-w20"', 'benchmark = "tiny-w20"'))
    result = run(folder, seconds=240)
    bench = get_benchmark("tiny-w20")
    assert isinstance(result, dict)
    if name == "progressive":  # the harness's few-shot supernet: plain data (1 epoch reaches the first split only)
        positions = result["split_positions"].tolist()
        assert positions in ([0], [0, 1])
        n = 4 ** len(positions)
        assert sum(k.endswith(".stem.weight") for k in result) == n
        assert not torch.equal(result["copies.0.stem.weight"], result[f"copies.{n - 1}.stem.weight"])
    else:
        fresh = WidthSuperNet(1, 1, 10).state_dict()
        assert any(not torch.equal(result[k], fresh[k]) for k in fresh if fresh[k].is_floating_point())
    acc = evaluate(result, bench, bench.archs()[:6], progress=False)
    assert np.array_equal(acc, evaluate(result, bench, bench.archs()[:6], evaluator="reference", progress=False))
    assert np.isfinite(acc).all() and ((acc >= 0) & (acc <= 1)).all(), acc
