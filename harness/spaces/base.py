"""The search-space interface every space implements: the one object that answers everything space-specific.

Why one object: spaces differ a lot (a width list vs a cell graph), and code outside ``harness/spaces/`` must not
branch on a space's name. So the space answers, besides canonical strings, validation with clear errors, seeded
sampling and exact complexity numbers, also its geometry (``num_classes``, ``in_channels``, ``input_shape``), its
networks (:meth:`new_supernet`, :meth:`new_standalone`), the archs a parameter check always probes
(:meth:`extreme_archs`), what few-shot supernets may split on (:meth:`few_shot_choices`), its fast evaluator
(:meth:`fast_evaluator`) and whether the stacked GT path trains its nets (:attr:`stacked_gt`). A new space is one
module that subclasses :class:`SearchSpace` and calls :func:`harness.spaces.register_space`.

Optional capabilities have a documented "not supported" answer: ``None``, ``False`` or ``[]``, or
:class:`~harness.errors.UnsupportedError` for the networks (a space without networks can still score predictions).
Networks need torch; implementations import it inside those methods, so parsing archs and counting parameters
stays torch-free.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.errors import UnsupportedError

if TYPE_CHECKING:
    from torch import nn


class SearchSpace(ABC):
    """A fixed search space with canonical, human-readable arch strings."""

    #: registry name, e.g. ``"resnet20-width-1d"``
    name: str

    @abstractmethod
    def parse(self, arch: str) -> Any:
        """Parse a canonical arch string into the space's internal form; raise InvalidArchError if invalid."""

    @abstractmethod
    def format(self, arch: Any) -> str:
        """The canonical string of an internal arch."""

    def canonical(self, arch: str) -> str:
        """Validate an arch string and return its canonical form."""
        return self.format(self.parse(arch))

    @abstractmethod
    def sample(self, rng: np.random.Generator, n: int) -> list[str]:
        """``n`` archs drawn uniformly at random (with replacement) as canonical strings."""

    def sample_unique(self, rng: np.random.Generator, n: int) -> list[str]:
        """``n`` distinct archs, uniform over the space, in draw order (rejection of repeats)."""
        if n > self.size:
            raise ValueError(f"cannot draw {n} unique archs from a space of {self.size}")
        seen: dict[str, None] = {}
        while len(seen) < n:
            for arch in self.sample(rng, max(1, n - len(seen))):
                if arch not in seen:
                    seen[arch] = None
                    if len(seen) == n:
                        break
        return list(seen)

    @property
    @abstractmethod
    def size(self) -> int:
        """Number of distinct archs in the space."""

    @abstractmethod
    def params(self, arch: str) -> int:
        """Exact number of trainable parameters of the standalone network for ``arch``."""

    @abstractmethod
    def flops(self, arch: str) -> int:
        """Multiply-accumulates of one forward pass on one input (conv + linear layers)."""

    def params_many(self, archs: Iterable[str]) -> np.ndarray:
        return np.asarray([self.params(a) for a in archs], dtype=np.int64)

    def flops_many(self, archs: Iterable[str]) -> np.ndarray:
        return np.asarray([self.flops(a) for a in archs], dtype=np.int64)

    def describe(self) -> dict[str, Any]:
        """A JSON-able description used in provenance attributes."""
        return {"name": self.name, "size": self.size}

    # ---------------------------------------------------------------- geometry
    #: classes of the task (the classifier's width); every space has them
    num_classes: int
    #: input channels of one sample
    in_channels: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample, e.g. ``(C, L)`` or ``(C, H, W)``; spaces that know it override this."""
        raise UnsupportedError(f"the space {self.name} does not declare its input shape")

    # ---------------------------------------------------------------- networks
    def new_supernet(self) -> nn.Module:
        """A freshly initialised reference weight-sharing supernet (``forward(x, arch)``) for this geometry.

        Trainers get it from ``ctx.new_supernet()``; checkpoints are validated against its state dict; the
        evaluator rebuilds it from returned weights. Raises UnsupportedError when the space has none.
        """
        raise UnsupportedError(f"the space {self.name} defines no reference supernet")

    def new_standalone(self, arch: str) -> nn.Module:
        """The freshly initialised standalone network of ``arch`` (``forward(x)``; what the GT builder trains).

        Initialisation draws from torch's global RNG, so a caller that seeds it gets reproducible weights.
        Raises UnsupportedError when the space has none.
        """
        raise UnsupportedError(f"the space {self.name} defines no standalone network")

    # ------------------------------------------------------------- capabilities
    def extreme_archs(self) -> list[str]:
        """Archs a check of a submission's own module always includes (e.g. the smallest and the largest), in
        addition to random ones; ``[]`` when the space names none."""
        return []

    def few_shot_choices(self) -> tuple[tuple[int, ...], ...] | None:
        """The choices per arch position a few-shot supernet may split on (``space.parse(arch)[p]`` is one of
        ``choices[p]``), or None when few-shot supernets are not supported for this space."""
        return None

    def fast_evaluator(self) -> Any | None:
        """The space's fast inherited-weight evaluator for its reference supernet's state dict (see
        :class:`harness.evaluation.width_fast.WidthFastEvaluator` for the interface), or None: the plain reference loop."""
        return None

    #: whether :mod:`harness.gt.stacked` trains this space's standalone nets (else the GT builder trains one at a time)
    stacked_gt: bool = False


def ensure_sequence(archs: Sequence[str] | str) -> list[str]:
    return [archs] if isinstance(archs, str) else list(archs)
