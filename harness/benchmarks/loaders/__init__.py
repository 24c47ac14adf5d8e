"""Loaders of benchmark parts by kind: data, arch sets, GT (see :mod:`harness.benchmarks.loaders.kinds`).

Importing this package registers the built-in kinds; a new format is one module here (or a plugin) that calls
:func:`register_kind`. No loader imports torch at module level, so reading specs and GT files stays torch-free.
"""

from harness.benchmarks.loaders import files, mnist1d, nb201  # noqa: F401 - importing a loader module registers it
from harness.benchmarks.loaders.files import read_archset_h5, write_archset_h5
from harness.benchmarks.loaders.kinds import KINDS, clear_cache, load_archset, load_data, load_gt, register_kind

__all__ = ["KINDS", "clear_cache", "load_archset", "load_data", "load_gt", "read_archset_h5", "register_kind",
           "write_archset_h5"]
