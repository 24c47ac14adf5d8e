"""The layer rule of the ResNet20 width space (CVPR 2021 track 1): arch strings, widths, #params and FLOPs.

Why a module of its own: the networks (:mod:`reference_nets.resnet20_width`) and the fast evaluator read the rule
from here, and the space object (:mod:`harness.spaces.resnet20_width`) builds those networks, so the rule is a leaf
that imports neither (no import cycle, no torch).

An arch is 20 dash-separated channel counts ``c0-c1-...-c19``. Positions 0–6 take {4, 8, 12, 16}, 7–12 take
{4, ..., 32 step 4}, 13–19 take {4, ..., 64 step 4}. The network (He et al., 2016, CIFAR ResNet20):

* stem: conv3(in → c0) + BN + ReLU
* 9 basic blocks ``j = 0..8`` with ``in = c[2j]``, ``mid = c[2j+1]``, ``out = c[2j+2]``:
  conv3(in → mid, stride s) + BN + ReLU, conv3(mid → out) + BN, shortcut = conv1(in → out, stride s) + BN when
  ``j ∈ {0, 3, 6}`` or ``in ≠ out``, else identity; add, ReLU. ``s = 2`` at ``j = 3`` and ``j = 6``.
* global average pool, FC(c18 → classes).

Position 19 is carried in the string (the challenge's format) but unused: the classifier reads c18.
The same space exists with 1-D convolutions (kernel 3 and 1) for sequence data; only the kernel size differs.
Convolutions have no bias; BN has an affine weight and bias (2 parameters a channel).
"""

from __future__ import annotations

from functools import lru_cache


from harness.errors import InvalidArchError

NUM_POSITIONS = 20
NUM_BLOCKS = 9
STRIDE2_BLOCKS = (3, 6)
PROJECTION_BLOCKS = (0, 3, 6)

CHOICES: tuple[tuple[int, ...], ...] = tuple(
    tuple(range(4, 17, 4)) if i <= 6 else tuple(range(4, 33, 4)) if i <= 12 else tuple(range(4, 65, 4))
    for i in range(NUM_POSITIONS)
)
MAX_WIDTHS: tuple[int, ...] = tuple(max(c) for c in CHOICES)


def block_widths(widths: tuple[int, ...], j: int) -> tuple[int, int, int]:
    """(in, mid, out) channels of block ``j``."""
    return widths[2 * j], widths[2 * j + 1], widths[2 * j + 2]


def block_stride(j: int) -> int:
    return 2 if j in STRIDE2_BLOCKS else 1


def has_projection(j: int, c_in: int, c_out: int) -> bool:
    """Whether block ``j`` uses a 1×1 conv + BN shortcut (instead of identity) for these widths."""
    return j in PROJECTION_BLOCKS or c_in != c_out


def _conv_out(length: int, stride: int) -> int:
    # kernel 3 / padding 1 and kernel 1 / padding 0 give the same output length for any stride
    return (length - 1) // stride + 1


@lru_cache(maxsize=262_144)
def _parse(arch: str) -> tuple[int, ...]:
    if not isinstance(arch, str):
        raise InvalidArchError(f"arch must be a string like '16-4-12-...', got {type(arch).__name__}")
    parts = arch.strip().split("-")
    if len(parts) != NUM_POSITIONS:
        raise InvalidArchError(
            f"arch {arch!r} has {len(parts)} channel counts; the ResNet20 width space needs {NUM_POSITIONS}"
        )
    try:
        widths = tuple(int(p) for p in parts)
    except ValueError:
        raise InvalidArchError(f"arch {arch!r} holds a part that is not an integer") from None
    _validate(widths, arch)
    return widths


def _validate(widths: tuple[int, ...], shown: str) -> None:
    if len(widths) != NUM_POSITIONS:
        raise InvalidArchError(f"arch {shown!r} has {len(widths)} positions; the space needs {NUM_POSITIONS}")
    for i, (w, allowed) in enumerate(zip(widths, CHOICES, strict=True)):
        if w not in allowed:
            raise InvalidArchError(
                f"arch {shown!r}: position {i} is {w}, allowed {allowed[0]}..{allowed[-1]} step 4"
            )


def _params(w: tuple[int, ...], dims: int, in_channels: int, num_classes: int) -> int:
    k = 3**dims
    total = in_channels * w[0] * k + 2 * w[0]
    for j in range(NUM_BLOCKS):
        c_in, mid, c_out = block_widths(w, j)
        total += c_in * mid * k + 2 * mid + mid * c_out * k + 2 * c_out
        if has_projection(j, c_in, c_out):
            total += c_in * c_out + 2 * c_out
    return total + w[18] * num_classes + num_classes


def _flops(w: tuple[int, ...], dims: int, in_channels: int, num_classes: int, input_size: int) -> int:
    k = 3**dims
    positions = input_size**dims
    total = in_channels * w[0] * k * positions
    size = input_size
    for j in range(NUM_BLOCKS):
        c_in, mid, c_out = block_widths(w, j)
        size = _conv_out(size, block_stride(j))
        positions = size**dims
        total += (c_in * mid * k + mid * c_out * k) * positions
        if has_projection(j, c_in, c_out):
            total += c_in * c_out * positions
    return total + w[18] * num_classes


def parse_widths(arch: str) -> tuple[int, ...]:
    """Widths of a width-space arch string (validated)."""
    return _parse(arch)
