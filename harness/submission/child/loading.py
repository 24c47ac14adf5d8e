"""Loading the submission's code inside the sandbox: a file as a module, and a custom supernet module rebuilt.

Why here and nowhere else: this is the only place a submission's Python runs, and it runs only in the confined
child after the audit hook is installed. The harness process never imports a submission file nor unpickles its
module (see :class:`harness.submission.handle.SubnetModuleHandle`).
"""

from __future__ import annotations

import os
import sys

from harness.submission.child.channel import Failure, describe


def import_submission_file(path: str, name: str):  # noqa: ANN201 - a module
    """Import a file of the submission as module ``name`` (so pickled classes resolve to it again later)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise Failure(f"{os.path.basename(path)} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def realise_module(job: dict, scratch: str, space):  # noqa: ANN001, ANN201 - torch types imported lazily
    """The custom module, rebuilt inside the sandbox from the trainer's pickle or from ``build_supernet``."""
    import torch

    sub_dir = job["submission"]
    spec = job["module"]
    sys.path.insert(0, sub_dir)
    try:
        if spec["kind"] == "pickle":
            if os.path.isfile(os.path.join(sub_dir, "trainer.py")):
                import_submission_file(os.path.join(sub_dir, "trainer.py"), "trainer")
            net = torch.load(os.path.join(scratch, "in", "module.pt"), map_location="cpu", weights_only=False)
        else:
            source = import_submission_file(os.path.join(sub_dir, spec["file"]), os.path.splitext(spec["file"])[0])
            build = getattr(source, "build_supernet", None)
            if not callable(build):
                raise Failure(f"{spec['file']} defines no build_supernet(space) function")
            net = build(space)
            state = torch.load(spec["weights"], map_location="cpu", weights_only=True)
            if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
                state = state["state_dict"]
            missing, unexpected = net.load_state_dict(state, strict=False)
            if missing or unexpected:
                raise Failure(
                    f"the checkpoint does not fit the module of {spec['file']}: {len(missing)} missing key(s)"
                    f"{' (' + ', '.join(missing[:3]) + ')' if missing else ''}, {len(unexpected)} unexpected key(s)"
                    f"{' (' + ', '.join(unexpected[:3]) + ')' if unexpected else ''}"
                )
    except Failure:
        raise
    except BaseException as exc:  # noqa: BLE001
        raise Failure(describe(exc, sub_dir, float(job["budget"]["memory_gb"]), subject="the submission's module", action="could not be rebuilt:")) from None
    from torch import nn

    if not isinstance(net, nn.Module):
        raise Failure(f"the submission's module is a {type(net).__name__}, not an nn.Module")
    return net
