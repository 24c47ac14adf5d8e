"""The program that runs inside the sandbox: ``python -I -B _child.py JOB.json``.

Why a separate script (not a function called after fork): the submission's code must run in a fresh interpreter
that was confined *before* anything else happened in it. The order below is the security argument:

1. read the job, set resource limits (memory, processes, file size, CPU time) on this process;
2. apply Landlock (file-system and TCP allow-list; in the fallback this is the only kernel-enforced file policy),
   then :mod:`harness.submission.hardening` (no_new_privs, every capability dropped, seccomp: no ``socket(2)``);
3. import torch and the harness, capture the reference supernet class;
4. install the audit hook (clear messages, process-count cap), then import the submission's code and run it;
5. write the outputs (a state dict, and for custom modules the pickled module) into ``scratch/out``.

Failures are written to ``scratch/out/result.json`` as one line; the harness re-checks every output it reads
(``weights_only=True``, shapes, finiteness), so a hostile submission that forges these files gains nothing.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback

EXIT_FAILED = 3


def _report_fd() -> int:
    try:
        return int(os.environ.get("NAS_HARNESS_PROGRESS_FD", "-1"))
    except ValueError:
        return -1


def report(kind: str, **fields: object) -> None:
    """One JSON line to the harness (progress and status); silently dropped when the channel is gone."""
    fd = _report_fd()
    if fd < 0:
        return
    try:
        os.write(fd, (json.dumps({"t": kind, **fields}) + "\n").encode())
    except OSError:
        pass


class Failure(Exception):
    """A failure with a one-line, participant-facing message."""


def one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(exc: BaseException, sub_dir: str, memory_gb: float, *, subject: str = "the trainer", action: str = "raised") -> str:
    """One participant-facing line: ``<subject> <action> Type: message (file, line N)``.

    The location is the innermost frame in the submission's own files; out-of-memory and process-limit errors
    say so in words, since their exception text alone ("Errno 11") does not.
    """
    import errno

    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith(sub_dir.rstrip("/") + "/"):
            where = f" ({os.path.relpath(frame.filename, sub_dir)}, line {frame.lineno})"
            break
    if type(exc).__name__ == "SandboxPermissionError" and getattr(exc, "strerror", None):
        text = one_line(f"PermissionError: {exc.strerror}", 240)  # the sandbox's own words, without "[Errno 13]"
    else:
        text = one_line(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, 240)
    lowered = text.lower()
    if isinstance(exc, MemoryError) or "can't allocate memory" in lowered or "out of memory" in lowered:
        return f"{subject} ran out of memory (the budget allows {memory_gb:g} GB): {text}{where}"
    if isinstance(exc, BlockingIOError) and exc.errno == errno.EAGAIN and "fork" not in lowered:
        return f"{subject} hit the sandbox's process limit when creating a process ({text}){where}"
    return f"{subject} {action} {text}{where}"


def apply_rlimits(limits: dict[str, float | int | None]) -> None:
    import resource

    def cap(which: int, value: float | int | None) -> None:
        if value is None:
            return
        soft, hard = resource.getrlimit(which)
        value = int(value)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        try:
            resource.setrlimit(which, (value, value if hard == resource.RLIM_INFINITY else hard))
        except (ValueError, OSError):
            pass

    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_AS, limits.get("address_space"))
    cap(resource.RLIMIT_FSIZE, limits.get("file_size"))
    cap(resource.RLIMIT_CPU, limits.get("cpu_seconds"))
    cap(resource.RLIMIT_NOFILE, limits.get("open_files"))
    nproc = limits.get("extra_processes")
    if nproc is not None:
        cap(resource.RLIMIT_NPROC, _user_tasks() + int(nproc))


def _user_tasks() -> int:
    """Tasks (processes and threads) of this real uid: RLIMIT_NPROC counts them all."""
    uid, count = os.getuid(), 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.stat(f"/proc/{pid}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{pid}/task"))
            except OSError:
                continue
    return count


def start_watchdog(kill_at: float | None) -> None:
    """End this process if the harness goes away (or past the kill time).

    Why: bwrap's ``--die-with-parent`` covers the bwrap mode; in the fallback nothing else would stop a trainer
    whose harness was killed (e.g. ``kill -9`` of ``nas-harness score``). The kernel's parent-death signal
    (:mod:`harness.lifetime`, armed here before the audit hook forbids ``ctypes``) is the main mechanism; a daemon
    thread enforces the kill time and, where that signal is unavailable, polls the parent.
    """
    import threading

    from harness.lifetime import die_with_parent, parent_changed

    parent = os.getppid()
    die_with_parent()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if parent_changed(parent) or (kill_at is not None and time.time() > kill_at + 5.0):
                os._exit(EXIT_FAILED)

    threading.Thread(target=watch, name="nas-harness-watchdog", daemon=True).start()


def confine(job: dict) -> dict[str, object]:
    """Landlock (when asked and available); returns what was applied, for the harness's log."""
    from harness.submission import landlock

    policy = job["policy"]
    applied: dict[str, object] = {"landlock": 0}
    if job.get("landlock", True):
        try:
            applied["landlock"] = landlock.restrict(
                read=[*policy["read"], f"/proc/{os.getpid()}"],
                list_only=[*policy["list_only"], "/proc"],
                write=policy["write"],
                read_write_files=policy["rw_files"],
            )
        except OSError as exc:
            if job.get("require_landlock"):
                raise Failure(f"the sandbox could not be set up (Landlock: {exc})") from None
    if job.get("seccomp", True):
        from harness.submission import hardening

        try:
            applied.update(hardening.harden())
        except OSError as exc:
            if job.get("require_seccomp"):
                raise Failure(
                    f"the fallback sandbox could not drop privileges or filter sockets ({exc}); install bubblewrap, "
                    "or let the host opt in with NAS_HARNESS_FALLBACK_UNHARDENED=1"
                ) from None
    return applied


def import_submission_file(path: str, name: str):
    """Import a file of the submission as module ``name`` (so pickled classes resolve to it again later)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise Failure(f"{os.path.basename(path)} cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------------ phases
def run_train(job: dict, scratch: str) -> dict[str, object]:
    import random

    import numpy as np
    import torch
    from torch import nn

    from harness.benchmarks.registry import Budget
    from harness.errors import SubmissionError
    from harness.evaluation.params_check import check_realised_params
    from harness.spaces import get_space
    from harness.submission import audit
    from harness.submission.context import TrainContext
    from harness.submission.reference import is_few_shot_module, new_reference_supernet

    space = get_space(job["space"]["name"], **job["space"]["kwargs"])
    reference_cls = type(new_reference_supernet(space))  # captured before any submission code runs
    data = torch.load(os.path.join(scratch, "in", "train.pt"), weights_only=True)
    device = job["device"]
    seed = int(job["seed"])
    torch.set_num_threads(int(job["threads"]))
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    budget = Budget(**job["budget"])
    sub_dir = job["submission"]

    if job.get("audit", True):
        audit.install(**_audit_args(job))
    sys.path.insert(0, sub_dir)
    report("status", m="importing trainer.py")
    try:
        trainer = import_submission_file(os.path.join(sub_dir, job.get("entry", "trainer.py")), "trainer")
    except Failure:
        raise
    except BaseException as exc:  # noqa: BLE001 - any import failure is the submission's
        raise Failure(describe(exc, sub_dir, budget.memory_gb, subject=os.path.basename(job.get("entry", "trainer.py")), action="failed to import:")) from None
    train = getattr(trainer, "train", None)
    if not callable(train):
        raise Failure("trainer.py defines no train(ctx) function")

    ctx = TrainContext(
        space=space,
        train_x=data["x"].to(device),
        train_y=data["y"].to(device),
        num_classes=int(job["num_classes"]),
        budget=budget,
        device=device,
        seed=seed,
        deadline=float(job["deadline"]),
        _new_supernet=lambda: new_reference_supernet(space),
        _report=lambda f, m: report("progress", f=f, m=m),
    )
    report("status", m="training")
    t0 = time.time()
    try:
        net = train(ctx)
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, SystemExit):
            raise Failure(f"the trainer called sys.exit({exc.code}) instead of returning a module") from None
        raise Failure(describe(exc, sub_dir, budget.memory_gb)) from None
    seconds = time.time() - t0
    if not isinstance(net, nn.Module):
        raise Failure(f"train(ctx) returned {type(net).__name__}, not an nn.Module")

    out = os.path.join(scratch, "out")
    os.makedirs(out, exist_ok=True)
    # the reference class, or the harness's few-shot container of reference copies: plain data, so the harness
    # evaluates it outside the sandbox with the fast evaluator
    reference = type(net) is reference_cls or is_few_shot_module(net, space)
    result: dict[str, object] = {"ok": True, "reference": reference, "train_seconds": seconds,
                                 "class": f"{type(net).__module__}.{type(net).__qualname__}"}
    if not reference:
        report("status", m="checking the subnets of the returned module")
        probe = [*space.extreme_archs(), *space.sample(np.random.default_rng(seed + 1), 6)]
        try:
            with flush_denormals():
                check_realised_params(net, space, probe, tuple(ctx.train_x.shape[1:]), n_check=len(probe))
        except SubmissionError as exc:
            raise Failure(f"the returned module: {exc}") from None
        except BaseException as exc:  # noqa: BLE001
            raise Failure(describe(exc, sub_dir, budget.memory_gb, subject="the returned module", action="failed on a subnet:")) from None
    try:
        net = net.to("cpu")
        state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        torch.save(state, os.path.join(out, "state.pt"))
    except BaseException as exc:  # noqa: BLE001
        raise Failure(describe(exc, sub_dir, budget.memory_gb, subject="the returned module", action="could not be saved:")) from None
    if not reference:
        try:
            torch.save(net, os.path.join(out, "module.pt"))
            result["module"] = "pickle"
        except Exception as exc:  # noqa: BLE001 - e.g. a class defined inside a function
            if os.path.exists(os.path.join(out, "module.pt")):
                os.remove(os.path.join(out, "module.pt"))
            if not callable(getattr(trainer, "build_supernet", None)):
                raise Failure(
                    f"the returned {type(net).__name__} cannot be saved ({one_line(str(exc), 120)}); define it at module "
                    "level, or add build_supernet(space) to trainer.py so the harness can rebuild it"
                ) from None
            result["module"] = "build"
    return result


def _audit_args(job: dict) -> dict[str, object]:
    policy = job["policy"]
    return {
        "read": [*policy["read"], f"/proc/{os.getpid()}", "/proc/self", "/proc/thread-self"],
        "list_only": [*policy["list_only"], "/proc"],
        "write": policy["write"],
        "rw_files": policy["rw_files"],
        "deny": policy["deny"],
        "max_forks": int(job.get("max_forks", 64)),
        "allow_dlopen_under": policy["env_roots"],
    }


def realise_module(job: dict, scratch: str, space):  # noqa: ANN001 - torch types imported lazily
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


class flush_denormals:  # noqa: N801 - used as a context manager
    """Flush denormal floats to zero for the duration (the params check runs on randomly re-drawn weights, whose
    exploding/vanishing activations make denormal arithmetic 10-100x slower on CPU); restored afterwards so the
    evaluation itself computes exactly as the harness's reference loop does."""

    def __enter__(self) -> None:
        import torch

        torch.set_flush_denormal(True)

    def __exit__(self, *exc: object) -> None:
        import torch

        torch.set_flush_denormal(False)


def run_evaluate(job: dict, scratch: str) -> dict[str, object]:
    """Predicted classes of the eval inputs for every arch, with the evaluator's precise-BN protocol.

    The same functions as the harness's plain reference loop (:mod:`harness.evaluation.bn_calibration`): reset
    every BN layer, calibration batches in order with only BN in train mode and cumulative averaging, then eval.
    """
    import numpy as np
    import torch

    from harness.errors import SubmissionError
    from harness.evaluation.bn_calibration import bn_layers, end_calibration, start_calibration
    from harness.evaluation.params_check import check_realised_params
    from harness.spaces import get_space
    from harness.submission import audit

    space = get_space(job["space"]["name"], **job["space"]["kwargs"])
    torch.set_num_threads(int(job["threads"]))
    torch.manual_seed(int(job["seed"]))
    device = job["device"]
    inputs = torch.load(os.path.join(scratch, "in", "eval.pt"), weights_only=True)
    with open(os.path.join(scratch, "in", "archs.json")) as f:
        archs: list[str] = json.load(f)
    calib = [b.to(device) for b in inputs["calib"]]
    eval_x = inputs["eval_x"].to(device)
    batch = max(1, int(job["eval_batch_size"]))
    memory_gb = float(job["budget"]["memory_gb"])
    sub_dir = job["submission"]

    if job.get("audit", True):
        audit.install(**_audit_args(job))
    net = realise_module(job, scratch, space).to(device)
    report("status", m="checking the #params of the module's subnets")
    try:
        with flush_denormals():
            check_realised_params(net, space, archs, tuple(eval_x.shape[1:]), n_check=int(job.get("checks", 32)))
    except SubmissionError as exc:
        raise Failure(f"the module: {exc}") from None
    except BaseException as exc:  # noqa: BLE001
        raise Failure(describe(exc, sub_dir, memory_gb, subject="the module", action="failed in the params check:")) from None

    layers = bn_layers(net)
    dtype = np.uint8 if int(job["num_classes"]) <= 256 else np.int32
    pred = np.zeros((len(archs), int(eval_x.shape[0])), dtype=dtype)
    step = max(1, len(archs) // 200)
    for i, arch in enumerate(archs):
        try:
            with torch.no_grad():
                start_calibration(net, layers)
                for xb in calib:
                    net(xb, arch)
                end_calibration(layers)
                for s in range(0, eval_x.shape[0], batch):
                    xb = eval_x[s : s + batch]
                    out = net(xb, arch)
                    if not torch.is_tensor(out) or out.dim() != 2 or out.shape[0] != xb.shape[0]:
                        shape = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
                        raise Failure(f"the module's output for arch {arch} has shape {shape}; expected ({xb.shape[0]}, classes)")
                    if not torch.isfinite(out).all():
                        raise Failure(f"the module's output for arch {arch} is not finite (NaN or inf)")
                    pred[i, s : s + batch] = out.argmax(dim=1).cpu().numpy()
        except Failure:
            raise
        except BaseException as exc:  # noqa: BLE001
            raise Failure(describe(exc, sub_dir, memory_gb, subject="the module", action=f"failed on subnet {arch}:")) from None
        if i % step == 0 or i == len(archs) - 1:
            report("progress", f=(i + 1) / len(archs), m=f"subnet {i + 1}/{len(archs)}")
    out_dir = os.path.join(scratch, "out")
    os.makedirs(out_dir, exist_ok=True)
    np.save(os.path.join(out_dir, "pred.npy"), pred, allow_pickle=False)
    return {"ok": True, "n": len(archs)}


# ------------------------------------------------------------------------------------------ main
def main() -> int:
    job_path = sys.argv[1]
    with open(job_path) as f:
        job = json.load(f)
    scratch = job["scratch"]
    result_path = os.path.join(scratch, "out", "result.json")
    os.makedirs(os.path.dirname(result_path), exist_ok=True)
    apply_rlimits(job.get("limits", {}))
    start_watchdog(job.get("kill_at"))
    try:
        applied = confine(job)
        report("status", m="sandbox ready", **applied)
        result = run_train(job, scratch) if job["phase"] == "train" else run_evaluate(job, scratch)
    except Failure as exc:
        result = {"ok": False, "error": one_line(str(exc))}
    except MemoryError:
        subject = "the trainer" if job["phase"] == "train" else "the module evaluation"
        result = {"ok": False, "error": f"{subject} ran out of memory (the budget allows {job['budget']['memory_gb']:g} GB)"}
    except BaseException as exc:  # noqa: BLE001 - report, never a traceback to the participant
        result = {"ok": False, "error": one_line(f"the sandbox failed: {type(exc).__name__}: {exc}")}
    with open(result_path, "w") as f:
        json.dump(result, f)
    report("done", ok=bool(result.get("ok")))
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit: skip interpreter teardown (atexit hooks and threads the submission left behind cannot hang us)
    os._exit(0 if result.get("ok") else EXIT_FAILED)


if __name__ == "__main__":
    main()
