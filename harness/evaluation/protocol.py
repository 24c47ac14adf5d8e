"""The fixed inherited-weight evaluation protocol, as tensors: calibration batches, evaluation split.

Why a module of its own: every evaluator (the plain reference loop, the fast tree evaluator, a sharded run)
must read *exactly* the same samples in the same order, or "identical predictions" means nothing. The protocol
of a benchmark (``bench.protocol``) says ``calib_batches`` batches of ``calib_batch_size`` consecutive samples of
the calib split, in order, no shuffling; then the whole eval split.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from harness.errors import DataError


@dataclass(frozen=True)
class EvalData:
    """Calibration batches and the evaluation split of one benchmark, on one device.

    ``calib_x`` holds the ``n_calib_batches * calib_batch_size`` calibration samples back to back (batch ``b`` is
    rows ``b*bs:(b+1)*bs``); ``eval_x``/``eval_y`` the whole eval split. ``eval_batch_size`` bounds memory only:
    in eval mode the result does not depend on it.
    """

    calib_x: torch.Tensor
    eval_x: torch.Tensor
    eval_y: torch.Tensor
    calib_batch_size: int
    n_calib_batches: int
    eval_batch_size: int

    def calib_batches(self) -> list[torch.Tensor]:
        bs = self.calib_batch_size
        return [self.calib_x[b * bs : (b + 1) * bs] for b in range(self.n_calib_batches)]

    def eval_batches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        bs = max(1, self.eval_batch_size)
        n = self.eval_x.shape[0]
        return [(self.eval_x[i : i + bs], self.eval_y[i : i + bs]) for i in range(0, n, bs)]

    @property
    def n_eval(self) -> int:
        return int(self.eval_x.shape[0])

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.eval_x.shape[1:])

    def to(self, device: torch.device | str) -> EvalData:
        return EvalData(
            self.calib_x.to(device),
            self.eval_x.to(device),
            self.eval_y.to(device),
            self.calib_batch_size,
            self.n_calib_batches,
            self.eval_batch_size,
        )


def make_eval_data(
    calib_x: torch.Tensor,
    eval_x: torch.Tensor,
    eval_y: torch.Tensor,
    *,
    calib_batch_size: int,
    calib_batches: int,
    eval_batch_size: int,
    device: torch.device | str = "cpu",
) -> EvalData:
    """Cut the calibration batches out of a calib split (first ``calib_batches * calib_batch_size`` rows, in order)."""
    need = calib_batches * calib_batch_size
    if calib_batches < 1 or calib_batch_size < 2:
        raise DataError(f"protocol needs >= 1 calibration batch of >= 2 samples, got {calib_batches} x {calib_batch_size}")
    if calib_x.shape[0] < need:
        raise DataError(f"calib split has {calib_x.shape[0]} samples; the protocol needs {calib_batches} x {calib_batch_size} = {need}")
    if eval_x.shape[0] == 0 or eval_x.shape[0] != eval_y.shape[0]:
        raise DataError(f"eval split is empty or inconsistent: x {tuple(eval_x.shape)}, y {tuple(eval_y.shape)}")
    return EvalData(
        calib_x[:need].to(device=device, dtype=torch.float32).contiguous(),
        eval_x.to(device=device, dtype=torch.float32).contiguous(),
        eval_y.to(device=device, dtype=torch.long).contiguous(),
        int(calib_batch_size),
        int(calib_batches),
        int(eval_batch_size),
    )


def eval_data_for(bench, device: torch.device | str = "cpu") -> EvalData:  # noqa: ANN001 - Benchmark (import cycle)
    """The protocol tensors of a benchmark: its calib batches and eval split, on ``device``."""
    data = bench.load_data()
    p = bench.protocol
    return make_eval_data(
        data.calib.x,
        data.eval.x,
        data.eval.y,
        calib_batch_size=p.calib_batch_size,
        calib_batches=p.calib_batches,
        eval_batch_size=p.eval_batch_size,
        device=device,
    )
