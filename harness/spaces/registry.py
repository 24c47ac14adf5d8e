"""The registry of search spaces: ``register_space(name, factory)`` and ``get_space(name, **geometry)``.

Why a registry with plugins: a space is one module (timm's one-model-file habit). The built-in spaces register
themselves when :mod:`harness.spaces` is imported; a host or a test adds its own without touching the package by
naming plugin modules in ``$NAS_HARNESS_PLUGINS`` (``os.pathsep``-separated module names or ``.py`` file paths).
They are imported once, on the first lookup, in every process that looks a space up: the harness, GT workers and
the sandboxed trainer child (which gets the variable and read access to plugin files; see :func:`sandbox_env` and
:func:`plugin_paths`). A plugin module calls :func:`register_space` at import. A plugin that fails to import
fails the lookup loudly (:class:`~harness.errors.PluginError`), never silently dropping a space.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import PluginError, UnknownNameError

if TYPE_CHECKING:
    from harness.spaces.base import SearchSpace

PLUGINS_ENV = "NAS_HARNESS_PLUGINS"
_FACTORIES: dict[str, Callable[..., SearchSpace]] = {}
#: plugin entries already imported (so each is imported once per process, even if the variable changes)
_LOADED: dict[str, Path | None] = {}


def register_space(name: str, factory: Callable[..., SearchSpace]) -> None:
    """Declare a space: ``factory(**geometry)`` builds it (e.g. the space's dataclass). A later registration of
    the same name replaces the earlier one (a plugin may override a built-in on purpose)."""
    _FACTORIES[name] = factory


def plugin_entries(value: str | None = None) -> list[str]:
    """The entries of ``$NAS_HARNESS_PLUGINS`` (or ``value``), in order."""
    raw = os.environ.get(PLUGINS_ENV, "") if value is None else value
    return [p.strip() for p in raw.split(os.pathsep) if p.strip()]


def _is_path(entry: str) -> bool:
    return entry.endswith(".py") or os.sep in entry or (os.altsep is not None and os.altsep in entry)


def _import_file(path: Path) -> None:
    if not path.is_file():
        raise PluginError(f"{PLUGINS_ENV}: plugin file {path} does not exist")
    name = "nas_harness_plugin_" + "".join(c if c.isalnum() else "_" for c in path.stem) + f"_{len(_LOADED)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"{PLUGINS_ENV}: cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look a class's module up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise PluginError(f"{PLUGINS_ENV}: plugin {path} failed to import: {type(exc).__name__}: {exc}") from exc


def load_plugins(value: str | None = None) -> None:
    """Import every plugin entry not imported yet (module names with :func:`importlib.import_module`)."""
    for entry in plugin_entries(value):
        if entry in _LOADED:
            continue
        if _is_path(entry):
            path = Path(entry).expanduser().resolve()
            _import_file(path)
            _LOADED[entry] = path
        else:
            try:
                module = importlib.import_module(entry)
            except Exception as exc:
                raise PluginError(f"{PLUGINS_ENV}: plugin module {entry!r} failed to import: {type(exc).__name__}: {exc}") from exc
            _LOADED[entry] = None if getattr(module, "__file__", None) is None else Path(module.__file__).resolve()


def plugin_paths() -> list[Path]:
    """Files the sandboxed child must be able to read to import the plugins: the ``.py`` files given as paths.
    (Plugins given as module names must be installed in the environment, which the sandbox can read.)"""
    return [Path(e).expanduser().resolve() for e in plugin_entries() if _is_path(e)]


def sandbox_env() -> dict[str, str]:
    """The plugin variable for a child process with a scrubbed environment (paths made absolute)."""
    entries = [str(Path(e).expanduser().resolve()) if _is_path(e) else e for e in plugin_entries()]
    return {PLUGINS_ENV: os.pathsep.join(entries)} if entries else {}


def space_names() -> list[str]:
    load_plugins()
    return sorted(_FACTORIES)


def get_space(name: str, **kwargs: Any) -> SearchSpace:
    """The search space called ``name``, built for the given geometry (in_channels, num_classes, ...)."""
    load_plugins()
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise UnknownNameError(f"unknown search space {name!r}; known: {', '.join(space_names())}") from None
    return factory(**kwargs)
