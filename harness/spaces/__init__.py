"""Search spaces: canonical arch strings, validation, sampling, exact complexity, and the space's networks.

Look a space up by name with :func:`get_space`; each space lives in its own module and registers itself with
:func:`register_space` (the built-in ones are imported here; others come as plugins, see
:mod:`harness.spaces.registry`).
"""

from __future__ import annotations

from harness.spaces import nb201, resnet20_width  # noqa: F401 - importing a space module registers it
from harness.spaces.base import SearchSpace
from harness.spaces.registry import PLUGINS_ENV, get_space, load_plugins, register_space, space_names
from harness.spaces.resnet20_width import ResNet20WidthSpace

__all__ = ["PLUGINS_ENV", "SearchSpace", "ResNet20WidthSpace", "get_space", "load_plugins", "register_space", "space_names"]
