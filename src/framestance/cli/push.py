"""`framestance push`: articles -> Label Studio tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import FramestanceError
from ._app import (
    StudioHome,
    _client,
    _codebook,
    app,
    err_console,
    fail,
    out_console,
)


@app.command()
def push(
    corpus_dir: Annotated[Path, typer.Argument(help="Folder with articles.parquet (the normalise output).")],
    project: Annotated[str, typer.Option("--project", help="Label Studio project title (created when missing).")],
    sample_n: Annotated[Optional[int], typer.Option("--sample", help="Push a sample of N articles (default: all).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample.")] = 0,
    stratify: Annotated[Optional[str], typer.Option(help="Stratify the sample by this column (e.g. outlet).")] = None,
    overlap: Annotated[Optional[int], typer.Option(help="Annotators per task.")] = None,
    overlap_share: Annotated[int, typer.Option(min=0, max=100, help="Share of tasks (%) that get --overlap annotators.")] = 100,
    predictions: Annotated[Optional[Path], typer.Option(help="JSON/JSONL of pre-annotations: article_id, model_version, score, result.")] = None,
    codebook: Annotated[Optional[Path], typer.Option(help="Codebook YAML (default schemas/codebook.yaml).")] = None,
    home: StudioHome = Path(".studio"),
) -> None:
    """Push a seeded, stratified sample of the corpus to a Label Studio project (idempotent)."""
    from ..push import push as run

    cb = _codebook(codebook)
    client = _client(home)
    progress = Progress(TextColumn("pushing"), BarColumn(), MofNCompleteColumn(), TextColumn("tasks"),
                        TimeElapsedColumn(), console=err_console)
    task = progress.add_task("push", total=None)
    try:
        with progress:
            report = run(client, corpus_dir, project, cb, n=sample_n, seed=seed, stratify=stratify, overlap=overlap,
                         overlap_share=overlap_share, predictions=predictions,
                         progress=lambda d, t: progress.update(task, completed=d, total=t))
    except FramestanceError as exc:
        fail(str(exc))
    table = Table(title=f"pushed to project {project!r} (id {report.project_id})")
    table.add_column("count")
    table.add_column("n", justify="right")
    for name, n in [("articles (not duplicates)", report.candidates), ("duplicates skipped", report.skipped_duplicates),
                    ("sampled", report.sampled), ("tasks created", report.created),
                    ("already in the project", report.already_present), ("changed since pushed", len(report.changed))]:
        table.add_row(name, str(n))
    out_console.print(table)
    if report.changed:
        err_console.print(f"[yellow]warning:[/] {len(report.changed)} articles changed since they were pushed "
                          f"(not re-pushed): {', '.join(report.changed[:10])}{' ...' if len(report.changed) > 10 else ''}",
                          highlight=False)
