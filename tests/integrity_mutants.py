"""Mutated ``torch.save`` checkpoints for the integrity tests: pickle opcodes and tensor metadata, seeded.

Why splice opcodes instead of flipping random bytes only: a random flip mostly breaks the zip or the pickle's
framing, which the loader's first checks refuse; the failures a participant aims for are well-formed pickles that
say something hostile (a persistent id that is not a tuple, a storage on the ``meta`` device, a size or stride that
does not fit the storage, a global of another type). Protocol-2 pickles (what ``torch.save`` writes) hold no
absolute offsets, so an opcode can be replaced by another of any length and the rest still parses.
"""

from __future__ import annotations

import io
import pickletools
import random
import struct
import zipfile
from collections.abc import Callable

import torch

INT_OPS = {"BININT", "BININT1", "BININT2", "LONG1"}
STR_OPS = {"BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"}
STRINGS = ["meta", "cuda:7", "xla", "cpu", "", "\x1b]0;pwn\x07", "data/999", "../../etc/passwd", "storage", "ééé",
           "torch", "0" * 300]
GLOBALS = [("torch", "HalfStorage"), ("torch", "LongStorage"), ("torch", "BoolStorage"), ("torch._utils", "_rebuild_parameter"),
           ("torch._utils", "_rebuild_tensor_v2"), ("collections", "OrderedDict"), ("builtins", "set"), ("os", "system"),
           ("torch", "Size"), ("torch", "float8_e5m2"), ("torch", "complex64"), ("torch", "QUInt8Storage")]
INTS = [0, 1, -1, 2, 7, 2**31 - 1, -(2**31), 2**40, 10**6, 3]


def reference_bytes(state: dict[str, torch.Tensor]) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def _members(raw: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in members:
            z.writestr(name, data)
    return buf.getvalue()


def _enc_int(v: int) -> bytes:
    if -(2**31) <= v < 2**31:
        return b"J" + struct.pack("<i", v)
    body = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(body)]) + body


def _enc_str(s: str) -> bytes:
    data = s.encode("utf-8", "surrogatepass")
    return b"X" + struct.pack("<I", len(data)) + data


def _ops(pkl: bytes) -> list[tuple[str, int, int]]:
    """(opcode name, start, end) of every opcode."""
    ops = list(pickletools.genops(pkl))
    out = []
    for i, (op, _arg, pos) in enumerate(ops):
        end = ops[i + 1][2] if i + 1 < len(ops) else len(pkl)
        out.append((op.name, pos, end))
    return out


def _persid_tuples(ops: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """The TUPLE opcodes that build a persistent id (``TUPLE, BINPUT, BINPERSID``: torch's storage records)."""
    return [o for i, o in enumerate(ops[:-2]) if o[0] == "TUPLE" and ops[i + 1][0] in ("BINPUT", "LONG_BINPUT")
            and ops[i + 2][0] == "BINPERSID"]


def _splice(pkl: bytes, start: int, end: int, new: bytes) -> bytes:
    return pkl[:start] + new + pkl[end:]


def mutate_pickle(pkl: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One mutation of the pickle: (what was done, new pickle bytes)."""
    ops = _ops(pkl)
    targets = {
        "int": [o for o in ops if o[0] in INT_OPS],
        "str": [o for o in ops if o[0] in STR_OPS],
        "global": [o for o in ops if o[0] == "GLOBAL"],
        # the persistent id becomes a non-tuple (a string, an int, a list, None, a dict)
        "persid": _persid_tuples(ops),
        "delete": ops[1:-1], "dup": ops[1:-1], "swap": ops[1:-1],
    }
    weights = {"int": 3, "str": 2, "global": 2, "persid": 2, "delete": 1, "dup": 1, "swap": 1}
    kinds = [k for k, w in weights.items() for _ in range(w) if targets[k]] + ["flip", "truncate"]
    kind = rng.choice(kinds)
    if kind in targets:
        name, s, e = rng.choice(targets[kind])
    if kind == "int":
        return f"int@{s}", _splice(pkl, s, e, _enc_int(rng.choice(INTS + [rng.randint(-5, 10**5)])))
    if kind == "str":
        return f"str@{s}", _splice(pkl, s, e, _enc_str(rng.choice(STRINGS)))
    if kind == "global":
        mod, attr = rng.choice(GLOBALS)
        return f"global@{s}", _splice(pkl, s, e, f"c{mod}\n{attr}\n".encode())
    if kind == "persid":
        push = rng.choice([_enc_str("storage"), _enc_int(5), b"]", b"N", b"}"])
        return f"persid@{s}", _splice(pkl, s, e, b"1" + push)  # POP_MARK drops the tuple's items
    if kind == "delete":
        return f"delete {name}@{s}", _splice(pkl, s, e, b"")
    if kind == "dup":
        return f"dup {name}@{s}", _splice(pkl, s, e, pkl[s:e] * 2)
    if kind == "swap":  # another opcode byte in place of one (arguments left as they were)
        code = rng.choice(b"()tQRbsu0012deN}]ae\x85\x86\x87\x88\x89")
        return f"opcode {name}->{chr(code)}@{s}", pkl[:s] + bytes([code]) + pkl[s + 1:]
    if kind == "flip":
        data = bytearray(pkl)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return "flip", bytes(data)
    cut = rng.randrange(1, len(pkl))
    return f"truncate@{cut}", pkl[:cut]


def mutate_checkpoint(raw: bytes, rng: random.Random) -> tuple[str, bytes]:
    """A mutated checkpoint file: mostly its pickle (opcodes, tensor metadata), sometimes its storages."""
    members = _members(raw)
    if rng.random() < 0.15:  # a storage record truncated or grown: sizes in the pickle no longer fit it
        idx = rng.choice([i for i, (n, _) in enumerate(members) if "/data/" in n])
        name, data = members[idx]
        members[idx] = (name, data[: rng.randrange(len(data))] if rng.random() < 0.5 else data + b"\0" * 64)
        return f"storage {name}", _zip(members)
    idx = next(i for i, (n, _) in enumerate(members) if n.endswith("data.pkl"))
    name, pkl = members[idx]
    steps = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        what, pkl = mutate_pickle(pkl, rng)
        steps.append(what)
        try:
            list(pickletools.genops(pkl))
        except Exception:  # noqa: BLE001  (no longer parseable: further opcode mutations cannot find their targets)
            break
    members[idx] = (name, pkl)
    return " + ".join(steps), _zip(members)


def mutants(state: dict[str, torch.Tensor], n: int, seed: int = 0) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    raw = reference_bytes(state)
    return [mutate_checkpoint(raw, rng) for _ in range(n)]


def named_cases(state: dict[str, torch.Tensor]) -> dict[str, Callable[[], bytes]]:
    """One checkpoint per failure class the issue names (each raised a different exception type before)."""
    def meta() -> bytes:
        return reference_bytes({k: v.to("meta") for k, v in state.items()})

    def persid() -> bytes:
        members = _members(reference_bytes(state))
        idx = next(i for i, (n, _) in enumerate(members) if n.endswith("data.pkl"))
        pkl = members[idx][1]
        ops = _ops(pkl)
        _, s, e = _persid_tuples(ops)[0]
        members[idx] = (members[idx][0], _splice(pkl, s, e, b"1" + _enc_str("storage")))
        return _zip(members)

    return {"meta": meta, "persid": persid}
