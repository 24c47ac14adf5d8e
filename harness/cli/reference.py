"""``nas-harness reference import|export``: the reference trainers' seed groups shipped as a file, in a store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from harness.cli.options import StoreOpt, open_store
from harness.cli.render import console, u


def reference_import(
    files: Annotated[Optional[list[Path]], typer.Argument(help="Reference-results files (default: the ones shipped with the harness).")] = None,
    store: StoreOpt = None,
) -> None:
    """Import reference seed groups (per-run scores of the GT archs and their metrics; a file made against another
    GT is refused) into the store, so `nas-harness compare MY_GROUP spos` works without re-training SPOS."""
    from harness.errors import BadPathError
    from harness.reference_results import import_file, read_file, shipped_files

    paths = list(files or shipped_files())
    if not paths:
        raise BadPathError("no reference-results files given and none shipped with this harness")
    for path in paths:
        if not path.is_file():
            raise BadPathError(f"{path} does not exist")
    results = open_store(store)
    for path in paths:
        cpu = read_file(path).get("cpu", "")
        for name, gid, n, new in import_file(results, path):
            what = "imported" if new else "already in the store"
            console.print(f"{u(name)}: group {u(gid)} ({n} runs, trained on {u(cpu)}) {what}", highlight=False)
    console.print("compare with one: nas-harness compare MY_GROUP NAME (e.g. spos)", highlight=False)


def reference_export(
    groups: Annotated[list[str], typer.Argument(help="Group ids (g…) to export.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The file to write (.json.gz).")],
    store: StoreOpt = None,
    cpu: Annotated[Optional[str], typer.Option(help="The CPU kind the runs were trained on (default: this machine's).")] = None,
) -> None:
    """Write seed groups as a reference-results file (what `reference import` reads)."""
    from harness.reference_results import export_groups

    results = open_store(store, must_exist=True)
    payload = export_groups(results, groups, out, cpu=cpu)
    console.print(f"{len(payload['groups'])} groups of {u(payload['benchmark'])} v{payload['bench_version']} "
                  f"written to {u(str(out))} (CPU: {u(payload['cpu'])})", highlight=False)
