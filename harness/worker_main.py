"""Entry point of a harness worker process: ``python -m harness.worker_main`` (see :mod:`harness.workerpool`).

Why a module of its own: the worker must start from the harness's code, never from the caller's ``__main__``
(a script without a guard, a notebook); this file is all a worker runs before its setup frame names the factory.
"""

from __future__ import annotations

import sys

from harness.workerpool import worker_main

if __name__ == "__main__":
    sys.exit(worker_main())
