"""``TrainContext``: everything a trainer submission gets, and nothing more.

Why a small explicit object: it is the whole contract between the harness and a stranger's ``train(ctx)``. It
carries the training split only (never the evaluation or GT-test labels), the space, a factory for a fresh
reference supernet, the budget and a progress callback. It is built inside the sandbox from files the harness
wrote into the scratch folder.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from harness.benchmarks.registry import Budget
from harness.spaces import SearchSpace
from harness.submission.job import MAX_SCALAR_NAME, MAX_SCALAR_POINTS

ProgressFn = Callable[[float, str], None]
#: ``(step, {name: value})`` of one ``ctx.log`` call, already checked
ScalarFn = Callable[[int, dict[str, float]], None]


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
        hparams: the ``[hparams]`` table of ``submission.toml`` with any ``score --set key=value`` overrides
            (a plain dict; recorded with the run).
        epochs_trained: the epochs this run trained: counted by :meth:`batches` (each pass it hands out is one);
            a trainer with its own loop over ``train_x`` sets it itself. Fewer than ``budget.epochs`` is recorded
            with the run and shown as off budget.
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
    _scalars: ScalarFn = field(repr=False, default=lambda step, values: None)
    hparams: dict[str, Any] = field(default_factory=dict)
    _last_report: float = field(default=0.0, repr=False)
    rng: np.random.Generator = field(init=False, repr=False)
    epochs_handed_out: int = field(default=0, init=False)
    _epochs_set: int | None = field(default=None, init=False, repr=False)
    _points: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    @property
    def epochs_trained(self) -> int:
        """Epochs trained: what the trainer set, else the passes :meth:`batches` handed out."""
        return self.epochs_handed_out if self._epochs_set is None else self._epochs_set

    @epochs_trained.setter
    def epochs_trained(self, value: int) -> None:
        self._epochs_set = max(0, int(value))

    # ------------------------------------------------------------------ metrics
    def log(self, step: int, **scalars: float) -> None:
        """Record scalars at ``step`` (``ctx.log(epoch, loss=0.4, lr=0.1)``): stored with the run, plotted in the
        app, exported as CSV or TensorBoard events. Names are short identifiers; values finite numbers (others
        are skipped). At most :data:`MAX_SCALAR_POINTS` points a run are kept."""
        try:
            step = int(step)
        except (TypeError, ValueError):
            raise TypeError(f"ctx.log: step must be an integer, not {type(step).__name__}") from None
        values: dict[str, float] = {}
        for name, value in scalars.items():
            if len(name) > MAX_SCALAR_NAME or not name.isidentifier():
                raise ValueError(f"ctx.log: scalar name {name[:MAX_SCALAR_NAME]!r} must be an identifier of at most {MAX_SCALAR_NAME} characters")
            try:
                v = float(value.item() if hasattr(value, "item") else value)
            except (TypeError, ValueError):
                raise TypeError(f"ctx.log: {name} must be a number, not {type(value).__name__}") from None
            if math.isfinite(v):
                values[name] = v
        if not values or self._points + len(values) > MAX_SCALAR_POINTS:
            return
        self._points += len(values)
        self._scalars(step, values)

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
        """One epoch of ``(x, y)`` mini-batches of the training split, shuffled with the run's seeded generator.

        Each pass started counts as one epoch trained (:attr:`epochs_trained`)."""
        n = self.num_train
        order = self.rng.permutation(n) if shuffle else np.arange(n)
        index = torch.as_tensor(order, device=self.train_x.device)
        self.epochs_handed_out += 1
        for i in range(self.steps_per_epoch(batch_size, drop_last)):
            sel = index[i * batch_size : (i + 1) * batch_size]
            yield self.train_x[sel], self.train_y[sel]
