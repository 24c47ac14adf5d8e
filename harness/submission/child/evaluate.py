"""The evaluate phase inside the sandbox: a submission's own module predicts a class for every eval sample, per arch.

Imported by ``_child.py`` only after the confinement is in place (it imports torch and the harness). The per-arch
protocol (precise-BN recalibration on the calibration batches, then eval mode) is the harness's own reference loop,
:func:`harness.evaluation.reference.predict_arch`: one implementation, whichever side of the sandbox it runs on.
Only the eval *inputs* are here; the labels stay in the harness process, which computes the accuracies.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from harness.evaluation.bn_calibration import bn_layers
from harness.evaluation.reference import predict_arch
from harness.spaces import get_space
from harness.submission.child.channel import Failure, describe, report
from harness.submission.child.checks import check_subnets
from harness.submission.child.confinement import install_audit
from harness.submission.child.loading import realise_module


def run_evaluate(job: dict, scratch: str) -> dict[str, object]:
    """Predicted classes of the eval inputs for every arch (``out/pred.npy``), after the module's params check."""
    space = get_space(job["space"]["name"], **job["space"]["kwargs"])
    torch.set_num_threads(int(job["threads"]))
    torch.manual_seed(int(job["seed"]))
    device = job["device"]
    inputs = torch.load(os.path.join(scratch, "in", "eval.pt"), weights_only=True)
    with open(os.path.join(scratch, "in", "archs.json")) as f:
        archs: list[str] = json.load(f)
    calib = [b.to(device) for b in inputs["calib"]]
    eval_x = inputs["eval_x"].to(device)
    memory_gb = float(job["budget"]["memory_gb"])
    sub_dir = job["submission"]

    install_audit(job)
    net = realise_module(job, scratch, space).to(device)
    report("status", m="checking the #params of the module's subnets")
    check_subnets(net, space, archs, tuple(eval_x.shape[1:]), n_check=int(job.get("checks", 32)), sub_dir=sub_dir,
                  memory_gb=memory_gb, subject="the module", action="failed in the params check:")
    dtype = np.uint8 if int(job["num_classes"]) <= 256 else np.int32
    pred = predict_all(net, archs, calib, eval_x, max(1, int(job["eval_batch_size"])), dtype=dtype, sub_dir=sub_dir,
                       memory_gb=memory_gb)
    out_dir = os.path.join(scratch, "out")
    os.makedirs(out_dir, exist_ok=True)
    np.save(os.path.join(out_dir, "pred.npy"), pred, allow_pickle=False)
    return {"ok": True, "n": len(archs)}


def _call(model: nn.Module, x: torch.Tensor, arch: str) -> torch.Tensor:
    """The module called as is: a failure propagates, so :func:`describe` can name its place in the submission."""
    return model(x, arch)


def predict_all(net: nn.Module, archs: Sequence[str], calib: Sequence[torch.Tensor], eval_x: torch.Tensor,
                eval_batch_size: int, *, dtype: type, sub_dir: str, memory_gb: float) -> np.ndarray:
    """``(len(archs), len(eval_x))`` predicted classes, one arch after the other, with progress to the harness."""
    layers = bn_layers(net)
    pred = np.zeros((len(archs), int(eval_x.shape[0])), dtype=dtype)
    step = max(1, len(archs) // 200)
    for i, arch in enumerate(archs):
        try:
            pred[i] = predict_arch(net, layers, arch, calib, eval_x, eval_batch_size, forward=_call,
                                   subject="the module's", fail=Failure).cpu().numpy()
        except Failure:
            raise
        except BaseException as exc:  # noqa: BLE001
            raise Failure(describe(exc, sub_dir, memory_gb, subject="the module", action=f"failed on subnet {arch}:")) from None
        if i % step == 0 or i == len(archs) - 1:
            report("progress", f=(i + 1) / len(archs), m=f"subnet {i + 1}/{len(archs)}")
    return pred
