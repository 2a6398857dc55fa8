"""`framestance suggest`: models trained on the gold so far, their quality, predictions for the next round."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..errors import FramestanceError
from ._app import AnnotationsDir, CodebookOpt, CorpusDir, GoldDir, _codebook, app, err_console, fail, out_console, settings


@app.command()
def suggest(
    corpus: CorpusDir = Path("corpus/normalised"),
    gold: GoldDir = Path("corpus/gold"),
    annotations: AnnotationsDir = Path("corpus/annotations"),
    out: Annotated[Path, typer.Option("--out", help="Folder for predictions.jsonl (push --predictions) and the "
                                      "models (skops).")] = Path("corpus/suggest"),
    metrics: Annotated[Path, typer.Option("--metrics", help="Each dimension's cross-validated quality.")] = Path(
        "metrics/suggest.json"),
    codebook: CodebookOpt = None,
) -> None:
    """Train a model per dimension on the gold labels so far (scikit-learn, saved with skops),
    measure each by cross-validation beside the best constant predictor (metrics/suggest.json),
    and write Label Studio predictions for the articles without gold yet, for the dimensions whose
    model beats chance, which every constant falls below: `push --predictions OUT/predictions.jsonl`."""
    import pyarrow.parquet as pq

    from ..aggregate import unassisted
    from ..suggest import predictions, train, unlabelled, write
    from ..validate import read_table

    cb = _codebook(codebook)
    cfg = settings().suggest
    try:
        gold_table = read_table(gold / "gold.parquet")
        articles = pq.read_table(corpus / "articles.parquet",
                                 columns=["article_id", "title", "text", "duplicate_of"]).to_pandas()
        answers_path = annotations / "answers.parquet"
        answers = read_table(answers_path) if answers_path.exists() else None
        ann_path, st_path = annotations / "annotations.parquet", annotations / "stances.parquet"
        ann = read_table(ann_path) if ann_path.exists() else None
        st = read_table(st_path) if st_path.exists() else None
        if ann is not None:  # the model learns from, and is judged on, what the gold is made of (aggregate.assisted)
            kept, _ = unassisted({"annotations": ann, "answers": answers, "stances": st}, settings().aggregate.assisted)
            ann, answers, st = kept["annotations"], kept["answers"], kept["stances"]
        with err_console.status("training and cross-validating a model per dimension"):
            s = train(articles, gold_table, answers, cb, min_gold=cfg.min_gold, seed=cfg.seed, annotations=ann,
                      stances=st)
        todo = unlabelled(articles, gold_table, cb)
        with err_console.status(f"suggesting labels for {len(todo)} articles"):
            preds = predictions(s, todo, cb)
        paths = write(s, preds, metrics, out / "predictions.jsonl", out / "models")
    except (FramestanceError, FileNotFoundError) as exc:
        fail(str(exc))
    table = Table(title=f"suggestions ({s.version}): cross-validated macro-F1, 95% interval", show_header=True)
    for col in ("dimension", "n", "model", "best constant", "model - chance", "suggested"):
        table.add_column(col, justify="left" if col == "dimension" else "right")
    for name, q in sorted(s.quality.items()):
        table.add_row(name, str(q.n), f"{q.macro_f1:.2f} [{q.ci95[0]:.2f}, {q.ci95[1]:.2f}]",
                      f"{q.baseline_macro_f1:.2f} ({q.baseline_label})",
                      f"[{q.difference_ci95[0]:+.2f}, {q.difference_ci95[1]:+.2f}]", "yes" if q.suggested else "no")
    out_console.print(table)
    out_console.print(f"{len(preds)} predictions -> {paths['predictions']}; metrics -> {paths['metrics']}; "
                      f"{len(s.models)} of {len(s.quality)} dimensions suggested", highlight=False)
