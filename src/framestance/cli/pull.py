"""`framestance pull`: Label Studio -> scrubbed snapshot + flat tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import FramestanceError
from ._app import (
    CodebookOpt,
    StudioHome,
    _codebook,
    app,
    err_console,
    fail,
    out_console,
    settings,
)


@app.command()
def pull(
    project: Annotated[Optional[str], typer.Option("--project", help="Label Studio project title (default: params.yaml pull.project, else study.name).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder of the snapshots (<out>/<project>/<time>-<sha>.json, tracked in git).")] = Path("annotations"),
    tables: Annotated[Path, typer.Option("--tables", help="Folder for annotations/stances/spans.parquet.")] = Path("corpus/annotations"),
    codebook: CodebookOpt = None,
    full: Annotated[bool, typer.Option("--full", help="Export every task again (default: only those changed since the newest snapshot, on servers `studio up` runs).")] = False,
    home: StudioHome = Path(".studio"),
) -> None:
    """Export every task with all annotations to a scrubbed snapshot, then flat tables.

    With no Label Studio configured, the tables are rebuilt from the newest tracked snapshot
    (that is how `dvc repro` reproduces the corpus anywhere)."""
    from ..labelstudio.pull import run

    cb = _codebook(codebook)
    project = project or settings().project
    if not project:
        fail("--project: missing (or set pull.project in params.yaml)")
    try:
        report = run(project, out, tables, cb, home, exporting=lambda: err_console.status("exporting from Label Studio"),
                     full=full)
    except FramestanceError as exc:
        fail(str(exc))
    if report.source == "none":
        err_console.print(f"[yellow]warning:[/] {report.warning}", highlight=False)
    elif report.source == "snapshot":
        err_console.print(f"[yellow]warning:[/] {report.warning}: using the snapshot {report.snapshot}", highlight=False)
    else:
        for title, n in report.projects.items():
            out_console.print(f"{title!r}: {n} tasks", highlight=False)
        total = sum(report.projects.values())
        out_console.print(f"exported {report.fetched} of {total} tasks"
                          + (" (the others unchanged since the last snapshot)" if report.fetched < total else ""), highlight=False)
        out_console.print(f"snapshot {report.snapshot}", highlight=False)
    for name, (path, rows) in report.tables.items():
        out_console.print(f"{name}: {rows} rows -> {path}", highlight=False)
