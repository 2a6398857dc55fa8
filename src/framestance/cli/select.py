"""`framestance index`, `search` and `select`: find the articles about the issue, choose each round's."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..config import override
from ..errors import FramestanceError
from ._app import CodebookOpt, _codebook, app, err_console, fail, out_console, settings

IndexDir = Annotated[Path, typer.Option("--index", help="Folder of the search index (framestance index).")]


@app.command()
def index(
    corpus: Annotated[Path, typer.Argument(help="Folder with articles.parquet (a file or a folder of part files).")] = Path("corpus/normalised"),
    out: Annotated[Path, typer.Option("--out", "-o", help="Index folder: one tantivy index per part file.")] = Path("corpus/index"),
    workers: Annotated[int, typer.Option(min=1, help="Parts indexed at once (processes, or Ray CPUs).")] = 1,
    engine: Annotated[str, typer.Option(help="local (processes) or ray (a Ray task a part: a local Ray, or the cluster at --address / RAY_ADDRESS).")] = "local",
    address: Annotated[Optional[str], typer.Option(help="With --engine ray: a running Ray cluster.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Build or update the full-text search index of the corpus (only changed articles are re-indexed)."""
    from ..search import build_index

    def progress(done: int, total: int) -> None:
        if not quiet:
            err_console.print(f"indexed part {done} of {total}", highlight=False)

    try:
        report = build_index(corpus, out, workers=workers, progress=progress, engine=engine, address=address)
    except FramestanceError as exc:
        fail(str(exc))
    added = sum(p.added for p in report.parts)
    deleted = sum(p.deleted for p in report.parts)
    out_console.print(f"{out}: {report.docs} articles in {len(report.parts)} parts ({added} added, {deleted} removed or "
                      f"changed, {report.removed_parts} parts dropped)", highlight=False)


@app.command()
def search(
    query: Annotated[Optional[str], typer.Argument(help="Lucene-style query (tantivy): words, \"phrases\", AND/OR/NOT, field:term, "
                                                         "date:[2025-01-01T00:00:00Z TO 2025-07-01T00:00:00Z]. Default: the codebook's issue.query.")] = None,
    index_dir: IndexDir = Path("corpus/index"),
    sample: Annotated[int, typer.Option(min=0, help="Hits to show (a seeded random sample, so that it shows the hits as they are).")] = 10,
    seed: Annotated[int, typer.Option(help="Seed of the sample of hits.")] = 0,
    top: Annotated[int, typer.Option(min=1, help="Outlets listed.")] = 15,
    codebook: CodebookOpt = None,
) -> None:
    """Hit count, a sample of hits with the matched words in bold, counts by outlet and by month."""
    from ..search import Index, overview

    if query is None:
        query = _codebook(codebook).query
        if not query:
            fail("no query given and the codebook's issue has no `query` (issue: {statement: ..., query: ...})")
    try:
        ov = overview(Index(index_dir), query, sample=sample, seed=seed)
    except FramestanceError as exc:
        fail(str(exc))
    share = f"{100 * ov.count / ov.docs:.1f} %" if ov.docs else "-"
    out_console.print(f"[bold]{ov.count}[/] of {ov.docs} articles match {query!r} ({share})", highlight=False)
    if not ov.count:
        return
    for h in ov.sample:
        out_console.print(f"\n[bold]{h.title or '(no title)'}[/]  [dim]{h.outlet or '-'} · {h.month} · {h.article_id} · "
                          f"score {h.score:.2f}[/]", highlight=False)
        out_console.print("  " + _marked(h.snippet), highlight=False)
    outlets = Table(title="hits by outlet")
    outlets.add_column("outlet")
    outlets.add_column("hits", justify="right")
    for name, n in ov.by_outlet[:top]:
        outlets.add_row(name, str(n))
    if len(ov.by_outlet) > top:
        outlets.add_row(f"({len(ov.by_outlet) - top} more)", str(sum(n for _, n in ov.by_outlet[top:])))
    months = Table(title="hits by month")
    months.add_column("month")
    months.add_column("hits", justify="right")
    for name, n in ov.by_month:
        months.add_row(name, str(n))
    out_console.print(outlets)
    out_console.print(months)


def _marked(snippet: str) -> str:
    """**word** -> rich bold (the markers alternate open, close)."""
    parts = snippet.replace("[", "\\[").split("**")
    return "".join(p if i % 2 == 0 else f"[bold yellow]{p}[/]" for i, p in enumerate(parts))


@app.command()
def select(
    corpus: Annotated[Path, typer.Option("--corpus", help="Folder with articles.parquet.")] = Path("corpus/normalised"),
    index_dir: IndexDir = Path("corpus/index"),
    out: Annotated[Path, typer.Option("--out", "-o", help="Selection folder: round-NNN.parquet and rounds.json.")] = Path("corpus/selection"),
    annotations: Annotated[Path, typer.Option("--annotations", help="Pulled labels (annotations.parquet): what the relevance model learns from.")] = Path("corpus/annotations"),
    rounds: Annotated[Optional[int], typer.Option(min=1, help="Draw rounds until there are this many (default: params.yaml select.rounds); rounds already drawn are kept.")] = None,
    design: Annotated[Optional[str], typer.Option(help="sample (a probability sample of the hits) or model (a relevance model in the loop).")] = None,
    round_size: Annotated[Optional[int], typer.Option(min=2, help="Articles a round sends to annotation.")] = None,
    probability_share: Annotated[Optional[float], typer.Option(help="With --design model: the least share of each round drawn by probability sample.")] = None,
    stratify: Annotated[Optional[str], typer.Option(help="outlet, month, language or page_type: the order of the systematic sample.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of the probability part.")] = None,
    query: Annotated[Optional[str], typer.Option(help="Override the codebook's issue.query (the population is its hits).")] = None,
    codebook: CodebookOpt = None,
) -> None:
    """Draw the next round(s) of articles from the query's hits, each with its inclusion probability."""
    from ..selection import load_rounds, select_round

    cfg = override(settings().select, rounds=rounds, design=design, round_size=round_size,
                   probability_share=probability_share, stratify=stratify, seed=seed)
    query = query or _codebook(codebook).query
    if not query:
        fail("the codebook's issue has no `query` (issue: {statement: ..., query: ...}), and no --query was given")
    try:
        have = len(load_rounds(out)[0])
        if have >= cfg.rounds:
            out_console.print(f"{out}: {have} rounds drawn already (select.rounds {cfg.rounds}): nothing to do", highlight=False)
            return
        for _ in range(have, cfg.rounds):
            result = select_round(corpus, index_dir, out, query, design=cfg.design, round_size=cfg.round_size,
                                  probability_share=cfg.probability_share, seed=cfg.seed, stratify=cfg.stratify,
                                  annotations=annotations)
            for line in result.warnings:
                err_console.print(f"[yellow]warning:[/] {line}", highlight=False)
            r = result.record
            model = f", model {r.model_version} trained on {r.model_labels} labels ({r.model_relevant} relevant)" if r.model_version else ""
            out_console.print(f"round {r.round}: {r.model_part + r.probability_part} of {r.pool} remaining hits ({r.hits} in all) -> "
                              f"{result.path}: {r.model_part} by the model, {r.probability_part} by probability sample "
                              f"(the hits whose permanent random number is below {r.threshold:.4f}){model}", highlight=False)
    except FramestanceError as exc:
        fail(str(exc))
