"""``TrainContext``: everything a trainer submission gets, and nothing more.

Why a small explicit object: it is the whole contract between the harness and a stranger's ``train(ctx)``. It
carries the training split only (never the evaluation or GT-test labels), the space, a factory for a fresh
reference supernet, the budget and a progress callback. It is built inside the sandbox from files the harness
wrote into the scratch folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from harness.benchmarks.registry import Budget
from harness.spaces import SearchSpace

ProgressFn = Callable[[float, str], None]


@dataclass
class TrainContext:
    """What ``train(ctx)`` receives.

    Attributes:
        space: the search space (``space.sample(rng, n)``, ``space.params(arch)``, ...).
        train_x, train_y: the training split (on ``device``); the only labelled data a trainer sees.
        num_classes: number of classes of the task.
        budget: ``epochs`` (use exactly these, so trainers compare fairly), ``seconds`` (wall clock; the harness
            kills the run past it) and ``memory_gb``.
        device: ``"cpu"`` or a CUDA device string.
        seed: the run's seed (``torch``, ``numpy`` and ``random`` are already seeded with it).
        deadline: ``time.time()`` value by which ``train`` should have returned (a few seconds before the kill,
            leaving time to save the weights).
    """

    space: SearchSpace
    train_x: torch.Tensor
    train_y: torch.Tensor
    num_classes: int
    budget: Budget
    device: str
    seed: int
    deadline: float
    _new_supernet: Callable[[], nn.Module] = field(repr=False)
    _report: ProgressFn = field(repr=False, default=lambda f, m: None)
    _last_report: float = field(default=0.0, repr=False)
    rng: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    # ------------------------------------------------------------------ supernet
    def new_supernet(self) -> nn.Module:
        """A freshly initialised reference supernet on ``device`` (``forward(x, arch)`` with first-k slicing).

        Returning it (trained) from ``train`` is the simple path; a custom module is also accepted if it keeps
        ``forward(x, arch)`` and realises subnets with exactly the #params the space says.
        """
        return self._new_supernet().to(self.device)

    # ------------------------------------------------------------------ progress and time
    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress in [0, 1] (shown as the harness's progress bar); cheap to call every step."""
        now = time.monotonic()
        if now - self._last_report < 0.2 and fraction < 1.0:
            return
        self._last_report = now
        self._report(float(min(max(fraction, 0.0), 1.0)), str(message)[:200])

    def time_left(self) -> float:
        """Seconds until :attr:`deadline` (negative when past it)."""
        return self.deadline - time.time()

    # ------------------------------------------------------------------ data
    @property
    def num_train(self) -> int:
        return int(self.train_x.shape[0])

    def steps_per_epoch(self, batch_size: int, drop_last: bool = True) -> int:
        n = self.num_train
        return n // batch_size if drop_last else -(-n // batch_size)

    def batches(self, batch_size: int, *, shuffle: bool = True, drop_last: bool = True) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of ``(x, y)`` mini-batches of the training split, shuffled with the run's seeded generator."""
        n = self.num_train
        order = self.rng.permutation(n) if shuffle else np.arange(n)
        index = torch.as_tensor(order, device=self.train_x.device)
        for i in range(self.steps_per_epoch(batch_size, drop_last)):
            sel = index[i * batch_size : (i + 1) * batch_size]
            yield self.train_x[sel], self.train_y[sel]
