"""Search spaces: canonical arch strings, validation, sampling and exact complexity.

Look a space up by name with :func:`get_space`; each space lives in its own module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.errors import UnknownNameError
from harness.spaces.base import SearchSpace
from harness.spaces.resnet20_width import ResNet20WidthSpace

_FACTORIES: dict[str, Callable[..., SearchSpace]] = {
    "resnet20-width-1d": lambda **kw: ResNet20WidthSpace(dims=1, **kw),
    "resnet20-width-2d": lambda **kw: ResNet20WidthSpace(dims=2, **kw),
    "nb201": lambda **kw: __import__("harness.spaces.nb201", fromlist=["NB201Space"]).NB201Space(**kw),
}


def register_space(name: str, factory: Callable[..., SearchSpace]) -> None:
    """Add a space factory to the registry (used by space modules that are optional)."""
    _FACTORIES[name] = factory


def space_names() -> list[str]:
    return sorted(_FACTORIES)


def get_space(name: str, **kwargs: Any) -> SearchSpace:
    """The search space called ``name``, built for the given geometry (in_channels, num_classes, ...)."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise UnknownNameError(f"unknown search space {name!r}; known: {', '.join(space_names())}") from None
    return factory(**kwargs)


__all__ = ["SearchSpace", "ResNet20WidthSpace", "get_space", "register_space", "space_names"]
