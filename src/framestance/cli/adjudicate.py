"""`framestance adjudicate`: unsettled gold labels -> an adjudication project in Label Studio."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import FramestanceError
from ._app import AnnotationsDir, CodebookOpt, CorpusDir, GoldDir, StudioHome, _client, _codebook, app, fail, out_console, settings


@app.command()
def adjudicate(
    project: Annotated[Optional[str], typer.Option("--project", help="Project name (default: params.yaml pull.project).")] = None,
    corpus: CorpusDir = Path("corpus/normalised"),
    annotations: AnnotationsDir = Path("corpus/annotations"),
    gold: GoldDir = Path("corpus/gold"),
    below: Annotated[Optional[float], typer.Option(help="Also send labels with less support (default: params.yaml aggregate.adjudicate_below).")] = None,
    codebook: CodebookOpt = None,
    records: Annotated[Path, typer.Option("--records", help="Folder of the study's records, kept in git: each round adds a line to <records>/<project>/ledger.jsonl.")] = Path("annotations"),
    home: StudioHome = Path(".studio"),
) -> None:
    """Send every article whose gold label is unresolved or weakly supported to `NAME · adjudication`,
    where the adjudicator sees each annotator's labels (pseudonymised) beside the text. Then `pull`
    and `aggregate`: the decisions replace the vote (`*_source = adjudicated`)."""
    from .. import ledger
    from ..labelstudio.adjudicate import push_round

    cb = _codebook(codebook)
    cfg = settings()
    project = project or cfg.project
    if not project:
        fail("--project: missing (or set pull.project in params.yaml)")
    client = _client(home)
    below = cfg.aggregate.adjudicate_below if below is None else below
    try:
        report = push_round(client, corpus, gold, annotations, project, cb, below=below, lock_dir=home)
        ledger.append(records, project, "adjudication", {"below": below, "sent": len(report.selected),
                                                         "created": report.created, "already_present": report.already_present,
                                                         "codebook": cb.fingerprint()})
    except FramestanceError as exc:
        fail(str(exc))
    out_console.print(f"{len(report.selected)} articles need adjudication: {report.created} sent now, "
                      f"{report.already_present} already in {project} · adjudication (id {report.project_id})",
                      highlight=False)
