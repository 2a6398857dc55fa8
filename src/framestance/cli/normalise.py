"""`framestance normalise`: scraped pages and crawler records -> one Arrow corpus."""

from __future__ import annotations

import os
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from ..config import override
from ..errors import FramestanceError
from ._app import (
    app,
    err_console,
    fail,
    out_console,
    parse_instant,
    settings,
)


@app.command()
def normalise(
    inputs: Annotated[list[str], typer.Argument(help="Files, directories or globs (text dumps, HTML, JSONL/JSON/Parquet/CSV; .gz too).")],
    out: Annotated[str, typer.Option("--out", "-o", help="Output folder for articles.parquet, rejects.parquet (files, or folders of part files), summary.json; or a URI (s3://bucket/corpus: endpoint and credentials from the AWS_* environment).")],
    retrieved_at: Annotated[Optional[str], typer.Option(help="When the pages were retrieved (ISO-8601); resolves '3 days ago'. Default: params.yaml, else each file's modification time.")] = None,
    workers: Annotated[int, typer.Option(min=0, help="Worker processes (default: the local cores).")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing outputs in --out.")] = False,
    min_words: Annotated[Optional[int], typer.Option(help="A body shorter than this is 'not an article'.")] = None,
    page_type_article_loss: Annotated[Optional[float], typer.Option(help="Share of real articles (0 to 0.25) the page-type check may turn away as 'not an article': more keeps out more product, listing, forum and service pages (0.005 about half of HTML ones, 0.1 about nine in ten; README, 'Page type'); 0: no check. Every kept page records its score (page_type_score). Default: params.yaml, else 0.005.")] = None,
    max_bytes: Annotated[Optional[int], typer.Option(help="Inputs larger than this are rejected as 'too large'.")] = None,
    near_dup_threshold: Annotated[Optional[float], typer.Option(help="MinHash LSH Jaccard threshold for near-duplicates.")] = None,
    engine: Annotated[Optional[str], typer.Option(help="local (processes on this machine) or ray (Ray Data). Default: params.yaml normalise.engine.")] = None,
    address: Annotated[Optional[str], typer.Option(help="With --engine ray: a running Ray cluster (default: RAY_ADDRESS, else a local Ray with --workers CPUs).")] = None,
    rows_per_file: Annotated[Optional[int], typer.Option(min=0, help="Write articles.parquet and rejects.parquet as folders of part files of this many rows (0: one file each). Default: params.yaml normalise.rows_per_file.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no per-reject lines.")] = False,
) -> None:
    """Normalise scraped pages and crawler records into one Arrow corpus."""
    from ..normalise import normalise as run

    cfg = override(settings().normalise, retrieved_at=parse_instant(retrieved_at) if retrieved_at else None,
                   min_words=min_words, page_type_article_loss=page_type_article_loss, max_bytes=max_bytes,
                   near_dup_threshold=near_dup_threshold, engine=engine,
                   rows_per_file=rows_per_file)
    workers = workers or os.cpu_count() or 1
    progress = Progress(
        TextColumn("normalising"), BarColumn(), MofNCompleteColumn(), TextColumn("files"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, disable=quiet, transient=False,
    )
    task = progress.add_task("normalise", total=None)

    started = False

    def on_progress(done: int, total: int) -> None:
        nonlocal started
        if not started:  # the bar appears once work has begun, not before an early error
            progress.start()
            started = True
        progress.update(task, completed=done, total=total)

    def on_reject(rej: dict) -> None:
        if not quiet:
            where = rej["source_path"] + (f" (record {rej['position']})" if rej["input_kind"] == "records" else "")
            progress.console.print(f"[yellow]rejected[/] {where}: {rej['detail']}", highlight=False, soft_wrap=True)

    try:
        summary = run(inputs, out, cfg, workers=workers, address=address, force=force, progress=on_progress,
                      on_reject=on_reject)
    except FramestanceError as exc:
        fail(str(exc))
    except OSError as exc:  # --out is a file, or cannot be created
        fail(" ".join(f"{exc.filename or out}: {exc.strerror or exc}".split()))
    finally:
        if started:
            progress.stop()
    table = Table(title=f"normalised into {out}", show_header=True)
    table.add_column("count", justify="left")
    table.add_column("n", justify="right")
    rows = [
        ("inputs", summary.inputs),
        ("  with an article", summary.inputs_with_article),
        ("  rejected", summary.rejected),
        *[(f"    {reason}", n) for reason, n in summary.rejects_by_reason.items()],
        ("articles", summary.articles),
        ("  main", summary.main),
        ("  related", summary.related),
        ("  exact duplicates", summary.exact_duplicates),
        ("  near duplicates", summary.near_duplicates),
        ("  unique", summary.unique),
        *[(f"skipped: {why}", n) for why, n in summary.skipped.items()],
    ]
    for name, n in rows:
        table.add_row(name, str(n))
    out_console.print(table)
