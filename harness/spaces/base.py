"""The search-space interface every space implements.

Why a small protocol instead of a class hierarchy: spaces differ a lot (a width list vs a cell graph), but the
harness only ever needs these few operations: canonical strings, validation with clear errors, seeded sampling,
and exact complexity numbers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


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


def ensure_sequence(archs: Sequence[str] | str) -> list[str]:
    return [archs] if isinstance(archs, str) else list(archs)
