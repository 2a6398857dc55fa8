"""`framestance publish`: an immutable, versioned Hugging Face dataset."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..config import override
from ..errors import FramestanceError
from ._app import (
    AnnotationsDir,
    CodebookOpt,
    CorpusDir,
    GoldDir,
    _codebook,
    app,
    err_console,
    fail,
    out_console,
    settings,
)


@app.command()
def publish(
    version: Annotated[Optional[str], typer.Option("--version", help="MAJOR.MINOR.PATCH (default: params.yaml publish.version).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder of published datasets: <out>/<name>/<version>/.")] = Path("dist"),
    name: Annotated[Optional[str], typer.Option("--name", help="Dataset name (default: params.yaml study.name).")] = None,
    corpus: CorpusDir = Path("corpus/normalised"),
    annotations: AnnotationsDir = Path("corpus/annotations"),
    gold: GoldDir = Path("corpus/gold"),
    metrics: Annotated[Path, typer.Option("--metrics", help="Agreement metrics for the card.")] = Path("metrics/agreement.json"),
    codebook: CodebookOpt = None,
    selection: Annotated[Path, typer.Option("--selection", help="Selection folder (framestance select): inclusion probabilities and the card's weighted shares.")] = Path("corpus/selection"),
    records: Annotated[Path, typer.Option("--records", help="Folder of release records, kept in git: the changelog compares against the latest earlier one.")] = Path("releases"),
    snapshots: Annotated[Path, typer.Option("--snapshots", help="Folder of the study's snapshots and ledger (<snapshots>/<project>/ledger.jsonl): the card's pushes and adjudication rounds.")] = Path("annotations"),
    push_to_hub: Annotated[Optional[str], typer.Option("--push-to-hub", help="Also upload to this Hub dataset repo (token: HF_TOKEN), tagged v<version>.")] = None,
) -> None:
    """Write an immutable, versioned Hugging Face dataset (parquet shards, card, manifest)."""
    from .. import ledger
    from ..publish import Options, check_name_and_version, read_inputs
    from ..publish import publish as run
    from ..publish import push_to_hub as upload

    cb = _codebook(codebook)
    cfg = settings()
    p = override(cfg.publish, version=version)
    study = override(cfg.study, name=name)
    licence_text = ""
    if study.license_file:
        try:
            licence_text = Path(study.license_file).read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"{study.license_file}: cannot read the licence text (study.license_file): {exc.strerror or exc}")
    opts = Options(name=study.name, version=p.version, ratios=p.splits, salt=p.salt, max_shard_bytes=p.max_shard_bytes,
                   tie=cfg.aggregate.tie, study=study, licence_text=licence_text)
    if not opts.version:
        fail("--version: missing (or set publish.version in params.yaml)")
    try:
        check_name_and_version(opts)
        inp = read_inputs(corpus, annotations, gold, metrics, selection, ledger.path_of(snapshots, cfg.project))
        with err_console.status(f"publishing {opts.name} {opts.version}"):
            path, created = run(inp, cb, out, opts, Path(cb.source).read_text(encoding="utf-8"), records)
    except FramestanceError as exc:
        fail(str(exc))
    except KeyError as exc:
        fail(f"column {exc} missing from an input table (run `framestance validate --gold {gold}`)")
    if created:
        out_console.print(f"published {opts.name} {opts.version} -> {path}", highlight=False)
    else:
        out_console.print(f"{path} is already published with identical content: nothing to do", highlight=False)
    out_console.print(f'load it with: datasets.load_dataset("{path}")', highlight=False)
    if push_to_hub:
        from huggingface_hub.errors import HfHubHTTPError

        try:
            res = upload(path, push_to_hub, opts.version, token=os.environ.get("HF_TOKEN"))
        except (HfHubHTTPError, OSError, ValueError) as exc:
            fail(f"--push-to-hub {push_to_hub}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
        out_console.print(f"pushed to the Hub: {res['repo_id']} tag {res['tag']} (commit {res['commit']})", highlight=False)


@app.command()
def hydrate(
    release: Annotated[Path, typer.Argument(help="A published version without texts: dist/<name>/<version>/.")],
    copy: Annotated[list[Path], typer.Argument(help="Your copy of the articles: articles.parquet (or its folder), or the pages / WARC files.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The hydrated dataset folder (new).")],
) -> None:
    """Put the texts back into a release from your own copy of the articles, checking every sha256."""
    from ..hydrate import hydrate as run

    try:
        with err_console.status("hydrating"):
            done = run(release, copy, out)
    except FramestanceError as exc:
        fail(str(exc))
    out_console.print(f"hydrated {done.articles} articles and {done.spans} spans -> {done.folder} "
                      f"({', '.join(f'{c} {n} rows' for c, n in done.rows.items())})", highlight=False)
    out_console.print(f'load it with: datasets.load_dataset("{done.folder}")', highlight=False)
