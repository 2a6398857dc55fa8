"""`framestance push`: articles -> Label Studio tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import pyarrow.compute as pc
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
    settings,
)


@app.command()
def push(
    corpus_dir: Annotated[Path, typer.Argument(help="Folder with articles.parquet (the normalise output).")],
    project: Annotated[Optional[str], typer.Option("--project", help="Label Studio project title, created when missing (default: params.yaml pull.project, else study.name).")] = None,
    sample_n: Annotated[Optional[int], typer.Option("--sample", help="Push a sample of N articles (default: all).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample.")] = 0,
    stratify: Annotated[Optional[str], typer.Option(help="Stratify the sample by this column (e.g. outlet).")] = None,
    annotators: Annotated[Optional[str], typer.Option(help="Comma-separated e-mails: blind queues, one project per annotator.")] = None,
    overlap: Annotated[Optional[int], typer.Option(help="Annotators per article (with --annotators: exactly this many queues get it).")] = None,
    overlap_share: Annotated[int, typer.Option(min=0, max=100, help="Share of tasks (%) that get --overlap annotators.")] = 100,
    gold_rate: Annotated[float, typer.Option(help="With --annotators: share of each queue that is hidden gold questions (codebook `gold`).")] = 0.0,
    predictions: Annotated[Optional[Path], typer.Option(help="JSON/JSONL of pre-annotations: article_id, model_version, score, result.")] = None,
    codebook: Annotated[Optional[Path], typer.Option(help="Codebook YAML (default: params.yaml study.codebook).")] = None,
    selection: Annotated[Optional[Path], typer.Option(help="Push a round of `framestance select` (its folder, e.g. corpus/selection) instead of a sample.")] = None,
    round_no: Annotated[Optional[int], typer.Option("--round", min=1, help="With --selection: the round to push (default: the last).")] = None,
    records: Annotated[Path, typer.Option("--records", help="Folder of the study's records, kept in git: each push adds a line to <records>/<project>/ledger.jsonl.")] = Path("annotations"),
    home: StudioHome = Path(".studio"),
) -> None:
    """Push a seeded, stratified sample of the corpus to a Label Studio project (idempotent).

    With --annotators, every annotator works in a project of their own (`NAME · <pseudonym>`) that
    holds only their tasks (on a server of their own in an isolated team: `annotators add`), so
    nobody sees anyone else's labels; each article goes to exactly
    --overlap of them, loads balanced, seeded; a later push keeps every earlier assignment."""
    from .. import ledger
    from ..labelstudio.push import ledger_entry
    from ..labelstudio.push import push as run
    from ..labelstudio.team import Team
    from ..pseudonym import Pseudonymiser

    cb = _codebook(codebook)
    project = project or settings().project
    chosen = None
    if selection is not None:
        from ..selection import selected as rounds_of

        try:
            records_of, rows = rounds_of(selection, round_no or None)
            if round_no is None:
                rows = rows.filter(pc.equal(rows["round"], records_of[-1].round))
        except FramestanceError as exc:
            fail(str(exc))
        chosen = dict(zip(rows["article_id"].to_pylist(), rows["text_sha256"].to_pylist()))
    client = _client(home)
    pseudo = Pseudonymiser.of_home(home)
    progress = Progress(TextColumn("pushing"), BarColumn(), MofNCompleteColumn(), TextColumn("tasks"),
                        TimeElapsedColumn(), console=err_console)
    task = progress.add_task("push", total=None)
    try:
        with progress:
            report = run(client, corpus_dir, project, cb, n=sample_n, seed=seed, stratify=stratify, overlap=overlap,
                         overlap_share=overlap_share, predictions=predictions,
                         annotators=annotators.split(",") if annotators else None, pseudonym=pseudo.of, lock_dir=home,
                         gold_rate=gold_rate, selected=chosen, team=Team(home),
                         suggest_share=settings().suggest.share,
                         waiting=lambda m: err_console.print(m, highlight=False),
                         progress=lambda d, t: progress.update(task, completed=d, total=t))
        pseudo.save()
        ledger.append(records, project, "push", ledger_entry(
            report, cb, selection_round=(round_no or records_of[-1].round) if chosen is not None else None, n=sample_n,
            seed=seed, stratify=stratify, overlap=overlap, overlap_share=overlap_share, gold_rate=gold_rate,
            predictions=predictions, suggest_share=settings().suggest.share if predictions else None))
    except FramestanceError as exc:
        fail(str(exc))
    where = f"{len(report.queues)} annotator queues of {project!r}" if report.queues else f"project {project!r} (id {report.project_id})"
    table = Table(title=f"pushed to {where}")
    table.add_column("count")
    table.add_column("n", justify="right")
    for name, n in [("articles (not duplicates)", report.candidates), ("duplicates skipped", report.skipped_duplicates),
                    ("sampled", report.sampled), ("tasks created", report.created),
                    ("already pushed", report.already_present), ("changed since pushed", len(report.changed)),
                    *[(f"assignments, {arm} arm", k) for arm, k in sorted(report.arms.items())]]:
        table.add_row(name, str(n))
    out_console.print(table)
    for p, n in report.queues.items():
        out_console.print(f"queue {p}: {report.load[p]} tasks ({n} new)", highlight=False)
    if report.race_duplicates_removed:
        err_console.print(f"[yellow]warning:[/] removed {report.race_duplicates_removed} tasks that a concurrent push "
                          "had created a second time", highlight=False)
    if report.changed:
        err_console.print(f"[yellow]warning:[/] {len(report.changed)} articles changed since they were pushed "
                          f"(not re-pushed): {', '.join(report.changed[:10])}{' ...' if len(report.changed) > 10 else ''}",
                          highlight=False)
