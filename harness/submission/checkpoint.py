"""Load a checkpoint submission safely.

Why ``weights_only=True`` always: a ``torch.save`` file is a pickle, and unpickling a stranger's pickle runs any
code it names. The restricted unpickler accepts tensors and plain containers only, so a checkpoint carrying code
is refused before anything runs. A submission that needs its own module ships ``supernet.py`` with
``build_supernet(space) -> nn.Module``; that code is only ever run inside the sandbox (see
:class:`harness.submission.handle.SubnetModuleHandle`), never in the harness process.

The file is read by :mod:`harness.submission.torch_file` (bounded: zip members, pickle size, dense tensors).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from harness.errors import SubmissionError
from harness.faults import participant_bytes
from harness.submission.reference import check_finite, validate_state_dict
from harness.submission.text import printable
from harness.submission.torch_file import expected_state_bytes, safe_torch_load, unwrap_state_dict

if TYPE_CHECKING:
    from harness.benchmarks import Benchmark
    from harness.submission.handle import SubnetModuleHandle

MODULE_FILE = "supernet.py"


def load_checkpoint(path: Path, bench: Benchmark) -> dict[str, torch.Tensor] | SubnetModuleHandle:
    """A checkpoint submission's weights, validated.

    * Without ``supernet.py`` beside it: a state dict of the benchmark's reference supernet (keys, shapes and
      finiteness checked against a fresh one); returned as ``dict[str, Tensor]``, ready for ``load_state_dict``.
    * With ``supernet.py`` (defining ``build_supernet(space)``): a :class:`SubnetModuleHandle`; the module is built
      and the weights are loaded into it only inside the sandbox, where its subnets are also checked for the
      #params the space says.
    """
    path = Path(path)
    what = f"checkpoint {path.name}"
    module_file = path.parent / MODULE_FILE
    bound = None if module_file.is_file() else expected_state_bytes(bench.space)
    loaded = safe_torch_load(path, what=what, max_data_bytes=bound)
    with participant_bytes(what):  # e.g. a meta-device tensor: NotImplementedError when its values are read
        return _checked(unwrap_state_dict(loaded, what), path, bench, what, module_file.is_file())


def _checked(state: dict, path: Path, bench: Benchmark, what: str, own_module: bool) -> dict[str, torch.Tensor] | SubnetModuleHandle:
    """The loaded state dict checked: plain tensors (own module, built in the sandbox) or the reference's keys."""
    if own_module:
        from harness.submission.handle import SubnetModuleHandle

        not_tensors = [k for k, v in state.items() if not torch.is_tensor(v)]
        if not_tensors:
            raise SubmissionError(f"{what}: {len(not_tensors)} entries are not tensors (e.g. {printable(not_tensors[0], 60)})")
        check_finite(state, what)
        return SubnetModuleHandle.for_checkpoint(path.parent, path, bench)
    return validate_state_dict(state, bench.space, what)
