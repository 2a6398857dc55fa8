"""`framestance validate`, `agreement`, `aggregate`: checked tables, agreement, gold labels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..config import override
from ..errors import FramestanceError
from ._app import (
    AnnotationsDir,
    CodebookOpt,
    CorpusDir,
    _codebook,
    app,
    err_console,
    fail,
    out_console,
    settings,
)


def _tables(corpus: Path, annotations: Path, gold: Path | None = None, checked: bool = False) -> dict:
    """The tables; with `checked`, a table with a missing column or a wrong dtype ends the command
    with one line (the commands after validate rely on the structure)."""
    from ..validate import load_tables, structure_problems

    try:
        tables = load_tables({"corpus": corpus, "annotations": annotations, "gold": gold})
    except FramestanceError as exc:
        fail(str(exc))
    if checked:
        problems = structure_problems(tables)
        if problems:
            fail(problems[0])
    return tables


@app.command()
def validate(
    corpus: CorpusDir = Path("corpus/normalised"),
    annotations: AnnotationsDir = Path("corpus/annotations"),
    gold: Annotated[Optional[Path], typer.Option("--gold", help="Also check gold.parquet and gold_spans.parquet in this folder (the aggregate output).")] = None,
    report: Annotated[Path, typer.Option("--report", help="Folder for failures.parquet.")] = Path("corpus/validation"),
    codebook: CodebookOpt = None,
    min_annotators: Annotated[Optional[int], typer.Option(help="Quality gate (default: params.yaml quality.min_annotators).")] = None,
) -> None:
    """Check every table against its pandera schema and the codebook; report every failure."""
    from ..validate import validate as run
    from ..validate import write_report

    cb = _codebook(codebook)
    tables = _tables(corpus, annotations, gold)
    minimum = min_annotators if min_annotators is not None else settings().quality.min_annotators
    with err_console.status("validating"):
        result = run(tables, cb, min_annotators=minimum)
    if gold is not None and not any(k in tables for k in ("gold", "gold_spans")):
        err_console.print(f"[yellow]warning:[/] --gold {gold}: no gold.parquet or gold_spans.parquet there; not checked",
                          highlight=False)
    path = write_report(result, report)
    rows = Table(title="validated", show_header=True)
    rows.add_column("table")
    rows.add_column("rows", justify="right")
    for name, n in result.rows.items():
        rows.add_row(name, str(n))
    out_console.print(rows)
    if result.in_progress:
        out_console.print(f"{len(result.in_progress)} articles are still in progress (fewer than {minimum} annotators "
                          "so far, a task still open): not failures; agreement and gold made now are interim",
                          highlight=False)
    if result.ok:
        out_console.print(f"[green]all checks passed[/] (report: {path})", highlight=False)
        return
    fails = Table(title=f"{result.failures.num_rows} failures (all in {path})", show_header=True)
    for col in ("table", "check", "failures", "first values"):
        fails.add_column(col, justify="right" if col == "failures" else "left")
    df = result.failures.to_pandas()
    for table_name, check, n in result.counts():
        sel = df[(df["table"] == table_name) & (df["check"] == check)]["value"].dropna().astype(str).unique()[:3]
        fails.add_row(table_name, check, str(n), ", ".join(v[:40] for v in sel))
    out_console.print(fails)
    raise typer.Exit(1)


@app.command()
def agreement(
    corpus: CorpusDir = Path("corpus/normalised"),
    annotations: AnnotationsDir = Path("corpus/annotations"),
    metrics: Annotated[Path, typer.Option("--metrics", help="The metrics file (a DVC metric).")] = Path("metrics/agreement.json"),
    plots: Annotated[Path, typer.Option("--plots", help="Folder for the PNG plots and their CSV data (DVC plots).")] = Path("plots"),
    snapshots: Annotated[Path, typer.Option("--snapshots", help="The snapshot folder of `pull --out`: each pull of "
                                            "params.yaml's pull.project is a batch, and agreement is also given per batch.")
                         ] = Path("annotations"),
    codebook: CodebookOpt = None,
) -> None:
    """Krippendorff's alpha per dimension with its n and a seeded bootstrap 95% interval (2,000
    resamples of articles), span F1 between annotators, per-annotator figures, the same per pull
    batch (drift), plots."""
    from .. import agreement as ag
    from ..influence import arms, headline
    from ..labelstudio.pull import snapshot_times

    cb = _codebook(codebook)
    tables = _tables(corpus, annotations, checked=True)
    texts = dict(zip(tables["articles"]["article_id"], tables["articles"]["text"]))
    project = settings().project
    pulled_at = snapshot_times(snapshots, project) if project else []
    with err_console.status("measuring agreement"):
        result = ag.compute(tables["annotations"], tables["stances"], tables["spans"], cb, texts,
                            answers=tables.get("answers"))
        try:
            result["batches"] = ag.by_batch(tables["annotations"], tables["stances"], tables["spans"], cb, pulled_at,
                                            whole=result, answers=tables.get("answers"))
        except FramestanceError as exc:
            fail(f"{annotations / 'annotations.parquet'}: {exc}".replace("annotations.parquet: ", "", 1))
        influence = arms(tables["annotations"], tables.get("answers"), tables["stances"], tables["spans"], cb)
        if influence is not None:  # the randomised control arm of suggestions: what they did to the labels
            result["suggestion_arms"] = influence
        ag.write_outputs(result, tables["annotations"], tables["stances"], cb, metrics, plots)
    table = Table(title=f"Krippendorff's alpha ({result['counts']['articles']} articles, "
                        f"{result['counts']['annotators']} annotators)", show_header=True)
    table.add_column("dimension")
    table.add_column("alpha", justify="right")
    table.add_column("95% interval", justify="right")
    table.add_column("n articles", justify="right")
    table.add_column("n values", justify="right")
    for row in ag.summary_rows(result):
        if not row["dimension"].startswith("frames:"):
            ci = row["ci95"]
            if row["alpha"] is None:  # no n beside a figure that does not exist
                table.add_row(row["dimension"], "undefined", "–", "–", "–")
                continue
            table.add_row(row["dimension"], f"{row['alpha']:.3f}", ag.format_interval(ci, row["ci95_decimals"]),
                          str(row["n_units"]), str(row["n_values"]))
    for kind, f1 in sorted((result.get("spans") or {}).items()):
        table.add_row(f"span F1: {kind}", "undefined" if f1 is None else f"{f1:.3f}", "", "", "")
    out_console.print(table)
    if len(result["batches"]) > 1:
        out_console.print("per pull batch (alpha):", highlight=False)
        for b in result["batches"]:
            shown = ", ".join(f"{d} {'–' if a is None else format(a, '.2f')}" for d, a in b["alpha"].items()
                              if not d.startswith(("stance_addressed:", "stance_ordinal_addressed:")))
            out_console.print(f"  {b['pulled_at'][:10]} ({b['annotations']} annotations): {shown}", highlight=False,
                              soft_wrap=True)
    if "suggestion_arms" in result:
        out_console.print("suggestions, by the randomised control arm:", highlight=False)
        for line in headline(result["suggestion_arms"]):
            out_console.print(f"  {line}", highlight=False, soft_wrap=True)
    out_console.print(f"metrics: {metrics}; plots: {plots}/", highlight=False)


@app.command()
def aggregate(
    corpus: CorpusDir = Path("corpus/normalised"),
    annotations: AnnotationsDir = Path("corpus/annotations"),
    out: Annotated[Path, typer.Option("--out", help="Folder for gold.parquet and gold_spans.parquet.")] = Path("corpus/gold"),
    plots: Annotated[Path, typer.Option("--plots", help="Folder for gold.png and gold.csv: the gold label "
                                        "distributions (a DVC plot).")] = Path("plots"),
    method: Annotated[Optional[str], typer.Option(help="majority | dawid-skene (default: params.yaml aggregate.method).")] = None,
    tie: Annotated[Optional[str], typer.Option(help="unresolved, the only rule (default: params.yaml aggregate.tie).")] = None,
    codebook: CodebookOpt = None,
) -> None:
    """Gold labels per annotated article (majority or Dawid-Skene), consolidated spans, the quality
    gates' report (OUT/gates.json: publish refuses while a gate fails or articles are in progress),
    and the gold label distributions (plots/gold.png, plots/gold.csv)."""
    from .. import figures
    from ..aggregate import run
    from ..io import atomic_write

    cb = _codebook(codebook)
    cfg = settings()
    tables = _tables(corpus, annotations, checked=True)
    try:
        with err_console.status("aggregating"):
            report = run(tables, cb, override(cfg.aggregate, method=method, tie=tie), cfg.quality, out)
    except FramestanceError as exc:
        fail(str(exc))
    assert report.gold is not None and report.spans is not None
    shares = figures.gold_rows(report.gold.to_pandas(), cb)
    atomic_write(plots / "gold.csv", figures.gold_csv(shares))
    fig = figures.gold_figure(shares, cb)
    if fig is None:  # no resolved gold label: no figure, and none left from an earlier run
        (plots / "gold.png").unlink(missing_ok=True)
    else:
        atomic_write(plots / "gold.png", figures.render(fig))
    out_console.print(f"gold labels for {report.gold.num_rows} articles -> {report.paths['gold']}; "
                      f"{report.spans.num_rows} consolidated spans -> {report.paths['gold_spans']}; "
                      f"label distributions -> {plots / 'gold.png' if fig is not None else 'none (no resolved label)'}, "
                      f"{plots / 'gold.csv'}", highlight=False)
    if report.assisted.get("annotations_left_out"):
        out_console.print(f"left out of the gold (params.yaml aggregate.assisted: exclude): "
                          f"{report.assisted['annotations_left_out']} annotations shown a suggestion; "
                          f"{report.assisted['articles_left_out']} articles had no other (no gold label), "
                          f"{report.assisted['articles_short_of_annotators']} were left with fewer than "
                          f"{cfg.quality.min_annotators} (unresolved)", highlight=False)
    for msg in report.gate_failures:  # the gold is written for adjudication; publish refuses it
        err_console.print(f"[bold yellow]warning:[/] {msg}", highlight=False, soft_wrap=True)
    if report.interim:
        err_console.print(f"[bold yellow]interim:[/] {len(report.in_progress)} articles are still waiting for "
                          "annotators; this gold is interim", highlight=False, soft_wrap=True)
    if report.gate_failures or report.interim:
        err_console.print(f"publish refuses this gold until the gates hold ({report.paths['gates']}); adjudicate the "
                          "unresolved labels (`framestance adjudicate`), pull, aggregate again", highlight=False,
                          soft_wrap=True)
