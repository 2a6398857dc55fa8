"""`framestance pull`: Label Studio -> scrubbed snapshot + flat tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import FramestanceError
from ._app import (
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
    project: Annotated[Optional[str], typer.Option("--project", help="Label Studio project title (default: params.yaml pull.project).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder of the snapshots (<out>/<project>/<time>-<sha>.json, tracked in git).")] = Path("annotations"),
    tables: Annotated[Path, typer.Option("--tables", help="Folder for annotations/stances/spans.parquet.")] = Path("corpus/annotations"),
    codebook: Annotated[Optional[Path], typer.Option(help="Codebook YAML (default schemas/codebook.yaml).")] = None,
    home: StudioHome = Path(".studio"),
) -> None:
    """Export every task with all annotations to a scrubbed snapshot, then flat tables.

    With no Label Studio configured, the tables are rebuilt from the newest tracked snapshot
    (that is how `dvc repro` reproduces the corpus anywhere)."""
    from ..pull import (
        Pseudonymiser,
        canonical,
        latest_snapshot,
        scrub_tasks,
        slug,
        tables_from_snapshot,
        tables_from_tasks,
        write_snapshot,
        write_tables,
    )
    from ..studio import StudioError, connection_from_env

    cb = _codebook(codebook)
    project = project or settings().pull.project
    if not project:
        fail("--project: missing (or set pull.project in params.yaml)")
    try:
        conn = connection_from_env(home)
    except StudioError:
        conn = None
    try:
        if conn is None:
            snap = latest_snapshot(out, project)
            if snap is None:
                fail(f"no Label Studio configured and no snapshot in {out}/{slug(project)}/: "
                     "set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY, or run `framestance studio up`")
            err_console.print(f"no Label Studio configured: using the snapshot {snap}", highlight=False)
            built = tables_from_snapshot(snap.read_bytes(), cb)
        else:
            from ..labelstudio import Client

            client = Client(conn.url, conn.api_key)
            pid = client.find_project(project)
            if pid is None:
                fail(f"project {project!r}: no such project on {client.url}")
            with err_console.status("exporting from Label Studio"):
                raw = client.export_snapshot(pid)
            pseudo = Pseudonymiser(home / "pseudonym.key", home / "annotators.json")
            tasks = scrub_tasks(raw, pseudo)
            pseudo.save()
            snap = write_snapshot(canonical(tasks), out, project)
            out_console.print(f"snapshot {snap}", highlight=False)
            built = tables_from_tasks(tasks, cb)  # the export is parsed once
        paths = write_tables(built, tables)
    except FramestanceError as exc:
        fail(str(exc))
    for name, path in paths.items():
        out_console.print(f"{name}: {built[name].num_rows} rows -> {path}", highlight=False)
