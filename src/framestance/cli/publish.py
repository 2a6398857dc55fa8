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
    name: Annotated[Optional[str], typer.Option("--name", help="Dataset name (default: params.yaml publish.name).")] = None,
    corpus: CorpusDir = Path("corpus/normalised"),
    annotations: AnnotationsDir = Path("corpus/annotations"),
    gold: GoldDir = Path("corpus/gold"),
    metrics: Annotated[Path, typer.Option("--metrics", help="Agreement metrics for the card.")] = Path("metrics/agreement.json"),
    codebook: CodebookOpt = None,
    selection: Annotated[Path, typer.Option("--selection", help="Selection folder (framestance select): inclusion probabilities and the card's weighted shares.")] = Path("corpus/selection"),
    records: Annotated[Path, typer.Option("--records", help="Folder of release records, kept in git: the changelog compares against the latest earlier one.")] = Path("releases"),
    push_to_hub: Annotated[Optional[str], typer.Option("--push-to-hub", help="Also upload to this Hub dataset repo (token: HF_TOKEN), tagged v<version>.")] = None,
) -> None:
    """Write an immutable, versioned Hugging Face dataset (parquet shards, card, manifest)."""
    from ..publish import Options, check_name_and_version, read_inputs
    from ..publish import publish as run
    from ..publish import push_to_hub as upload

    cb = _codebook(codebook)
    cfg = settings()
    p = override(cfg.publish, name=name, version=version)
    opts = Options(name=p.name, version=p.version, ratios=p.splits, salt=p.salt, max_shard_bytes=p.max_shard_bytes,
                   license=p.license, pretty_name=p.pretty_name, citation=p.citation, tie=cfg.aggregate.tie,
                   annotations_creators=tuple(p.annotations_creators))
    if not opts.version:
        fail("--version: missing (or set publish.version in params.yaml)")
    try:
        check_name_and_version(opts)
        inp = read_inputs(corpus, annotations, gold, metrics, selection)
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
