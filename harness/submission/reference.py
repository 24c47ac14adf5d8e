"""The reference supernet of each search space, and checks of a state dict against it.

Why one place: trainers get a fresh reference supernet from ``ctx.new_supernet()``, checkpoints are validated
against one, and the evaluator rebuilds one from returned weights; all three must agree on the class and its
geometry, or a checkpoint that loads in one place would fail (or silently mis-load) in another.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from harness.errors import SubmissionError, UnsupportedError
from harness.spaces.base import SearchSpace

SHOW = 3


def split_choices(space: SearchSpace) -> tuple[tuple[int, ...], ...]:
    """The choices per position that a few-shot supernet of ``space`` splits on (what the space declares)."""
    choices = space.few_shot_choices()
    if choices is None:
        raise SubmissionError(f"few-shot supernets (split_positions) are not supported for the space {space.name!r}")
    return choices


def new_few_shot_supernet(space: SearchSpace, positions: tuple[int, ...] = ()) -> nn.Module:
    """A few-shot supernet of ``space`` split on ``positions`` (valid positions, e.g. from a validated state
    dict), every copy a fresh reference supernet."""
    from reference_nets.few_shot import FewShotSupernet, split_keys

    choices = split_choices(space)
    return FewShotSupernet([new_reference_supernet(space) for _ in split_keys(choices, positions)], positions, choices)


def is_few_shot_module(module: object, space: SearchSpace) -> bool:
    """The harness's own few-shot class with reference-supernet copies (so: data, evaluable outside the sandbox)."""
    from reference_nets.few_shot import FewShotSupernet

    if type(module) is not FewShotSupernet:
        return False
    cls = reference_class(space)
    return all(type(c) is cls for c in module.copies)  # type: ignore[attr-defined]


def new_reference_supernet(space: SearchSpace) -> nn.Module:
    """A freshly initialised reference supernet for ``space`` (same class and geometry everywhere).

    The space builds it (:meth:`SearchSpace.new_supernet`); a space without one is a submission error here."""
    try:
        return space.new_supernet()
    except UnsupportedError as exc:
        raise SubmissionError(f"no reference supernet is defined for the space {space.name!r}") from exc


def reference_class(space: SearchSpace) -> type[nn.Module]:
    return type(new_reference_supernet(space))


def _names(items: list[str]) -> str:
    """The first few names, escaped: key names come from a participant's pickle (ANSI/OSC escapes included)."""
    from harness.submission.text import printable

    shown = [printable(i, 80) for i in items[:SHOW]]
    return ", ".join(shown) + (", ..." if len(items) > SHOW else "")


def non_finite_tensors(state: Mapping[str, torch.Tensor]) -> list[str]:
    """Names of floating tensors that hold NaN or inf."""
    return [k for k, v in state.items() if torch.is_tensor(v) and v.is_floating_point() and not torch.isfinite(v).all()]


def check_finite(state: Mapping[str, torch.Tensor], what: str) -> None:
    bad = non_finite_tensors(state)
    if bad:
        raise SubmissionError(f"{what} holds non-finite weights (NaN/inf) in {len(bad)} tensor(s): {_names(bad)}")


def validate_state_dict(state: Mapping[str, object], space: SearchSpace, what: str) -> dict[str, torch.Tensor]:
    """``state`` checked against a fresh reference supernet: same keys, same shapes, finite values.

    Floating tensors are cast to the reference dtype (a half-precision checkpoint is accepted); the result loads
    into :func:`new_reference_supernet` with ``strict=True``.
    """
    if not isinstance(state, Mapping) or not all(isinstance(k, str) for k in state):
        raise SubmissionError(f"{what} is not a state dict (a mapping of parameter names to tensors)")
    from reference_nets.few_shot import SPLIT_KEY

    if SPLIT_KEY in state:
        return _validate_few_shot(state, space, what)
    not_tensors = [k for k, v in state.items() if not torch.is_tensor(v)]
    if not_tensors:
        raise SubmissionError(f"{what}: {len(not_tensors)} entries are not tensors: {_names(not_tensors)}")
    reference = new_reference_supernet(space).state_dict()
    missing = [k for k in reference if k not in state]
    unexpected = [k for k in state if k not in reference]
    wrong = [
        f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})"  # type: ignore[union-attr]
        for k, v in reference.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)  # type: ignore[union-attr]
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing key(s): {_names(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s): {_names(unexpected)}")
    if wrong:
        problems.append(f"{len(wrong)} tensor(s) of the wrong shape: {_names(wrong)}")
    if problems:
        raise SubmissionError(f"{what} does not match the reference supernet of {space.name}: " + "; ".join(problems))
    out: dict[str, torch.Tensor] = {}
    for k, ref in reference.items():
        value = state[k]
        assert torch.is_tensor(value)
        if value.is_floating_point() != ref.is_floating_point():
            raise SubmissionError(f"{what}: {k} has dtype {value.dtype}, expected {ref.dtype}")
        out[k] = value.detach().to(device="cpu", dtype=ref.dtype).contiguous()
    check_finite(out, what)
    return out


def _validate_few_shot(state: Mapping[str, object], space: SearchSpace, what: str) -> dict[str, torch.Tensor]:
    """A few-shot state dict: valid split positions, one copy per split key, each a valid reference state dict."""
    from reference_nets.few_shot import COPY_PREFIX, SPLIT_KEY, copy_states, split_keys

    positions_t = state[SPLIT_KEY]
    if not torch.is_tensor(positions_t) or positions_t.is_floating_point() or positions_t.dim() != 1:
        raise SubmissionError(f"{what}: {SPLIT_KEY} must be a 1-D integer tensor of arch positions")
    choices = split_choices(space)
    positions = tuple(int(p) for p in positions_t.tolist())
    if len(set(positions)) != len(positions) or any(not 0 <= p < len(choices) for p in positions):
        raise SubmissionError(f"{what}: {SPLIT_KEY} {list(positions)} must be distinct positions 0..{len(choices) - 1}")
    stray = [k for k in state if k != SPLIT_KEY and not k.startswith(COPY_PREFIX)]
    if stray:
        raise SubmissionError(f"{what}: {len(stray)} key(s) outside the copies of the few-shot supernet: {_names(stray)}")
    _, copies = copy_states(dict(state))  # type: ignore[arg-type]
    want = len(split_keys(choices, positions))
    indices = sorted({k[len(COPY_PREFIX) :].partition(".")[0] for k in state if k.startswith(COPY_PREFIX)})
    if len(copies) != want or indices != sorted(str(i) for i in range(want)):
        raise SubmissionError(f"{what}: splitting on positions {list(positions)} needs {want} copies (copies.0 .. copies.{want - 1}), found {len(indices)}")
    out: dict[str, torch.Tensor] = {SPLIT_KEY: positions_t.detach().to("cpu", torch.int64).clone()}
    for i, part in enumerate(copies):
        if SPLIT_KEY in part:
            raise SubmissionError(f"{what}: copy {i} is itself split; nest no few-shot supernets, split on more positions")
        for k, v in validate_state_dict(part, space, f"{what} (copy {i})").items():
            out[f"{COPY_PREFIX}{i}.{k}"] = v
    return out
