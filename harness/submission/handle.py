"""``SubnetModuleHandle``: a supernet module that belongs to a submission and only ever runs in the sandbox.

Why a handle instead of an ``nn.Module``: a custom module is code. Rebuilding it in the harness process (by
unpickling it or importing ``supernet.py``) would run a stranger's code next to the GT and the results store. The
handle keeps the module's files, and evaluation runs inside a fresh sandbox: the harness sends the calibration
batches and the evaluation *inputs* (never their labels), the sandbox recalibrates BN per subnet (precise BN),
predicts a class for every evaluation sample, and checks a sample of subnets for the #params the space says;
the harness computes the accuracies itself.
"""

from __future__ import annotations

import json
import shutil
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from harness.config import sandbox_threads
from harness.errors import SubmissionError
from harness.progress import ProgressCallback, fractions
from harness.submission.isolation import run_job
from harness.submission.job import make_scratch, remove_tree
from harness.submission.launcher import isolation_mode
from harness.submission.policy import make_policy

if TYPE_CHECKING:
    from harness.benchmarks import Benchmark
    from harness.benchmarks.registry import Budget
    from harness.submission.folder import Submission

#: wall-clock limit of one evaluation sandbox when none is given (50k subnets with the plain loop on CPU)
DEFAULT_EVAL_SECONDS = 6 * 3600.0
#: subnets of each evaluation checked for the space's #params (smallest, largest and random others)
DEFAULT_CHECKS = 32


def _plain(value: object) -> str:
    from harness.submission.text import printable

    return printable(value, 60)


class SubnetModuleHandle:
    """A submission's own supernet module (trainer-returned or checkpoint + ``supernet.py``).

    Use :meth:`evaluate` for accuracies under a benchmark's protocol, or :meth:`predict` to choose the batches
    yourself; :meth:`state_dict` gives its weights as plain tensors. Call :meth:`close` (or let it be collected)
    to delete its files.
    """

    def __init__(self, *, submission_dir: Path, bench: Benchmark, budget: Budget, module: dict[str, Any],
                 files: dict[str, Path], workdir: Path | None, description: str) -> None:
        self.submission_dir = Path(submission_dir)
        self.bench = bench
        self.budget = budget
        self.module = module  # {"kind": "pickle"} or {"kind": "build", "file": ..., "weights": ...}
        self.files = files  # name in the sandbox's in/ folder -> file here
        self.workdir = workdir
        self.description = description
        self._finalizer = weakref.finalize(self, remove_tree, workdir) if workdir is not None else None

    def __repr__(self) -> str:
        return f"SubnetModuleHandle({self.description})"

    # ---------------------------------------------------------------------------------------- builders
    @classmethod
    def for_trainer(cls, sub: Submission, bench: Benchmark, budget: Budget, out_dir: Path, result: dict[str, Any]) -> SubnetModuleHandle:
        """Keep the module a trainer returned (its pickle and state dict) for evaluation in the sandbox."""
        workdir = make_scratch("nas-harness-module-")
        files = {}
        for name in ("module.pt", "state.pt"):
            if (out_dir / name).is_file():
                shutil.copy2(out_dir / name, workdir / name)
                files[name] = workdir / name
        if result.get("module") == "pickle":
            module: dict[str, Any] = {"kind": "pickle"}
        else:
            module = {"kind": "build", "file": sub.payload_path.name, "weights": "in:state.pt"}
        return cls(submission_dir=sub.dir, bench=bench, budget=budget, module=module, files=files, workdir=workdir,
                   description=f"{_plain(result.get('class', 'module'))} from {sub.dir.name}")

    @classmethod
    def for_checkpoint(cls, sub_dir: Path, checkpoint: Path, bench: Benchmark) -> SubnetModuleHandle:
        """A checkpoint with ``supernet.py`` (``build_supernet(space)``): built and loaded only in the sandbox."""
        return cls(submission_dir=Path(sub_dir).resolve(), bench=bench, budget=bench.budget,
                   module={"kind": "build", "file": "supernet.py", "weights": str(Path(checkpoint).resolve())},
                   files={}, workdir=None, description=f"supernet.py + {Path(checkpoint).name}")

    # ---------------------------------------------------------------------------------------- access
    def state_dict(self) -> dict[str, torch.Tensor]:
        """The module's weights as plain tensors (read with ``weights_only=True``)."""
        from harness.submission.torch_file import safe_torch_load, unwrap_state_dict

        if "state.pt" in self.files:
            path = self.files["state.pt"]
        else:
            path = Path(self.module["weights"])
        return unwrap_state_dict(safe_torch_load(path, what="the module's weights"), "the module's weights")

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()

    # ---------------------------------------------------------------------------------------- evaluation
    def predict(
        self,
        archs: Sequence[str],
        calib_batches: Sequence[torch.Tensor],
        eval_x: torch.Tensor,
        *,
        eval_batch_size: int = 1024,
        device: str = "cpu",
        seed: int = 0,
        checks: int = DEFAULT_CHECKS,
        seconds: float | None = None,
        progress: ProgressCallback | None = None,
        isolation: str | None = None,
        threads: int | None = None,
    ) -> np.ndarray:
        """Predicted class of every evaluation sample for every subnet: an ``(len(archs), len(eval_x))`` array.

        Per subnet, in the sandbox: every BN layer of the module is reset and re-estimated exactly over
        ``calib_batches`` (momentum ``None``: the average of the batch statistics), then ``eval_x`` is run in eval
        mode (:func:`harness.evaluation.reference.predict_arch`, the harness's own reference loop). First,
        ``checks`` subnets (the smallest, the largest, and a seeded random choice) are checked for the #params the
        space says (:func:`harness.evaluation.params_check.check_realised_params`).
        """
        archs = list(archs)
        if not archs:
            return np.zeros((0, int(eval_x.shape[0])), dtype=np.int64)
        work = make_scratch("nas-harness-eval-")
        try:
            (work / "in").mkdir()
            torch.save({"calib": [b.detach().cpu().contiguous() for b in calib_batches],
                        "eval_x": eval_x.detach().cpu().contiguous()}, work / "in" / "eval.pt")
            (work / "in" / "archs.json").write_text(json.dumps(archs))
            for name, path in self.files.items():
                shutil.copy2(path, work / "in" / name)
            module = dict(self.module)
            if module.get("weights", "").startswith("in:"):
                module["weights"] = str((work / "in" / module["weights"][3:]).resolve())
            space = self.bench.space
            job = {
                "phase": "evaluate",
                "submission": str(self.submission_dir),
                "space": {"name": space.name, "kwargs": dict(self.bench.space_kwargs)},
                "num_classes": int(space.num_classes),
                "budget": {"epochs": int(self.budget.epochs), "seconds": float(self.budget.seconds),
                           "memory_gb": float(self.budget.memory_gb)},
                "module": module,
                "checks": int(checks),
                "eval_batch_size": int(eval_batch_size),
                "device": device,
                "seed": int(seed),
                "threads": threads or sandbox_threads(),
            }
            policy = make_policy(self.submission_dir, work, cuda=device.startswith("cuda"))
            outcome = run_job(
                job, policy=policy, scratch=work, seconds=float(seconds or DEFAULT_EVAL_SECONDS),
                memory_gb=float(self.budget.memory_gb), mode=isolation_mode(isolation), what="module evaluation",
                progress=fractions(progress, "evaluate"),
            )
            pred = _load_predictions(outcome.out_dir / "pred.npy", (len(archs), int(eval_x.shape[0])))
            if pred.shape != (len(archs), int(eval_x.shape[0])) or not np.issubdtype(pred.dtype, np.integer):
                raise SubmissionError(f"the module evaluation returned predictions of shape {pred.shape}, not {(len(archs), int(eval_x.shape[0]))}")
            return pred.astype(np.int64)
        finally:
            remove_tree(work)

    def evaluate(self, bench: Benchmark, archs: Sequence[str], *, device: str = "cpu", seed: int = 0,
                 progress: ProgressCallback | None = None, seconds: float | None = None, isolation: str | None = None,
                 threads: int | None = None) -> np.ndarray:
        """Inherited-weight accuracy of each arch under ``bench``'s protocol (float64, in [0, 1]).

        The protocol's tensors are cut by :func:`harness.evaluation.protocol.eval_data_for`, the same function the
        harness's own evaluators use: ``calib_batches`` batches of ``calib_batch_size`` consecutive samples of the
        calib split, in order (a calib split too short for that is refused, never silently cut shorter), then the
        whole eval split. The eval labels stay in the harness process.
        """
        from harness.evaluation.protocol import eval_data_for

        data = eval_data_for(bench)
        pred = self.predict(archs, data.calib_batches(), data.eval_x, eval_batch_size=data.eval_batch_size,
                            device=device, seed=seed, seconds=seconds, progress=progress, isolation=isolation,
                            threads=threads)
        labels = data.eval_y.cpu().numpy().astype(np.int64)
        return (pred == labels[None, :]).mean(axis=1).astype(np.float64)


def _load_predictions(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """The sandbox's ``pred.npy``, its header checked (shape, integer dtype, file size) before the data is read.

    Why: the file comes out of the sandbox, so the code being evaluated may have written it; ``np.load`` would
    allocate whatever shape the header declares.
    """
    from harness.submission.text import printable

    try:
        with path.open("rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                header = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            got, fortran, dtype = header
            offset = f.tell()
    except (OSError, ValueError, EOFError) as exc:
        raise SubmissionError(f"the module evaluation left no readable predictions ({printable(exc, 100)})") from None
    if tuple(got) != shape or fortran or dtype.kind not in "iu" or dtype.hasobject:
        raise SubmissionError(f"the module evaluation returned predictions of shape {printable(got, 40)}, not {shape}")
    if path.stat().st_size - offset != int(np.prod(shape)) * dtype.itemsize:
        raise SubmissionError("the module evaluation's predictions file is truncated or padded")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise SubmissionError(f"the module evaluation left no readable predictions ({printable(exc, 100)})") from None
