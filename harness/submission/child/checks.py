"""The params check of a submission's own module, run inside the sandbox (the module is the submission's code).

Why shared: after training (on the module ``train`` returned) and before evaluation (on the module rebuilt from a
checkpoint), the same question is asked of the same kind of object: do its subnets realise the #params the space
says? (:func:`harness.evaluation.params_check.check_realised_params`). Imported only by the phase modules, after
the confinement (it imports torch).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from harness.errors import SubmissionError
from harness.evaluation.params_check import check_realised_params
from harness.submission.child.channel import Failure, describe


class flush_denormals:  # noqa: N801 - used as a context manager
    """Flush denormal floats to zero for the duration (the params check runs on randomly re-drawn weights, whose
    exploding/vanishing activations make denormal arithmetic 10-100x slower on CPU); restored afterwards so the
    evaluation itself computes exactly as the harness's reference loop does."""

    def __enter__(self) -> None:
        torch.set_flush_denormal(True)

    def __exit__(self, *exc: object) -> None:
        torch.set_flush_denormal(False)


def check_subnets(net, space, archs: Sequence[str], sample_shape: tuple[int, ...], *, n_check: int, sub_dir: str,  # noqa: ANN001
                  memory_gb: float, subject: str, action: str) -> None:
    """:func:`check_realised_params` on ``n_check`` of ``archs``; a wrong count is ``"<subject>: <why>"``, a crash
    of the module is described with its place in the submission's files (``<subject> <action> ...``)."""
    try:
        with flush_denormals():
            check_realised_params(net, space, archs, sample_shape, n_check=n_check)
    except SubmissionError as exc:
        raise Failure(f"{subject}: {exc}") from None
    except BaseException as exc:  # noqa: BLE001
        raise Failure(describe(exc, sub_dir, memory_gb, subject=subject, action=action)) from None
