"""Submission folders (manifest, payload, content hash) and safe checkpoint loading."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import torch

from harness.errors import ManifestError, SubmissionError
from harness.submission import load_checkpoint, load_submission
from harness.submission.folder import content_hash

REPO = Path(__file__).resolve().parents[1]


def manifest(kind: str = "predictions", benchmark: str = "tiny-w20", **extra: str) -> str:
    lines = [f'name = "sub"', 'authors = ["a", "b"]', f'benchmark = "{benchmark}"', f'kind = "{kind}"', 'description = "d"']
    lines += [f"{k} = {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def folder(root: Path, files: dict[str, str | bytes], name: str = "sub") -> Path:
    path = root / name
    path.mkdir()
    for rel, content in files.items():
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content) if isinstance(content, bytes) else target.write_text(content)
    return path


def manifest_error(path: Path) -> str:
    with pytest.raises(ManifestError) as info:
        load_submission(path)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


# ------------------------------------------------------------------------------------------------ manifest
def test_valid_submission(tiny_env, tmp_path: Path) -> None:
    sub = load_submission(folder(tmp_path, {"submission.toml": manifest(seed="3"), "predictions.csv": "arch,score\n"}))
    assert sub.kind == "predictions" and sub.manifest.authors == ["a", "b"] and sub.manifest.benchmark == "tiny-w20"
    assert sub.payload_path.name == "predictions.csv" and len(sub.content_hash) == 64
    assert sub.manifest.extra == {"seed": 3} and sub.manifest.as_dict()["seed"] == 3


def test_missing_manifest(tiny_env, tmp_path: Path) -> None:
    assert "no submission.toml" in manifest_error(folder(tmp_path, {"trainer.py": ""}))


def test_missing_folder(tmp_path: Path) -> None:
    assert "does not exist" in manifest_error(tmp_path / "nothing")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("name = [unclosed\n", "malformed TOML"),
        ('name = "x"\nkind = "trainer"\nbenchmark = "tiny-w20"\nname = "again"\n', "malformed TOML"),
        ('kind = "trainer"\nbenchmark = "tiny-w20"\n', "missing required key 'name'"),
        ('name = "x"\nbenchmark = "tiny-w20"\n', "missing required key 'kind'"),
        ('name = "x"\nkind = "trainer"\n', "missing required key 'benchmark'"),
        ('name = 3\nkind = "trainer"\nbenchmark = "tiny-w20"\n', "'name' must be a non-empty string"),
        ('name = "x"\nkind = "trainer"\nbenchmark = "tiny-w20"\nauthors = [1]\n', "'authors'"),
        ('name = "x"\nkind = "trainer"\nbenchmark = "tiny-w20"\nbaseline = "yes"\n', "'baseline'"),
    ],
    ids=["syntax", "duplicate-key", "no-name", "no-kind", "no-benchmark", "name-type", "authors-type", "baseline-type"],
)
def test_malformed_manifests(tiny_env, tmp_path: Path, text: str, words: str) -> None:
    assert words in manifest_error(folder(tmp_path, {"submission.toml": text, "trainer.py": ""}))


def test_binary_manifest(tiny_env, tmp_path: Path) -> None:
    assert "not UTF-8" in manifest_error(folder(tmp_path, {"submission.toml": b"\xff\xfe\x00junk"}))


def test_unknown_benchmark_and_kind(tiny_env, tmp_path: Path) -> None:
    msg = manifest_error(folder(tmp_path, {"submission.toml": manifest(benchmark="no-such-bench"), "predictions.csv": ""}, "a"))
    assert "unknown benchmark 'no-such-bench'" in msg and "tiny-w20" in msg
    msg = manifest_error(folder(tmp_path, {"submission.toml": manifest(kind="telepathy"), "trainer.py": ""}, "b"))
    assert "unknown kind 'telepathy'" in msg and "trainer, checkpoint, predictions" in msg


@pytest.mark.parametrize(
    ("kind", "files", "words"),
    [
        ("trainer", {}, "needs trainer.py"),
        ("checkpoint", {"weights.bin": b"x"}, "needs checkpoint.pt"),
        ("predictions", {}, "needs predictions.csv"),
        ("predictions", {"predictions.csv": "", "predictions.json": "{}"}, "several predictions files"),
    ],
)
def test_missing_or_ambiguous_payload(tiny_env, tmp_path: Path, kind: str, files: dict, words: str) -> None:
    assert words in manifest_error(folder(tmp_path, {"submission.toml": manifest(kind), **files}))


def test_manifest_file_key(tiny_env, tmp_path: Path) -> None:
    ok = folder(tmp_path, {"submission.toml": manifest("predictions", file='"out/scores.json"'), "out/scores.json": "{}"}, "ok")
    assert load_submission(ok).payload_path.name == "scores.json"
    assert "not in the folder" in manifest_error(folder(tmp_path, {"submission.toml": manifest(file='"gone.csv"')}, "gone"))
    assert "outside the submission folder" in manifest_error(
        folder(tmp_path, {"submission.toml": manifest(file='"../ok/out/scores.json"')}, "escape")
    )


def test_symlink_out_of_the_folder_is_refused(tiny_env, tmp_path: Path) -> None:
    secret = tmp_path / "gt.h5"
    secret.write_bytes(b"secret")
    sub = folder(tmp_path, {"submission.toml": manifest()})
    (sub / "predictions.csv").symlink_to(secret)
    assert "symlink pointing outside" in manifest_error(sub)


def test_oversized_submission(tiny_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAS_HARNESS_MAX_SUBMISSION_MB", "1")
    sub = folder(tmp_path, {"submission.toml": manifest()})
    with (sub / "predictions.csv").open("wb") as f:
        f.truncate(3 * 1024**2)
    msg = manifest_error(sub)
    assert "too large" in msg and "limit" in msg


def test_content_hash_covers_paths_and_bytes_and_ignores_caches(tiny_env, tmp_path: Path) -> None:
    sub = folder(tmp_path, {"submission.toml": manifest(), "predictions.csv": "a", "notes/x.txt": "1"})
    first = content_hash(sub)
    (sub / "__pycache__").mkdir()
    (sub / "__pycache__" / "trainer.cpython-311.pyc").write_bytes(b"cache")
    assert content_hash(sub) == first == load_submission(sub).content_hash
    (sub / "notes" / "x.txt").write_text("2")
    assert content_hash(sub) != first
    (sub / "notes" / "x.txt").write_text("1")
    (sub / "notes" / "x.txt").rename(sub / "notes" / "y.txt")
    assert content_hash(sub) != first


@pytest.mark.parametrize("name", ["spos", "fairnas", "sandwich_kd", "calr_ms", "progressive", "params_proxy", "random"])
def test_reference_submissions_load(name: str) -> None:
    sub = load_submission(REPO / "submissions" / name)
    assert sub.manifest.benchmark == "mnist1d-w20"
    assert sub.kind == ("predictions" if name in ("params_proxy", "random") else "trainer")


# ---------------------------------------------------------------------------------------------- checkpoints
class CodePayload:
    """Unpickling this would run a shell command that creates a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: D105
        return (os.system, (f"touch {self.marker}",))


def save(obj: object, path: Path) -> Path:
    torch.save(obj, path)
    return path


def reference_state() -> dict[str, torch.Tensor]:
    from reference_nets.resnet20_width import WidthSuperNet

    return WidthSuperNet(1, 1, 10).state_dict()


@pytest.fixture()
def bench(tiny_env):
    from harness.benchmarks import get_benchmark

    return get_benchmark("tiny-w20")


def checkpoint_error(path: Path, bench) -> str:
    with pytest.raises(SubmissionError) as info:
        load_checkpoint(path, bench)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_state_dict_and_wrapped_state_dict_load(bench, tmp_path: Path) -> None:
    state = reference_state()
    loaded = load_checkpoint(save(state, tmp_path / "a.pt"), bench)
    assert loaded.keys() == state.keys() and all(torch.equal(loaded[k], state[k]) for k in state)
    wrapped = load_checkpoint(save({"state_dict": state, "epoch": 3}, tmp_path / "b.pt"), bench)
    assert wrapped.keys() == state.keys()
    prefixed = load_checkpoint(save({f"module.{k}": v for k, v in state.items()}, tmp_path / "c.pt"), bench)
    assert prefixed.keys() == state.keys()
    half = load_checkpoint(save({k: v.half() if v.is_floating_point() else v for k, v in state.items()}, tmp_path / "d.pt"), bench)
    assert half["stem.weight"].dtype == torch.float32


def test_code_carrying_pickle_is_refused_and_not_executed(bench, tmp_path: Path) -> None:
    marker = tmp_path / "payload-ran"
    msg = checkpoint_error(save(CodePayload(marker), tmp_path / "evil.pt"), bench)
    assert "refused" in msg and "weights_only" in msg
    assert not marker.exists()
    # the same payload as a plain (non-zip) pickle, and nested inside a state dict
    import pickle

    plain = tmp_path / "evil.pkl"
    plain.write_bytes(pickle.dumps(CodePayload(marker)))
    assert "refused" in checkpoint_error(plain, bench)
    nested = save({**reference_state(), "extra": CodePayload(marker)}, tmp_path / "nested.pt")
    assert "refused" in checkpoint_error(nested, bench)
    assert not marker.exists()


def test_wrong_shapes_missing_and_unexpected_keys(bench, tmp_path: Path) -> None:
    state = reference_state()
    wrong = dict(state, **{"fc.weight": torch.zeros(10, 12)})
    msg = checkpoint_error(save(wrong, tmp_path / "w.pt"), bench)
    assert "wrong shape" in msg and "fc.weight (10, 12) (expected (10, 64))" in msg
    missing = {k: v for k, v in state.items() if not k.startswith("blocks.8")}
    msg = checkpoint_error(save(missing, tmp_path / "m.pt"), bench)
    assert "missing key(s)" in msg and "blocks.8." in msg
    extra = dict(state, **{"head.weight": torch.zeros(3)})
    assert "1 unexpected key(s): head.weight" in checkpoint_error(save(extra, tmp_path / "u.pt"), bench)


def test_nan_weights_and_non_tensors(bench, tmp_path: Path) -> None:
    state = reference_state()
    state["stem.weight"] = torch.full_like(state["stem.weight"], float("nan"))
    assert "non-finite" in checkpoint_error(save(state, tmp_path / "nan.pt"), bench)
    assert "not a state dict" in checkpoint_error(save([1, 2, 3], tmp_path / "list.pt"), bench)
    assert "not tensors" in checkpoint_error(save(dict(reference_state(), note="hi"), tmp_path / "s.pt"), bench)


def test_truncated_empty_and_garbage_files(bench, tmp_path: Path) -> None:
    buf = io.BytesIO()
    torch.save(reference_state(), buf)
    data = buf.getvalue()
    truncated = tmp_path / "t.pt"
    truncated.write_bytes(data[: len(data) // 3])
    assert "truncated or corrupt" in checkpoint_error(truncated, bench)
    empty = tmp_path / "e.pt"
    empty.write_bytes(b"")
    assert "empty" in checkpoint_error(empty, bench)
    garbage = tmp_path / "g.pt"
    garbage.write_bytes(b"garbage" * 100)
    assert "refused" in checkpoint_error(garbage, bench) or "corrupt" in checkpoint_error(garbage, bench)


def test_oversized_checkpoint(bench, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NAS_HARNESS_MAX_CHECKPOINT_MB", "0.001")
    assert "too large" in checkpoint_error(save(reference_state(), tmp_path / "big.pt"), bench)


SUPERNET_PY = """
from pathlib import Path
from torch import nn
from reference_nets.resnet20_width import WidthSuperNet

try:  # module code runs only inside the sandbox, where this path is not writable
    Path({marker!r}).write_text("ran outside the sandbox")
except OSError:
    pass

class Doubled(nn.Module):
    def __init__(self, space):
        super().__init__()
        self.a = WidthSuperNet(1, space.in_channels, space.num_classes)
        self.b = WidthSuperNet(1, space.in_channels, space.num_classes)
    def forward(self, x, arch):
        return (self.a if int(arch.split("-")[0]) <= 8 else self.b)(x, arch)

def build_supernet(space):
    return Doubled(space)
"""


def test_checkpoint_with_its_own_module_runs_only_in_the_sandbox(bench, tmp_path: Path) -> None:
    from harness.submission import SubnetModuleHandle
    from reference_nets.resnet20_width import WidthSuperNet

    marker = tmp_path / "module-code-ran"
    sub = folder(tmp_path, {"submission.toml": manifest("checkpoint"), "supernet.py": SUPERNET_PY.format(marker=str(marker))})
    state = {f"{p}.{k}": v for p in ("a", "b") for k, v in WidthSuperNet(1, 1, 10).state_dict().items()}
    save(state, sub / "checkpoint.pt")
    handle = load_checkpoint(load_submission(sub).payload_path, bench)
    assert isinstance(handle, SubnetModuleHandle)
    assert not marker.exists()  # nothing of supernet.py ran in the harness process
    acc = handle.evaluate(bench, bench.archs()[:3], seconds=120)
    assert acc.shape == (3,) and ((acc >= 0) & (acc <= 1)).all()
    assert not marker.exists()

    # weights that do not fit the module are reported from inside the sandbox, in one line
    save({k: v for k, v in state.items() if not k.startswith("b.")}, sub / "checkpoint.pt")
    with pytest.raises(SubmissionError) as info:
        load_checkpoint(sub / "checkpoint.pt", bench).evaluate(bench, bench.archs()[:2], seconds=120)
    assert "does not fit the module" in str(info.value) and "missing key(s)" in str(info.value)


SAME_AS_REFERENCE_PY = """
from reference_nets.resnet20_width import WidthSuperNet

class Same(WidthSuperNet):  # a class of its own, so the harness evaluates it in the sandbox
    pass

def build_supernet(space):
    return Same(1, space.in_channels, space.num_classes)
"""


def test_sandboxed_module_predicts_exactly_as_the_reference_loop(bench, tmp_path: Path) -> None:
    """One per-arch loop and one cut of the calibration batches on both sides of the sandbox: a module of the
    submission's own class that computes what the reference supernet computes gets the reference loop's
    accuracies bit for bit (both in one torch thread: the sandbox's default)."""
    import numpy as np

    from harness.evaluation import evaluate
    from reference_nets.resnet20_width import WidthSuperNet

    torch.manual_seed(3)
    state = WidthSuperNet(1, 1, 10).state_dict()
    sub = folder(tmp_path, {"submission.toml": manifest("checkpoint"), "supernet.py": SAME_AS_REFERENCE_PY})
    save(state, sub / "checkpoint.pt")
    archs = bench.archs()[:4]
    got = load_checkpoint(load_submission(sub).payload_path, bench).evaluate(bench, archs, seconds=120, threads=1)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        want = evaluate(state, bench, archs, evaluator="reference", progress=False)
    finally:
        torch.set_num_threads(threads)
    assert got.dtype == want.dtype == np.float64
    np.testing.assert_array_equal(got, want)


def test_sandboxed_module_gets_the_protocols_calibration_batches_or_none(bench, tmp_path: Path) -> None:
    """A calib split too short for ``calib_batches x calib_batch_size`` is refused as it is by the harness's own
    evaluators, never silently cut to fewer or smaller batches (before any sandbox starts)."""
    from dataclasses import replace

    from harness.errors import DataError
    from harness.evaluation import evaluate

    sub = folder(tmp_path, {"submission.toml": manifest("checkpoint"), "supernet.py": SAME_AS_REFERENCE_PY})
    save(reference_state(), sub / "checkpoint.pt")
    short = replace(bench, protocol=replace(bench.protocol, calib_batches=3))  # 3 x 32 > the 64 calib samples
    archs = bench.archs()[:2]
    with pytest.raises(DataError, match="calib split has 64 samples"):
        load_checkpoint(load_submission(sub).payload_path, bench).evaluate(short, archs, seconds=120)
    with pytest.raises(DataError, match="calib split has 64 samples"):
        evaluate(reference_state(), short, archs, evaluator="reference", progress=False)
