"""Few-shot supernets: copies of a reference supernet, each serving the subnets with one combination of choices.

Why the harness ships this class: few-shot NAS (Zhao et al., "Few-shot Neural Architecture Search", ICML 2021) and
progressive weight splitting (the CVPR-2021 track-1 winner) both end with *several* supernets and a rule that
says which one serves an arch. If each submission brought its own router class, the harness could only run it
inside the sandbox with the plain per-subnet loop (hours for 50,000 subnets on CPU). A router that is data, not
code (the split positions), lets the harness evaluate every copy with the fast evaluator, outside the sandbox,
and lets a checkpoint of a few-shot supernet be plain tensors.

The rule: ``positions`` are arch positions; the copy of an arch is the index of its widths at those positions
in ``itertools.product(*(choices[p] for p in positions))``. No positions: one copy (an ordinary supernet).
The state dict is ``split_positions`` (int64, the positions) plus ``copies.<i>.<key of the reference supernet>``.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence

import torch
from torch import nn

SPLIT_KEY = "split_positions"
COPY_PREFIX = "copies."


def split_keys(choices: Sequence[Sequence[int]], positions: Sequence[int]) -> list[tuple[int, ...]]:
    """The routing keys in copy order: every combination of the choices at ``positions``."""
    return list(itertools.product(*(tuple(choices[p]) for p in positions)))


class FewShotSupernet(nn.Module):
    """Copies of one supernet class; ``forward(x, arch)`` runs the arch on the copy its split key names.

    ``choices`` are the space's choices per position (e.g. ``harness.spaces.resnet20_width.CHOICES``);
    ``parse(arch)`` gives an arch's choice per position (ints), for strings or sequences.
    """

    def __init__(self, copies: Sequence[nn.Module], positions: Sequence[int], choices: Sequence[Sequence[int]]) -> None:
        super().__init__()
        self.positions = tuple(int(p) for p in positions)
        self.choices = tuple(tuple(int(c) for c in cs) for cs in choices)
        if len(set(self.positions)) != len(self.positions) or any(not 0 <= p < len(self.choices) for p in self.positions):
            raise ValueError(f"split positions {self.positions} must be distinct positions of the space (0..{len(self.choices) - 1})")
        self.keys = split_keys(self.choices, self.positions)
        if len(copies) != len(self.keys):
            raise ValueError(f"{len(self.keys)} split keys need as many copies, got {len(copies)}")
        self.copies = nn.ModuleList(copies)
        self.register_buffer(SPLIT_KEY, torch.tensor(self.positions, dtype=torch.int64))
        self._index = {key: i for i, key in enumerate(self.keys)}

    @staticmethod
    def _widths(arch: str | Sequence[int]) -> list[int]:
        return [int(w) for w in arch.split("-")] if isinstance(arch, str) else [int(w) for w in arch]

    def copy_index(self, arch: str | Sequence[int]) -> int:
        widths = self._widths(arch)
        key = tuple(widths[p] for p in self.positions)
        try:
            return self._index[key]
        except KeyError:
            raise ValueError(f"arch {arch!r}: choices {key} at positions {self.positions} are not in the space") from None

    def forward(self, x: torch.Tensor, arch: str | Sequence[int]) -> torch.Tensor:
        return self.copies[self.copy_index(arch)](x, arch)

    def split(self, positions: Sequence[int]) -> FewShotSupernet:
        """A finer few-shot supernet on ``positions`` (a superset of the current ones): each new copy starts as a
        deep copy of the copy that served its key so far (progressive splitting)."""
        positions = tuple(int(p) for p in positions)
        if not set(self.positions) <= set(positions):
            raise ValueError(f"split positions {positions} must include the current ones {self.positions}")
        parents = []
        for key in split_keys(self.choices, positions):
            chosen = dict(zip(positions, key, strict=True))
            parents.append(copy.deepcopy(self.copies[self._index[tuple(chosen[p] for p in self.positions)]]))
        return FewShotSupernet(parents, positions, self.choices)


def is_few_shot_state(state: object) -> bool:
    """Whether a state dict has the few-shot layout (a ``split_positions`` entry)."""
    return isinstance(state, dict) and SPLIT_KEY in state


def copy_states(state: dict[str, torch.Tensor]) -> tuple[tuple[int, ...], list[dict[str, torch.Tensor]]]:
    """(positions, per-copy state dicts in copy order) of a few-shot state dict (not validated here)."""
    positions = tuple(int(p) for p in state[SPLIT_KEY].reshape(-1).tolist())
    copies: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        if key.startswith(COPY_PREFIX):
            index, _, rest = key[len(COPY_PREFIX) :].partition(".")
            if index.isdigit():
                copies.setdefault(int(index), {})[rest] = value
    return positions, [copies[i] for i in sorted(copies)]
